//! Odd entries in a data folder fail only the statements that use them; ambiguous names are errors naming
//! both sources.

use crate::util::{cxsql_in, root};

#[test]
fn a_fifo_or_a_dangling_link_fails_only_the_statements_using_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(
        root().join("data/surveys.parquet"),
        dir.path().join("surveys.parquet"),
    )
    .expect("copy");
    std::os::unix::fs::symlink("gone.csv", dir.path().join("dangling.csv")).expect("symlink");
    let made = std::process::Command::new("mkfifo")
        .arg(dir.path().join("pipe.csv"))
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let data = ["--data", "."];
    let out = cxsql_in(
        dir.path(),
        &[
            &data[..],
            &[
                "query",
                "SELECT count(*) AS n FROM surveys",
                "--format",
                "csv",
            ],
        ]
        .concat(),
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "n\n5960\n");
    let out = cxsql_in(
        dir.path(),
        &[&data[..], &["query", "SELECT * FROM pipe"]].concat(),
        None,
    );
    out.assert_fails(1, "a FIFO (named pipe)");
    let out = cxsql_in(
        dir.path(),
        &[&data[..], &["query", "SELECT * FROM dangling"]].concat(),
        None,
    );
    out.assert_fails(1, "a symbolic link to gone.csv");
    let out = cxsql_in(
        dir.path(),
        &[&data[..], &["tables", "--format", "csv"]].concat(),
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("pipe,unreadable"), "{}", out.stdout);
}

#[test]
fn ambiguous_names_are_errors_naming_both_sources() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("x.csv"), "a\n1\n").expect("write");
    std::fs::copy(
        root().join("data/surveys.parquet"),
        dir.path().join("x.parquet"),
    )
    .expect("copy");
    let out = cxsql_in(
        dir.path(),
        &["--data", ".", "query", "SELECT count(*) FROM x"],
        None,
    );
    out.assert_fails(1, "./x.csv and ./x.parquet both claim it");
    // Choosing one explicitly resolves it.
    let out = cxsql_in(
        dir.path(),
        &[
            "--data",
            ".",
            "--table",
            "x=x.csv",
            "query",
            "SELECT count(*) AS n FROM x",
            "--format",
            "csv",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "n\n1\n");

    let out = cxsql_in(
        dir.path(),
        &["--table", "t=x.csv", "--table", "t=x.parquet", "tables"],
        None,
    );
    out.assert_fails(2, "two tables are named t: x.csv and x.parquet");

    std::fs::create_dir(dir.path().join("mixed")).expect("mkdir");
    std::fs::write(dir.path().join("mixed/a.csv"), "a\n1\n").expect("write");
    std::fs::copy(
        root().join("data/surveys.parquet"),
        dir.path().join("mixed/b.parquet"),
    )
    .expect("copy");
    let out = cxsql_in(
        dir.path(),
        &["--table", "m=mixed", "query", "SELECT count(*) FROM m"],
        None,
    );
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("more than one format")
            && out.stderr.contains("a.csv")
            && out.stderr.contains("b.parquet"),
        "{}",
        out.stderr
    );

    std::fs::write(
        dir.path().join("cxsql.toml"),
        "[tables.t]\nlocation = \"x.csv\"\n\n[[views]]\nname = \"t\"\nsql = \"SELECT 1\"\n",
    )
    .expect("write");
    let out = cxsql_in(dir.path(), &["tables"], None);
    out.assert_fails(2, "view t has the name of table t");
}
