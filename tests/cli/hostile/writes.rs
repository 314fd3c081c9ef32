//! Writes from SQL follow the rule of --output: COPY refuses an existing file without --force and a table's
//! own files always; INSERT never writes into a table's files; --read-only refuses all; reports are
//! read-only. JSON output keeps NULLs. A piped script's failures give exit 1.

use crate::util::{cxsql_in, root};

#[test]
fn copy_and_insert_never_replace_what_the_user_has() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("data")).expect("mkdir");
    std::fs::copy(
        root().join("data/tickets.parquet"),
        dir.path().join("data/tickets.parquet"),
    )
    .expect("copy");
    let before = std::fs::read(dir.path().join("data/tickets.parquet")).expect("read");
    let run = |args: &[&str]| cxsql_in(dir.path(), args, None);

    let out = run(&[
        "query",
        "COPY (SELECT 1 AS a) TO 'data/tickets.parquet'",
        "--force",
    ]);
    out.assert_fails(2, "holds the files of table tickets");
    let out = run(&[
        "query",
        "COPY (SELECT 1 AS a) TO 'data' STORED AS PARQUET",
        "--force",
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(
        std::fs::read(dir.path().join("data/tickets.parquet")).expect("read"),
        before
    );

    std::fs::write(dir.path().join("mine.csv"), "precious").expect("write");
    let out = run(&["query", "COPY (SELECT 1 AS a) TO 'mine.csv'"]);
    out.assert_fails(2, "mine.csv: the file exists; use --force to replace it");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("mine.csv")).expect("kept"),
        "precious"
    );
    let out = run(&["query", "COPY (SELECT 1 AS a) TO 'mine.csv'", "--force"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("mine.csv")).expect("replaced"),
        "a\n1\n"
    );

    // A folder target: the new files join what is there (with --force), partitions included; nothing staged
    // is left behind.
    std::fs::create_dir(dir.path().join("out")).expect("mkdir");
    std::fs::write(dir.path().join("out/notes.txt"), "mine").expect("write");
    let out = run(&[
        "query",
        "COPY (SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS t(n, k)) TO 'out' STORED AS CSV PARTITIONED BY (k)",
        "--force",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out/notes.txt")).expect("kept"),
        "mine"
    );
    for partition in ["k=a", "k=b"] {
        let files = std::fs::read_dir(dir.path().join("out").join(partition))
            .expect("partition folder")
            .count();
        assert_eq!(files, 1, "{partition}");
    }
    let out = run(&["query", "COPY (SELECT 1 AS n) TO 'fresh/one.csv'"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("fresh/one.csv")).expect("written"),
        "n\n1\n"
    );
    let out = run(&[
        "query",
        "COPY (SELECT 1 AS n) TO 'mine.csv/' STORED AS CSV",
        "--force",
    ]);
    assert_eq!(
        out.code, 2,
        "a folder's files never replace a file: {}",
        out.stderr
    );
    assert!(out.stderr.contains("is a file"), "{}", out.stderr);
    assert!(dir.path().join("mine.csv").is_file());
    assert_eq!(super::temporaries(dir.path()), Vec::<String>::new());

    // A full disk: said as such, not as "a bug in DataFusion".
    let out = run(&["query", "COPY (SELECT 1 AS a) TO '/dev/full' STORED AS CSV"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("writing failed (is the disk full"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("bug in DataFusion"), "{}", out.stderr);

    let out = run(&["--read-only", "query", "COPY (SELECT 1 AS a) TO 'new.csv'"]);
    out.assert_fails(2, "read-only");
    assert!(!dir.path().join("new.csv").exists());

    let out = run(&[
        "query",
        "CREATE EXTERNAL TABLE e STORED AS CSV LOCATION 'mine.csv'; INSERT INTO e VALUES (5)",
    ]);
    out.assert_fails(2, "statement 2: INSERT INTO e");
    let out = run(&[
        "query",
        "CREATE TABLE m (a INT); INSERT INTO m VALUES (5); SELECT a FROM m",
        "--format",
        "csv",
    ]);
    assert_eq!(out.code, 0, "in-memory tables take rows: {}", out.stderr);
    assert!(out.stdout.ends_with("a\n5\n"), "{}", out.stdout);
}

#[test]
fn reports_are_read_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("q")).expect("mkdir");
    std::fs::write(
        dir.path().join("q/w.sql"),
        "-- name: w\nCOPY (SELECT 1 AS a) TO 'written.csv'\n",
    )
    .expect("write");
    let out = cxsql_in(
        dir.path(),
        &["report", "--queries", "q", "--out", "r", "-q"],
        None,
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(!dir.path().join("written.csv").exists());
    let manifest = std::fs::read_to_string(dir.path().join("r/manifest.json")).expect("manifest");
    assert!(manifest.contains("read-only"), "{manifest}");
}

#[test]
fn a_piped_script_reports_failures_in_its_exit_code() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = "SELECT 1 AS a;\nSELECT nope;\n-- a comment; with a semicolon\nSELECT 'x;\ny' AS b;\nSELECT 3 AS c;\n";
    let out = cxsql_in(dir.path(), &[], Some(script));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stdout.contains("| 3 "),
        "the rest still ran: {}",
        out.stdout
    );
    assert!(
        out.stdout.contains("x;"),
        "a ; inside a string does not end the statement: {}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("1 of 4 statements of the script failed"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("no SQL statement given"),
        "{}",
        out.stderr
    );
    let out = cxsql_in(dir.path(), &["--bail"], Some(script));
    assert_eq!(out.code, 1);
    assert!(
        !out.stdout.contains("| 3 "),
        "--bail stops at the first failure: {}",
        out.stdout
    );
    let out = cxsql_in(dir.path(), &[], Some("SELECT 1;\n"));
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn json_output_writes_null_values() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = cxsql_in(
        dir.path(),
        &[
            "query",
            "SELECT CAST(NULL AS INT) AS a, 1 AS b",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "[{\"a\":null,\"b\":1}]\n");
}

#[test]
fn a_byte_order_mark_before_a_saved_query_is_ignored() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("q.sql"),
        "\u{feff}-- name: q\n-- description: bom\nSELECT 1 AS a\n",
    )
    .expect("write");
    let out = cxsql_in(dir.path(), &["run", "q.sql", "--format", "csv"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "a\n1\n");
}
