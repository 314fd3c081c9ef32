//! `cxsql serve` with real clients: the server runs as a process on a free loopback port, and PyPI's ADBC
//! Flight SQL driver (tests/flight/adbc_check.py) talks to it. Every process started is stopped at the end,
//! also when a test fails.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Spawned, root};

/// Whether the ADBC driver can run here; without it the tests are skipped, except in CI (which installs it).
fn adbc_installed() -> bool {
    let found = Command::new("python3")
        .args([
            "-c",
            "import adbc_driver_flightsql, adbc_driver_manager, pyarrow",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must install adbc-driver-flightsql, adbc-driver-manager, pyarrow and cryptography (see .ci/run)"
    );
    eprintln!(
        "SKIPPED: python3 -m pip install adbc-driver-flightsql adbc-driver-manager pyarrow cryptography"
    );
    false
}

/// A running server: killed when dropped. Its standard error is collected in `log`.
struct Server {
    process: Spawned,
    port: u16,
    scheme: String,
    /// Environment for the client checks.
    env: Vec<(String, String)>,
}

impl Server {
    /// Starts `cxsql serve --listen 127.0.0.1:0 ARGS` in the project root with `token` in CXSQL_TOKEN, and
    /// waits for the line that gives its port.
    fn start(token: Option<&str>, args: &[&str]) -> Server {
        Self::start_with(token, args, "grpc", None)
    }

    /// [`Self::start`]; clients connect with `scheme` (`grpc+tls` for a server with a certificate).
    /// A process address-space limit (`ulimit -v`, kB) makes an allocation past it fail instead of reaching
    /// the kernel's OOM killer.
    fn start_with(
        token: Option<&str>,
        args: &[&str],
        scheme: &str,
        address_space_kb: Option<u64>,
    ) -> Server {
        let mut command = match address_space_kb {
            Some(kb) => {
                let mut sh = Command::new("sh");
                sh.args(["-c", &format!("ulimit -v {kb} && exec \"$0\" \"$@\"")])
                    .arg(env!("CARGO_BIN_EXE_cxsql"));
                sh
            }
            None => Command::new(env!("CARGO_BIN_EXE_cxsql")),
        };
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .current_dir(root())
            .env_remove("CXSQL_TOKEN");
        if let Some(token) = token {
            command.env("CXSQL_TOKEN", token);
        }
        let process = Spawned::start(command);
        // The start line gives the port.
        let deadline = Instant::now() + Duration::from_secs(60);
        let port = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match process.lines().recv_timeout(left) {
                Ok(line) => {
                    if let Some(at) = line.find("://127.0.0.1:") {
                        let port: String = line[at + 13..]
                            .chars()
                            .take_while(char::is_ascii_digit)
                            .collect();
                        if let Ok(port) = port.parse::<u16>() {
                            break port;
                        }
                    }
                }
                Err(_) => panic!("the server did not start: {}", process.log()),
            }
        };
        Server {
            process,
            port,
            scheme: scheme.to_string(),
            env: Vec::new(),
        }
    }

    fn uri(&self) -> String {
        let host = if self.scheme == "grpc" {
            "127.0.0.1"
        } else {
            "localhost"
        };
        format!("{}://{host}:{}", self.scheme, self.port)
    }

    fn log(&self) -> String {
        self.process.log()
    }

    /// The process's resident memory now and at its peak, in kB.
    fn memory_kb(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.process.id()))
            .expect("/proc status");
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

/// Runs checks of tests/flight/adbc_check.py against `server`; returns its output.
fn check(server: &Server, token: &str, checks: &[&str]) -> String {
    check_with(Path::new("python3"), "adbc_check.py", server, token, checks)
}

/// Runs checks of tests/flight/`script` with `python` against `server`; returns its output.
fn check_with(
    python: &Path,
    script: &str,
    server: &Server,
    token: &str,
    checks: &[&str],
) -> String {
    let script = root().join("tests/flight").join(script);
    let out = Command::new(python)
        .arg(&script)
        .args([&server.uri(), token, env!("CARGO_BIN_EXE_cxsql")])
        .args(checks)
        .envs(server.env.iter().map(|(k, v)| (k, v)))
        .current_dir(root())
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{checks:?} failed:\n{stdout}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    stdout
}

#[test]
fn an_adbc_client_gets_what_the_command_line_gets() {
    if !adbc_installed() {
        return;
    }
    let server = Server::start(Some("t0ken-for-tests"), &["--memory-limit", "1G"]);
    let out = check(
        &server,
        "t0ken-for-tests",
        &[
            "saved_queries",
            "ad_hoc",
            "history",
            "prepared",
            "refusals",
            "metadata",
        ],
    );
    for line in [
        "saved queries: 32 equal to cxsql run",
        "ad hoc KPI SQL: equal to cxsql query",
        "history benchmark queries: 3 equal to cxsql query",
        "prepared statements: timestamp parameters bound",
        "refused: missing and wrong tokens, COPY, CREATE VIEW, SET",
    ] {
        assert!(out.contains(line), "{line}: {out}");
    }
    // One log line per query: client, statement hash, rows, duration, outcome.
    let log = server.log();
    assert!(
        log.lines().any(|l| l.contains("client=127.0.0.1:")
            && l.contains(" rows=5 ")
            && l.ends_with(" ok")),
        "{log}"
    );
    assert!(
        !log.contains("t0ken-for-tests"),
        "the token is never logged: {log}"
    );
}

/// The Python of the BI-tool clients: Superset's own environment (SQLAlchemy 1.4, pandas 2.1, pyarrow 18,
/// flightsql-dbapi, polars, the engine spec of contrib/superset), which .ci/run installs in target/bi-venv
/// (CXSQL_BI_PYTHON names another). Without it the tests are skipped, except in CI.
fn bi_python() -> Option<std::path::PathBuf> {
    let python = std::env::var_os("CXSQL_BI_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root().join("target/bi-venv/bin/python"));
    let found = Command::new(&python)
        .args([
            "-c",
            "import flightsql.sqlalchemy, pandas, polars, cxsql_superset.grains",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return Some(python);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must install the BI clients in target/bi-venv (see .ci/run)"
    );
    eprintln!("SKIPPED: no BI-client environment at {}", python.display());
    None
}

#[test]
fn superset_s_sqlalchemy_dialect_pandas_and_polars_get_plain_types_and_parameters() {
    let Some(python) = bi_python() else {
        return;
    };
    let server = Server::start(Some("bi-t0ken"), &["--memory-limit", "1G"]);
    let out = check_with(
        &python,
        "sqlalchemy_check.py",
        &server,
        "bi-t0ken",
        &[
            "reflection",
            "core_select",
            "read_sql",
            "parameters",
            "plain_types",
            "polars_adbc",
            "grains",
        ],
    );
    for line in [
        "reflection: ",
        "core select: 5 channels",
        "read_sql: 5 rows; NPS_BY_CHANNEL(): 5 rows",
        "parameters: ",
        "plain types: string; CSV written; type names in the schema; 14 XDBC types",
        "polars + ADBC: 5 rows",
        "grains: 13 time grains ran and truncate",
    ] {
        assert!(out.contains(line), "{line}: {out}");
    }
}

#[test]
fn results_use_plain_arrow_types_unless_views_are_asked_for() {
    if !adbc_installed() {
        return;
    }
    let plain = Server::start(Some("p"), &[]);
    let out = check(&plain, "p", &["plain_types"]);
    assert!(
        out.contains("types: ('string', 'list<item: string>')"),
        "{out}"
    );
    let views = Server::start(Some("v"), &["--arrow-view-types"]);
    let out = check(&views, "v", &["view_types"]);
    assert!(
        out.contains("types: ('string_view', 'list<item: string_view>')"),
        "{out}"
    );
}

#[test]
fn apache_superset_creates_the_database_runs_sql_lab_and_a_monthly_chart() {
    let Some(python) = bi_python() else {
        return;
    };
    let server = Server::start(Some("superset-t0ken"), &["--memory-limit", "1G"]);
    let home = tempfile::tempdir().expect("temp dir");
    let config = home.path().join("superset_config.py");
    std::fs::write(
        &config,
        format!(
            "SECRET_KEY = 'cxsql-test-only-secret-key-0123456789'\n\
             SQLALCHEMY_DATABASE_URI = 'sqlite:///{}/superset.db'\n\
             DATA_DIR = '{}'\n\
             WTF_CSRF_ENABLED = False\n",
            home.path().display(),
            home.path().display()
        ),
    )
    .expect("config");
    let superset = python.with_file_name("superset");
    let env = [
        ("SUPERSET_CONFIG_PATH", config.to_str().expect("path")),
        ("FLASK_APP", "superset"),
        ("SUPERSET_HOME", home.path().to_str().expect("path")),
    ];
    for args in [
        &["db", "upgrade"][..],
        &[
            "fab",
            "create-admin",
            "--username",
            "admin",
            "--firstname",
            "A",
            "--lastname",
            "B",
            "--email",
            "admin@example.com",
            "--password",
            "admin",
        ],
        &["init"],
    ] {
        let out = Command::new(&superset)
            .args(args)
            .envs(env)
            .output()
            .expect("superset runs");
        assert!(
            out.status.success(),
            "superset {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("http://127.0.0.1:{port}");
    // Superset on `port` until dropped; then the check script with `extra` arguments.
    let run_check = |extra: &[&str]| {
        let mut web = Command::new(&superset);
        web.args(["run", "--host", "127.0.0.1", "-p", &port.to_string()])
            .envs(env);
        let _web = Spawned::start(web);
        let waited = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                waited.elapsed() < Duration::from_secs(120),
                "Superset did not start"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        let out = Command::new(&python)
            .arg(root().join("tests/flight/superset_check.py"))
            .args([
                &url,
                &server.uri(),
                "superset-t0ken",
                env!("CARGO_BIN_EXE_cxsql"),
            ])
            .args(extra)
            .current_dir(root())
            .output()
            .expect("python runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{stdout}\n{}\nserver log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            server.log()
        );
        stdout
    };
    let stdout = run_check(&[]);
    for line in [
        "superset: engine spec 'cxsql' available",
        "superset: SQL Lab NPS by channel: 5 rows equal to cxsql query",
        "superset: SQL Lab NPS_BY_CHANNEL(): 5 rows",
        "superset: monthly chart ",
    ] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
    let stdout = run_check(&["restarted"]);
    assert!(
        stdout.contains("superset: after a restart, SQL Lab counts 20000 tickets"),
        "{stdout}"
    );
}

#[test]
fn hostile_queries_end_in_clear_errors_while_dashboards_keep_running() {
    if !adbc_installed() {
        return;
    }
    const LIMIT_MB: u64 = 500;
    // 6 GB of address space: each hostile query's values (9 GB for the repeat) would have aborted the
    // process; the server's own reservations (thread stacks, allocator arenas) take about 2.5 GB.
    let server = Server::start_with(
        Some("h"),
        &[
            "--memory-limit",
            &format!("{LIMIT_MB}M"),
            "--query-timeout",
            "10s",
            "--max-concurrent-queries",
            "8",
        ],
        "grpc",
        Some(6_000_000),
    );
    let started = Instant::now();
    let out = check(&server, "h", &["hostile", "planning"]);
    println!("{out}");
    assert!(
        out.contains(" dashboard queries, none failed"),
        "{out}\n{}",
        server.log()
    );
    assert!(
        out.contains("planning: a new client listed the tables"),
        "{out}"
    );
    let (_, peak) = server.memory_kb();
    println!(
        "peak RSS {} MB under --memory-limit {LIMIT_MB}M; {:.0} s in all",
        peak / 1024,
        started.elapsed().as_secs_f64()
    );
    // The overhead beyond the limit: batches in flight (DataFusion accounts aggregation state, not the
    // batches between operators) and the allocator's cached pages.
    assert!(
        peak <= (LIMIT_MB + OVERHEAD_MB) * 1024,
        "peak RSS {peak} kB over the {LIMIT_MB} MB limit + {OVERHEAD_MB} MB"
    );
}

/// What a server holds beyond its --memory-limit at peak, at most (measured in the hostile test: 823 MB
/// under a 500 MB limit, debug build, 2 cores).
const OVERHEAD_MB: u64 = 600;

#[test]
fn sixteen_clients_run_while_one_is_killed_mid_stream_within_the_memory_limit() {
    if !adbc_installed() {
        return;
    }
    const LIMIT_MB: u64 = 256;
    let server = Server::start(
        Some("load"),
        &[
            "--memory-limit",
            &format!("{LIMIT_MB}M"),
            "--max-concurrent-queries",
            "4",
        ],
    );
    let (baseline, _) = server.memory_kb();
    // A client that starts a huge result, reads one batch and is killed.
    let script = root().join("tests/flight/adbc_check.py");
    let mut client = Command::new("python3");
    client
        .arg(&script)
        .args([
            &server.uri(),
            "load",
            env!("CARGO_BIN_EXE_cxsql"),
            "slow_reader",
        ])
        .current_dir(root());
    let (mut reader, stdout) = Spawned::with_stdout(client);
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("a line");
    assert_eq!(first.trim(), "reading", "{}", server.log());
    reader.kill();
    let out = check(&server, "load", &["load"]);
    assert!(out.contains("load: 400 queries from 16 clients"), "{out}");
    let waited = Instant::now();
    while !server.log().contains("cancelled (the client went away)") {
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "the killed client's query was not stopped: {}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, peak) = server.memory_kb();
    assert!(
        peak <= baseline + LIMIT_MB * 1024,
        "peak RSS {peak} kB over the start's {baseline} kB + the {LIMIT_MB} MB limit"
    );
    assert!(!server.log().contains("failed:"), "{}", server.log());
}

#[test]
fn a_slow_query_stops_at_the_timeout_and_the_others_still_run() {
    if !adbc_installed() {
        return;
    }
    let server = Server::start(Some("t"), &["--query-timeout", "1s"]);
    let out = check(&server, "t", &["timeout", "ad_hoc"]);
    assert!(out.contains("timeout: stopped after"), "{out}");
}

/// Runs `cxsql ARGS` that must be refused at once, without the developer's CXSQL_TOKEN (with one, the first
/// case would start a real server).
fn refused(args: &[&str]) -> crate::util::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_cxsql"))
        .args(args)
        .current_dir(root())
        .env_remove("CXSQL_TOKEN")
        .stdin(Stdio::null())
        .output()
        .expect("cxsql runs");
    crate::util::Output {
        code: out.status.code().expect("exited"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn without_a_token_only_loopback_and_a_signal_stops_it_cleanly() {
    let out = refused(&["serve", "--listen", "0.0.0.0:0"]);
    out.assert_fails(
        2,
        "without a token the server listens on loopback addresses only",
    );
    let missing = refused(&["serve", "--token-file", "no-such-token-file"]);
    missing.assert_fails(2, "no-such-token-file");
    let mut server = Server::start(None, &["--grace", "2s"]);
    assert!(
        server.log().contains("no token: loopback only"),
        "{}",
        server.log()
    );
    server.process.signal("TERM");
    let (code, log) = server.process.wait_exit(Duration::from_secs(20));
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("cxsql serve: stopped"), "{log}");
}

#[test]
fn listings_stay_warm_until_refresh() {
    if !adbc_installed() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp");
    let lake = dir.path().join("data/tickets");
    std::fs::create_dir_all(&lake).expect("folder");
    std::fs::copy(
        root().join("data/tickets.parquet"),
        lake.join("part-0.parquet"),
    )
    .expect("copy");
    let data = dir.path().join("data");
    let mut server = Server::start(Some("r"), &["--data", data.to_str().expect("path")]);
    server
        .env
        .push(("CXSQL_LAKE".into(), lake.display().to_string()));
    let out = check(&server, "r", &["refresh"]);
    assert!(out.contains("after REFRESH"), "{out}");
}

#[test]
fn tls_with_a_certificate_and_key() {
    if !adbc_installed() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp");
    // A self-signed certificate for localhost, made with Python's `cryptography` (installed with moto).
    let made = Command::new("python3")
        .arg(root().join("tests/flight/make_cert.py"))
        .arg(dir.path())
        .status()
        .expect("python3 runs");
    assert!(made.success(), "certificate made");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let mut server = Server::start_with(
        Some("tls"),
        &[
            "--tls-cert",
            cert.to_str().expect("path"),
            "--tls-key",
            key.to_str().expect("path"),
        ],
        "grpc+tls",
        None,
    );
    assert!(server.log().contains("grpc+tls://"), "{}", server.log());
    server
        .env
        .push(("CXSQL_TLS_ROOT".into(), cert.display().to_string()));
    let out = check(&server, "tls", &["tls"]);
    assert!(out.contains("tls: answered over grpc+tls"), "{out}");
}

#[test]
fn allow_writes_lets_a_client_create_a_view() {
    if !adbc_installed() {
        return;
    }
    let server = Server::start(Some("w"), &["--allow-writes"]);
    assert!(server.log().contains("writes allowed"), "{}", server.log());
    let out = check(&server, "w", &["writes"]);
    assert!(out.contains("writes: a view created and read"), "{out}");
}
