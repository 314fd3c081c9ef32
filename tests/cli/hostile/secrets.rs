//! Credentials in endpoint URLs never reach messages, manifests or pages; a stalled endpoint fails after the
//! catalog's timeout.

use std::time::{Duration, Instant};

use crate::util::cxsql_in;

const SECRET: &str = "pa55-never-printed";

fn catalog(dir: &std::path::Path, endpoint: &str, extra: &str) {
    std::fs::write(
        dir.join("cxsql.toml"),
        format!(
            "[tables.t]\nlocation = \"s3://lake/t.parquet\"\n\
             s3 = {{ endpoint = \"{endpoint}\", region = \"us-east-1\", access_key_id = \"k\", \
             secret_access_key = \"{SECRET}\"{extra} }}\n"
        ),
    )
    .expect("write");
}

#[test]
fn a_password_in_an_endpoint_url_is_redacted_everywhere() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Nothing listens on port 1: the request fails at once, and the message names the endpoint.
    catalog(
        dir.path(),
        &format!("http://admin:{SECRET}@127.0.0.1:1"),
        ", timeout_seconds = 2",
    );
    let out = cxsql_in(dir.path(), &["query", "SELECT count(*) FROM t"], None);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(!out.stderr.contains(SECRET), "{}", out.stderr);
    std::fs::create_dir(dir.path().join("q")).expect("mkdir");
    std::fs::write(
        dir.path().join("q/t_count.sql"),
        "-- name: t_count\nSELECT count(*) AS n FROM t\n",
    )
    .expect("write");
    let out = cxsql_in(
        dir.path(),
        &["report", "--queries", "q", "--out", "r", "-q"],
        None,
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    for file in ["manifest.json", "index.html"] {
        let text = std::fs::read_to_string(dir.path().join("r").join(file)).expect("written");
        assert!(!text.contains(SECRET), "{file}: {text}");
        assert!(text.contains("failed"), "{file}");
    }
    assert!(!out.stderr.contains(SECRET));
}

#[test]
fn a_stalled_endpoint_fails_after_the_timeout() {
    // Accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let held = std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in listener.incoming().take(8) {
            open.push(stream);
        }
        std::thread::sleep(Duration::from_secs(60));
    });
    let dir = tempfile::tempdir().expect("temp dir");
    catalog(
        dir.path(),
        &format!("http://127.0.0.1:{port}"),
        ", timeout_seconds = 1",
    );
    let started = Instant::now();
    let out = cxsql_in(dir.path(), &["query", "SELECT count(*) FROM t"], None);
    let took = started.elapsed();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(took < Duration::from_secs(20), "failed only after {took:?}");
    assert!(
        out.stderr.contains(&format!("127.0.0.1:{port}")),
        "names the endpoint: {}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("did not answer within the table's timeout_seconds"),
        "says what may have happened: {}",
        out.stderr
    );
    drop(held);
}
