//! Memory limits and spilling.

use crate::util::*;

#[test]
fn a_high_cardinality_group_by_spills_under_a_memory_limit_and_gives_the_same_result() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data").to_string_lossy().into_owned();
    ok(&["gen", "--out", &data, "--tickets", "300000"]);
    let sql = "SELECT customer_id, fcr_rate(contacts) AS fcr, \
               backlog_at(created_at, resolved_at, TIMESTAMP '2024-06-30T00:00:00Z') AS open, count(*) AS n \
               FROM tickets GROUP BY customer_id ORDER BY customer_id";
    let unlimited = ok(&["--data", &data, "query", sql, "--format", "csv"]);
    // 100,000 customers, of whom those with a ticket in 2021-2024 (the others churned before).
    assert!(
        unlimited.lines().count() > 60_000,
        "tens of thousands of customers: {}",
        unlimited.lines().count()
    );
    let spill = dir.path().join("spill").to_string_lossy().into_owned();
    let limited_args = [
        "--data",
        &data,
        "--memory-limit",
        "8M",
        "--temp-dir",
        &spill,
        "--threads",
        "2",
    ];
    let mut args = limited_args.to_vec();
    args.extend(["query", sql, "--format", "csv"]);
    assert_eq!(ok(&args), unlimited, "the same rows under 8 MB");

    let explain = format!("EXPLAIN ANALYZE {sql}");
    let mut args = limited_args.to_vec();
    args.extend(["query", &explain, "--format", "csv"]);
    let plan = ok(&args);
    let spills: u64 = plan
        .split("spill_count=")
        .skip(1)
        .filter_map(|s| {
            s.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum();
    assert!(
        spills > 0,
        "the query spilled to disk under the limit: {plan}"
    );

    fails(
        &[
            "--data",
            &data,
            "--memory-limit",
            "1M",
            "query",
            sql,
            "--format",
            "csv",
        ],
        1,
        "Resources exhausted",
    );

    fails(
        &["--memory-limit", "lots", "tables"],
        2,
        "invalid value 'lots' for '--memory-limit",
    );
    let zero = cxsql(&["--threads", "0", "tables"]);
    assert_eq!(zero.code, 2, "{}", zero.stderr);
}
