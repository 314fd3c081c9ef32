//! Each KPI function next to the same KPI written in plain SQL, over the columns
//! s (NPS 0-10), c (CSAT 1-5), b (resolved at first contact), k (contacts), p, e (SERVQUAL perception and
//! expectation 1-7), w (weight), cr, rs (created and resolved timestamps; for churn_rate, start and end). Shared by the property test and the
//! benchmark.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema};

/// Two key columns, then the columns the formulas read; `ts` is the type of the timestamps.
pub fn schema(keys: [(&str, DataType); 2], ts: DataType) -> Arc<Schema> {
    let mut fields: Vec<Field> = keys
        .into_iter()
        .map(|(name, t)| Field::new(name, t, false))
        .collect();
    fields.extend([
        Field::new("s", DataType::Int32, true),
        Field::new("c", DataType::Int32, true),
        Field::new("b", DataType::Boolean, true),
        Field::new("k", DataType::Int32, true),
        Field::new("p", DataType::Int32, true),
        Field::new("e", DataType::Int32, true),
        Field::new("w", DataType::Float64, true),
        Field::new("cr", ts.clone(), true),
        Field::new("rs", ts, true),
    ]);
    Arc::new(Schema::new(fields))
}

/// (function call, the same KPI in plain SQL). The instant and SLA are constants of the query.
pub const PAIRS: &[(&str, &str)] = &[
    (
        "nps(s)",
        "100.0 * (count(s) FILTER (WHERE s >= 9) - count(s) FILTER (WHERE s <= 6)) / NULLIF(count(s), 0)",
    ),
    (
        "csat(c)",
        "100.0 * count(c) FILTER (WHERE c >= 4) / NULLIF(count(c), 0)",
    ),
    (
        "csat(c, 6)",
        "100.0 * count(c) FILTER (WHERE c >= 5) / NULLIF(count(c), 0)",
    ),
    (
        "fcr_rate(b)",
        "100.0 * count(b) FILTER (WHERE b) / NULLIF(count(b), 0)",
    ),
    (
        "fcr_rate(k)",
        "100.0 * count(k) FILTER (WHERE k = 1) / NULLIF(count(k), 0)",
    ),
    ("servqual_gap(p, e)", "avg(p - e)"),
    (
        "servqual_gap(p, e, w)",
        "sum(w * (p - e)) / NULLIF(sum(CASE WHEN p IS NOT NULL AND e IS NOT NULL THEN w END), 0)",
    ),
    (
        "backlog_at(cr, rs, TIMESTAMP '1970-01-16T00:00:00')",
        "count(*) FILTER (WHERE cr <= TIMESTAMP '1970-01-16T00:00:00' \
         AND (rs IS NULL OR rs > TIMESTAMP '1970-01-16T00:00:00'))",
    ),
    (
        "backlog_at(cr, rs, TIMESTAMP '1970-01-16T00:00:00', INTERVAL '2 days')",
        "count(*) FILTER (WHERE cr <= TIMESTAMP '1970-01-16T00:00:00' \
         AND (rs IS NULL OR rs > TIMESTAMP '1970-01-16T00:00:00') \
         AND cr + INTERVAL '2 days' < TIMESTAMP '1970-01-16T00:00:00')",
    ),
    (
        "churn_rate(cr, rs, TIMESTAMP '1970-01-10T00:00:00', TIMESTAMP '1970-01-25T00:00:00')",
        "100.0 * count(*) FILTER (WHERE cr <= TIMESTAMP '1970-01-10T00:00:00' AND (rs IS NULL OR rs > TIMESTAMP '1970-01-10T00:00:00') AND rs <= TIMESTAMP '1970-01-25T00:00:00') / NULLIF(count(*) FILTER (WHERE cr <= TIMESTAMP '1970-01-10T00:00:00' AND (rs IS NULL OR rs > TIMESTAMP '1970-01-10T00:00:00')), 0)",
    ),
    (
        "churn_rate(cr, rs, CASE WHEN c >= 3 THEN TIMESTAMP '1970-01-08T00:00:00' ELSE TIMESTAMP '1970-01-14T12:00:00' END, TIMESTAMP '1970-01-25T00:00:00')",
        "100.0 * count(*) FILTER (WHERE cr <= CASE WHEN c >= 3 THEN TIMESTAMP '1970-01-08T00:00:00' ELSE TIMESTAMP '1970-01-14T12:00:00' END AND (rs IS NULL OR rs > CASE WHEN c >= 3 THEN TIMESTAMP '1970-01-08T00:00:00' ELSE TIMESTAMP '1970-01-14T12:00:00' END) AND rs <= TIMESTAMP '1970-01-25T00:00:00') / NULLIF(count(*) FILTER (WHERE cr <= CASE WHEN c >= 3 THEN TIMESTAMP '1970-01-08T00:00:00' ELSE TIMESTAMP '1970-01-14T12:00:00' END AND (rs IS NULL OR rs > CASE WHEN c >= 3 THEN TIMESTAMP '1970-01-08T00:00:00' ELSE TIMESTAMP '1970-01-14T12:00:00' END)), 0)",
    ),
    (
        "csat_ci(c)['low']",
        "CASE WHEN count(c) > 0 THEN greatest(0.0, 100.0 * ((((CAST(count(c) FILTER (WHERE c >= 4) AS DOUBLE) / CAST(NULLIF(count(c), 0) AS DOUBLE)) + 1.959963984540054 * 1.959963984540054 / (2.0 * CAST(NULLIF(count(c), 0) AS DOUBLE))) / (1.0 + 1.959963984540054 * 1.959963984540054 / CAST(NULLIF(count(c), 0) AS DOUBLE))) - (1.959963984540054 * sqrt((CAST(count(c) FILTER (WHERE c >= 4) AS DOUBLE) / CAST(NULLIF(count(c), 0) AS DOUBLE)) * (1.0 - (CAST(count(c) FILTER (WHERE c >= 4) AS DOUBLE) / CAST(NULLIF(count(c), 0) AS DOUBLE))) / CAST(NULLIF(count(c), 0) AS DOUBLE) + 1.959963984540054 * 1.959963984540054 / (4.0 * CAST(NULLIF(count(c), 0) AS DOUBLE) * CAST(NULLIF(count(c), 0) AS DOUBLE))) / (1.0 + 1.959963984540054 * 1.959963984540054 / CAST(NULLIF(count(c), 0) AS DOUBLE))))) END",
    ),
    (
        "csat_ci(c, 6)['high']",
        "CASE WHEN count(c) > 0 THEN least(100.0, 100.0 * ((((CAST(count(c) FILTER (WHERE c >= 5) AS DOUBLE) / CAST(NULLIF(count(c), 0) AS DOUBLE)) + 1.959963984540054 * 1.959963984540054 / (2.0 * CAST(NULLIF(count(c), 0) AS DOUBLE))) / (1.0 + 1.959963984540054 * 1.959963984540054 / CAST(NULLIF(count(c), 0) AS DOUBLE))) + (1.959963984540054 * sqrt((CAST(count(c) FILTER (WHERE c >= 5) AS DOUBLE) / CAST(NULLIF(count(c), 0) AS DOUBLE)) * (1.0 - (CAST(count(c) FILTER (WHERE c >= 5) AS DOUBLE) / CAST(NULLIF(count(c), 0) AS DOUBLE))) / CAST(NULLIF(count(c), 0) AS DOUBLE) + 1.959963984540054 * 1.959963984540054 / (4.0 * CAST(NULLIF(count(c), 0) AS DOUBLE) * CAST(NULLIF(count(c), 0) AS DOUBLE))) / (1.0 + 1.959963984540054 * 1.959963984540054 / CAST(NULLIF(count(c), 0) AS DOUBLE))))) END",
    ),
    (
        "fcr_ci(k)['low']",
        "CASE WHEN count(k) > 0 THEN greatest(0.0, 100.0 * ((((CAST(count(k) FILTER (WHERE k = 1) AS DOUBLE) / CAST(NULLIF(count(k), 0) AS DOUBLE)) + 1.959963984540054 * 1.959963984540054 / (2.0 * CAST(NULLIF(count(k), 0) AS DOUBLE))) / (1.0 + 1.959963984540054 * 1.959963984540054 / CAST(NULLIF(count(k), 0) AS DOUBLE))) - (1.959963984540054 * sqrt((CAST(count(k) FILTER (WHERE k = 1) AS DOUBLE) / CAST(NULLIF(count(k), 0) AS DOUBLE)) * (1.0 - (CAST(count(k) FILTER (WHERE k = 1) AS DOUBLE) / CAST(NULLIF(count(k), 0) AS DOUBLE))) / CAST(NULLIF(count(k), 0) AS DOUBLE) + 1.959963984540054 * 1.959963984540054 / (4.0 * CAST(NULLIF(count(k), 0) AS DOUBLE) * CAST(NULLIF(count(k), 0) AS DOUBLE))) / (1.0 + 1.959963984540054 * 1.959963984540054 / CAST(NULLIF(count(k), 0) AS DOUBLE))))) END",
    ),
    (
        "fcr_ci(b)['high']",
        "CASE WHEN count(b) > 0 THEN least(100.0, 100.0 * ((((CAST(count(b) FILTER (WHERE b) AS DOUBLE) / CAST(NULLIF(count(b), 0) AS DOUBLE)) + 1.959963984540054 * 1.959963984540054 / (2.0 * CAST(NULLIF(count(b), 0) AS DOUBLE))) / (1.0 + 1.959963984540054 * 1.959963984540054 / CAST(NULLIF(count(b), 0) AS DOUBLE))) + (1.959963984540054 * sqrt((CAST(count(b) FILTER (WHERE b) AS DOUBLE) / CAST(NULLIF(count(b), 0) AS DOUBLE)) * (1.0 - (CAST(count(b) FILTER (WHERE b) AS DOUBLE) / CAST(NULLIF(count(b), 0) AS DOUBLE))) / CAST(NULLIF(count(b), 0) AS DOUBLE) + 1.959963984540054 * 1.959963984540054 / (4.0 * CAST(NULLIF(count(b), 0) AS DOUBLE) * CAST(NULLIF(count(b), 0) AS DOUBLE))) / (1.0 + 1.959963984540054 * 1.959963984540054 / CAST(NULLIF(count(b), 0) AS DOUBLE))))) END",
    ),
    (
        "rate_ci(b)['low']",
        "CASE WHEN count(b) > 0 THEN greatest(0.0, 100.0 * ((((CAST(count(b) FILTER (WHERE b) AS DOUBLE) / CAST(NULLIF(count(b), 0) AS DOUBLE)) + 1.959963984540054 * 1.959963984540054 / (2.0 * CAST(NULLIF(count(b), 0) AS DOUBLE))) / (1.0 + 1.959963984540054 * 1.959963984540054 / CAST(NULLIF(count(b), 0) AS DOUBLE))) - (1.959963984540054 * sqrt((CAST(count(b) FILTER (WHERE b) AS DOUBLE) / CAST(NULLIF(count(b), 0) AS DOUBLE)) * (1.0 - (CAST(count(b) FILTER (WHERE b) AS DOUBLE) / CAST(NULLIF(count(b), 0) AS DOUBLE))) / CAST(NULLIF(count(b), 0) AS DOUBLE) + 1.959963984540054 * 1.959963984540054 / (4.0 * CAST(NULLIF(count(b), 0) AS DOUBLE) * CAST(NULLIF(count(b), 0) AS DOUBLE))) / (1.0 + 1.959963984540054 * 1.959963984540054 / CAST(NULLIF(count(b), 0) AS DOUBLE))))) END",
    ),
    (
        "nps_moe(s, 0.95, 'wald')",
        "100.0 * 1.9599639845400536 * sqrt(greatest((CAST(count(s) FILTER (WHERE s >= 9) AS DOUBLE) + CAST(count(s) FILTER (WHERE s <= 6) AS DOUBLE)) / CAST(NULLIF(count(s), 0) AS DOUBLE) - power((CAST(count(s) FILTER (WHERE s >= 9) AS DOUBLE) - CAST(count(s) FILTER (WHERE s <= 6) AS DOUBLE)) / CAST(NULLIF(count(s), 0) AS DOUBLE), 2), 0) / CAST(NULLIF(count(s), 0) AS DOUBLE))",
    ),
    (
        "nps_ci(s, 0.9)['low']",
        "CASE WHEN count(s) > 0 THEN greatest(-100.0, 100.0 * (((CAST(count(s) FILTER (WHERE s >= 9) AS DOUBLE) + 0.75) / (CAST(NULLIF(count(s), 0) AS DOUBLE) + 3)) - ((CAST(count(s) FILTER (WHERE s <= 6) AS DOUBLE) + 0.75) / (CAST(NULLIF(count(s), 0) AS DOUBLE) + 3)) - 1.6448536269514715 * sqrt(greatest(((CAST(count(s) FILTER (WHERE s >= 9) AS DOUBLE) + 0.75) / (CAST(NULLIF(count(s), 0) AS DOUBLE) + 3)) + ((CAST(count(s) FILTER (WHERE s <= 6) AS DOUBLE) + 0.75) / (CAST(NULLIF(count(s), 0) AS DOUBLE) + 3)) - power(((CAST(count(s) FILTER (WHERE s >= 9) AS DOUBLE) + 0.75) / (CAST(NULLIF(count(s), 0) AS DOUBLE) + 3)) - ((CAST(count(s) FILTER (WHERE s <= 6) AS DOUBLE) + 0.75) / (CAST(NULLIF(count(s), 0) AS DOUBLE) + 3)), 2), 0) / (CAST(NULLIF(count(s), 0) AS DOUBLE) + 3)))) END",
    ),
    (
        "nps_diff_test(s, b)['z']",
        "((CAST(count(s) FILTER (WHERE s >= 9 AND b) AS DOUBLE) - CAST(count(s) FILTER (WHERE s <= 6 AND b) AS DOUBLE)) / CAST(NULLIF(count(s) FILTER (WHERE b), 0) AS DOUBLE) - (CAST(count(s) FILTER (WHERE s >= 9 AND NOT b) AS DOUBLE) - CAST(count(s) FILTER (WHERE s <= 6 AND NOT b) AS DOUBLE)) / CAST(NULLIF(count(s) FILTER (WHERE NOT b), 0) AS DOUBLE)) / NULLIF(sqrt(greatest(((CAST(count(s) FILTER (WHERE s >= 9 AND NOT b) AS DOUBLE) + CAST(count(s) FILTER (WHERE s <= 6 AND NOT b) AS DOUBLE)) / CAST(NULLIF(count(s) FILTER (WHERE NOT b), 0) AS DOUBLE) - power((CAST(count(s) FILTER (WHERE s >= 9 AND NOT b) AS DOUBLE) - CAST(count(s) FILTER (WHERE s <= 6 AND NOT b) AS DOUBLE)) / CAST(NULLIF(count(s) FILTER (WHERE NOT b), 0) AS DOUBLE), 2)), 0) / CAST(NULLIF(count(s) FILTER (WHERE NOT b), 0) AS DOUBLE) + greatest(((CAST(count(s) FILTER (WHERE s >= 9 AND b) AS DOUBLE) + CAST(count(s) FILTER (WHERE s <= 6 AND b) AS DOUBLE)) / CAST(NULLIF(count(s) FILTER (WHERE b), 0) AS DOUBLE) - power((CAST(count(s) FILTER (WHERE s >= 9 AND b) AS DOUBLE) - CAST(count(s) FILTER (WHERE s <= 6 AND b) AS DOUBLE)) / CAST(NULLIF(count(s) FILTER (WHERE b), 0) AS DOUBLE), 2)), 0) / CAST(NULLIF(count(s) FILTER (WHERE b), 0) AS DOUBLE)), 0)",
    ),
];

/// Sliding-window pairs (`{w}` is the window).
pub const WINDOW_PAIRS: &[(&str, &str)] = &[
    (
        "nps(s) OVER {w}",
        "100.0 * sum(CASE WHEN s >= 9 THEN 1 WHEN s <= 6 THEN -1 ELSE 0 END) OVER {w} / NULLIF(count(s) OVER {w}, 0)",
    ),
    (
        "csat(c) OVER {w}",
        "100.0 * sum(CASE WHEN c >= 4 THEN 1 ELSE 0 END) OVER {w} / NULLIF(count(c) OVER {w}, 0)",
    ),
    (
        "fcr_rate(b) OVER {w}",
        "100.0 * sum(CASE WHEN b THEN 1 ELSE 0 END) OVER {w} / NULLIF(count(b) OVER {w}, 0)",
    ),
    ("servqual_gap(p, e) OVER {w}", "avg(p - e) OVER {w}"),
    (
        "churn_rate(cr, rs, TIMESTAMP '1970-01-10T00:00:00', TIMESTAMP '1970-01-25T00:00:00') OVER {w}",
        "100.0 * sum(CASE WHEN cr <= TIMESTAMP '1970-01-10T00:00:00' AND (rs IS NULL OR rs > TIMESTAMP '1970-01-10T00:00:00') AND rs <= TIMESTAMP '1970-01-25T00:00:00' THEN 1 ELSE 0 END) OVER {w} / NULLIF(sum(CASE WHEN cr <= TIMESTAMP '1970-01-10T00:00:00' AND (rs IS NULL OR rs > TIMESTAMP '1970-01-10T00:00:00') THEN 1 ELSE 0 END) OVER {w}, 0)",
    ),
];
