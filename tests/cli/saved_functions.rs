//! Saved queries called as table functions: `SELECT * FROM nps_by_channel('2024-01-01T00:00:00Z')`.

use std::path::Path;

use crate::util::*;

/// Rows as a sorted list of (text of the non-numeric values, the numbers): two results with the same rows in
/// any order compare equal, numbers within rounding.
fn canonical(rows: &[Row]) -> Vec<(String, Vec<f64>)> {
    let mut out: Vec<(String, Vec<f64>)> = rows
        .iter()
        .map(|row| {
            let mut key = String::new();
            let mut numbers = Vec::new();
            for (column, value) in row {
                match value {
                    serde_json::Value::Number(n) => {
                        numbers.push(n.as_f64().expect("a number"));
                        // Integers are part of the key; floats are compared within rounding.
                        if n.is_i64() || n.is_u64() {
                            key.push_str(&format!("{column}={n};"));
                        }
                    }
                    other => key.push_str(&format!("{column}={other};")),
                }
            }
            (key, numbers)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn assert_same_rows(got: &[Row], expected: &[Row], what: &str) {
    let (got, expected) = (canonical(got), canonical(expected));
    assert_eq!(got.len(), expected.len(), "{what}: row counts");
    for ((gk, gn), (ek, en)) in got.iter().zip(&expected) {
        assert_eq!(gk, ek, "{what}");
        assert_eq!(gn.len(), en.len(), "{what}: {gk}");
        for (g, e) in gn.iter().zip(en) {
            assert_close(*g, *e, &format!("{what}: {gk}"));
        }
    }
}

#[test]
fn every_saved_query_called_as_a_table_function_returns_what_run_returns() {
    let folder = root().join("queries");
    let mut files: Vec<_> = std::fs::read_dir(&folder)
        .expect("queries/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the saved KPI library");
    for file in files {
        let name = file
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        let relative = format!("queries/{name}.sql");
        let run = json_rows(&["run", &relative]);
        let called = json_rows(&["query", &format!("SELECT * FROM {name}()")]);
        assert!(!run.is_empty(), "{name} returns rows");
        assert_same_rows(&called, &run, &name);
    }
}

#[test]
fn arguments_follow_the_header_order_and_trailing_ones_default() {
    let since = "2024-01-01T00:00:00Z";
    let until = "2024-07-01T00:00:00Z";
    let one = json_rows(&["query", &format!("SELECT * FROM nps_by_channel('{since}')")]);
    let run_one = json_rows(&[
        "run",
        "queries/nps_by_channel.sql",
        "--param",
        &format!("since={since}"),
    ]);
    assert_same_rows(&one, &run_one, "since given, until defaulted");
    let both = json_rows(&[
        "query",
        &format!("SELECT * FROM nps_by_channel('{since}', '{until}')"),
    ]);
    let run_both = json_rows(&[
        "run",
        "queries/nps_by_channel.sql",
        "-p",
        &format!("since={since}"),
        "-p",
        &format!("until={until}"),
    ]);
    assert_same_rows(&both, &run_both, "both given");
    let total = |rows: &[Row]| rows.iter().map(|r| r["responses"].num()).sum::<f64>();
    assert!(
        total(&both) < total(&one),
        "the second argument narrows the period: {} vs {}",
        total(&both),
        total(&one)
    );
    // Typed constants and expressions of constants are cast to the declared type.
    let typed = json_rows(&[
        "query",
        "SELECT * FROM nps_by_channel(DATE '2024-01-01', TIMESTAMP '2024-06-01' + INTERVAL '1 month')",
    ]);
    assert_same_rows(&typed, &run_both, "typed constants");
}

#[test]
fn a_saved_query_composes_with_sql_around_it() {
    let all = json_rows(&["run", "queries/nps_by_channel.sql"]);
    let busy: Vec<Row> = all
        .iter()
        .filter(|r| r["responses"].num() > 300.0)
        .cloned()
        .collect();
    assert!(
        !busy.is_empty() && busy.len() < all.len(),
        "the filter keeps some channels"
    );
    let filtered = json_rows(&[
        "query",
        "SELECT * FROM nps_by_channel() WHERE responses > 300",
    ]);
    assert_same_rows(&filtered, &busy, "WHERE on a saved query");
    // Two saved queries joined, and aggregated over.
    let joined = json_rows(&[
        "query",
        "SELECT n.channel, n.nps, g.goal_completion_pct FROM nps_by_channel() n \
         JOIN goal_completion_rate() g ON n.channel = g.channel",
    ]);
    assert_eq!(joined.len(), all.len(), "one row per channel");
    let count = json_rows(&["query", "SELECT count(*) AS n FROM nps_by_channel()"]);
    assert_eq!(count[0]["n"].num() as usize, all.len());
}

/// A queries folder with nps_by_channel and a query calling it with its own parameter passed through.
fn nested_folder(dir: &Path) {
    let queries = dir.join("queries");
    std::fs::create_dir_all(&queries).expect("folder");
    std::fs::copy(
        root().join("queries/nps_by_channel.sql"),
        queries.join("nps_by_channel.sql"),
    )
    .expect("copied");
    std::fs::write(
        queries.join("busy_channels.sql"),
        "-- name: busy_channels\n-- description: Channels with more answers than a minimum.\n\
         -- param: since TIMESTAMP = '2021-01-01T00:00:00Z'\n-- param: minimum BIGINT = '100'\n\
         SELECT channel, nps, responses FROM nps_by_channel($since) WHERE responses > $minimum\n",
    )
    .expect("written");
    std::fs::write(queries.join("loop_a.sql"), "SELECT * FROM loop_b()\n").expect("written");
    std::fs::write(queries.join("loop_b.sql"), "SELECT * FROM loop_a()\n").expect("written");
}

#[test]
fn a_saved_query_may_call_another_with_its_parameters_but_not_itself() {
    let dir = tempfile::tempdir().expect("temp");
    nested_folder(dir.path());
    let data = root().join("data");
    let data = data.to_str().expect("path");
    let run = |args: &[&str]| {
        let mut all = vec!["--data", data];
        all.extend(args);
        all.extend(["--format", "json"]);
        let out = cxsql_in(dir.path(), &all, None);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        serde_json::from_str::<Vec<Row>>(&out.stdout).expect("JSON rows")
    };
    let since = "2024-01-01T00:00:00Z";
    let busy = run(&[
        "query",
        &format!("SELECT * FROM busy_channels('{since}', 300)"),
    ]);
    let direct = run(&[
        "query",
        &format!(
            "SELECT channel, nps, responses FROM nps_by_channel('{since}') WHERE responses > 300"
        ),
    ]);
    assert!(!busy.is_empty());
    assert_same_rows(&busy, &direct, "the parameter passed through");
    // The same through `run`, its parameters bound from the command line.
    let ran = run(&[
        "run",
        "queries/busy_channels.sql",
        "-p",
        &format!("since={since}"),
        "-p",
        "minimum=300",
    ]);
    assert_same_rows(&ran, &direct, "run of the calling query");
    let out = cxsql_in(
        dir.path(),
        &["--data", data, "query", "SELECT * FROM loop_a()"],
        None,
    );
    assert_ne!(out.code, 0);
    assert!(
        out.stderr
            .contains("loop_a calls itself (loop_a -> loop_b -> loop_a)"),
        "{}",
        out.stderr
    );
}

#[test]
fn bad_arguments_are_refused_with_the_query_parameter_and_value() {
    let out = cxsql(&["query", "SELECT * FROM nps_by_channel('yesterday')"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    for part in [
        "queries/nps_by_channel.sql",
        "parameter since: cannot read 'yesterday' as TIMESTAMP",
        "declared parameters: since TIMESTAMP",
    ] {
        assert!(out.stderr.contains(part), "{part}: {}", out.stderr);
    }
    let out = cxsql(&[
        "query",
        "SELECT * FROM nps_by_channel('2024-01-01', '2025-01-01', 3)",
    ]);
    assert!(
        out.stderr
            .contains("nps_by_channel() takes at most 2 arguments"),
        "{}",
        out.stderr
    );
    let out = cxsql(&["query", "SELECT * FROM nps_by_channel(channel)"]);
    assert!(
        out.stderr
            .contains("argument since of nps_by_channel() must be a constant"),
        "{}",
        out.stderr
    );
    // A value that reads as text is bound, never pasted into the SQL.
    let out = cxsql(&[
        "query",
        "SELECT * FROM nps_by_channel('2024-01-01T00:00:00Z'' OR 1=1 --')",
    ]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("cannot read"), "{}", out.stderr);
}

#[test]
fn a_saved_query_named_like_a_table_or_function_is_an_error_at_start() {
    let dir = tempfile::tempdir().expect("temp");
    let queries = dir.path().join("q");
    std::fs::create_dir(&queries).expect("folder");
    let data = root().join("data");
    let data = data.to_str().expect("path");
    let start = |header: &str| {
        std::fs::write(
            queries.join("a.sql"),
            format!("-- name: {header}\nSELECT 1\n"),
        )
        .expect("written");
        cxsql_in(
            dir.path(),
            &["--data", data, "--queries", "q", "query", "SELECT 1"],
            None,
        )
    };
    let out = start("tickets");
    out.assert_fails(
        2,
        "saved query tickets (q/a.sql) has the name of table tickets",
    );
    let out = start("fcr_rate");
    out.assert_fails(2, "has the name of aggregate function fcr_rate()");
    std::fs::write(queries.join("b.sql"), "-- name: twice\nSELECT 2\n").expect("written");
    let out = start("twice");
    out.assert_fails(2, "q/a.sql and q/b.sql are both named twice");
    let out = cxsql_in(
        dir.path(),
        &["--queries", "missing", "query", "SELECT 1"],
        None,
    );
    out.assert_fails(2, "queries folder missing: no such folder");
}

#[test]
fn functions_lists_saved_queries_with_their_parameters() {
    let listing = json_rows(&["functions"]);
    let nps = listing
        .iter()
        .find(|r| r["name"] == "nps_by_channel")
        .expect("nps_by_channel listed");
    assert_eq!(nps["kind"], "saved query");
    assert_eq!(
        nps["call"],
        "nps_by_channel([since TIMESTAMP = '2021-01-01T00:00:00Z'], [until TIMESTAMP = '2025-01-01T00:00:00Z'])"
    );
    assert!(
        listing
            .iter()
            .any(|r| r["name"] == "fcr_rate" && r["kind"] == "KPI function")
    );
    let doc = ok(&["functions", "nps_by_channel"]);
    assert!(doc.contains("SELECT * FROM nps_by_channel("), "{doc}");
    assert!(doc.contains("FROM surveys"), "the SQL is shown: {doc}");
    let shell = cxsql_in(&root(), &["shell"], Some("\\f\n"));
    assert_eq!(shell.code, 0, "{}", shell.stderr);
    assert!(
        shell.stdout.contains("nps_by_channel") && shell.stdout.contains("saved query"),
        "\\f lists saved queries: {}",
        shell.stdout
    );
}
