//! `backlog_at(created_at, resolved_at, at [, sla])`: tickets open at an instant.

use std::sync::LazyLock;

use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::datatypes::{
    DataType, Int64Type, IntervalMonthDayNano, IntervalMonthDayNanoType, TimestampNanosecondType,
};
use datafusion::common::{Result, ScalarValue, internal_err, plan_err};
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{AggregateUDFImpl, Documentation, Signature, Volatility};

use crate::DOC_SECTION;
use crate::kpi::{
    Kpi, for_each_valid, kpi_udaf_methods, numbers, set_bits, valid_rows, validity_words,
};
use crate::time::{check_sla, coerce_instant, coerce_interval, fixed_nanos, instant_of, instants};

const SIGNATURES: &str = "backlog_at(created_at TIMESTAMP, resolved_at TIMESTAMP, at TIMESTAMP), \
                          backlog_at(created_at TIMESTAMP, resolved_at TIMESTAMP, at TIMESTAMP, sla INTERVAL)";

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "Backlog: the number of tickets open at the instant `at` (Int64), i.e. created_at <= at AND \
         (resolved_at IS NULL OR resolved_at > at). With `sla`, only the tickets open at `at` whose age \
         exceeds it (at - created_at > sla): the tickets not closed in time. Rows with a NULL created_at \
         (or a NULL `at` or `sla`) are skipped; a NULL resolved_at means still open. An empty group gives 0, \
         never NULL. Timestamps of any unit, with or without a time zone, compare as instants (a timestamp \
         without a zone is read as UTC). An `sla` with months adds calendar months in UTC; a negative `sla` \
         is an error.",
        "backlog_at(created_at, resolved_at, at [, sla])",
    )
    .with_argument("created_at", "When the ticket was created (TIMESTAMP or DATE).")
    .with_argument("resolved_at", "When it was resolved; NULL while open (TIMESTAMP or DATE).")
    .with_argument(
        "at",
        "The instant to count at: a constant or a column (e.g. the end of each month from a calendar).",
    )
    .with_argument(
        "sla",
        "Optional INTERVAL: count only tickets older than this at `at` (e.g. INTERVAL '3 days').",
    )
    .with_sql_example(
        "```sql\n\
         > SELECT channel, backlog_at(created_at, resolved_at, TIMESTAMP '2024-06-30T23:59:59Z') AS open\n\
         \x20 FROM tickets GROUP BY channel;\n\
         > SELECT channel, backlog_at(created_at, resolved_at, now(), INTERVAL '2 days') AS overdue\n\
         \x20 FROM tickets GROUP BY channel;\n\
         > SELECT backlog_at(c, r, TIMESTAMP '2024-01-10T00:00:00') AS open FROM (VALUES\n\
         \x20   (TIMESTAMP '2024-01-01T00:00:00', NULL),\n\
         \x20   (TIMESTAMP '2024-01-02T00:00:00', TIMESTAMP '2024-01-05T00:00:00'),\n\
         \x20   (TIMESTAMP '2024-01-03T00:00:00', TIMESTAMP '2024-01-20T00:00:00')) AS t(c, r);\n\
         +------+\n\
         | open |\n\
         +------+\n\
         | 2    |\n\
         +------+\n\
         ```",
    )
    .build()
});

/// `backlog_at(created_at, resolved_at, at [, sla])`: count of tickets open (and, with `sla`, overdue) at `at`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct BacklogAt {
    signature: Signature,
}

impl Default for BacklogAt {
    fn default() -> Self {
        Self::new()
    }
}

impl BacklogAt {
    /// The function, ready to register.
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    fn kpi(&self, args: &AccumulatorArgs) -> Result<BacklogKpi> {
        let literal = |i: usize| crate::kpi::literal(args, i);
        let at = match literal(2) {
            None => Arg::Column,
            Some(v) => Arg::Value(instant_of(&v)?),
        };
        let sla = match (args.exprs.len(), literal(3)) {
            (3, _) => None,
            (_, None) => Some(Arg::Column),
            (_, Some(ScalarValue::IntervalMonthDayNano(v))) => {
                if let Some(v) = v {
                    check_sla("backlog_at", v)?;
                }
                Some(Arg::Value(v))
            }
            (_, Some(other)) => {
                return internal_err!("backlog_at: sla literal {other} after coercion");
            }
        };
        Ok(BacklogKpi { at, sla })
    }
}

impl AggregateUDFImpl for BacklogAt {
    fn name(&self) -> &str {
        "backlog_at"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        const NAMES: [&str; 4] = ["created_at", "resolved_at", "at", "sla"];
        if !(3..=4).contains(&args.len()) {
            return plan_err!(
                "backlog_at takes 3 or 4 arguments, got {}; accepted signatures: {SIGNATURES}",
                args.len()
            );
        }
        args.iter()
            .zip(NAMES)
            .map(|(t, name)| match name {
                "sla" => coerce_interval("backlog_at", name, SIGNATURES, t),
                _ => coerce_instant("backlog_at", name, SIGNATURES, t),
            })
            .collect()
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn is_nullable(&self) -> bool {
        false
    }

    fn default_value(&self, _data_type: &DataType) -> Result<ScalarValue> {
        Ok(ScalarValue::Int64(Some(0)))
    }

    kpi_udaf_methods!(BacklogKpi, 1);
}

/// An argument that is either read per row or a constant of the query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Arg<T> {
    Column,
    Value(Option<T>),
}

/// Counter: tickets open (and overdue) at `at`.
#[derive(Debug, Clone)]
pub(crate) struct BacklogKpi {
    pub(crate) at: Arg<i64>,
    pub(crate) sla: Option<Arg<IntervalMonthDayNano>>,
}

/// Whether a ticket created at `created` (ns) is older than `sla` at `at` (ns).
/// Bit `i` set where `test(values[i])` holds (at most 64 values).
#[inline]
fn bits_where(values: &[i64], test: impl Fn(i64) -> bool) -> u64 {
    values
        .iter()
        .enumerate()
        .fold(0, |bits, (i, &v)| bits | (u64::from(test(v)) << i))
}

fn overdue(created: i64, at: i64, sla: IntervalMonthDayNano, utc: &Tz) -> bool {
    match fixed_nanos(sla) {
        Some(nanos) => i128::from(at) - i128::from(created) > i128::from(nanos),
        None => TimestampNanosecondType::add_month_day_nano(created, sla, *utc)
            .is_some_and(|deadline| at > deadline),
    }
}

impl Kpi<1> for BacklogKpi {
    type C = i64;
    const STATE: [&'static str; 1] = ["open"];

    fn tally<F: FnMut(usize, [i64; 1])>(
        &self,
        args: &[ArrayRef],
        filter: Option<&BooleanArray>,
        mut f: F,
    ) -> Result<()> {
        let (created, created_unit) = instants(&args[0])?;
        let (resolved, resolved_unit) = instants(&args[1])?;
        let resolved_nulls = args[1].nulls();
        let still_open = |row: usize| resolved_nulls.is_some_and(|n| n.is_null(row));

        let fixed_sla = match self.sla {
            None => Some(None),
            Some(Arg::Value(None)) => return Ok(()),
            Some(Arg::Value(Some(sla))) => fixed_nanos(sla).map(Some),
            Some(Arg::Column) => None,
        };
        if let (Arg::Value(at), Some(sla)) = (self.at, fixed_sla) {
            // Constant instant and fixed SLA: compare raw values against thresholds in each column's unit.
            let Some(at) = at else { return Ok(()) };
            // at - created > sla  <=>  created <= at - sla - 1 (in nanoseconds)
            let created_by = sla.map_or(at, |nanos| at.saturating_sub(nanos).saturating_sub(1));
            let created_max = created_by.div_euclid(created_unit);
            let resolved_min = at.div_euclid(resolved_unit);
            // One pass, 64 rows at a time: each word of "open at `at`" bits is built from the raw values
            // (NULL slots masked out with the validity words) and its set bits visited; no intermediate arrays.
            let valid = valid_rows(&[args[0].as_ref()], filter);
            let words = validity_words(valid.as_ref()).zip(validity_words(resolved_nulls));
            let mut emit = |row: usize| f(row, [1]);
            for (base, (valid_bits, resolved_valid)) in (0..created.len()).step_by(64).zip(words) {
                let end = (base + 64).min(created.len());
                let created_by = bits_where(&created[base..end], |v| v <= created_max);
                let not_resolved = bits_where(&resolved[base..end], |v| v > resolved_min);
                // A NULL resolution is still open; bits past `end` are clear in `created_by`.
                let open = created_by & (not_resolved | !resolved_valid) & valid_bits;
                set_bits(open, base, &mut emit);
            }
            return Ok(());
        }

        // General case: `at` and/or `sla` per row, or an SLA in calendar months.
        let mut required: Vec<&dyn Array> = vec![args[0].as_ref()];
        let at_col = match self.at {
            Arg::Value(None) => return Ok(()),
            Arg::Value(Some(_)) => None,
            Arg::Column => {
                required.push(args[2].as_ref());
                Some(instants(&args[2])?)
            }
        };
        let sla_col = match self.sla {
            Some(Arg::Value(None)) => return Ok(()),
            Some(Arg::Column) => {
                required.push(args[3].as_ref());
                Some(args[3].as_primitive::<IntervalMonthDayNanoType>().values())
            }
            _ => None,
        };
        let utc: Tz = "+00:00".parse()?;
        let valid = valid_rows(&required, filter);
        let mut bad_sla = None;
        for_each_valid(created.len(), valid.as_ref(), |row| {
            let at = match (self.at, &at_col) {
                (Arg::Value(Some(at)), _) => at,
                (_, Some((values, unit))) => values[row].saturating_mul(*unit),
                _ => return,
            };
            let sla = match (self.sla, sla_col) {
                (None, _) => None,
                (Some(Arg::Value(sla)), _) => sla,
                (_, Some(values)) => Some(values[row]),
                _ => return,
            };
            if let Some(sla) = sla
                && (sla.months < 0 || sla.days < 0 || sla.nanoseconds < 0)
            {
                bad_sla.get_or_insert(sla);
                return;
            }
            let c = created[row].saturating_mul(created_unit);
            let open =
                c <= at && (still_open(row) || resolved[row].saturating_mul(resolved_unit) > at);
            if open && sla.is_none_or(|sla| overdue(c, at, sla, &utc)) {
                f(row, [1]);
            }
        });
        match bad_sla {
            Some(sla) => check_sla("backlog_at", sla),
            None => Ok(()),
        }
    }

    fn finish_array(&self, states: &[[i64; 1]]) -> Result<ArrayRef> {
        Ok(numbers::<Int64Type, _>(states, |&[open]| Some(open)))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{
        IntervalMonthDayNanoArray, TimestampMicrosecondArray, TimestampSecondArray,
    };

    use super::*;
    use crate::kpi::test_util::{check_paths, eval_plain};

    const DAY: i64 = 86_400;

    fn secs(v: &[Option<i64>]) -> ArrayRef {
        Arc::new(TimestampSecondArray::from(v.to_vec()))
    }

    fn count(s: ScalarValue) -> i64 {
        match s {
            ScalarValue::Int64(Some(v)) => v,
            other => panic!("not a non-NULL Int64: {other:?}"),
        }
    }

    fn at(day: i64) -> Arg<i64> {
        Arg::Value(Some(day * DAY * 1_000_000_000))
    }

    fn sla(days: i32) -> Option<Arg<IntervalMonthDayNano>> {
        Some(Arg::Value(Some(IntervalMonthDayNano::new(0, days, 0))))
    }

    /// Tickets (created day, resolved day): (1, open), (2, 5), (3, 10), (10, open), (NULL, open).
    fn tickets() -> Vec<Vec<ArrayRef>> {
        vec![
            vec![
                secs(&[Some(DAY), Some(2 * DAY)]),
                secs(&[None, Some(5 * DAY)]),
            ],
            vec![
                secs(&[Some(3 * DAY), Some(10 * DAY), None]),
                secs(&[Some(10 * DAY), None, None]),
            ],
        ]
    }

    /// The word-at-a-time path for a constant instant against a row-by-row count, on batches longer than a
    /// word, sliced at offsets that are not word-aligned, with NULLs in both columns, a filter and two groups.
    #[test]
    fn constant_instant_path_counts_every_open_row_of_long_sliced_batches() {
        use datafusion::logical_expr::{EmitTo, GroupsAccumulator};

        use crate::kpi::KpiGroupsAccumulator;

        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |m: i64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            i64::try_from(seed % u64::try_from(m).expect("positive")).expect("small")
        };
        let n = 300;
        let created: Vec<Option<i64>> = (0..n)
            .map(|_| (next(10) > 0).then(|| next(20) * DAY / 2))
            .collect();
        let resolved: Vec<Option<i64>> = created
            .iter()
            .map(|c| c.filter(|_| next(4) > 0).map(|c| c + next(8) * DAY / 2))
            .collect();
        let keep: Vec<bool> = (0..n).map(|_| next(5) > 0).collect();
        let created_all = TimestampSecondArray::from(created.clone());
        let resolved_all = TimestampSecondArray::from(resolved.clone());
        for (offset, len) in [
            (0, 0),
            (0, 1),
            (0, 64),
            (0, 300),
            (1, 64),
            (1, 65),
            (63, 200),
            (70, 130),
        ] {
            for (day, days) in [(3, None), (6, None), (6, Some(1)), (12, Some(2))] {
                let kpi = BacklogKpi {
                    at: at(day),
                    sla: sla(days.unwrap_or(0)).filter(|_| days.is_some()),
                };
                let batch: Vec<ArrayRef> = vec![
                    Arc::new(created_all.slice(offset, len)),
                    Arc::new(resolved_all.slice(offset, len)),
                ];
                let filter = BooleanArray::from(keep[offset..offset + len].to_vec());
                let groups: Vec<usize> = (0..len).map(|i| (i * 7 / 3) % 2).collect();
                let mut acc = KpiGroupsAccumulator::new(kpi);
                acc.update_batch(&batch, &groups, Some(&filter), 2)
                    .expect("update");
                let result = acc.evaluate(EmitTo::All).expect("evaluate");
                let at = day * DAY;
                let mut expected = [0i64; 2];
                for i in 0..len {
                    let row = offset + i;
                    let Some(c) = created[row] else { continue };
                    let open = keep[row] && c <= at && resolved[row].is_none_or(|r| r > at);
                    let overdue = days.is_none_or(|d| at - c > i64::from(d) * DAY);
                    if open && overdue {
                        expected[groups[i]] += 1;
                    }
                }
                for (g, want) in expected.iter().enumerate() {
                    assert_eq!(
                        count(ScalarValue::try_from_array(&result, g).expect("value")),
                        *want,
                        "offset {offset} len {len} day {day} sla {days:?} group {g}"
                    );
                }
            }
        }
    }

    #[test]
    fn open_means_created_by_and_not_yet_resolved() {
        let kpi = |day| BacklogKpi {
            at: at(day),
            sla: None,
        };
        // Day 0: nothing created yet; day 1: the first; day 5: (1) and (3) — (2) resolved exactly at 5.
        assert_eq!(count(check_paths(&kpi(0), &tickets()).unwrap()), 0);
        assert_eq!(count(check_paths(&kpi(1), &tickets()).unwrap()), 1);
        assert_eq!(count(check_paths(&kpi(5), &tickets()).unwrap()), 2);
        // Day 10: (1) and (10), created exactly at 10; (3) resolved at 10.
        assert_eq!(count(check_paths(&kpi(10), &tickets()).unwrap()), 2);
    }

    #[test]
    fn sla_counts_only_tickets_older_than_it() {
        // At day 5, open: created day 1 (age 4) and day 3 (age 2).
        let kpi = |days| BacklogKpi {
            at: at(5),
            sla: sla(days),
        };
        assert_eq!(count(check_paths(&kpi(0), &tickets()).unwrap()), 2);
        assert_eq!(
            count(check_paths(&kpi(2), &tickets()).unwrap()),
            1,
            "age 2 is not > 2 days"
        );
        assert_eq!(count(check_paths(&kpi(4), &tickets()).unwrap()), 0);
        // Day 1 is 1970-01-02; a calendar month later is 1970-02-02, day 32. At day 33 the ticket created
        // on day 1 (still open) is overdue, the one from day 10 is not; at day 31 neither is.
        let month = BacklogKpi {
            at: at(33),
            sla: Some(Arg::Value(Some(IntervalMonthDayNano::new(1, 0, 0)))),
        };
        assert_eq!(count(check_paths(&month, &tickets()).unwrap()), 1);
        let month = BacklogKpi {
            at: at(31),
            ..month
        };
        assert_eq!(count(check_paths(&month, &tickets()).unwrap()), 0);
    }

    #[test]
    fn at_and_sla_as_columns_match_the_constants() {
        for (day, days) in [(1, 0), (5, 0), (5, 2), (10, 1), (11, 0)] {
            let constant = BacklogKpi {
                at: at(day),
                sla: sla(days),
            };
            let expected = count(eval_plain(&constant, &tickets()).unwrap());
            let columns: Vec<Vec<ArrayRef>> = tickets()
                .into_iter()
                .map(|mut b| {
                    let n = b[0].len();
                    // `at` in microseconds, to mix units.
                    let at: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![
                            day * DAY * 1_000_000;
                            n
                        ]));
                    let sla: ArrayRef = Arc::new(IntervalMonthDayNanoArray::from(vec![
                        IntervalMonthDayNano::new(0, days, 0);
                        n
                    ]));
                    b.extend([at, sla]);
                    b
                })
                .collect();
            let kpi = BacklogKpi {
                at: Arg::Column,
                sla: Some(Arg::Column),
            };
            assert_eq!(
                count(check_paths(&kpi, &columns).unwrap()),
                expected,
                "day {day}, sla {days}"
            );
        }
    }

    #[test]
    fn empty_input_and_null_at_count_zero() {
        let kpi = BacklogKpi {
            at: at(5),
            sla: None,
        };
        assert_eq!(count(eval_plain(&kpi, &[]).unwrap()), 0);
        let kpi = BacklogKpi {
            at: Arg::Value(None),
            sla: None,
        };
        assert_eq!(count(eval_plain(&kpi, &tickets()).unwrap()), 0);
    }

    #[test]
    fn negative_sla_is_an_error() {
        let kpi = BacklogKpi {
            at: Arg::Column,
            sla: Some(Arg::Column),
        };
        let batch = vec![
            secs(&[Some(DAY)]),
            secs(&[None]),
            secs(&[Some(5 * DAY)]),
            Arc::new(IntervalMonthDayNanoArray::from(vec![
                IntervalMonthDayNano::new(0, -1, 0),
            ])) as ArrayRef,
        ];
        let err = eval_plain(&kpi, &[batch]).unwrap_err();
        assert!(
            err.to_string()
                .contains("backlog_at: sla of 0 months -1 days 0 ns is negative"),
            "{err}"
        );
    }
}
