//! `backlog_series(created_at, resolved_at, start, stop, step [, sla])`: the backlog at every step of a time
//! range, in one pass over the tickets.
//!
//! The instants are `at_i = start + i * step` for i = 0, 1, ... while `at_i <= stop`. A ticket is open at
//! `at_i` exactly when `backlog_at` counts it there: created_at <= at_i < resolved_at (a NULL resolved_at is
//! never reached), and with an SLA, at_i - created_at > sla. Those conditions hold on one contiguous run of
//! instants [first, last), so each ticket adds +1 at `first` and -1 at `last` of a per-group difference array;
//! the series is its running sum. Cost per group: O(rows + instants), against O(rows × instants) for a range
//! join or for `backlog_at` evaluated at every instant.

use std::mem::size_of;
use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int64Array, ListArray, StructArray,
    TimestampNanosecondArray, UInt32Array,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::datatypes::{
    DataType, Field, FieldRef, Fields, Int64Type, IntervalMonthDayNano, TimeUnit,
    TimestampNanosecondType, UInt32Type,
};
use datafusion::common::{Result, ScalarValue, exec_err, internal_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, EmitTo, GroupsAccumulator, Signature, Volatility,
};
use datafusion::physical_expr::expressions::Literal;

use crate::DOC_SECTION;
use crate::kpi::{for_each_valid, reject_distinct, valid_rows};
use crate::time::{check_sla, coerce_instant, coerce_interval, fixed_nanos, instant_of, instants};

const NAME: &str = "backlog_series";
const SIGNATURES: &str = "backlog_series(created_at TIMESTAMP, resolved_at TIMESTAMP, start TIMESTAMP, \
                          stop TIMESTAMP, step INTERVAL [, sla INTERVAL])";
/// The most instants one series may have (each group keeps one 8-byte counter per instant).
pub const MAX_INSTANTS: usize = 1_000_000;

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "Backlog over time: a list of {at, open} with one element per instant at = start, start + step, \
         start + 2*step, ... <= stop, where open is exactly backlog_at(created_at, resolved_at, at [, sla]) \
         (tickets with created_at <= at and resolved_at NULL or > at; with `sla`, only those older than it). \
         Computed in one pass (a count of openings and closings per step, then a running sum): O(rows + \
         instants) per group, so daily backlog over years of tickets costs one scan. Use unnest to get rows, \
         and GROUP BY for one series per group. `at` is a TIMESTAMP(ns, UTC); open is Int64, never NULL (an \
         empty group gives zeros). start, stop, step and sla must be constants; step > 0 (months allowed: \
         calendar months added to start, in UTC), stop >= start, at most 1,000,000 instants. Rows with a \
         NULL created_at are skipped; zone-less timestamps are UTC; a NULL sla counts nothing.",
        "backlog_series(created_at, resolved_at, start, stop, step [, sla])",
    )
    .with_argument("created_at", "When the ticket was created (TIMESTAMP or DATE).")
    .with_argument("resolved_at", "When it was resolved; NULL while open (TIMESTAMP or DATE).")
    .with_argument("start", "The first instant (constant TIMESTAMP or DATE).")
    .with_argument("stop", "The last instant is the last start + i*step <= stop (constant).")
    .with_argument("step", "The distance between instants: a constant INTERVAL > 0, e.g. INTERVAL '1 day'.")
    .with_argument(
        "sla",
        "Optional constant INTERVAL: count only tickets older than it at each instant, as backlog_at does.",
    )
    .with_sql_example(
        "```sql\n\
         > SELECT b['at'] AS day, b['open'] AS open FROM (\n\
         \x20   SELECT unnest(backlog_series(created_at, resolved_at, TIMESTAMP '2024-01-01T00:00:00Z',\n\
         \x20     TIMESTAMP '2024-12-31T00:00:00Z', INTERVAL '1 day')) AS b FROM tickets);\n\
         > SELECT channel, backlog_series(created_at, resolved_at, DATE '2024-01-31', DATE '2024-12-31',\n\
         \x20   INTERVAL '1 month', INTERVAL '3 days') AS overdue FROM tickets GROUP BY channel;\n\
         > SELECT array_length(backlog_series(c, r, TIMESTAMP '2024-01-01T00:00:00',\n\
         \x20   TIMESTAMP '2024-01-31T00:00:00', INTERVAL '1 day')) AS days FROM (VALUES\n\
         \x20   (TIMESTAMP '2024-01-01T00:00:00', NULL)) AS t(c, r);\n\
         +------+\n\
         | days |\n\
         +------+\n\
         | 31   |\n\
         +------+\n\
         > SELECT backlog_series(c, r, TIMESTAMP '2024-01-01T00:00:00', TIMESTAMP '2024-01-03T00:00:00',\n\
         \x20   INTERVAL '1 day')[2]['open'] AS open FROM (VALUES\n\
         \x20   (TIMESTAMP '2024-01-01T12:00:00', NULL),\n\
         \x20   (TIMESTAMP '2023-12-31T00:00:00', TIMESTAMP '2024-01-02T00:00:00'),\n\
         \x20   (TIMESTAMP '2023-12-31T00:00:00', TIMESTAMP '2024-01-02T00:00:01')) AS t(c, r);\n\
         +------+\n\
         | open |\n\
         +------+\n\
         | 2    |\n\
         +------+\n\
         ```",
    )
    .with_related_udf("backlog_at")
    .build()
});

/// `backlog_series(...)`: the backlog at each step of a range of instants, per group.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct BacklogSeries {
    signature: Signature,
}

impl Default for BacklogSeries {
    fn default() -> Self {
        Self::new()
    }
}

impl BacklogSeries {
    /// The function, ready to register.
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    fn series(&self, args: &AccumulatorArgs) -> Result<Series> {
        reject_distinct(args)?;
        let literal = |i: usize, what: &str| -> Result<ScalarValue> {
            match args.exprs.get(i).and_then(|e| e.downcast_ref::<Literal>()) {
                Some(l) => Ok(l.value().clone()),
                None => plan_err!(
                    "{NAME}: {what} must be a constant; accepted signatures: {SIGNATURES}"
                ),
            }
        };
        let instant = |i: usize, what: &str| -> Result<i64> {
            match instant_of(&literal(i, what)?)? {
                Some(v) => Ok(v),
                None => plan_err!("{NAME}: {what} is NULL; expected a timestamp"),
            }
        };
        let start = instant(2, "start")?;
        let stop = instant(3, "stop")?;
        let step = match literal(4, "step")? {
            ScalarValue::IntervalMonthDayNano(Some(step)) => step,
            ScalarValue::IntervalMonthDayNano(None) => {
                return plan_err!("{NAME}: step is NULL; expected an INTERVAL > 0");
            }
            other => return internal_err!("{NAME}: step literal {other} after coercion"),
        };
        let sla = if args.exprs.len() == 6 {
            match literal(5, "sla")? {
                ScalarValue::IntervalMonthDayNano(Some(sla)) => {
                    check_sla(NAME, sla)?;
                    Sla::After(sla)
                }
                ScalarValue::IntervalMonthDayNano(None) => Sla::Nothing,
                other => return internal_err!("{NAME}: sla literal {other} after coercion"),
            }
        } else {
            Sla::None
        };
        Series::new(start, stop, step, sla)
    }
}

/// The SLA argument: absent, NULL (nothing counts) or an interval.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Sla {
    None,
    Nothing,
    After(IntervalMonthDayNano),
}

/// The instants of one call and how a ticket maps onto them.
#[derive(Debug, Clone)]
struct Series {
    /// The instants, nanoseconds since the epoch, ascending.
    ats: Arc<[i64]>,
    /// `Some((start, step))` in nanoseconds when the instants are evenly spaced (no months in step).
    even: Option<(i64, i64)>,
    /// 1 / step, for the estimate in `first_at_or_after`.
    inverse_step: f64,
    sla: Sla,
}

impl Series {
    fn new(start: i64, stop: i64, step: IntervalMonthDayNano, sla: Sla) -> Result<Self> {
        if step.months < 0
            || step.days < 0
            || step.nanoseconds < 0
            || (step.months == 0 && step.days == 0 && step.nanoseconds == 0)
        {
            let IntervalMonthDayNano {
                months,
                days,
                nanoseconds,
            } = step;
            return exec_err!(
                "{NAME}: step of {months} months {days} days {nanoseconds} ns; expected an interval > 0 \
                 with no negative part"
            );
        }
        if stop < start {
            return exec_err!("{NAME}: stop is before start; expected start <= stop");
        }
        let utc: Tz = "+00:00".parse()?;
        let mut ats = Vec::new();
        let even = fixed_nanos(step).map(|nanos| (start, nanos));
        loop {
            let i = i32::try_from(ats.len()).unwrap_or(i32::MAX);
            let at = match even {
                Some((start, nanos)) => start.checked_add(nanos.saturating_mul(i64::from(i))),
                // Each instant from start (not from the previous one), so Jan 31 + 2 months is Mar 31.
                None => TimestampNanosecondType::add_month_day_nano(
                    start,
                    IntervalMonthDayNano::new(
                        step.months.saturating_mul(i),
                        step.days.saturating_mul(i),
                        step.nanoseconds.saturating_mul(i64::from(i)),
                    ),
                    utc,
                ),
            };
            match at {
                Some(at) if at <= stop => ats.push(at),
                _ => break,
            }
            if ats.len() > MAX_INSTANTS {
                return exec_err!(
                    "{NAME}: more than {MAX_INSTANTS} instants between start and stop; use a larger step \
                     or a shorter range"
                );
            }
        }
        Ok(Self {
            ats: ats.into(),
            inverse_step: even.map_or(0.0, |(_, step)| 1.0 / step as f64),
            even,
            sla,
        })
    }

    fn len(&self) -> usize {
        self.ats.len()
    }

    /// The index of the first instant >= `t` (nanoseconds), `len()` when there is none.
    #[inline]
    fn first_at_or_after(&self, t: i64) -> usize {
        let n = self.ats.len();
        match self.even {
            Some((start, step)) => {
                if t <= start {
                    return 0;
                }
                // ceil((t - start) / step) without a division per row: a floating-point estimate, then exact
                // integer corrections (the estimate is off by at most one step within the range).
                let last = self.ats[n - 1];
                if t > last {
                    return n;
                }
                let offset = t - start;
                let mut i = ((offset as f64) * self.inverse_step) as i64;
                i = i.clamp(0, n as i64 - 1);
                while i * step < offset {
                    i += 1;
                }
                while i > 0 && (i - 1) * step >= offset {
                    i -= 1;
                }
                i as usize
            }
            None => self.ats.partition_point(|&a| a < t),
        }
    }

    /// Calls `f(row, first, last)` for each counted row: the ticket is open (and overdue) at instants
    /// first..last (first < last).
    fn spans(
        &self,
        args: &[ArrayRef],
        filter: Option<&BooleanArray>,
        mut f: impl FnMut(usize, usize, usize),
    ) -> Result<()> {
        if self.sla == Sla::Nothing || self.ats.is_empty() {
            return Ok(());
        }
        let (created, created_unit) = instants(&args[0])?;
        let (resolved, resolved_unit) = instants(&args[1])?;
        let resolved_nulls = args[1].nulls();
        let valid: Option<NullBuffer> = valid_rows(&[args[0].as_ref()], filter);
        let utc: Tz = "+00:00".parse()?;
        let n = self.ats.len();
        for_each_valid(created.len(), valid.as_ref(), |row| {
            let c = created[row].saturating_mul(created_unit);
            // Counted from the first instant >= created_at, or, with an SLA, > created_at + sla.
            let from = match self.sla {
                Sla::None | Sla::Nothing => c,
                Sla::After(sla) => match fixed_nanos(sla) {
                    Some(nanos) => c.saturating_add(nanos).saturating_add(1),
                    None => match TimestampNanosecondType::add_month_day_nano(c, sla, utc) {
                        Some(deadline) => deadline.saturating_add(1),
                        None => i64::MAX,
                    },
                },
            };
            let first = self.first_at_or_after(from);
            // Until the first instant >= resolved_at.
            let last = if resolved_nulls.is_some_and(|nulls| nulls.is_null(row)) {
                n
            } else {
                self.first_at_or_after(resolved[row].saturating_mul(resolved_unit))
            };
            if first < last {
                f(row, first, last);
            }
        });
        Ok(())
    }

    /// The series for one group's difference array.
    fn running(&self, diffs: &[i64], open: &mut Vec<i64>) {
        let mut sum = 0;
        open.extend(diffs.iter().map(|d| {
            sum += d;
            sum
        }));
    }

    fn item_fields() -> Fields {
        Fields::from(vec![
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
                false,
            ),
            Field::new("open", DataType::Int64, false),
        ])
    }

    fn return_type() -> DataType {
        DataType::List(Arc::new(Field::new(
            "item",
            DataType::Struct(Self::item_fields()),
            true,
        )))
    }

    /// One series per group from their difference arrays (`groups` of `len()` counters each, back to back).
    fn evaluate(&self, diffs: &[i64]) -> Result<ArrayRef> {
        let n = self.len();
        let groups = diffs.len().checked_div(n).unwrap_or(0);
        let mut open = Vec::with_capacity(groups * n);
        for g in 0..groups {
            self.running(&diffs[g * n..(g + 1) * n], &mut open);
        }
        let ats: TimestampNanosecondArray = self
            .ats
            .iter()
            .cycle()
            .take(groups * n)
            .copied()
            .collect::<Vec<_>>()
            .into();
        let items = StructArray::try_new(
            Self::item_fields(),
            vec![
                Arc::new(ats.with_timezone("UTC")),
                Arc::new(Int64Array::from(open)),
            ],
            None,
        )?;
        let list = ListArray::try_new(
            Arc::new(Field::new(
                "item",
                DataType::Struct(Self::item_fields()),
                true,
            )),
            OffsetBuffer::from_lengths(std::iter::repeat_n(n, groups)),
            Arc::new(items),
            None,
        )?;
        Ok(Arc::new(list))
    }

    /// Partial state, sparse: per group, the instants whose difference is not 0 and those differences.
    fn state(&self, diffs: &[i64]) -> Result<Vec<ArrayRef>> {
        let n = self.len();
        let groups = diffs.len().checked_div(n).unwrap_or(0);
        let (mut indices, mut deltas, mut lengths) =
            (Vec::new(), Vec::new(), Vec::with_capacity(groups));
        for g in 0..groups {
            let before = indices.len();
            for (i, &d) in diffs[g * n..(g + 1) * n].iter().enumerate() {
                if d != 0 {
                    indices.push(i as u32);
                    deltas.push(d);
                }
            }
            lengths.push(indices.len() - before);
        }
        Self::sparse_state(indices, deltas, lengths)
    }

    fn sparse_state(
        indices: Vec<u32>,
        deltas: Vec<i64>,
        lengths: Vec<usize>,
    ) -> Result<Vec<ArrayRef>> {
        let offsets = OffsetBuffer::from_lengths(lengths);
        Ok(vec![
            Arc::new(ListArray::try_new(
                Arc::new(Field::new("item", DataType::UInt32, false)),
                offsets.clone(),
                Arc::new(UInt32Array::from(indices)),
                None,
            )?),
            Arc::new(ListArray::try_new(
                Arc::new(Field::new("item", DataType::Int64, false)),
                offsets,
                Arc::new(Int64Array::from(deltas)),
                None,
            )?),
        ])
    }

    fn state_fields(name: &str) -> Vec<FieldRef> {
        vec![
            Arc::new(Field::new(
                format_state_name(name, "instant"),
                DataType::List(Arc::new(Field::new("item", DataType::UInt32, false))),
                true,
            )),
            Arc::new(Field::new(
                format_state_name(name, "opened_minus_closed"),
                DataType::List(Arc::new(Field::new("item", DataType::Int64, false))),
                true,
            )),
        ]
    }

    /// Adds merged states into `diffs`; `target(row)` is the group of each state row.
    fn merge(
        &self,
        states: &[ArrayRef],
        diffs: &mut [i64],
        target: impl Fn(usize) -> usize,
    ) -> Result<()> {
        let n = self.len();
        let (Some(indices), Some(deltas)) = (
            states.first().and_then(|s| s.as_list_opt::<i32>()),
            states.get(1).and_then(|s| s.as_list_opt::<i32>()),
        ) else {
            return internal_err!("{NAME}: unexpected state columns");
        };
        let index_values = indices.values().as_primitive::<UInt32Type>().values();
        let delta_values = deltas.values().as_primitive::<Int64Type>().values();
        let offsets = indices.offsets();
        for row in 0..indices.len() {
            if indices.is_null(row) {
                continue;
            }
            let from = usize::try_from(offsets[row]).unwrap_or(0);
            let to = usize::try_from(offsets[row + 1]).unwrap_or(0);
            let base = target(row) * n;
            for k in from..to {
                let i = index_values[k] as usize;
                if i >= n {
                    return internal_err!("{NAME}: state instant {i} of {n}");
                }
                diffs[base + i] += delta_values[k];
            }
        }
        Ok(())
    }
}

impl AggregateUDFImpl for BacklogSeries {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        const NAMES: [&str; 6] = ["created_at", "resolved_at", "start", "stop", "step", "sla"];
        if !(5..=6).contains(&args.len()) {
            return plan_err!(
                "{NAME} takes 5 or 6 arguments, got {}; accepted signatures: {SIGNATURES}",
                args.len()
            );
        }
        args.iter()
            .zip(NAMES)
            .map(|(t, name)| match name {
                "step" | "sla" => coerce_interval(NAME, name, SIGNATURES, t),
                _ => coerce_instant(NAME, name, SIGNATURES, t),
            })
            .collect()
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(Series::return_type())
    }

    fn is_nullable(&self) -> bool {
        false
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(Series::state_fields(args.name))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let series = self.series(&args)?;
        let diffs = vec![0; series.len()];
        Ok(Box::new(SeriesAccumulator { series, diffs }))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(SeriesGroupsAccumulator {
            series: self.series(&args)?,
            diffs: Vec::new(),
        }))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}

/// One group (no GROUP BY).
#[derive(Debug)]
struct SeriesAccumulator {
    series: Series,
    diffs: Vec<i64>,
}

impl SeriesAccumulator {
    /// Adds (`sign` 1) or removes (`sign` -1) the rows' openings and closings: the state is a difference
    /// array, so removing rows is exact.
    fn add(&mut self, values: &[ArrayRef], sign: i64) -> Result<()> {
        let (diffs, n) = (&mut self.diffs, self.series.len());
        self.series.spans(values, None, |_, first, last| {
            diffs[first] += sign;
            if last < n {
                diffs[last] -= sign;
            }
        })
    }
}

impl Accumulator for SeriesAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.add(values, 1)
    }

    /// For sliding window frames: the rows leaving the frame.
    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.add(values, -1)
    }

    fn supports_retract_batch(&self) -> bool {
        true
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.series.merge(states, &mut self.diffs, |_| 0)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.series
            .state(&self.diffs)?
            .iter()
            .map(|column| ScalarValue::try_from_array(column, 0))
            .collect()
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        ScalarValue::try_from_array(&self.series.evaluate(&self.diffs)?, 0)
    }

    fn size(&self) -> usize {
        size_of::<Self>() + self.diffs.capacity() * size_of::<i64>() + self.series.len() * 8
    }
}

/// The grouped fast path: one difference array per group, back to back in one vector.
#[derive(Debug)]
struct SeriesGroupsAccumulator {
    series: Series,
    diffs: Vec<i64>,
}

impl SeriesGroupsAccumulator {
    fn take(&mut self, emit_to: EmitTo) -> Vec<i64> {
        let n = self.series.len();
        match emit_to {
            EmitTo::All => std::mem::take(&mut self.diffs),
            EmitTo::First(groups) => {
                let rest = self.diffs.split_off((groups * n).min(self.diffs.len()));
                std::mem::replace(&mut self.diffs, rest)
            }
        }
    }
}

impl GroupsAccumulator for SeriesGroupsAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let n = self.series.len();
        self.diffs.resize(total_num_groups * n, 0);
        let diffs = &mut self.diffs;
        self.series.spans(values, opt_filter, |row, first, last| {
            let base = group_indices[row] * n;
            diffs[base + first] += 1;
            if last < n {
                diffs[base + last] -= 1;
            }
        })
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.diffs.resize(total_num_groups * self.series.len(), 0);
        self.series
            .merge(values, &mut self.diffs, |row| group_indices[row])
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let diffs = self.take(emit_to);
        self.series.evaluate(&diffs)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let diffs = self.take(emit_to);
        self.series.state(&diffs)
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        // One state row per input row: +1 where its run of open instants starts, -1 where it ends.
        let rows = values.first().map_or(0, |v| v.len());
        let n = self.series.len();
        let mut spans = vec![None; rows];
        self.series.spans(values, opt_filter, |row, first, last| {
            spans[row] = Some((first, last))
        })?;
        let (mut indices, mut deltas, mut lengths) =
            (Vec::new(), Vec::new(), Vec::with_capacity(rows));
        for span in spans {
            let before = indices.len();
            if let Some((first, last)) = span {
                indices.push(first as u32);
                deltas.push(1);
                if last < n {
                    indices.push(last as u32);
                    deltas.push(-1);
                }
            }
            lengths.push(indices.len() - before);
        }
        Series::sparse_state(indices, deltas, lengths)
    }

    fn size(&self) -> usize {
        size_of::<Self>() + self.diffs.capacity() * size_of::<i64>() + self.series.len() * 8
    }
}
