//! `--cluster` against a real Ballista cluster: a scheduler and executors started as processes of the built
//! binary on free loopback ports, stopped at the end of each test (also when it fails). Every result through
//! the cluster must equal the local run's.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::util::{Row, Spawned, cxsql, cxsql_in, fails, ok, root};

/// A scheduler and its executors.
struct Cluster {
    port: u16,
    executors: Vec<Spawned>,
    scheduler: Spawned,
}

impl Cluster {
    /// A scheduler and `executors` executors (2 task slots each; `executor_args` added), once all have
    /// registered.
    fn start(executors: usize, executor_args: &[&str]) -> Cluster {
        let scheduler = Spawned::cxsql(
            &root(),
            &[
                "scheduler",
                "--bind",
                "127.0.0.1:0",
                "--executor-timeout",
                "6s",
            ],
        );
        let line = scheduler
            .lines()
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("the scheduler did not start: {}", scheduler.log()));
        let at = line
            .find("df://127.0.0.1:")
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        let port: u16 = line[at + 15..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .expect("a port");
        let mut cluster = Cluster {
            port,
            executors: Vec::new(),
            scheduler,
        };
        let scheduler_address = format!("127.0.0.1:{port}");
        for _ in 0..executors {
            let mut args = vec![
                "executor",
                "--scheduler",
                &scheduler_address,
                "--concurrency",
                "2",
                "--heartbeat",
                "1s",
            ];
            args.extend(executor_args);
            cluster.executors.push(Spawned::cxsql(&root(), &args));
        }
        cluster.wait_for_executors(executors);
        cluster
    }

    fn url(&self) -> String {
        format!("df://127.0.0.1:{}", self.port)
    }

    /// Waits until the scheduler's readiness probe counts `n` executors.
    fn wait_for_executors(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut last = String::new();
        while Instant::now() < deadline {
            last = self.readiness();
            if last.contains(&format!("ready: {n} executors")) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "{n} executors did not register: {last}\nscheduler: {}\nexecutors: {:?}",
            self.scheduler.log(),
            self.executors.iter().map(Spawned::log).collect::<Vec<_>>()
        );
    }

    /// The body of the scheduler's `GET /readyz`.
    fn readiness(&self) -> String {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return String::new();
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let request = "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        if stream.write_all(request.as_bytes()).is_err() {
            return String::new();
        }
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer
    }
}

/// The rows of `cxsql ARGS --format json`, locally and through `cluster`, ordered the same way.
fn both(cluster: &Cluster, args: &[&str]) -> (Vec<Row>, Vec<Row>) {
    let rows = |extra: &[&str]| -> Vec<Row> {
        let mut all: Vec<&str> = extra.to_vec();
        all.extend(args);
        all.extend(["--format", "json"]);
        let out = ok(&all);
        let mut rows: Vec<Row> = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("cxsql {all:?}: not a JSON array ({e}): {out}"));
        // Ties of an ORDER BY may come back in either order: compare in the order of the non-float values.
        rows.sort_by_key(key);
        rows
    };
    let url = cluster.url();
    (rows(&[]), rows(&["--cluster", &url]))
}

/// A row's values other than floating point ones, as text.
fn key(row: &Row) -> String {
    row.values()
        .map(|v| match v {
            serde_json::Value::Number(n) if n.is_f64() => String::new(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\u{1}")
}

/// Equal rows, floating point to 1e-9 relative (anywhere in nested values).
fn assert_same(what: &str, local: &[Row], remote: &[Row]) {
    assert_eq!(local.len(), remote.len(), "{what}: row counts");
    for (a, b) in local.iter().zip(remote) {
        let (a, b) = (
            serde_json::Value::Object(a.clone()),
            serde_json::Value::Object(b.clone()),
        );
        assert!(close(&a, &b), "{what}: local {a} != cluster {b}");
    }
}

fn close(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| close(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| close(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn saved_queries_and_kpi_functions_give_the_local_results_on_a_cluster() {
    let cluster = Cluster::start(2, &[]);
    // Every saved query with its defaults.
    let mut queries: Vec<_> = std::fs::read_dir(root().join("queries"))
        .expect("queries/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    queries.sort();
    assert!(queries.len() >= 15, "the saved queries: {queries:?}");
    for query in &queries {
        let file = query.to_string_lossy();
        let (local, remote) = both(&cluster, &["run", &file]);
        assert!(!local.is_empty(), "{file} gives rows locally");
        assert_same(&file, &local, &remote);
    }
    // Each function, as aggregate, window and scalar, and a saved query called as a table function.
    let adhoc = [
        "SELECT channel, nps(nps_score) AS nps, csat(csat_score) AS csat, nps_moe(nps_score) AS moe, \
         nps_ci(nps_score, 0.9) AS ci, count(*) AS n FROM surveys GROUP BY channel",
        "SELECT nps_diff_test(nps_score, channel = 'chat') AS t FROM surveys WHERE channel IN ('chat', 'email')",
        "SELECT channel, priority, fcr_rate(contacts) AS fcr, backlog_at(created_at, resolved_at, \
         TIMESTAMP '2024-06-30T00:00:00Z') AS backlog FROM tickets GROUP BY channel, priority",
        "SELECT dimension, servqual_gap(perception, expectation) AS gap FROM servqual GROUP BY dimension",
        "SELECT DISTINCT channel, month, rolling FROM (SELECT channel, date_trunc('month', submitted_at) AS \
         month, nps(nps_score) OVER (PARTITION BY channel ORDER BY date_trunc('month', submitted_at) RANGE \
         BETWEEN INTERVAL '2 months' PRECEDING AND CURRENT ROW) AS rolling FROM surveys \
         WHERE submitted_at < TIMESTAMP '2022-01-01T00:00:00Z')",
        "SELECT channel, csat(csat_score) OVER (PARTITION BY channel) AS c FROM surveys WHERE survey_id % 97 = 0",
        "SELECT channel, unnest(backlog_series(created_at, resolved_at, TIMESTAMP '2024-01-01T00:00:00Z', \
         TIMESTAMP '2024-03-01T00:00:00Z', INTERVAL '7 days')) AS b FROM tickets GROUP BY channel",
        "SELECT ticket_id, business_seconds(created_at, first_response_at) AS s, sla_breached(created_at, \
         first_response_at, INTERVAL '4 hours', 'default') AS late FROM tickets WHERE ticket_id % 50 = 0",
        "SELECT * FROM nps_by_channel('2023-01-01T00:00:00Z', '2024-01-01T00:00:00Z') WHERE responses > 10",
        "SELECT t.channel, count(*) AS n, avg(s.nps_score) AS mean FROM tickets t JOIN surveys s \
         ON s.ticket_id = t.ticket_id JOIN sla_policies p ON p.channel = t.channel AND p.priority = t.priority \
         GROUP BY t.channel",
    ];
    for sql in adhoc {
        let (local, remote) = both(&cluster, &["query", sql]);
        assert!(!local.is_empty(), "{sql} gives rows locally");
        assert_same(sql, &local, &remote);
    }
    // The ticket-history benchmark's queries (status_durations, status_seconds joined to the policies,
    // reply_waits' p90).
    for stem in ["time_in_status", "sla_breach_rate", "next_reply_p90"] {
        let file = root().join(format!("benches/history/{stem}.sql"));
        let text = std::fs::read_to_string(&file).expect("benchmark query");
        // Without the comment lines: an argument that starts with `--` would be read as a flag.
        let sql: String = text
            .lines()
            .filter(|l| !l.starts_with("--"))
            .map(|l| format!("{l}\n"))
            .collect();
        let (local, remote) = both(&cluster, &["query", &sql]);
        assert!(!local.is_empty(), "{stem} gives rows locally");
        assert_same(stem, &local, &remote);
    }
}

#[test]
fn calendars_travel_with_the_plan_to_executors_without_the_catalog() {
    // The client has a calendar the scheduler and executors were not started with.
    let dir = tempfile::tempdir().expect("temp dir");
    let data = root().join("data");
    std::fs::write(
        dir.path().join("cxsql.toml"),
        format!(
            "[tables.tickets]\nlocation = {:?}\n\n[calendars.paris]\ntime_zone = \"Europe/Paris\"\n\
             hours = [\"Mon-Fri 08:30-12:00 13:30-18:00\"]\nholidays = [\"2024-05-01\", \"2024-07-14\"]\n",
            data.join("tickets.parquet").display().to_string()
        ),
    )
    .expect("catalog written");
    let cluster = Cluster::start(2, &[]);
    let sql = "SELECT channel, sum(business_seconds(created_at, resolved_at, 'paris')) AS s, \
               count(*) FILTER (WHERE sla_breached(created_at, resolved_at, INTERVAL '2 days', 'paris')) AS late \
               FROM tickets GROUP BY channel";
    let run = |extra: &[&str]| {
        let mut args: Vec<&str> = extra.to_vec();
        args.extend(["query", sql, "--format", "json"]);
        let out = cxsql_in(dir.path(), &args, None);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        let mut rows: Vec<Row> = serde_json::from_str(&out.stdout).expect("JSON rows");
        rows.sort_by_key(key);
        rows
    };
    let url = cluster.url();
    let (local, remote) = (run(&[]), run(&["--cluster", &url]));
    assert_eq!(local.len(), 5, "one row per channel: {local:?}");
    assert_same(sql, &local, &remote);
}

#[test]
fn a_report_on_a_cluster_writes_the_local_results() {
    let cluster = Cluster::start(2, &[]);
    let out = tempfile::tempdir().expect("temp dir");
    let (here, there) = (out.path().join("local"), out.path().join("cluster"));
    let url = cluster.url();
    for (folder, extra) in [(&here, vec![]), (&there, vec!["--cluster", url.as_str()])] {
        let mut args = extra.clone();
        let folder = folder.to_string_lossy().into_owned();
        args.extend([
            "report",
            "--report",
            "reports/kpi_review.toml",
            "--out",
            &folder,
            "--format",
            "json",
            "--quiet",
        ]);
        ok(&args);
    }
    let results = json_files(&here);
    assert!(
        results.len() >= 5,
        "the report's result files: {:?}",
        results.keys()
    );
    assert_eq!(
        results.keys().collect::<Vec<_>>(),
        json_files(&there).keys().collect::<Vec<_>>()
    );
    for (name, local) in &results {
        let remote = &json_files(&there)[name];
        assert_same(name, local, remote);
    }
}

/// The rows of each result file (`*.json` but the manifest) of a report folder, sorted as [`both`] sorts.
fn json_files(folder: &Path) -> BTreeMap<String, Vec<Row>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(folder).expect("report folder") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        if !name.ends_with(".json") || name == "manifest.json" {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("result file");
        let mut rows: Vec<Row> = serde_json::from_str(&text).expect("JSON rows");
        rows.sort_by_key(key);
        files.insert(name, rows);
    }
    files
}

#[test]
fn an_executor_without_cxsql_functions_fails_the_query_naming_the_function() {
    let cluster = Cluster::start(1, &["--without-cxsql-functions"]);
    let url = cluster.url();
    let out = cxsql(&[
        "--cluster",
        &url,
        "--cluster-timeout",
        "120s",
        "query",
        "SELECT channel, nps(nps_score) FROM surveys GROUP BY channel",
    ]);
    out.assert_fails(1, "nps");
    assert!(out.stdout.is_empty(), "no rows: {}", out.stdout);
}

#[test]
fn an_unreachable_scheduler_is_an_error_within_seconds() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let url = format!("df://127.0.0.1:{port}");
    let started = Instant::now();
    fails(
        &["--cluster", &url, "query", "SELECT count(*) FROM tickets"],
        2,
        &format!("cannot reach the cluster's scheduler at {url}"),
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    fails(
        &["--cluster", "127.0.0.1:50050", "query", "SELECT 1"],
        2,
        "df://HOST:PORT",
    );
}

#[test]
fn a_killed_executor_gives_the_right_result_or_a_clear_error() {
    let mut cluster = Cluster::start(2, &[]);
    // Long enough to be running when the executor dies: every pair of tickets of a channel.
    let sql = "SELECT a.channel, count(*) AS pairs, sum(a.handle_time_s + b.wait_time_s) AS total \
               FROM tickets a JOIN tickets b ON a.channel = b.channel AND a.priority = b.priority \
               GROUP BY a.channel";
    let local = {
        let mut rows: Vec<Row> =
            serde_json::from_str(&ok(&["query", sql, "--format", "json"])).expect("JSON rows");
        rows.sort_by_key(key);
        rows
    };
    let url = cluster.url();
    let args: Vec<String> = [
        "--cluster",
        &url,
        "--cluster-timeout",
        "180s",
        "query",
        sql,
        "--format",
        "json",
    ]
    .map(String::from)
    .to_vec();
    // The client runs to its end in a thread; cxsql() fails the test if it panics.
    let client = std::thread::spawn(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cxsql(&args)
    });
    std::thread::sleep(Duration::from_millis(1500));
    let mut lost = cluster.executors.remove(1);
    lost.kill();
    let started = Instant::now();
    let out = client.join().expect("client ends");
    let (stdout, stderr) = (&out.stdout, &out.stderr);
    // Which of the two it was, for whoever reads the test's output.
    eprintln!(
        "after killing an executor: exit {:?} after {:?}; {}",
        out.code,
        started.elapsed(),
        stderr.trim()
    );
    match out.code {
        0 => {
            let mut rows: Vec<Row> = serde_json::from_str(stdout).expect("JSON rows");
            rows.sort_by_key(key);
            assert_same("after losing an executor", &local, &rows);
        }
        1 => assert!(
            stderr.contains("executor") || stderr.contains("did not finish"),
            "a clear error: {stderr}"
        ),
        other => panic!("exit {other:?}: {stderr}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(180),
        "{:?}",
        started.elapsed()
    );
}
