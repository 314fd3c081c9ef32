//! Hive partitions.

use crate::util::*;

#[test]
fn hive_partition_columns_are_usable_and_filters_on_them_skip_folders() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = format!("{}/tickets/", dir.path().display());
    ok(&[
        "query",
        &format!(
            "COPY (SELECT *, CAST(date_part('year', created_at) AS INT) AS year, \
             CAST(date_part('month', created_at) AS INT) AS month FROM tickets) \
             TO '{lake}' STORED AS PARQUET PARTITIONED BY (year, month)"
        ),
    ]);
    let table = format!("t={lake}");
    let by_year = json_rows(&[
        "--table",
        &table,
        "query",
        "SELECT year, count(*) AS n, fcr_rate(contacts) AS fcr FROM t GROUP BY year ORDER BY year",
    ]);
    let expected = json_rows(&[
        "query",
        "SELECT CAST(date_part('year', created_at) AS INT) AS year, count(*) AS n, fcr_rate(contacts) AS fcr \
         FROM tickets GROUP BY 1 ORDER BY 1",
    ]);
    assert_eq!(by_year, expected);

    let files_scanned = |filter: &str| -> Vec<String> {
        let plan = ok(&[
            "--table",
            &table,
            "--threads",
            "1",
            "query",
            &format!("EXPLAIN SELECT sum(handle_time_s) FROM t WHERE {filter}"),
            "--format",
            "csv",
        ]);
        let groups = plan
            .split("file_groups={")
            .nth(1)
            .expect("a file scan in the plan");
        let groups = groups.split('}').next().unwrap_or_default();
        groups
            .split(['[', ']', ',', ' '])
            .filter(|s| s.ends_with(".parquet"))
            .map(str::to_string)
            .collect()
    };
    let march = files_scanned("year = 2024 AND month = 3");
    assert_eq!(march.len(), 1, "{march:?}");
    assert!(march[0].contains("year=2024/month=3/"), "{march:?}");
    // The plan lists the first files of a long group only: every one listed is of 2024.
    let year = files_scanned("year = 2024");
    assert!(
        !year.is_empty() && year.iter().all(|f| f.contains("year=2024/")),
        "{year:?}"
    );
    let all = files_scanned("month = 3");
    assert!(all.iter().any(|f| f.contains("year=2021/")), "{all:?}");
}
