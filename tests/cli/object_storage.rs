//! Object storage (S3 through a local moto server).

use std::process::{Command, Stdio};

use crate::util::gzip;
use crate::util::*;

/// A moto S3 server on a free loopback port, stopped when dropped.
struct Moto {
    child: std::process::Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python_has_moto() -> bool {
    Command::new("python3")
        .args(["-c", "import moto, boto3"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether moto can run here; without it the test is skipped, except in CI (which installs it).
fn moto_installed() -> bool {
    if python_has_moto() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must install moto[server] (see .ci/run)"
    );
    eprintln!("SKIPPED: python3 -m pip install 'moto[server]'");
    false
}

fn start_moto() -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("address")
        .port();
    let child = Command::new("python3")
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto starts");
    let moto = Moto { child, port };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return moto;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("moto did not start on port {port}");
}

/// Uploads the files under `folder` to the bucket `lake` (made if missing), under `prefix`.
fn upload(endpoint: &str, secret: &str, folder: &std::path::Path, prefix: &str) {
    let upload = Command::new("python3")
        .args([
            "-c",
            "import boto3, os, sys\n\
             endpoint, secret, root, prefix = sys.argv[1:5]\n\
             s3 = boto3.client('s3', endpoint_url=endpoint, aws_access_key_id='cxsql', \
                               aws_secret_access_key=secret, region_name='us-east-1')\n\
             if 'lake' not in [b['Name'] for b in s3.list_buckets()['Buckets']]:\n\
             \x20   s3.create_bucket(Bucket='lake')\n\
             for d, _, files in os.walk(root):\n\
             \x20   for f in files:\n\
             \x20       p = os.path.join(d, f)\n\
             \x20       s3.upload_file(p, 'lake', prefix + os.path.relpath(p, root))\n",
            endpoint,
            secret,
            &folder.to_string_lossy(),
            prefix,
        ])
        .output()
        .expect("python3 runs");
    assert!(
        upload.status.success(),
        "{}",
        String::from_utf8_lossy(&upload.stderr)
    );
}

/// Uploads a partitioned data set to a real S3-compatible server (moto, on loopback), queries it through a
/// catalog, and compares with the same query on the local files. `.ci/run` installs moto from PyPI.
#[test]
fn s3_tables_give_the_same_results_as_local_files_and_keep_secrets_out_of_messages() {
    if !moto_installed() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = dir.path().join("lake");
    ok(&[
        "query",
        &format!(
            "COPY (SELECT *, CAST(date_part('year', created_at) AS INT) AS year, \
             CAST(date_part('month', created_at) AS INT) AS month FROM tickets) \
             TO '{}/' STORED AS PARQUET PARTITIONED BY (year, month)",
            lake.display()
        ),
    ]);
    let moto = start_moto();
    let endpoint = format!("http://127.0.0.1:{}", moto.port);
    let secret = "s3cr3t-must-never-be-printed";
    // The partitioned lake under tickets/, and the external export, gzip'ed, under exports/.
    let exports = dir.path().join("exports");
    std::fs::create_dir_all(&exports).expect("exports");
    let export =
        std::fs::read(root().join("tests/fixtures/customer_support_tickets.csv")).expect("fixture");
    std::fs::write(exports.join("kaggle.csv.gz"), gzip(&export)).expect("gz");
    for (folder, prefix) in [(&lake, "tickets/"), (&exports, "exports/")] {
        upload(&endpoint, secret, folder, prefix);
    }

    let catalog = |bucket: &str| {
        let path = dir.path().join(format!("{bucket}.toml"));
        std::fs::write(
            &path,
            format!(
                "[tables.t]\nlocation = \"s3://{bucket}/tickets/\"\nformat = \"parquet\"\n\
                 partitions = [\"year INT\", \"month INT\"]\n\
                 s3 = {{ endpoint = \"{endpoint}\", region = \"us-east-1\", access_key_id = \"cxsql\", \
                 secret_access_key = \"{secret}\" }}\n"
            ),
        )
        .expect("catalog");
        path.to_string_lossy().into_owned()
    };
    let sql = "SELECT year, count(*) AS n, fcr_rate(contacts) AS fcr, \
               backlog_at(created_at, resolved_at, TIMESTAMP '2023-06-30T00:00:00Z') AS open \
               FROM t GROUP BY year ORDER BY year";
    let remote = json_rows(&["--catalog", &catalog("lake"), "query", sql]);
    let local = json_rows(&["--table", &format!("t={}/", lake.display()), "query", sql]);
    assert_eq!(remote.len(), 4);
    assert_eq!(remote, local);
    let pruned = json_rows(&[
        "--catalog",
        &catalog("lake"),
        "query",
        "SELECT count(*) AS n FROM t WHERE year = 2024 AND month = 2",
    ]);
    assert!(pruned[0]["n"].num() > 0.0);

    // A compressed CSV export on S3: its schema is inferred by cxsql (quotes with `\"` inside), and every
    // row reads as from the local file.
    let csv_catalog = dir.path().join("csv.toml");
    std::fs::write(
        &csv_catalog,
        format!(
            "[tables.k]\nlocation = \"s3://lake/exports/kaggle.csv.gz\"\n\
             s3 = {{ endpoint = \"{endpoint}\", region = \"us-east-1\", access_key_id = \"cxsql\", \
             secret_access_key = \"{secret}\" }}\n"
        ),
    )
    .expect("catalog");
    let sql = "SELECT \"Ticket Channel\" AS channel, count(*) AS n, csat(\"Customer Satisfaction Rating\") AS csat, \
               sum(length(\"Ticket Description\")) AS text FROM k GROUP BY 1 ORDER BY 1";
    let remote = json_rows(&["--catalog", &csv_catalog.to_string_lossy(), "query", sql]);
    let local = json_rows(&[
        "--table",
        &format!("k={}", exports.join("kaggle.csv.gz").display()),
        "query",
        sql,
    ]);
    assert_eq!(remote.len(), 4);
    assert_eq!(remote, local);
    let total: f64 = remote.iter().map(|r| r["n"].num()).sum();
    assert_eq!(total, 8469.0);

    let missing = cxsql(&[
        "--catalog",
        &catalog("nolake"),
        "query",
        "SELECT count(*) FROM t",
    ]);
    missing.assert_fails(1, "s3://nolake/tickets/");
    assert!(!missing.stderr.contains(secret) && !missing.stdout.contains(secret));
    drop(moto);
}

/// Exports on S3 as on disk (issue 13): a Windows-1252 French export sniffed and decoded, a UTF-16 one, and a
/// large export with quoted line breaks read in byte ranges by four partitions, each equal to the local read.
#[test]
fn s3_exports_are_sniffed_decoded_and_read_in_parallel_like_local_files() {
    if !moto_installed() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).expect("files");
    std::fs::write(
        files.join("latin.csv"),
        crate::exports::windows_1252(crate::exports::FRENCH),
    )
    .expect("write");
    std::fs::write(
        files.join("wide.csv"),
        crate::exports::utf16le(crate::exports::FRENCH),
    )
    .expect("write");
    let mut big = String::from("id;note;amount\r\n");
    crate::exports::export_rows(&mut big, 0..200_000);
    assert!(big.len() > 10 * 1024 * 1024, "{} bytes", big.len());
    std::fs::write(files.join("big.csv"), &big).expect("write");
    let moto = start_moto();
    let endpoint = format!("http://127.0.0.1:{}", moto.port);
    let secret = "another-secret";
    upload(&endpoint, secret, &files, "exports/");
    let catalog = dir.path().join("s3.toml");
    let mut text = String::new();
    for table in ["latin", "wide", "big"] {
        text.push_str(&format!(
            "[tables.{table}]\nlocation = \"s3://lake/exports/{table}.csv\"\n\
             s3 = {{ endpoint = \"{endpoint}\", region = \"us-east-1\", access_key_id = \"cxsql\", \
             secret_access_key = \"{secret}\" }}\n\n"
        ));
    }
    std::fs::write(&catalog, text).expect("catalog");
    let catalog = catalog.to_string_lossy().into_owned();
    for table in ["latin", "wide"] {
        let sql = format!(
            "SELECT \"Référence\" AS r, CAST(\"Date de création\" AS VARCHAR) AS created, \"Montant\" AS amount \
             FROM {table} ORDER BY r"
        );
        let remote = json_rows(&["--catalog", &catalog, "query", &sql]);
        let local = json_rows(&[
            "--table",
            &format!("{table}={}", files.join(format!("{table}.csv")).display()),
            "query",
            &sql,
        ]);
        assert_eq!(remote, local, "{table}");
        assert_eq!(remote[0]["created"], "2024-01-05T09:12:00", "{table}");
        assert_eq!(remote[0]["amount"].num(), 1234.5, "{table}");
    }
    let sql = "SELECT id, note, amount FROM big ORDER BY id";
    let plan = cxsql(&[
        "--catalog",
        &catalog,
        "--threads",
        "4",
        "query",
        "EXPLAIN SELECT count(*) FROM big",
    ]);
    assert!(
        plan.stdout.contains("big.csv:0.."),
        "read in ranges: {}",
        plan.stdout
    );
    let remote = cxsql(&[
        "--catalog",
        &catalog,
        "--threads",
        "4",
        "query",
        sql,
        "--format",
        "csv",
    ]);
    assert_eq!(remote.code, 0, "{}", remote.stderr);
    let local = cxsql(&[
        "--table",
        &format!("big={}", files.join("big.csv").display()),
        "--threads",
        "1",
        "query",
        sql,
        "--format",
        "csv",
    ]);
    assert_eq!(local.code, 0, "{}", local.stderr);
    assert!(
        remote.stdout == local.stdout,
        "the parts read from S3 differ from the whole local file"
    );
    drop(moto);
}
