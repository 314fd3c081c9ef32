//! Errors and exit codes.

use crate::util::*;

#[test]
fn errors_have_clear_messages_and_exit_codes() {
    let cases: &[(&[&str], i32, &str)] = &[
        (&["query", "SELEC 1"], 1, "SQL error"),
        (
            &["query", "SELECT * FROM nowhere"],
            1,
            "registered tables: agents, customers, employee_pulse, messages, servqual, sla_policies, surveys, ticket_events, tickets",
        ),
        (
            &["query", "SELECT nps(11)"],
            1,
            "nps: score 11 is outside the 0..10 scale",
        ),
        (
            &["query", "SELECT csat(csat_score, 1) FROM surveys"],
            1,
            "csat: scale_max must be an integer >= 2",
        ),
        (
            &["--table", "t=does/not/exist.csv", "tables"],
            2,
            "does/not/exist.csv: no such file or folder",
        ),
        (&["--table", "nameless", "tables"], 2, "expected NAME=PATH"),
        (
            &["--data", "no_such_dir", "tables"],
            2,
            "data folder no_such_dir: no such folder",
        ),
        (
            &["run", "queries/none.sql"],
            2,
            "queries/none.sql: No such file",
        ),
        (&["query", "-f", "none.sql"], 2, "none.sql: No such file"),
        (
            &["query", "SELECT 1", "--format", "parquet"],
            2,
            "--format parquet needs --output",
        ),
        (&["functions", "nope"], 2, "unknown function nope"),
        (&["schema", "nope"], 2, "registered tables"),
        (&["frobnicate"], 2, "unrecognized subcommand"),
        (
            &["query", "--format", "xml", "SELECT 1"],
            2,
            "invalid value 'xml'",
        ),
        (&["query", ""], 2, "no SQL statement given"),
    ];
    for (args, code, message) in cases {
        let out = cxsql(args);
        assert_eq!(out.code, *code, "cxsql {args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains(message),
            "cxsql {args:?}: expected {message:?} in {}",
            out.stderr
        );
    }
}

#[test]
fn bad_inputs_never_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(d.join("empty.csv"), "").expect("empty");
    std::fs::write(d.join("ragged.csv"), "a,b\n1,2\n3\n").expect("ragged");
    std::fs::write(d.join("junk.parquet"), "not parquet").expect("junk");
    std::fs::write(d.join("bad.sql"), "-- param: broken\nSELECT 1").expect("bad");
    std::fs::write(d.join("empty.sql"), "-- name: nothing\n").expect("empty sql");
    let inputs: &[&[&str]] = &[
        &["--table", "e=empty.csv", "query", "SELECT * FROM e"],
        &["--table", "r=ragged.csv", "query", "SELECT * FROM r"],
        &["--table", "j=junk.parquet", "query", "SELECT * FROM j"],
        &["run", "bad.sql"],
        &["run", "empty.sql"],
        &["query", "SELECT backlog_at(1, 2, 3)"],
        &["query", "SELECT nps(score) FROM (VALUES ('x')) t(score)"],
        &["query", "SELECT 1/0"],
        &["query", ";;;"],
        &["gen", "--out", "empty.csv"],
    ];
    for args in inputs {
        let out = cxsql_in(d, args, None);
        assert!(
            matches!(out.code, 0..=2),
            "cxsql {args:?} exited {}: {}",
            out.code,
            out.stderr
        );
        if out.code != 0 {
            assert!(
                out.stderr.starts_with("cxsql: ") || out.stderr.starts_with("error: "),
                "{}",
                out.stderr
            );
        }
    }
}
