//! `churn_rate(start_at, end_at, period_start, period_end)`: of the rows active at the start of a period, the
//! percentage whose end falls by the end of it.

use std::sync::LazyLock;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray};
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{AggregateUDFImpl, Documentation, Signature, Volatility};
use datafusion::physical_expr::expressions::Literal;

use crate::backlog_at::Arg;
use crate::kpi::{Kpi, for_each_valid, kpi_udaf_methods, numbers, valid_rows};
use crate::time::{coerce_instant, instant_of, instants};
use crate::{DOC_SECTION, percent};

const SIGNATURES: &str = "churn_rate(start_at TIMESTAMP, end_at TIMESTAMP, period_start TIMESTAMP, \
                          period_end TIMESTAMP)";

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "Churn rate in percent (Float64): of the rows active at `period_start`, the share whose `end_at` \
         falls on or before `period_end`. A row is active at an instant t when start_at <= t AND (end_at IS \
         NULL OR end_at > t), the rule of `backlog_at`; the result is 100 × |active at period_start AND \
         end_at <= period_end| / |active at period_start|. Rows that start during the period are in neither \
         count. For customers, `churn_rate(signed_up_at, churned_at, since, until)` is customer churn; for \
         agents, `churn_rate(hired_at, left_at, since, until)` is staff turnover (attrition). Rows with a \
         NULL start_at are skipped, a NULL end_at means still active; a NULL `period_start` or `period_end` \
         (constant, or in a row) skips the row. No active row at `period_start` gives NULL. `period_end` \
         before `period_start` is an error naming both. Timestamps of any unit, with or without a time zone, \
         and dates compare as instants (a timestamp without a zone is read as UTC). The rate is for the \
         period as given: a monthly rate from a yearly period is not 1/12 of it (see \
         `customer_lifetime_value` in queries/).",
        "churn_rate(start_at, end_at, period_start, period_end)",
    )
    .with_argument(
        "start_at",
        "When the relationship began: signed_up_at, hired_at (TIMESTAMP or DATE).",
    )
    .with_argument(
        "end_at",
        "When it ended: churned_at, left_at; NULL while it lasts (TIMESTAMP or DATE).",
    )
    .with_argument(
        "period_start",
        "The start of the period: a constant or a column (e.g. each month's start from a calendar).",
    )
    .with_argument(
        "period_end",
        "The end of the period (inclusive for end_at): a constant or a column, not before period_start.",
    )
    .with_sql_example(
        "```sql\n\
         > SELECT segment, churn_rate(signed_up_at, churned_at, TIMESTAMP '2024-01-01T00:00:00Z',\n\
         \x20   TIMESTAMP '2025-01-01T00:00:00Z') AS churn FROM customers GROUP BY segment;\n\
         > SELECT team, churn_rate(hired_at, left_at, DATE '2024-01-01', DATE '2024-12-31') AS turnover\n\
         \x20 FROM agents GROUP BY team;\n\
         > SELECT churn_rate(s, e, TIMESTAMP '2024-01-10T00:00:00', TIMESTAMP '2024-02-10T00:00:00') AS churn\n\
         \x20 FROM (VALUES\n\
         \x20   (TIMESTAMP '2024-01-01T00:00:00', NULL),\n\
         \x20   (TIMESTAMP '2024-01-02T00:00:00', TIMESTAMP '2024-01-20T00:00:00'),\n\
         \x20   (TIMESTAMP '2024-01-03T00:00:00', TIMESTAMP '2024-03-01T00:00:00'),\n\
         \x20   (TIMESTAMP '2024-01-04T00:00:00', TIMESTAMP '2024-01-05T00:00:00'),\n\
         \x20   (TIMESTAMP '2024-01-05T00:00:00', NULL),\n\
         \x20   (TIMESTAMP '2024-01-15T00:00:00', TIMESTAMP '2024-01-16T00:00:00')) AS t(s, e);\n\
         +-------+\n\
         | churn |\n\
         +-------+\n\
         | 25.0  |\n\
         +-------+\n\
         ```",
    )
    .build()
});

/// `churn_rate(start_at, end_at, period_start, period_end)`: percentage of the rows active at `period_start`
/// that ended by `period_end`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ChurnRate {
    signature: Signature,
}

impl Default for ChurnRate {
    fn default() -> Self {
        Self::new()
    }
}

impl ChurnRate {
    /// The function, ready to register.
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    fn kpi(&self, args: &AccumulatorArgs) -> Result<ChurnKpi> {
        let literal = |i: usize| -> Result<Arg<i64>> {
            match args.exprs.get(i).and_then(|e| e.downcast_ref::<Literal>()) {
                None => Ok(Arg::Column),
                Some(l) => Ok(Arg::Value(instant_of(l.value())?)),
            }
        };
        let kpi = ChurnKpi {
            period_start: literal(2)?,
            period_end: literal(3)?,
        };
        if let (Arg::Value(Some(start)), Arg::Value(Some(end))) = (kpi.period_start, kpi.period_end)
        {
            check_period(start, end)?;
        }
        Ok(kpi)
    }
}

/// An instant in nanoseconds as RFC 3339 text, for messages.
fn instant_text(nanos: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(nanos)
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn check_period(start: i64, end: i64) -> Result<()> {
    if end < start {
        return exec_err!(
            "churn_rate: period_end {} is before period_start {}; expected period_end >= period_start",
            instant_text(end),
            instant_text(start)
        );
    }
    Ok(())
}

impl AggregateUDFImpl for ChurnRate {
    fn name(&self) -> &str {
        "churn_rate"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        const NAMES: [&str; 4] = ["start_at", "end_at", "period_start", "period_end"];
        if args.len() != 4 {
            return plan_err!(
                "churn_rate takes 4 arguments, got {}; accepted signatures: {SIGNATURES}",
                args.len()
            );
        }
        args.iter()
            .zip(NAMES)
            .map(|(t, name)| coerce_instant("churn_rate", name, SIGNATURES, t))
            .collect()
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    kpi_udaf_methods!(ChurnKpi, 2);
}

/// Counters: rows active at the period's start, and those of them ended by its end.
#[derive(Debug, Clone)]
pub(crate) struct ChurnKpi {
    pub(crate) period_start: Arg<i64>,
    pub(crate) period_end: Arg<i64>,
}

impl Kpi<2> for ChurnKpi {
    type C = i64;
    const STATE: [&'static str; 2] = ["active", "churned"];

    fn tally<F: FnMut(usize, [i64; 2])>(
        &self,
        args: &[ArrayRef],
        filter: Option<&BooleanArray>,
        mut f: F,
    ) -> Result<()> {
        let (start, start_unit) = instants(&args[0])?;
        let (end, end_unit) = instants(&args[1])?;
        let end_nulls = args[1].nulls();
        let ongoing = |row: usize| end_nulls.is_some_and(|n| n.is_null(row));

        if let (Arg::Value(ps), Arg::Value(pe)) = (self.period_start, self.period_end) {
            // Constant period: compare raw values against thresholds in each column's unit.
            let (Some(ps), Some(pe)) = (ps, pe) else {
                return Ok(());
            };
            // start * unit <= ps  <=>  start <= floor(ps / unit); end * unit > ps  <=>  end > floor(ps / unit);
            // end * unit <= pe  <=>  end <= floor(pe / unit).
            let start_max = ps.div_euclid(start_unit);
            let end_after = ps.div_euclid(end_unit);
            let end_by = pe.div_euclid(end_unit);
            let valid = valid_rows(&[args[0].as_ref()], filter);
            for_each_valid(start.len(), valid.as_ref(), |row| {
                if start[row] > start_max {
                    return;
                }
                if ongoing(row) {
                    f(row, [1, 0]);
                } else if end[row] > end_after {
                    f(row, [1, i64::from(end[row] <= end_by)]);
                }
            });
            return Ok(());
        }

        // A period bound per row.
        let bound = |arg: Arg<i64>, array: &ArrayRef| -> Result<Option<Bound>> {
            Ok(match arg {
                Arg::Value(None) => None,
                Arg::Value(Some(v)) => Some(Bound::Value(v)),
                Arg::Column => {
                    let (values, unit) = instants(array)?;
                    Some(Bound::Column(values, unit))
                }
            })
        };
        let (Some(ps), Some(pe)) = (
            bound(self.period_start, &args[2])?,
            bound(self.period_end, &args[3])?,
        ) else {
            return Ok(());
        };
        let mut required: Vec<&dyn Array> = vec![args[0].as_ref()];
        for (arg, array) in [(self.period_start, &args[2]), (self.period_end, &args[3])] {
            if arg == Arg::Column {
                required.push(array.as_ref());
            }
        }
        let valid = valid_rows(&required, filter);
        let mut bad = None;
        for_each_valid(start.len(), valid.as_ref(), |row| {
            let (ps, pe) = (ps.at(row), pe.at(row));
            if pe < ps {
                bad.get_or_insert((ps, pe));
                return;
            }
            let s = start[row].saturating_mul(start_unit);
            if s > ps {
                return;
            }
            if ongoing(row) {
                f(row, [1, 0]);
                return;
            }
            let e = end[row].saturating_mul(end_unit);
            if e > ps {
                f(row, [1, i64::from(e <= pe)]);
            }
        });
        match bad {
            Some((ps, pe)) => check_period(ps, pe),
            None => Ok(()),
        }
    }

    fn finish_array(&self, states: &[[i64; 2]]) -> Result<ArrayRef> {
        Ok(numbers::<Float64Type, _>(states, |&[active, churned]| {
            percent(churned, active)
        }))
    }
}

/// A period bound: a constant, or a column's values with the nanoseconds of its unit.
enum Bound {
    Value(i64),
    Column(datafusion::arrow::buffer::ScalarBuffer<i64>, i64),
}

impl Bound {
    #[inline]
    fn at(&self, row: usize) -> i64 {
        match self {
            Bound::Value(v) => *v,
            Bound::Column(values, unit) => values[row].saturating_mul(*unit),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{TimestampMicrosecondArray, TimestampSecondArray};
    use datafusion::common::ScalarValue;

    use super::*;
    use crate::kpi::test_util::{check_paths, eval_plain};

    const DAY: i64 = 86_400;
    const NANOS: i64 = 1_000_000_000;

    fn secs(v: &[Option<i64>]) -> ArrayRef {
        Arc::new(TimestampSecondArray::from(v.to_vec()))
    }

    fn days(v: &[Option<i64>]) -> ArrayRef {
        secs(&v.iter().map(|d| d.map(|d| d * DAY)).collect::<Vec<_>>())
    }

    fn rate(s: ScalarValue) -> Option<f64> {
        match s {
            ScalarValue::Float64(v) => v,
            other => panic!("not a Float64: {other:?}"),
        }
    }

    fn period(start_day: i64, end_day: i64) -> ChurnKpi {
        ChurnKpi {
            period_start: Arg::Value(Some(start_day * DAY * NANOS)),
            period_end: Arg::Value(Some(end_day * DAY * NANOS)),
        }
    }

    /// Customers (signed up day, churned day): (1, -), (2, 20), (3, 60), (4, 5), (15, 16), (NULL, 12),
    /// (10, 10), (10, 40).
    fn customers() -> Vec<Vec<ArrayRef>> {
        vec![
            vec![
                days(&[Some(1), Some(2), Some(3)]),
                days(&[None, Some(20), Some(60)]),
            ],
            vec![
                days(&[Some(4), Some(15), None, Some(10), Some(10)]),
                days(&[Some(5), Some(16), Some(12), Some(10), Some(40)]),
            ],
        ]
    }

    #[test]
    fn of_those_active_at_the_start_the_share_gone_by_the_end() {
        // Active at day 10: (1, -), (2, 20), (3, 60), (10, 40): (4, 5) left before, (10, 10) left exactly at
        // the start (not active), (15, 16) signed up during the period, (NULL, 12) is skipped.
        // Gone by day 40: (2, 20) and (10, 40) (the end is inclusive): 2 of 4.
        assert_eq!(
            rate(check_paths(&period(10, 40), &customers()).unwrap()),
            Some(50.0)
        );
        // By day 39 only (2, 20): 1 of 4.
        assert_eq!(
            rate(check_paths(&period(10, 39), &customers()).unwrap()),
            Some(25.0)
        );
        // By day 100: 3 of 4 (the one still a customer stays).
        assert_eq!(
            rate(check_paths(&period(10, 100), &customers()).unwrap()),
            Some(75.0)
        );
        // A period of one instant: nobody active at t has ended by t.
        assert_eq!(
            rate(check_paths(&period(10, 10), &customers()).unwrap()),
            Some(0.0)
        );
    }

    #[test]
    fn nobody_active_at_the_start_gives_null() {
        assert_eq!(
            rate(check_paths(&period(0, 30), &customers()).unwrap()),
            None
        );
        assert_eq!(rate(eval_plain(&period(0, 30), &[]).unwrap()), None);
        let null = ChurnKpi {
            period_start: Arg::Value(None),
            period_end: Arg::Value(Some(0)),
        };
        assert_eq!(rate(eval_plain(&null, &customers()).unwrap()), None);
    }

    #[test]
    fn period_bounds_as_columns_match_the_constants() {
        for (ps, pe) in [(1, 1), (3, 20), (10, 40), (10, 39), (15, 100), (0, 5)] {
            let expected = rate(eval_plain(&period(ps, pe), &customers()).unwrap());
            let columns: Vec<Vec<ArrayRef>> = customers()
                .into_iter()
                .map(|mut b| {
                    let n = b[0].len();
                    // Microseconds, to mix units with the seconds of the data.
                    let micros = |day: i64| -> ArrayRef {
                        Arc::new(TimestampMicrosecondArray::from(vec![
                            day * DAY * 1_000_000;
                            n
                        ]))
                    };
                    b.extend([micros(ps), micros(pe)]);
                    b
                })
                .collect();
            let kpi = ChurnKpi {
                period_start: Arg::Column,
                period_end: Arg::Column,
            };
            assert_eq!(
                rate(check_paths(&kpi, &columns).unwrap()),
                expected,
                "period {ps}..{pe}"
            );
        }
    }

    #[test]
    fn a_null_bound_in_a_row_skips_that_row() {
        let batch = vec![
            days(&[Some(1), Some(1)]),
            days(&[Some(5), None]),
            days(&[Some(2), None]),
            days(&[Some(9), Some(9)]),
        ];
        let kpi = ChurnKpi {
            period_start: Arg::Column,
            period_end: Arg::Column,
        };
        // Only the first row counts: active at day 2, gone at day 5 <= 9.
        assert_eq!(rate(eval_plain(&kpi, &[batch]).unwrap()), Some(100.0));
    }

    #[test]
    fn period_end_before_period_start_is_an_error_naming_both() {
        let kpi = ChurnKpi {
            period_start: Arg::Column,
            period_end: Arg::Column,
        };
        let batch = vec![
            days(&[Some(1)]),
            days(&[None]),
            days(&[Some(31)]),
            days(&[Some(30)]),
        ];
        let err = eval_plain(&kpi, &[batch]).unwrap_err().to_string();
        assert!(
            err.contains(
                "churn_rate: period_end 1970-01-31T00:00:00Z is before period_start \
                 1970-02-01T00:00:00Z; expected period_end >= period_start"
            ),
            "{err}"
        );
    }
}
