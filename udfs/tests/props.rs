//! Property test: on random data with NULLs, every function equals the same KPI written in plain SQL, grouped
//! and ungrouped (the `GroupsAccumulator` and the `Accumulator` paths), in sliding windows, with 1 and 4
//! target partitions, tiny batches, and with partial aggregation skipped (`convert_to_state`).

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch,
    TimestampSecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use proptest::prelude::*;

mod common;
use common::formulas::{PAIRS, WINDOW_PAIRS};
use common::session::context;

const DAY: i64 = 86_400;

/// One generated ticket with its survey answers.
#[derive(Debug, Clone)]
struct Row {
    g: i32,
    nps: Option<i32>,
    csat: Option<i32>,
    first: Option<bool>,
    contacts: Option<i32>,
    perception: Option<i32>,
    expectation: Option<i32>,
    /// Multiples of 1/4, so that weighted sums are exact in any order.
    weight: Option<f64>,
    created: Option<i64>,
    resolved: Option<i64>,
}

fn row() -> impl Strategy<Value = Row> {
    let opt = |p| prop::option::weighted(p, any::<()>());
    (
        0..4i32,
        prop::option::weighted(0.8, 0..=10i32),
        prop::option::weighted(0.8, 1..=5i32),
        prop::option::weighted(0.8, any::<bool>()),
        prop::option::weighted(0.7, 1..=4i32),
        (
            prop::option::weighted(0.85, 1..=7i32),
            prop::option::weighted(0.85, 1..=7i32),
            prop::option::weighted(0.9, 0..=8i32),
        ),
        (
            prop::option::weighted(0.9, 0..30 * DAY),
            opt(0.6),
            0..10 * DAY,
        ),
    )
        .prop_map(
            |(g, nps, csat, first, contacts, (p, e, w), (created, resolved, age))| Row {
                g,
                nps,
                csat,
                first,
                contacts,
                perception: p,
                expectation: e,
                weight: w.map(|w| f64::from(w) / 4.0),
                created,
                resolved: resolved.map(|()| created.unwrap_or(0) + age),
            },
        )
}

fn table(rows: &[Row], partitions: usize) -> MemTable {
    let schema = common::formulas::schema(
        [("id", DataType::Int64), ("g", DataType::Int32)],
        DataType::Timestamp(TimeUnit::Second, None),
    );
    let batch = |ids: std::ops::Range<usize>| {
        let r = &rows[ids.clone()];
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(ids.map(|i| i as i64))),
            Arc::new(Int32Array::from_iter_values(r.iter().map(|r| r.g))),
            Arc::new(Int32Array::from_iter(r.iter().map(|r| r.nps))),
            Arc::new(Int32Array::from_iter(r.iter().map(|r| r.csat))),
            Arc::new(BooleanArray::from_iter(r.iter().map(|r| r.first))),
            Arc::new(Int32Array::from_iter(r.iter().map(|r| r.contacts))),
            Arc::new(Int32Array::from_iter(r.iter().map(|r| r.perception))),
            Arc::new(Int32Array::from_iter(r.iter().map(|r| r.expectation))),
            Arc::new(Float64Array::from_iter(r.iter().map(|r| r.weight))),
            Arc::new(TimestampSecondArray::from_iter(r.iter().map(|r| r.created))),
            Arc::new(TimestampSecondArray::from_iter(
                r.iter().map(|r| r.resolved),
            )),
        ];
        RecordBatch::try_new(Arc::clone(&schema), columns).expect("valid batch")
    };
    // Rows dealt into `partitions` partitions of several small batches each.
    let chunk = rows.len().div_ceil(partitions * 2).max(1);
    let mut parts = vec![Vec::new(); partitions];
    for (i, start) in (0..rows.len()).step_by(chunk).enumerate() {
        parts[i % partitions].push(batch(start..(start + chunk).min(rows.len())));
    }
    MemTable::try_new(schema, parts).expect("valid table")
}

fn floats(array: &ArrayRef) -> Vec<Option<f64>> {
    let array = cast(array, &DataType::Float64).expect("numeric");
    let array = array
        .as_any()
        .downcast_ref::<Float64Array>()
        .expect("Float64");
    array.iter().collect()
}

/// The result batches of `sql`; a failure panics with the statement.
async fn collect(ctx: &SessionContext, sql: &str) -> Vec<RecordBatch> {
    ctx.sql(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Runs `sql` and asserts that columns 2k and 2k+1 are equal in every row (column 0 may be a key).
async fn assert_pairs_equal(ctx: &SessionContext, sql: &str, first: usize) {
    let batches = collect(ctx, sql).await;
    for batch in &batches {
        let n = (batch.num_columns() - first) / 2;
        for i in 0..n {
            let ours = floats(batch.column(first + 2 * i));
            let theirs = floats(batch.column(first + 2 * i + 1));
            for (row, (a, b)) in ours.iter().zip(&theirs).enumerate() {
                let same = match (a, b) {
                    (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                    (None, None) => true,
                    _ => false,
                };
                assert!(
                    same,
                    "row {row}: {a:?} != {b:?} for {}\nin {sql}",
                    batch.schema().field(first + 2 * i).name()
                );
            }
        }
    }
}

async fn check(rows: Vec<Row>, partitions: usize, batch_size: usize, skip_partial: bool) {
    let ctx = context(partitions, batch_size, skip_partial);
    ctx.register_table("t", Arc::new(table(&rows, partitions)))
        .expect("registered");
    let select: Vec<String> = PAIRS.iter().map(|(f, sql)| format!("{f}, {sql}")).collect();
    let select = select.join(", ");
    assert_pairs_equal(&ctx, &format!("SELECT g, {select} FROM t GROUP BY g"), 1).await;
    assert_pairs_equal(&ctx, &format!("SELECT {select} FROM t"), 0).await;
    let window = "(PARTITION BY g ORDER BY id ROWS BETWEEN 3 PRECEDING AND CURRENT ROW)";
    let select: Vec<String> = WINDOW_PAIRS
        .iter()
        .map(|(f, sql)| {
            format!(
                "{}, {}",
                f.replace("{w}", window),
                sql.replace("{w}", window)
            )
        })
        .collect();
    assert_pairs_equal(&ctx, &format!("SELECT {} FROM t", select.join(", ")), 0).await;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn functions_equal_their_plain_sql_formulas(
        rows in prop::collection::vec(row(), 0..80),
        partitions in prop::sample::select(vec![1usize, 4]),
        batch_size in 1usize..8,
        skip_partial in any::<bool>(),
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .expect("runtime");
        runtime.block_on(check(rows, partitions, batch_size, skip_partial));
    }
}

/// The rows of `sql` as text, one string per row.
async fn text_rows(ctx: &SessionContext, sql: &str) -> Vec<String> {
    use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

    let batches = collect(ctx, sql).await;
    let mut rows = Vec::new();
    for batch in &batches {
        let formatters: Vec<_> = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c, &FormatOptions::default()).expect("formatter"))
            .collect();
        for row in 0..batch.num_rows() {
            let cells: Vec<String> = formatters
                .iter()
                .map(|f| f.value(row).to_string())
                .collect();
            rows.push(cells.join(" | "));
        }
    }
    rows
}

/// backlog_series against backlog_at evaluated at every instant of the same range (a cross join): the same
/// groups, the same instants, the same counts.
async fn check_series(
    rows: Vec<Row>,
    partitions: usize,
    batch_size: usize,
    skip_partial: bool,
    case: usize,
) {
    const RANGES: [(&str, &str, &str); 4] = [
        ("1970-01-02T00:00:00", "1970-02-05T00:00:00", "1 day"),
        (
            "1970-01-01T03:00:00",
            "1970-01-20T00:00:00",
            "7 hours 13 minutes",
        ),
        ("1969-12-15T06:00:00", "1970-03-20T00:00:00", "1 month"),
        ("1970-01-05T00:00:00", "1970-01-05T00:00:00", "1 day"),
    ];
    const SLAS: [&str; 4] = [
        "",
        ", INTERVAL '0 seconds'",
        ", INTERVAL '2 days 3 hours'",
        ", INTERVAL '1 month'",
    ];
    let (start, stop, step) = RANGES[case % RANGES.len()];
    let sla = SLAS[(case / RANGES.len()) % SLAS.len()];
    let ctx = context(partitions, batch_size, skip_partial);
    ctx.register_table("t", Arc::new(table(&rows, partitions)))
        .expect("registered");
    let range = format!("TIMESTAMP '{start}', TIMESTAMP '{stop}', INTERVAL '{step}'");
    for (key, group_by) in [("g, ", "GROUP BY g"), ("", "")] {
        let ours = format!(
            "SELECT {key}CAST(b['at'] AS BIGINT) AS at, b['open'] AS open FROM (SELECT {key}\
             unnest(backlog_series(cr, rs, {range}{sla})) AS b FROM t {group_by}) \
             ORDER BY {key}at"
        );
        let brute = format!(
            "SELECT {key}CAST(i.at AS BIGINT) AS at, backlog_at(cr, rs, i.at{sla}) AS open \
             FROM t CROSS JOIN (SELECT unnest(generate_series({range})) AS at) AS i \
             GROUP BY {key}i.at ORDER BY {key}at"
        );
        let (mut ours_rows, mut brute_rows) =
            (text_rows(&ctx, &ours).await, text_rows(&ctx, &brute).await);
        ours_rows.sort();
        brute_rows.sort();
        if rows.is_empty() && key.is_empty() {
            // No rows and no GROUP BY: one series of zeros; the cross join has nothing to group.
            assert!(
                ours_rows.iter().all(|r| r.ends_with("| 0")),
                "{ours_rows:?}"
            );
            continue;
        }
        assert_eq!(ours_rows.len(), brute_rows.len(), "{ours}\nvs\n{brute}");
        if let Some((a, b)) = ours_rows.iter().zip(&brute_rows).find(|(a, b)| a != b) {
            panic!("{a} != {b} (group | instant | open)\n{ours}\nvs\n{brute}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn backlog_series_equals_backlog_at_at_every_instant(
        rows in prop::collection::vec(row(), 0..60),
        partitions in prop::sample::select(vec![1usize, 4]),
        batch_size in 1usize..8,
        skip_partial in any::<bool>(),
        case in 0usize..16,
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .expect("runtime");
        runtime.block_on(check_series(rows, partitions, batch_size, skip_partial, case));
    }
}
