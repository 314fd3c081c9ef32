//! What every test module uses: running the binary as a user does (to its end, or as a process a test
//! holds: a server, a cluster, a run to interrupt), asserting how it failed, reading its JSON output with
//! serde_json (not with cxsql's own code), and the fixtures several topics share.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One JSON row: column name -> value.
pub type Row = serde_json::Map<String, serde_json::Value>;

/// The project root: `data/` and `queries/` are found from here, as in a fresh clone.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Asserts that the run failed with exit code `code` and a message holding `needle`.
    #[track_caller]
    pub fn assert_fails(&self, code: i32, needle: &str) {
        assert_eq!(
            self.code, code,
            "expected exit code {code}; stderr: {}",
            self.stderr
        );
        assert!(
            self.stderr.contains(needle),
            "expected {needle:?} in stderr: {}",
            self.stderr
        );
    }

    /// The run's JSON array output (`--format json`) as rows, asserting it succeeded.
    #[track_caller]
    pub fn rows(&self) -> Vec<Row> {
        assert_eq!(self.code, 0, "failed: {}", self.stderr);
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not a JSON array ({e}): {}", self.stdout))
    }
}

pub fn cxsql_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cxsql"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cxsql starts");
    {
        let mut input = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).expect("stdin written");
        }
    }
    let out = child.wait_with_output().expect("cxsql ends");
    let result = Output {
        code: out.status.code().expect("exited, not killed"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !result.stderr.contains("panicked"),
        "cxsql {args:?} panicked: {}",
        result.stderr
    );
    result
}

pub fn cxsql(args: &[&str]) -> Output {
    cxsql_in(&root(), args, None)
}

/// Runs `cxsql ARGS` in the project root and asserts it fails with `code` and a message holding `needle`.
#[track_caller]
pub fn fails(args: &[&str], code: i32, needle: &str) -> Output {
    let out = cxsql(args);
    out.assert_fails(code, needle);
    out
}

/// Runs and expects success; returns standard output.
pub fn ok(args: &[&str]) -> String {
    let out = cxsql(args);
    assert_eq!(out.code, 0, "cxsql {args:?} failed: {}", out.stderr);
    out.stdout
}

/// The JSON array output of a command as rows of column -> value.
pub fn json_rows(args: &[&str]) -> Vec<Row> {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    cxsql(&all).rows()
}

/// Typed access to a JSON value, failing the test with the value when it has another type.
pub trait Json {
    fn num(&self) -> f64;
    fn text(&self) -> &str;
}

impl Json for serde_json::Value {
    fn num(&self) -> f64 {
        self.as_f64()
            .unwrap_or_else(|| panic!("not a number: {self}"))
    }

    fn text(&self) -> &str {
        self.as_str()
            .unwrap_or_else(|| panic!("not a string: {self}"))
    }
}

pub fn assert_close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-9 * b.abs().max(1.0),
        "{what}: {a} != {b}"
    );
}

/// A process a test holds (a server, a scheduler, an executor, a run to interrupt): killed and reaped when
/// dropped, also when the test fails; its standard error is collected line by line.
pub struct Spawned {
    child: Child,
    log: Arc<Mutex<String>>,
    lines: Receiver<String>,
    reader: Option<JoinHandle<()>>,
}

impl Spawned {
    /// Starts `command` with standard input and output closed and standard error collected.
    pub fn start(mut command: Command) -> Spawned {
        command.stdout(Stdio::null());
        Self::spawn(command)
    }

    /// Starts `command` as [`Self::start`] does, with its standard output given to the caller.
    pub fn with_stdout(mut command: Command) -> (Spawned, ChildStdout) {
        command.stdout(Stdio::piped());
        let mut spawned = Self::spawn(command);
        let stdout = spawned.child.stdout.take().expect("stdout");
        (spawned, stdout)
    }

    fn spawn(mut command: Command) -> Spawned {
        let mut child = command
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the process starts");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, lines) = channel();
        let collected = Arc::clone(&log);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                {
                    let mut log = collected.lock().expect("log");
                    log.push_str(&line);
                    log.push('\n');
                }
                let _ = tx.send(line);
            }
        });
        Spawned {
            child,
            log,
            lines,
            reader: Some(reader),
        }
    }

    /// Starts `cxsql ARGS` in `dir`.
    pub fn cxsql(dir: &Path, args: &[&str]) -> Spawned {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cxsql"));
        command.args(args).current_dir(dir);
        Self::start(command)
    }

    /// Standard error so far.
    pub fn log(&self) -> String {
        self.log.lock().expect("log").clone()
    }

    /// Standard error's lines, each as it is written.
    pub fn lines(&self) -> &Receiver<String> {
        &self.lines
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Sends signal `name` (`INT`, `TERM`, `HUP`, `KILL`) with kill(1).
    pub fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -{name} {}", self.child.id());
    }

    /// Kills the process now and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the exit, at most `limit`; returns the exit code and all of standard error.
    #[track_caller]
    pub fn wait_exit(&mut self, limit: Duration) -> (i32, String) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                if let Some(reader) = self.reader.take() {
                    let _ = reader.join();
                }
                let log = self.log();
                let code = status
                    .code()
                    .unwrap_or_else(|| panic!("killed by a signal: {status}; {log}"));
                return (code, log);
            }
            assert!(
                started.elapsed() < limit,
                "the process did not stop within {limit:?}: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits until `ready` holds, at most 60 s.
#[track_caller]
pub fn wait_until(what: &str, ready: impl Fn() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{what} never happened"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("in memory");
    encoder.finish().expect("in memory")
}

/// Per channel of the export: (satisfied, rated, tickets), counted with the csv crate's reader and the
/// top-two-box rule (rating >= 4) by hand, independently of cxsql.
pub fn independent_csat_per_channel(fixture: &Path) -> BTreeMap<String, (f64, f64, f64)> {
    let mut expected: BTreeMap<String, (f64, f64, f64)> = BTreeMap::new();
    let mut reader = csv::Reader::from_path(fixture).expect("fixture");
    let headers = reader.headers().expect("header").clone();
    let col = |name: &str| headers.iter().position(|h| h == name).expect(name);
    let (channel, rating) = (col("Ticket Channel"), col("Customer Satisfaction Rating"));
    for record in reader.records() {
        let record = record.expect("record");
        let e = expected.entry(record[channel].to_string()).or_default();
        e.2 += 1.0;
        if !record[rating].is_empty() {
            let r: f64 = record[rating].parse().expect("rating");
            e.1 += 1.0;
            e.0 += f64::from(u8::from(r >= 4.0));
        }
    }
    expected
}
