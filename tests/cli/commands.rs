//! Commands, formats, outputs.

use std::process::{Command, Stdio};

use crate::util::*;

#[test]
fn query_reads_sql_from_argument_file_and_stdin_with_several_statements() {
    let sql = "CREATE VIEW v AS SELECT channel, nps_score FROM surveys; SELECT count(*) AS n FROM v WHERE channel = 'chat';";
    let from_arg = ok(&["query", sql, "--format", "csv"]);
    let stdin = cxsql_in(&root(), &["query", "--format", "csv"], Some(sql));
    assert_eq!(stdin.code, 0, "{}", stdin.stderr);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("q.sql");
    std::fs::write(&file, sql).expect("written");
    let from_file = ok(&["query", "-f", &file.to_string_lossy(), "--format", "csv"]);
    assert!(from_arg.starts_with("n\n"), "{from_arg}");
    assert_eq!(from_arg, stdin.stdout);
    assert_eq!(from_arg, from_file);
}

#[test]
fn every_output_format_carries_the_same_rows() {
    let sql =
        "SELECT channel, nps(nps_score) AS nps FROM surveys GROUP BY channel ORDER BY channel";
    let csv_out = ok(&["query", sql, "--format", "csv"]);
    assert_eq!(
        csv_out.lines().count(),
        6,
        "header and five channels: {csv_out}"
    );
    let ndjson = ok(&["query", sql, "--format", "ndjson"]);
    assert_eq!(ndjson.lines().count(), 5);
    assert!(ndjson.starts_with("{\"channel\":\"chat\""), "{ndjson}");
    let table = ok(&["query", sql]);
    assert!(table.contains("| channel |"), "{table}");
    let json = json_rows(&["query", sql]);
    assert_eq!(json.len(), 5);

    let dir = tempfile::tempdir().expect("tempdir");
    let parquet = dir.path().join("nps.parquet");
    let parquet_arg = parquet.to_string_lossy().into_owned();
    ok(&[
        "query",
        sql,
        "--format",
        "parquet",
        "--output",
        &parquet_arg,
    ]);
    let back = json_rows(&[
        "--table",
        &format!("p={parquet_arg}"),
        "query",
        "SELECT channel, nps FROM p ORDER BY channel",
    ]);
    assert_eq!(back, json);
}

#[test]
fn an_existing_output_is_kept_unless_forced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("result.csv");
    std::fs::write(&out, "precious\n").expect("written");
    let out_arg = out.to_string_lossy().into_owned();
    let refused = cxsql(&["query", "SELECT 1 AS x", "--format", "csv", "-o", &out_arg]);
    refused.assert_fails(2, "the file exists; use --force");
    assert_eq!(std::fs::read_to_string(&out).expect("kept"), "precious\n");

    // A failing query leaves the old file too, even with --force.
    let failed = cxsql(&[
        "query",
        "SELECT nps(11) AS x",
        "--format",
        "csv",
        "-o",
        &out_arg,
        "--force",
    ]);
    assert_eq!(failed.code, 1);
    assert_eq!(std::fs::read_to_string(&out).expect("kept"), "precious\n");

    ok(&[
        "query",
        "SELECT 1 AS x",
        "--format",
        "csv",
        "-o",
        &out_arg,
        "--force",
    ]);
    assert_eq!(std::fs::read_to_string(&out).expect("replaced"), "x\n1\n");
    let leftovers = std::fs::read_dir(dir.path()).expect("dir").count();
    assert_eq!(leftovers, 1, "no temporary files left behind");
}

#[test]
fn functions_tables_and_schema_describe_the_session() {
    let list = json_rows(&["functions"]);
    for name in ["nps", "csat", "fcr_rate", "servqual_gap", "backlog_at"] {
        let row = list
            .iter()
            .find(|r| r["name"].text() == name)
            .unwrap_or_else(|| panic!("{name} in {list:?}"));
        assert!(row["description"].text().ends_with('.'), "{row:?}");
    }
    assert!(ok(&["functions"]).contains("| name "), "a table by default");
    let nps = ok(&["functions", "nps"]);
    assert!(
        nps.contains("### `nps(score)`") && nps.contains("```sql"),
        "{nps}"
    );

    let tables = json_rows(&["tables"]);
    let names: Vec<&str> = tables.iter().map(|r| r["name"].text()).collect();
    assert_eq!(
        names,
        [
            "agents",
            "customers",
            "employee_pulse",
            "messages",
            "servqual",
            "sla_policies",
            "surveys",
            "ticket_events",
            "tickets"
        ],
        "{tables:?}"
    );
    assert_eq!(tables[5]["kind"].text(), "csv");
    assert_eq!(tables[8]["kind"].text(), "parquet");
    assert_eq!(tables[8]["location"].text(), "data/tickets.parquet");

    let schema = json_rows(&["schema", "tickets"]);
    let column = |name: &str| {
        schema
            .iter()
            .find(|r| r["column_name"].text() == name)
            .unwrap_or_else(|| panic!("{name} in {schema:?}"))
    };
    assert_eq!(
        column("created_at")["data_type"].text(),
        "Timestamp(µs, \"UTC\")"
    );
    assert_eq!(column("created_at")["is_nullable"].text(), "NO");
    assert_eq!(column("resolved_at")["is_nullable"].text(), "YES");
    let csv = ok(&["schema", "surveys", "--format", "csv"]);
    assert!(
        csv.starts_with("column_name,data_type,is_nullable\nsurvey_id,Int64,NO\n"),
        "{csv}"
    );
}

#[test]
fn a_closed_output_pipe_ends_quietly() {
    // `cxsql query ... | head -1`: the reader stops after one line; cxsql ends with 0 and says nothing.
    for format in ["table", "csv", "ndjson"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cxsql"))
            .args(["query", "SELECT * FROM tickets", "--format", format])
            .current_dir(root())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cxsql starts");
        let mut stdout = child.stdout.take().expect("stdout");
        let mut first = [0u8; 64];
        std::io::Read::read_exact(&mut stdout, &mut first).expect("the first bytes");
        drop(stdout);
        let out = child.wait_with_output().expect("cxsql ends");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{format}: {stderr}");
        assert!(stderr.is_empty(), "{format}: {stderr}");
    }
}

#[test]
fn data_folders_and_globs_become_tables() {
    let dir = tempfile::tempdir().expect("tempdir");
    let parts = dir.path().join("scores");
    std::fs::create_dir(&parts).expect("dir");
    std::fs::write(parts.join("a.csv"), "channel,score\nchat,10\nchat,0\n").expect("a");
    std::fs::write(parts.join("b.csv"), "channel,score\nemail,9\n").expect("b");
    std::fs::write(dir.path().join("extra.json"), "{\"x\": 1}\n{\"x\": 2}\n").expect("json");
    let data = dir.path().to_string_lossy().into_owned();
    let rows = json_rows(&[
        "--data",
        &data,
        "query",
        "SELECT nps(score) AS nps, count(*) AS n, (SELECT sum(x) FROM extra) AS x FROM scores",
    ]);
    assert_eq!(rows[0]["n"].num(), 3.0);
    assert_close(rows[0]["nps"].num(), 100.0 / 3.0, "nps");
    assert_eq!(rows[0]["x"].num(), 3.0);
    let glob = format!("s={}/scores/*.csv", data);
    let rows = json_rows(&["--table", &glob, "query", "SELECT count(*) AS n FROM s"]);
    assert_eq!(rows[0]["n"].num(), 3.0);
}

#[test]
fn a_table_is_read_only_when_a_statement_uses_it() {
    // `broken.parquet` is not Parquet: commands that do not touch it work, the ones that do name it.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("good.csv"), "x\n1\n2\n").expect("good");
    let broken = dir.path().join("broken.parquet");
    std::fs::write(&broken, "not parquet at all").expect("broken");
    let data = dir.path().to_string_lossy().into_owned();
    let rows = json_rows(&["--data", &data, "query", "SELECT sum(x) AS s FROM good"]);
    assert_eq!(rows[0]["s"].num(), 3.0);
    let tables = ok(&["--data", &data, "tables"]);
    assert!(
        tables.contains("broken") && tables.contains("good"),
        "{tables}"
    );
    for args in [
        vec!["--data", &data, "query", "SELECT count(*) FROM broken"],
        vec!["--data", &data, "schema", "broken"],
    ] {
        let out = cxsql(&args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("table broken (") && out.stderr.contains("broken.parquet"),
            "{args:?}: {}",
            out.stderr
        );
    }
    // Replaced before use: the replacement is what is read.
    let rows = json_rows(&[
        "--data",
        &data,
        "query",
        "CREATE OR REPLACE VIEW broken AS SELECT 7 AS y; SELECT y FROM broken",
    ]);
    assert_eq!(rows[0]["y"].num(), 7.0);
}
