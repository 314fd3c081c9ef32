//! Machine-generated SQL: long OR chains, long sums, many UNION ALL branches, deep nesting. Each of these
//! aborted the process with a stack overflow (exit 134) before cxsql ran statements on large stacks with
//! DataFusion's recursion protection; sizes are kept small enough for a debug build.

use crate::util::cxsql_in;

fn query(sql: &str) -> crate::util::Output {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("q.sql"), sql).expect("write");
    cxsql_in(
        dir.path(),
        &["query", "-f", "q.sql", "--format", "csv"],
        None,
    )
}

#[test]
fn a_long_or_chain_runs() {
    let terms: Vec<String> = (0..1500).map(|i| format!("a = {i}")).collect();
    let out = query(&format!(
        "SELECT count(*) AS n FROM (VALUES (1), (2), (5000)) t(a) WHERE {}",
        terms.join(" OR ")
    ));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "n\n2\n");
}

#[test]
fn a_long_sum_and_many_union_branches_run() {
    let sum = vec!["a"; 1000].join(" + ");
    let out = query(&format!(
        "SELECT {sum} AS s FROM (VALUES (1), (2)) t(a) ORDER BY s"
    ));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "s\n1000\n2000\n");
    let branches: Vec<String> = (0..600).map(|i| format!("SELECT {i} AS x")).collect();
    let out = query(&format!(
        "SELECT count(*) AS n, sum(x) AS s FROM ({})",
        branches.join(" UNION ALL ")
    ));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, format!("n,s\n600,{}\n", 599 * 600 / 2));
}

#[test]
fn nesting_within_the_limit_runs_and_beyond_it_is_a_clear_error() {
    let nested =
        |depth: usize| format!("SELECT {}1{} AS one", "(".repeat(depth), ")".repeat(depth));
    let out = query(&nested(300));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "one\n1\n");
    let out = query(&nested(20_000));
    out.assert_fails(2, "query too deeply nested");
}

#[test]
fn sql_text_beyond_the_limit_is_refused_without_reading_it_all() {
    let dir = tempfile::tempdir().expect("temp dir");
    // /dev/zero never ends: reading it whole would fill the memory.
    let out = cxsql_in(dir.path(), &["query", "-f", "/dev/zero"], None);
    out.assert_fails(2, "more than 16 MB of SQL");
    let out = cxsql_in(dir.path(), &["run", "/dev/zero"], None);
    out.assert_fails(2, "more than 16 MB of SQL");
    std::fs::write(dir.path().join("bin.sql"), b"SELECT 1 \xff\xfe").expect("write");
    let out = cxsql_in(dir.path(), &["query", "-f", "bin.sql"], None);
    out.assert_fails(2, "bin.sql: line 1: not UTF-8 text");
}
