//! Period over period for reports: the preceding period of the same length, each KPI's change and whether it
//! is statistically significant.
//!
//! A query compares when it declares `since` and `until`: it runs again for `[since - (until - since), since)`,
//! or, when both are month starts, for the same number of calendar months before `since` (2024 against 2023).
//! Rows of the two results are matched by their text columns (channel, segment, team); the charted value `X`
//! (see [`crate::front::report::chart`]) is compared:
//! - an NPS (`nps`, `enps`) with `promoters_pct`, `detractors_pct` and a count column: the two-sample z-test of
//!   `nps_diff_test`;
//! - a percentage (`%` unit: csat, fcr, `*_pct`, `*rate*`) with a count column: the pooled two-proportion
//!   z-test;
//! - anything else: the change only, untested.
//!
//! A change is significant when its two-sided p-value is below 1 - the report's confidence.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use cxsql_udfs::tests_on_counts::{self, Outcome};
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::front::report::chart::{ChartOptions, count_column, escape, unit, value_column};

/// The preceding period of the same length as `[since, until)`, as RFC 3339 texts; `None` when either is not
/// a timestamp or date, or `until` is not after `since`.
pub fn previous_period(since: &str, until: &str) -> Option<(String, String)> {
    let (s, u) = (instant(since)?, instant(until)?);
    if u <= s {
        return None;
    }
    let text = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    // Whole calendar months (a month, a quarter, a year) shift by months: 2024 is compared with 2023.
    let month_start = |t: &DateTime<Utc>| t.day() == 1 && t.time() == chrono::NaiveTime::MIN;
    if month_start(&s) && month_start(&u) {
        let months = (u.year() - s.year()) * 12 + u.month() as i32 - s.month() as i32;
        let back = s.checked_sub_months(chrono::Months::new(u32::try_from(months).ok()?))?;
        return Some((text(back), text(s)));
    }
    Some((text(s - (u - s)), text(s)))
}

/// A parameter's text as an instant: RFC 3339, or a date and time without a zone (UTC), or a date.
fn instant(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim().trim_matches('\'');
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// Which test a value's change gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Test {
    Nps,
    Proportions,
    None,
}

impl Test {
    pub fn name(self) -> &'static str {
        match self {
            Test::Nps => {
                "two-sample NPS z-test (as nps_diff_test: Wald variance p + d - (p - d)² per period)"
            }
            Test::Proportions => "pooled two-proportion z-test",
            Test::None => {
                "no test (the result has no count of answers, or the value is not a rate)"
            }
        }
    }
}

/// One row's change.
#[derive(Debug, Clone)]
pub struct Change {
    /// The row's text columns, joined.
    pub key: String,
    pub now: Option<f64>,
    pub before: Option<f64>,
    pub outcome: Option<Outcome>,
    pub significant: bool,
}

/// The changes of a result's charted value against the previous period's result.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub value: String,
    pub test: Test,
    pub changes: Vec<Change>,
}

fn floats(batch: &RecordBatch, name: &str) -> Option<Vec<Option<f64>>> {
    let column = batch.column_by_name(name)?;
    let column = cast(column, &DataType::Float64).ok()?;
    Some(column.as_primitive::<Float64Type>().iter().collect())
}

/// Per row, the text of its text columns (the key rows are matched on).
fn keys(batch: &RecordBatch) -> Vec<String> {
    let schema = batch.schema();
    let text: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| {
            matches!(
                schema.field(i).data_type(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            )
        })
        .collect();
    let formatters: Vec<ArrayFormatter> = text
        .iter()
        .filter_map(|&i| {
            ArrayFormatter::try_new(batch.column(i).as_ref(), &FormatOptions::default()).ok()
        })
        .collect();
    (0..batch.num_rows())
        .map(|r| {
            formatters
                .iter()
                .map(|f| f.value(r).to_string())
                .collect::<Vec<_>>()
                .join(" · ")
        })
        .collect()
}

/// The comparison of `now` with `before`, or `None` when the results cannot be matched row by row (no
/// charted value, or rows without a distinct key).
pub fn compare(
    now: &RecordBatch,
    before: &RecordBatch,
    options: &ChartOptions,
    confidence: f64,
) -> Option<Comparison> {
    let value = now
        .schema()
        .field(value_column(now, options)?)
        .name()
        .clone();
    let (now_keys, before_keys) = (keys(now), keys(before));
    let mut distinct = now_keys.clone();
    distinct.sort();
    distinct.dedup();
    if distinct.len() != now_keys.len() {
        return None;
    }
    let lower = value.to_ascii_lowercase();
    let count_name =
        |b: &RecordBatch| count_column(b, options).map(|i| b.schema().field(i).name().clone());
    let counts = |b: &RecordBatch| count_name(b).and_then(|n| floats(b, &n));
    let shares =
        |b: &RecordBatch| Some((floats(b, "promoters_pct")?, floats(b, "detractors_pct")?));
    let test = if (lower == "nps" || lower == "enps")
        && counts(now).is_some()
        && shares(now).is_some()
        && shares(before).is_some()
    {
        Test::Nps
    } else if unit(&value) == "%" && counts(now).is_some() && counts(before).is_some() {
        Test::Proportions
    } else {
        Test::None
    };
    let (now_values, before_values) = (floats(now, &value)?, floats(before, &value));
    let (now_n, before_n) = (counts(now), counts(before));
    let (now_shares, before_shares) = (shares(now), shares(before));
    let alpha = 1.0 - confidence;
    let changes = now_keys
        .iter()
        .enumerate()
        .map(|(r, key)| {
            let b = before_keys.iter().position(|k| k == key);
            let before = b.and_then(|b| before_values.as_ref()?[b]);
            let whole = |n: Option<f64>, pct: Option<f64>| -> Option<(i64, i64)> {
                let n = n?.round() as i64;
                Some((n, (pct? / 100.0 * n as f64).round() as i64))
            };
            let outcome = b.and_then(|b| match test {
                Test::Proportions => tests_on_counts::proportions(
                    whole(before_n.as_ref()?[b], before_values.as_ref()?[b])?,
                    whole(now_n.as_ref()?[r], now_values[r])?,
                ),
                Test::Nps => {
                    let (bp, bd) = before_shares.as_ref()?;
                    let (np, nd) = now_shares.as_ref()?;
                    let (bn, bprom) = whole(before_n.as_ref()?[b], bp[b])?;
                    let (_, bdet) = whole(before_n.as_ref()?[b], bd[b])?;
                    let (nn, nprom) = whole(now_n.as_ref()?[r], np[r])?;
                    let (_, ndet) = whole(now_n.as_ref()?[r], nd[r])?;
                    tests_on_counts::nps((bn, bprom, bdet), (nn, nprom, ndet))
                }
                Test::None => None,
            });
            Change {
                key: key.clone(),
                now: now_values[r],
                before,
                significant: outcome.is_some_and(|o| o.p_value < alpha),
                outcome,
            }
        })
        .collect();
    Some(Comparison {
        value,
        test,
        changes,
    })
}

/// The comparison as a page fragment: a table of the changes and the test named.
pub fn html(c: &Comparison, since: &str, until: &str, confidence: f64) -> String {
    let number = |v: Option<f64>| v.map_or_else(|| "–".to_string(), |v| format!("{v:.2}"));
    let mut out = format!(
        "<h3>Change from the previous period ({} to {})</h3><div class=\"table\"><table class=\"compare\">\
         <thead><tr><th></th><th>{} now</th><th>before</th><th>change</th><th>p-value</th><th></th></tr></thead><tbody>",
        escape(since),
        escape(until),
        escape(&c.value)
    );
    for ch in &c.changes {
        let change = match (ch.now, ch.before) {
            (Some(n), Some(b)) => Some(n - b),
            _ => None,
        };
        let mark = match (ch.significant, change) {
            (true, Some(d)) if d > 0.0 => "<span class=\"up\">▲ significant</span>",
            (true, Some(_)) => "<span class=\"down\">▼ significant</span>",
            _ => "",
        };
        out.push_str(&format!(
            "<tr{}><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td>{mark}</td></tr>",
            if ch.significant { " class=\"significant\"" } else { "" },
            escape(&ch.key),
            number(ch.now),
            number(ch.before),
            change.map_or_else(|| "–".to_string(), |d| format!("{d:+.2}")),
            ch.outcome.map_or_else(|| "–".to_string(), |o| format!("{:.4}", o.p_value)),
        ));
    }
    out.push_str(&format!(
        "</tbody></table></div><p class=\"note\">Test: {}; significant at {}% confidence (p &lt; {}).</p>",
        escape(c.test.name()),
        number_text(100.0 * confidence),
        number_text(1.0 - confidence)
    ));
    out
}

fn number_text(v: f64) -> String {
    let text = format!("{v:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};

    use super::*;

    #[test]
    fn the_previous_period_has_the_same_length() {
        // Calendar months: the year before, the month before (31 days, though June has 30).
        assert_eq!(
            previous_period("2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z"),
            Some(("2023-01-01T00:00:00Z".into(), "2024-01-01T00:00:00Z".into()))
        );
        assert_eq!(
            previous_period("2024-07-01", "2024-08-01"),
            Some(("2024-06-01T00:00:00Z".into(), "2024-07-01T00:00:00Z".into()))
        );
        // Otherwise the same duration.
        assert_eq!(
            previous_period("2024-07-10T00:00:00Z", "2024-07-17T00:00:00Z"),
            Some(("2024-07-03T00:00:00Z".into(), "2024-07-10T00:00:00Z".into()))
        );
        assert_eq!(previous_period("2024-07-01", "2024-07-01"), None);
        assert_eq!(previous_period("chat", "2024-07-01"), None);
    }

    fn result(channels: &[&str], csat: &[f64], n: &[i64]) -> RecordBatch {
        RecordBatch::try_from_iter(vec![
            (
                "channel",
                Arc::new(StringArray::from(channels.to_vec())) as ArrayRef,
            ),
            (
                "csat",
                Arc::new(Float64Array::from(csat.to_vec())) as ArrayRef,
            ),
            (
                "responses",
                Arc::new(Int64Array::from(n.to_vec())) as ArrayRef,
            ),
        ])
        .expect("a batch")
    }

    /// Rows match by channel whatever their order; the rate test is the pooled two-proportion test on the
    /// counts behind the percentages (45 of 100 before, 60 of 120 now: p = 0.4597, not significant; 450 of
    /// 1000 before, 600 of 1000 now: significant).
    #[test]
    fn rates_are_matched_by_key_and_tested_on_their_counts() {
        let before = result(&["email", "chat"], &[45.0, 45.0], &[1000, 100]);
        let now = result(
            &["chat", "email", "web"],
            &[50.0, 60.0, 70.0],
            &[120, 1000, 10],
        );
        let c = compare(&now, &before, &ChartOptions::default(), 0.95).expect("comparable");
        assert_eq!(c.test, Test::Proportions);
        let chat = &c.changes[0];
        assert_eq!((chat.key.as_str(), chat.before), ("chat", Some(45.0)));
        let o = chat.outcome.expect("tested");
        assert!((o.p_value - 0.459_717).abs() < 1e-5, "{o:?}");
        assert!(!chat.significant);
        assert!(c.changes[1].significant, "{:?}", c.changes[1]);
        assert_eq!(
            c.changes[2].before, None,
            "a new channel has nothing to compare"
        );
        let page = html(&c, "2023-01-01", "2024-01-01", 0.95);
        assert!(page.contains("pooled two-proportion z-test") && page.contains("▲ significant"));
    }

    #[test]
    fn rows_without_a_distinct_key_are_not_compared() {
        let twice = result(&["chat", "chat"], &[1.0, 2.0], &[1, 1]);
        assert!(compare(&twice, &twice, &ChartOptions::default(), 0.95).is_none());
    }
}
