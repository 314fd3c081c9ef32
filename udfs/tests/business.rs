//! business_seconds against a minute-by-minute reference: on random pairs of whole-minute instants around
//! daylight-saving changes and holidays, the business time equals 60 s times the number of minutes m in
//! [start, end) whose local wall-clock time (UTC converted to the zone, the opposite direction from the
//! function's local-to-UTC table) falls in the opening hours of a non-holiday weekday.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate, TimeZone, Timelike};
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::array::{AsArray, RecordBatch, TimestampSecondArray};
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Schema, TimeUnit};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use proptest::prelude::*;

/// (inline calendar, zone, weekly hours per weekday Monday first in minutes [open, close), holidays)
struct Case {
    spec: &'static str,
    zone: &'static str,
    hours: [&'static [(u32, u32)]; 7],
    holidays: &'static [(i32, u32, u32)],
}

const WEEKDAYS_9_TO_5: &[(u32, u32)] = &[(9 * 60, 17 * 60)];
const SPLIT: &[(u32, u32)] = &[(8 * 60, 12 * 60), (13 * 60, 18 * 60 + 30)];
const ALL_DAY: &[(u32, u32)] = &[(0, 24 * 60)];
const NIGHT: &[(u32, u32)] = &[(0, 6 * 60), (22 * 60, 24 * 60)];
const NONE: &[(u32, u32)] = &[];
const MORNING: &[(u32, u32)] = &[(8 * 60, 12 * 60)];

const CASES: [Case; 4] = [
    Case {
        spec: "time_zone=Europe/Paris; hours=Mon-Fri 09:00-17:00; holidays=2024-04-01 2024-11-01",
        zone: "Europe/Paris",
        hours: [
            WEEKDAYS_9_TO_5,
            WEEKDAYS_9_TO_5,
            WEEKDAYS_9_TO_5,
            WEEKDAYS_9_TO_5,
            WEEKDAYS_9_TO_5,
            NONE,
            NONE,
        ],
        holidays: &[(2024, 4, 1), (2024, 11, 1)],
    },
    Case {
        spec: "time_zone=America/New_York; hours=Mon-Thu 08:00-12:00 13:00-18:30, Sat 08:00-12:00",
        zone: "America/New_York",
        hours: [SPLIT, SPLIT, SPLIT, SPLIT, NONE, MORNING, NONE],
        holidays: &[],
    },
    Case {
        spec: "time_zone=Europe/Paris; hours=Mon-Sun 00:00-24:00",
        zone: "Europe/Paris",
        hours: [ALL_DAY; 7],
        holidays: &[],
    },
    Case {
        spec: "time_zone=Australia/Sydney; hours=Fri-Mon 00:00-06:00 22:00-24:00; holidays=2024-10-07",
        zone: "Australia/Sydney",
        hours: [NIGHT, NONE, NONE, NONE, NIGHT, NIGHT, NIGHT],
        holidays: &[(2024, 10, 7)],
    },
];

fn reference(case: &Case, start: i64, end: i64) -> f64 {
    let tz = Tz::from_str(case.zone).expect("zone");
    let holidays: Vec<NaiveDate> = case
        .holidays
        .iter()
        .map(|&(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).expect("date"))
        .collect();
    let (from, to, sign) = if start <= end {
        (start, end, 1.0)
    } else {
        (end, start, -1.0)
    };
    let mut minutes = 0;
    let mut t = from;
    while t < to {
        let local = tz
            .timestamp_opt(t, 0)
            .single()
            .expect("instant")
            .naive_local();
        let minute = local.hour() * 60 + local.minute();
        let weekday = local.weekday().num_days_from_monday() as usize;
        let open = !holidays.contains(&local.date())
            && case.hours[weekday]
                .iter()
                .any(|&(o, c)| o <= minute && minute < c);
        minutes += i64::from(open);
        t += 60;
    }
    sign * (minutes * 60) as f64
}

/// The batches of `sql`, which must plan and run.
async fn run(ctx: &SessionContext, sql: &str) -> Vec<RecordBatch> {
    ctx.sql(sql)
        .await
        .expect("plans")
        .collect()
        .await
        .expect("runs")
}

async fn check(case_index: usize, pairs: Vec<(i64, i64)>) {
    let case = &CASES[case_index];
    let schema = Arc::new(Schema::new(vec![
        Field::new(
            "s",
            DataType::Timestamp(TimeUnit::Second, Some("UTC".into())),
            true,
        ),
        Field::new(
            "e",
            DataType::Timestamp(TimeUnit::Second, Some("UTC".into())),
            true,
        ),
    ]));
    let starts =
        TimestampSecondArray::from_iter_values(pairs.iter().map(|p| p.0)).with_timezone("UTC");
    let ends =
        TimestampSecondArray::from_iter_values(pairs.iter().map(|p| p.1)).with_timezone("UTC");
    let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(starts), Arc::new(ends)])
        .expect("batch");
    let ctx = SessionContext::new();
    cxsql_udfs::register_all(&ctx);
    ctx.register_table(
        "t",
        Arc::new(MemTable::try_new(schema, vec![vec![batch]]).expect("table")),
    )
    .expect("registered");
    let sql = format!("SELECT business_seconds(s, e, '{}') FROM t", case.spec);
    let batches = run(&ctx, &sql).await;
    let got: Vec<f64> = batches
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Float64Type>().values().to_vec())
        .collect();
    assert_eq!(got.len(), pairs.len());
    for (&(s, e), g) in pairs.iter().zip(got) {
        assert_eq!(g, reference(case, s, e), "{} from {s} to {e}", case.spec);
    }
}

/// Whole minutes in 2024-03-20 .. 2024-11-10 UTC: spans both European and US changes, the Sydney change
/// (2024-10-06) and the holidays.
fn instant() -> impl Strategy<Value = i64> {
    let (from, to) = (1_710_892_800_i64 / 60, 1_731_196_800_i64 / 60);
    prop_oneof![
        // Anywhere in the range.
        (from..to).prop_map(|m| m * 60),
        // Within two days of a change: 2024-03-10 (US), 2024-03-31 (EU), 2024-10-06 (AU), 2024-10-27 (EU),
        // 2024-11-03 (US).
        (
            prop::sample::select(vec![
                1_710_028_800_i64,
                1_711_843_200,
                1_728_172_800,
                1_729_987_200,
                1_730_592_000
            ]),
            -2880i64..2880
        )
            .prop_map(|(day, m)| day + m * 60),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn business_seconds_equals_the_minute_by_minute_count(
        case in 0usize..CASES.len(),
        pairs in prop::collection::vec((instant(), 0i64..(4 * 1440)), 1..12),
        backwards in any::<bool>(),
    ) {
        let pairs: Vec<(i64, i64)> = pairs
            .into_iter()
            .map(|(s, minutes)| {
                let e = s + minutes * 60;
                if backwards { (e, s) } else { (s, e) }
            })
            .collect();
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        runtime.block_on(check(case, pairs));
    }
}

#[tokio::test]
async fn nulls_defaults_named_calendars_and_errors() {
    let ctx = SessionContext::new();
    cxsql_udfs::register_all(&ctx);
    async fn first(
        ctx: &SessionContext,
        sql: &str,
    ) -> datafusion::common::Result<datafusion::common::ScalarValue> {
        let batches = ctx.sql(sql).await?.collect().await?;
        datafusion::common::ScalarValue::try_from_array(batches[0].column(0), 0)
    }
    let one = |sql: &'static str| first(&ctx, sql);
    // Friday 16:00 to Monday 10:00 UTC on the default Mon–Fri 09:00–17:00 UTC: 1 h + 1 h.
    let v = one("SELECT business_seconds(TIMESTAMP '2024-01-05T16:00:00Z', TIMESTAMP '2024-01-08T10:00:00Z')")
        .await
        .expect("runs");
    assert_eq!(v, datafusion::common::ScalarValue::Float64(Some(7200.0)));
    let v = one("SELECT business_seconds(NULL, TIMESTAMP '2024-01-08T10:00:00Z')")
        .await
        .expect("runs");
    assert_eq!(v, datafusion::common::ScalarValue::Float64(None));
    cxsql_udfs::register_calendar(
        &ctx,
        "paris",
        cxsql_udfs::Calendar::new("Europe/Paris", &["Mon-Fri 09:00-17:00"], &["2024-01-08"])
            .expect("valid"),
    )
    .expect("registered");
    // Friday 16:00 UTC = 17:00 Paris (closed); Monday is a holiday; Tuesday 09:00 Paris = 08:00 UTC.
    let v = one("SELECT business_seconds(TIMESTAMP '2024-01-05T16:00:00Z', TIMESTAMP '2024-01-09T10:00:00Z', 'paris')")
        .await
        .expect("runs");
    assert_eq!(v, datafusion::common::ScalarValue::Float64(Some(7200.0)));
    for (sql, message) in [
        (
            "SELECT business_seconds(TIMESTAMP '2024-01-05T16:00:00Z', TIMESTAMP '2024-01-08T10:00:00Z', 'emea')",
            "business_seconds: unknown calendar 'emea'; known calendars: default, paris",
        ),
        (
            "SELECT business_seconds(TIMESTAMP '2024-01-05T16:00:00Z', TIMESTAMP '2024-01-08T10:00:00Z', 'time_zone=Mars/Olympus')",
            "unknown time zone 'Mars/Olympus'",
        ),
        (
            "SELECT business_seconds(TIMESTAMP '2024-01-05T16:00:00Z', TIMESTAMP '2024-01-08T10:00:00Z', 'hours=Mon-Fri 17:00-09:00')",
            "hours 'Mon-Fri 17:00-09:00' have an interval that is not HH:MM-HH:MM with open < close",
        ),
        (
            "SELECT business_seconds(TIMESTAMP '2024-01-05T16:00:00Z', TIMESTAMP '2024-01-08T10:00:00Z', 'holidays=2024-13-01')",
            "holiday '2024-13-01' is not a date; expected YYYY-MM-DD",
        ),
        (
            "SELECT business_seconds(TIMESTAMP '1800-01-05T16:00:00Z', TIMESTAMP '2024-01-08T10:00:00Z')",
            "is outside the calendars' range; expected 1900-01-02 to 2199-12-30",
        ),
        (
            "SELECT business_seconds(1, TIMESTAMP '2024-01-08T10:00:00Z')",
            "business_seconds: start must be a TIMESTAMP or DATE, got Int64",
        ),
        (
            "SELECT sla_breached(TIMESTAMP '2024-01-05T16:00:00Z', TIMESTAMP '2024-01-08T10:00:00Z', INTERVAL '1 month')",
            "sla_breached: target of 1 months has no fixed length",
        ),
        (
            "SELECT sla_breached(TIMESTAMP '2024-01-05T16:00:00Z', TIMESTAMP '2024-01-08T10:00:00Z', -5)",
            "sla_breached: target of -5 seconds is not a number >= 0",
        ),
    ] {
        let err = one(sql).await.expect_err(sql);
        assert!(err.to_string().contains(message), "{sql}: {err}");
    }
    // Daylight-saving days on a round-the-clock Paris calendar: the spring day has 23 hours, the autumn one 25.
    for (sql, hours) in [
        (
            "SELECT business_seconds(TIMESTAMP '2024-03-30T23:00:00Z', TIMESTAMP '2024-03-31T22:00:00Z', 'time_zone=Europe/Paris; hours=Mon-Sun 00:00-24:00')",
            23.0,
        ),
        (
            "SELECT business_seconds(TIMESTAMP '2024-10-26T22:00:00Z', TIMESTAMP '2024-10-27T23:00:00Z', 'time_zone=Europe/Paris; hours=Mon-Sun 00:00-24:00')",
            25.0,
        ),
        // 09:00-17:00 local stays 8 hours on both change days (Sunday opening for the test).
        (
            "SELECT business_seconds(TIMESTAMP '2024-03-31T00:00:00Z', TIMESTAMP '2024-04-01T00:00:00Z', 'time_zone=Europe/Paris; hours=Sun 09:00-17:00')",
            8.0,
        ),
        (
            "SELECT business_seconds(TIMESTAMP '2024-10-27T00:00:00Z', TIMESTAMP '2024-10-28T00:00:00Z', 'time_zone=Europe/Paris; hours=Sun 09:00-17:00')",
            8.0,
        ),
    ] {
        let v = one(sql).await.expect(sql);
        assert_eq!(
            v,
            datafusion::common::ScalarValue::Float64(Some(hours * 3600.0)),
            "{sql}"
        );
    }
    // SLA: 2 business hours against a 4-hour target is met; 66 clock hours are not; NULL end is NULL.
    for (sql, expected) in [
        (
            "SELECT sla_breached(TIMESTAMP '2024-01-05T16:00:00Z', TIMESTAMP '2024-01-08T10:00:00Z', INTERVAL '4 hours', 'default')",
            Some(false),
        ),
        (
            "SELECT sla_breached(TIMESTAMP '2024-01-05T16:00:00Z', TIMESTAMP '2024-01-08T10:00:00Z', INTERVAL '4 hours')",
            Some(true),
        ),
        (
            "SELECT sla_breached(TIMESTAMP '2024-01-05T16:00:00Z', TIMESTAMP '2024-01-08T10:00:00Z', 7200, 'default')",
            Some(false),
        ),
        (
            "SELECT sla_breached(TIMESTAMP '2024-01-05T16:00:00Z', TIMESTAMP '2024-01-08T10:00:00Z', 7199.5, 'default')",
            Some(true),
        ),
        (
            "SELECT sla_breached(TIMESTAMP '2024-01-05T16:00:00Z', NULL, INTERVAL '4 hours')",
            None,
        ),
        (
            "SELECT sla_breached(TIMESTAMP '2024-01-05T16:00:00Z', TIMESTAMP '2024-01-05T20:00:00Z', 14400, 'calendar')",
            Some(false),
        ),
    ] {
        let v = one(sql).await.expect(sql);
        assert_eq!(
            v,
            datafusion::common::ScalarValue::Boolean(expected),
            "{sql}"
        );
    }
}

/// Columns, not literals: the NULL rows (either instant, the calendar) come out NULL, and the values after them
/// stay in their rows; an instant nanoseconds cannot hold (2300-01-01 in a seconds column) is an error naming
/// it, not a NULL, as the documented range says.
#[tokio::test]
async fn columns_with_null_rows_keep_every_value_in_its_row() {
    let ctx = SessionContext::new();
    cxsql_udfs::register_all(&ctx);
    // Friday 2024-01-05 16:00 to Monday 10:00 UTC on Mon-Fri 09:00-17:00 UTC is 2 business hours; Monday
    // 09:00 to 10:00 is 1. Seconds since the epoch, as columns.
    let rows = "(SELECT to_timestamp_seconds(s) AS s, to_timestamp_seconds(e) AS e, c FROM (VALUES \
        (1704470400, 1704708000, 'default'), \
        (NULL, 1704708000, 'default'), \
        (1704470400, NULL, 'default'), \
        (1704470400, 1704708000, NULL), \
        (1704704400, 1704708000, 'default'), \
        (1704470400, 1704708000, 'default')) AS v(s, e, c))";
    let column = |sql: String| {
        let ctx = &ctx;
        async move {
            let batches = run(ctx, &sql).await;
            let column = datafusion::arrow::compute::concat(
                &batches
                    .iter()
                    .map(|b| b.column(0).as_ref())
                    .collect::<Vec<_>>(),
            )
            .expect("one column");
            (0..column.len())
                .map(|i| {
                    datafusion::common::ScalarValue::try_from_array(&column, i).expect("value")
                })
                .collect::<Vec<_>>()
        }
    };
    use datafusion::common::ScalarValue::{Boolean, Float64};
    let seconds = column(format!("SELECT business_seconds(s, e, c) FROM {rows}")).await;
    assert_eq!(
        seconds,
        [
            Float64(Some(7200.0)),
            Float64(None),
            Float64(None),
            Float64(None),
            Float64(Some(3600.0)),
            Float64(Some(7200.0)),
        ]
    );
    // sla_breached reads a NULL calendar as clock time (66 hours > 1 hour): breached, not NULL.
    let breached = column(format!(
        "SELECT sla_breached(s, e, INTERVAL '1 hour', c) FROM {rows}"
    ))
    .await;
    assert_eq!(
        breached,
        [
            Boolean(Some(true)),
            Boolean(None),
            Boolean(None),
            Boolean(Some(true)),
            Boolean(Some(false)),
            Boolean(Some(true)),
        ]
    );
    // The year 2300 in a seconds column: beyond i64 nanoseconds, an error naming the instant (a calendar's
    // range for business time, the nanosecond range for sla_breached's clock time).
    for (sql, message) in [
        (
            "SELECT business_seconds(to_timestamp_seconds(s), to_timestamp_seconds(e)) \
             FROM (VALUES (1704470400, 1704708000), (1704470400, 10413792000)) AS v(s, e)",
            "business_seconds: instant 2300-01-01T00:00:00 is outside the calendars' range; expected 1900-01-02 to 2199-12-30",
        ),
        (
            "SELECT sla_breached(to_timestamp_seconds(s), to_timestamp_seconds(e), 60) \
             FROM (VALUES (10413792000, 1704708000)) AS v(s, e)",
            "sla_breached: instant 2300-01-01T00:00:00 is outside the nanosecond range; expected 1677-09-22 to 2262-04-11",
        ),
    ] {
        let err = async { ctx.sql(sql).await?.collect().await }
            .await
            .expect_err(sql);
        assert!(err.to_string().contains(message), "{sql}: {err}");
    }
}
