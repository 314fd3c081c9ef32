//! What every test module uses: running the binary as a user does, and reading its JSON output with
//! serde_json (not with cxsql's own code).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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
    let out = ok(&all);
    serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("cxsql {args:?}: not a JSON array ({e}): {out}"))
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
