//! The machinery the history aggregates (`status_seconds`, `sla_clock`, `status_at`, `reply_waits`) share.
//!
//! A history function reads the events of one ticket (its rows in a group), keeps them, and computes its result
//! from all of them at once, in time order: unlike the KPI counters, a time in status is not additive over rows
//! that arrive in any order. So the state of a group is the list of its events (a few per ticket), merged by
//! concatenation and sorted when the group is finished; the result never depends on row order, batch
//! boundaries or partitions. With input sorted by `(ticket_id, at)` DataFusion finishes each group as soon as
//! the next one starts, so memory holds the events of the tickets in flight, not of the whole history.
//!
//! Per-group constants (`until`, `target`, `instant`) may be columns (e.g. a ticket's own deadline from a
//! join): every row of a group must then carry the same value (NULLs aside), or the query fails naming both.

use std::collections::HashMap;
use std::fmt::Debug;
use std::mem::size_of;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int32Array, Int64Array, LargeStringArray, ListArray,
    StringArray, StringViewArray,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::datatypes::{
    DataType, Field, FieldRef, Float64Type, Int32Type, Int64Type, IntervalMonthDayNanoType,
    IntervalUnit, TimeUnit,
};
use datafusion::common::{Result, ScalarValue, exec_err, internal_err, plan_err};
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{Accumulator, EmitTo, GroupsAccumulator};

use crate::calendar::{Calendar, Calendars};
use crate::kpi::{for_each_valid, literal, valid_rows};
use crate::time::{NANOS_PER_DAY, instants};

/// The statuses of a helpdesk's lifecycle, in the order that breaks ties between events of one ticket at the
/// same instant: the later one in this list is the one in force after the instant. Other values come after
/// them, in byte order.
pub(crate) const LIFECYCLE: [&str; 6] = ["new", "open", "pending", "hold", "solved", "closed"];

/// How a per-group constant argument is read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ConstKind {
    /// An instant, as nanoseconds since the epoch.
    Instant,
    /// A positive length of counted time in nanoseconds: an INTERVAL without months, or a number of seconds.
    Target,
}

/// A per-group constant argument: its position, name and kind.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Const {
    pub(crate) arg: usize,
    pub(crate) name: &'static str,
    pub(crate) kind: ConstKind,
}

/// The events of one group and its constants, as handed to [`History::finish`]. `seen` is false until a row of
/// the group counted (a ticket whose rows were all skipped gives NULL; one whose rows were read but kept no
/// event, e.g. only private notes, gives an empty result).
#[derive(Debug)]
pub(crate) struct Group<'a, E> {
    pub(crate) seen: bool,
    pub(crate) events: &'a mut [E],
    pub(crate) consts: [Option<i64>; 2],
}

/// One history function: how rows become events, how events travel between partitions, and how a group's
/// events become its result.
pub(crate) trait History: Clone + Debug + Send + Sync + 'static {
    /// One kept row.
    type Event: Copy + Debug + Send + Sync + 'static;

    /// The SQL name, for messages.
    fn name(&self) -> &'static str;

    /// The per-group constant arguments (at most two).
    fn consts(&self) -> &[Const];

    /// The argument positions that must be non-NULL for a row to count.
    fn required(&self) -> &[usize];

    /// Calls `f(row, event)` for each row of `rows` (rows passing the filter with the required arguments
    /// present) that keeps an event; `seen(row)` for every row of `rows` is done by the caller.
    fn read<F: FnMut(usize, Self::Event)>(
        &mut self,
        args: &[ArrayRef],
        rows: Option<&NullBuffer>,
        f: F,
    ) -> Result<()>;

    /// The state's event columns: (name, element type) of one list each.
    fn event_fields(&self) -> Vec<(&'static str, DataType)>;

    /// The event columns' values (flat, group after group) of `groups`.
    fn events_to_arrays(&self, events: &[&[Self::Event]]) -> Result<Vec<ArrayRef>>;

    /// The events of flat event columns (the values of the state's lists), in order.
    fn events_from_arrays(&mut self, values: &[ArrayRef]) -> Result<Vec<Self::Event>>;

    /// The results of `groups` (events unsorted), one per group, NULL where the group is not `seen`.
    fn finish(&self, groups: &mut [Group<'_, Self::Event>]) -> Result<ArrayRef>;
}

/// Some groups, their events gathered group after group: group `g`'s are `events[offsets[g]..offsets[g + 1]]`.
struct Gathered<E> {
    events: Vec<E>,
    offsets: Vec<usize>,
    seen: Vec<bool>,
    consts: Vec<[Option<i64>; 2]>,
}

/// The grouped accumulator of a history function (also the plain one, with one group).
///
/// Events are kept in one buffer in arrival order, each with its group (no allocation per group); a group's
/// events are gathered when it is emitted. With input sorted by group (the bounded-memory path) the emitted
/// groups' events are a prefix of the buffer and gathering is a copy.
#[derive(Debug)]
pub(crate) struct HistoryAccumulator<H: History> {
    history: H,
    /// Per group: whether a row of it counted, and its constants.
    seen: Vec<bool>,
    consts: Vec<[Option<i64>; 2]>,
    /// Every event held, and the group of each.
    events: Vec<H::Event>,
    owners: Vec<usize>,
}

impl<H: History> HistoryAccumulator<H> {
    pub(crate) fn new(history: H) -> Self {
        Self {
            history,
            seen: Vec::new(),
            consts: Vec::new(),
            events: Vec::new(),
            owners: Vec::new(),
        }
    }

    fn resize(&mut self, groups: usize) {
        self.seen.resize(groups, false);
        self.consts.resize(groups, [None, None]);
    }

    fn set_const(&mut self, group: usize, i: usize, value: i64) -> Result<()> {
        let slot = &mut self.consts[group][i];
        match *slot {
            None => *slot = Some(value),
            Some(v) if v == value => {}
            Some(v) => {
                let c = self.history.consts()[i];
                let show = |x: i64| match c.kind {
                    ConstKind::Instant => {
                        ScalarValue::TimestampNanosecond(Some(x), Some("UTC".into())).to_string()
                    }
                    ConstKind::Target => format!("{} s", x as f64 / 1e9),
                };
                return exec_err!(
                    "{}: {} differs within one group ({} and {}); expected one {} per group (ticket)",
                    self.history.name(),
                    c.name,
                    show(v),
                    show(value),
                    c.name
                );
            }
        }
        Ok(())
    }

    /// Groups `0..n`, their events group after group (each group's in arrival order); with `remove`, they
    /// leave the accumulator and the later groups are renumbered from 0.
    fn gather(&mut self, n: usize, remove: bool) -> Gathered<H::Event> {
        let n = n.min(self.seen.len());
        let sorted = self.owners.is_sorted();
        let mut offsets = vec![0usize; n + 1];
        for &o in &self.owners {
            if o < n {
                offsets[o + 1] += 1;
            }
        }
        for g in 0..n {
            offsets[g + 1] += offsets[g];
        }
        let total = offsets[n];
        let events = if sorted {
            // Groups 0..n are the first `total` events, already group after group.
            self.events[..total].to_vec()
        } else {
            let mut next = offsets.clone();
            let mut order = vec![0usize; total];
            for (i, &o) in self.owners.iter().enumerate() {
                if o < n {
                    order[next[o]] = i;
                    next[o] += 1;
                }
            }
            order.iter().map(|&i| self.events[i]).collect()
        };
        let (seen, consts) = if remove {
            (
                self.seen.drain(..n).collect(),
                self.consts.drain(..n).collect(),
            )
        } else {
            (self.seen[..n].to_vec(), self.consts[..n].to_vec())
        };
        if remove {
            if sorted {
                self.events.drain(..total);
                self.owners.drain(..total);
            } else {
                let mut keep = self.owners.iter().map(|&o| o >= n);
                self.events.retain(|_| keep.next().unwrap_or(false));
                self.owners.retain(|&o| o >= n);
            }
            self.owners.iter_mut().for_each(|o| *o -= n);
        }
        Gathered {
            events,
            offsets,
            seen,
            consts,
        }
    }

    /// The gathered groups for [`History::finish`] or the state.
    fn groups(gathered: &mut Gathered<H::Event>) -> Vec<Group<'_, H::Event>> {
        let mut rest = gathered.events.as_mut_slice();
        let mut groups = Vec::with_capacity(gathered.seen.len());
        for (g, (&seen, &consts)) in gathered.seen.iter().zip(&gathered.consts).enumerate() {
            let len = gathered.offsets[g + 1] - gathered.offsets[g];
            let (events, tail) = std::mem::take(&mut rest).split_at_mut(len);
            rest = tail;
            groups.push(Group {
                seen,
                events,
                consts,
            });
        }
        groups
    }

    /// Emits the groups `emit_to` names.
    fn take(&mut self, emit_to: EmitTo) -> Gathered<H::Event> {
        let n = match emit_to {
            EmitTo::All => self.seen.len(),
            EmitTo::First(n) => n,
        };
        self.gather(n, true)
    }

    fn state_arrays(&self, groups: &[Group<'_, H::Event>]) -> Result<Vec<ArrayRef>> {
        let events: Vec<&[H::Event]> = groups.iter().map(|g| &*g.events).collect();
        let offsets = OffsetBuffer::from_lengths(events.iter().map(|e| e.len()));
        let seen = NullBuffer::from(groups.iter().map(|g| g.seen).collect::<Vec<_>>());
        let mut out = Vec::new();
        for ((name, t), values) in self
            .history
            .event_fields()
            .into_iter()
            .zip(self.history.events_to_arrays(&events)?)
        {
            let field = Arc::new(Field::new(name, t, true));
            out.push(Arc::new(ListArray::try_new(
                field,
                offsets.clone(),
                values,
                Some(seen.clone()),
            )?) as ArrayRef);
        }
        for i in 0..self.history.consts().len() {
            let values: Int64Array = groups.iter().map(|g| g.consts[i]).collect();
            out.push(Arc::new(values));
        }
        Ok(out)
    }
}

/// The state fields of a history function: one list per event column (`events`: name and element type),
/// then one Int64 per constant (`consts`: names), named after the aggregate expression `name`.
pub(crate) fn state_fields(
    name: &str,
    events: Vec<(&'static str, DataType)>,
    consts: &[&str],
) -> Vec<FieldRef> {
    let mut fields: Vec<FieldRef> = events
        .into_iter()
        .map(|(n, t)| {
            Arc::new(Field::new(
                format_state_name(name, n),
                DataType::List(Arc::new(Field::new(n, t, true))),
                true,
            ))
        })
        .collect();
    for c in consts {
        fields.push(Arc::new(Field::new(
            format_state_name(name, c),
            DataType::Int64,
            true,
        )));
    }
    fields
}

impl<H: History> GroupsAccumulator for HistoryAccumulator<H> {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.resize(total_num_groups);
        let required: Vec<&dyn Array> = self
            .history
            .required()
            .iter()
            .map(|&i| values[i].as_ref())
            .collect();
        let rows = valid_rows(&required, opt_filter);
        let len = group_indices.len();
        // The constants first (so that a mismatch is reported before any work).
        let consts = self.history.consts().to_vec();
        for (i, c) in consts.iter().enumerate() {
            let column = ConstColumn::new(self.history.name(), c, &values[c.arg])?;
            let mut first_error = None;
            let mut pairs = Vec::new();
            for_each_valid(len, rows.as_ref(), |row| {
                if first_error.is_some() {
                    return;
                }
                match column.value(row) {
                    Ok(Some(v)) => pairs.push((group_indices[row], v)),
                    Ok(None) => {}
                    Err(e) => first_error = Some(e),
                }
            });
            if let Some(e) = first_error {
                return Err(e);
            }
            for (g, v) in pairs {
                self.set_const(g, i, v)?;
            }
        }
        let seen = &mut self.seen;
        for_each_valid(len, rows.as_ref(), |row| {
            seen[group_indices[row]] = true;
        });
        let (events, owners) = (&mut self.events, &mut self.owners);
        self.history.read(values, rows.as_ref(), |row, event| {
            events.push(event);
            owners.push(group_indices[row]);
        })?;
        Ok(())
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.resize(total_num_groups);
        let lists = self.history.event_fields().len();
        if values.len() != lists + self.history.consts().len() {
            return internal_err!(
                "{}: {} state columns, expected {}",
                self.history.name(),
                values.len(),
                lists + self.history.consts().len()
            );
        }
        let first = values[0].as_list::<i32>();
        let flat: Vec<ArrayRef> = values[..lists]
            .iter()
            .map(|v| Arc::clone(v.as_list::<i32>().values()))
            .collect();
        let events = self.history.events_from_arrays(&flat)?;
        let offsets = first.value_offsets();
        for (row, &g) in group_indices.iter().enumerate() {
            if first.is_null(row) {
                continue;
            }
            let (from, to) = (offsets[row] as usize, offsets[row + 1] as usize);
            self.seen[g] = true;
            self.events.extend_from_slice(&events[from..to]);
            self.owners.extend(std::iter::repeat_n(g, to - from));
        }
        for i in 0..self.history.consts().len() {
            let column = values[lists + i].as_primitive::<Int64Type>();
            for (row, &g) in group_indices.iter().enumerate() {
                if column.is_valid(row) {
                    self.set_const(g, i, column.value(row))?;
                }
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let mut gathered = self.take(emit_to);
        let mut groups = Self::groups(&mut gathered);
        self.history.finish(&mut groups)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let mut gathered = self.take(emit_to);
        let groups = Self::groups(&mut gathered);
        self.state_arrays(&groups)
    }

    /// Each row as a group of its own (DataFusion skips the partial aggregation when it does not reduce rows,
    /// as with one group per ticket over a few events each).
    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let rows = values.first().map_or(0, |v| v.len());
        let mut each = Self::new(self.history.clone());
        let groups: Vec<usize> = (0..rows).collect();
        each.update_batch(values, &groups, opt_filter, rows)?;
        each.state(EmitTo::All)
    }

    fn size(&self) -> usize {
        size_of::<Self>()
            + self.seen.capacity()
            + self.consts.capacity() * size_of::<[Option<i64>; 2]>()
            + self.events.capacity() * size_of::<H::Event>()
            + self.owners.capacity() * size_of::<usize>()
    }
}

/// The plain accumulator: one group (no GROUP BY, or a window over a whole partition).
#[derive(Debug)]
pub(crate) struct PlainHistory<H: History>(HistoryAccumulator<H>);

impl<H: History> PlainHistory<H> {
    pub(crate) fn new(history: H) -> Self {
        Self(HistoryAccumulator::new(history))
    }
}

impl<H: History> Accumulator for PlainHistory<H> {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let rows = values.first().map_or(0, |v| v.len());
        self.0.update_batch(values, &vec![0; rows], None, 1)
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let rows = states.first().map_or(0, |v| v.len());
        self.0.merge_batch(states, &vec![0; rows], 1)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.0.resize(1);
        let mut gathered = self.0.gather(1, false);
        let groups = HistoryAccumulator::<H>::groups(&mut gathered);
        let arrays = self.0.state_arrays(&groups)?;
        arrays
            .iter()
            .map(|a| ScalarValue::try_from_array(a, 0))
            .collect()
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        self.0.resize(1);
        let mut gathered = self.0.gather(1, false);
        let mut groups = HistoryAccumulator::<H>::groups(&mut gathered);
        let result = self.0.history.finish(&mut groups)?;
        ScalarValue::try_from_array(&result, 0)
    }

    fn size(&self) -> usize {
        self.0.size()
    }
}

/// A per-group constant column, read as nanoseconds.
enum ConstColumn<'a> {
    Instants {
        values: datafusion::arrow::buffer::ScalarBuffer<i64>,
        unit: i64,
        array: &'a ArrayRef,
        function: &'static str,
        name: &'static str,
    },
    Intervals {
        array: &'a ArrayRef,
        function: &'static str,
    },
    Seconds {
        array: &'a ArrayRef,
        function: &'static str,
    },
}

impl<'a> ConstColumn<'a> {
    fn new(function: &'static str, c: &Const, array: &'a ArrayRef) -> Result<Self> {
        Ok(match (c.kind, array.data_type()) {
            (ConstKind::Instant, _) => {
                let (values, unit) = instants(array)?;
                Self::Instants {
                    values,
                    unit,
                    array,
                    function,
                    name: c.name,
                }
            }
            (ConstKind::Target, DataType::Interval(IntervalUnit::MonthDayNano)) => {
                Self::Intervals { array, function }
            }
            (ConstKind::Target, DataType::Float64) => Self::Seconds { array, function },
            (_, other) => {
                return internal_err!("{function}: {} of type {other} after coercion", c.name);
            }
        })
    }

    fn value(&self, row: usize) -> Result<Option<i64>> {
        match self {
            Self::Instants {
                values,
                unit,
                array,
                function,
                name,
            } => {
                if array.is_null(row) {
                    return Ok(None);
                }
                match values[row].checked_mul(*unit) {
                    Some(v) => Ok(Some(v)),
                    None => {
                        let shown =
                            datafusion::arrow::util::display::array_value_to_string(array, row)?;
                        exec_err!(
                            "{function}: {name} {shown} is outside the nanosecond range; expected 1677-09-22 \
                             to 2262-04-11"
                        )
                    }
                }
            }
            Self::Intervals { array, function } => {
                if array.is_null(row) {
                    return Ok(None);
                }
                let v = array.as_primitive::<IntervalMonthDayNanoType>().value(row);
                let nanos =
                    i128::from(v.days) * i128::from(NANOS_PER_DAY) + i128::from(v.nanoseconds);
                if v.months != 0 {
                    return exec_err!(
                        "{function}: target of {} months {} days {} ns has months, which are not a fixed \
                         amount of counted time; expected an INTERVAL in days, hours, minutes or seconds > 0",
                        v.months,
                        v.days,
                        v.nanoseconds
                    );
                }
                positive_target(function, nanos, || {
                    format!("{} days {} ns", v.days, v.nanoseconds)
                })
            }
            Self::Seconds { array, function } => {
                if array.is_null(row) {
                    return Ok(None);
                }
                let seconds = array.as_primitive::<Float64Type>().value(row);
                let nanos = (seconds * 1e9).round();
                if !nanos.is_finite() || nanos.abs() > 9.0e18 {
                    return exec_err!(
                        "{function}: target of {seconds} seconds is not a finite length; expected seconds > 0"
                    );
                }
                positive_target(function, nanos as i128, || format!("{seconds} seconds"))
            }
        }
    }
}

fn positive_target(function: &str, nanos: i128, shown: impl Fn() -> String) -> Result<Option<i64>> {
    if nanos <= 0 {
        return exec_err!(
            "{function}: target of {} is not positive; expected an INTERVAL (or seconds) > 0",
            shown()
        );
    }
    match i64::try_from(nanos) {
        Ok(n) => Ok(Some(n)),
        Err(_) => exec_err!(
            "{function}: target of {} is longer than 292 years; expected a shorter INTERVAL",
            shown()
        ),
    }
}

/// The type a per-group target is read as: an INTERVAL, or a number of seconds as Float64.
pub(crate) fn coerce_target(function: &str, signatures: &str, t: &DataType) -> Result<DataType> {
    match t {
        DataType::Interval(_) | DataType::Duration(_) | DataType::Null => {
            Ok(DataType::Interval(IntervalUnit::MonthDayNano))
        }
        t if t.is_numeric() => Ok(DataType::Float64),
        other => plan_err!(
            "{function}: target must be an INTERVAL (or a number of seconds), got {other}; accepted \
             signatures: {signatures}"
        ),
    }
}

/// The type a text argument (status, role) is read as: strings as they are, dictionaries decoded.
pub(crate) fn coerce_text(
    function: &str,
    name: &str,
    signatures: &str,
    t: &DataType,
) -> Result<DataType> {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Ok(t.clone()),
        DataType::Null => Ok(DataType::Utf8),
        DataType::Dictionary(_, v) if v.is_string() => Ok(DataType::Utf8),
        other => plan_err!(
            "{function}: {name} must be a string, got {other}; accepted signatures: {signatures}"
        ),
    }
}

/// A string column of any of the three layouts.
pub(crate) enum Text<'a> {
    Utf8(&'a StringArray),
    Large(&'a LargeStringArray),
    View(&'a StringViewArray),
}

impl<'a> Text<'a> {
    pub(crate) fn new(function: &str, array: &'a ArrayRef) -> Result<Self> {
        Ok(match array.data_type() {
            DataType::Utf8 => Self::Utf8(array.as_string::<i32>()),
            DataType::LargeUtf8 => Self::Large(array.as_string::<i64>()),
            DataType::Utf8View => Self::View(array.as_string_view()),
            other => return internal_err!("{function}: text of type {other} after coercion"),
        })
    }

    #[inline]
    pub(crate) fn value(&self, row: usize) -> &'a str {
        match self {
            Self::Utf8(a) => a.value(row),
            Self::Large(a) => a.value(row),
            Self::View(a) => a.value(row),
        }
    }
}

/// The calendar argument at `i`, if given: a constant calendar name or inline calendar.
pub(crate) fn calendar_arg(
    function: &str,
    calendars: &Calendars,
    args: &AccumulatorArgs,
    i: usize,
) -> Result<Option<Arc<Calendar>>> {
    if args.exprs.len() <= i {
        return Ok(None);
    }
    match literal(args, i) {
        Some(v) => match v.try_as_str() {
            Some(Some(text)) => calendars.get(function, text).map(Some),
            Some(None) => exec_err!(
                "{function}: calendar is NULL; expected a calendar name or an inline calendar (leave the \
                 argument out for clock time)"
            ),
            None => internal_err!("{function}: calendar {v} after coercion"),
        },
        None => plan_err!(
            "{function}: calendar must be a constant (one calendar for the whole query), not a column"
        ),
    }
}

/// Nanoseconds of an instant column's row, or an error naming it beyond the nanosecond range.
#[inline]
pub(crate) fn nanos_at(
    function: &str,
    values: &[i64],
    unit: i64,
    array: &ArrayRef,
    row: usize,
) -> Result<i64> {
    match values[row].checked_mul(unit) {
        Some(v) => Ok(v),
        None => crate::business_seconds::beyond_nanoseconds(function, None, array, row),
    }
}

/// Time between two instants (ns): clock time, or business time on `calendar` (an error names an instant
/// outside the calendars' range).
#[inline]
pub(crate) fn measure(
    function: &str,
    calendar: Option<&Calendar>,
    from: i64,
    to: i64,
) -> Result<i128> {
    match calendar {
        None => Ok(i128::from(to) - i128::from(from)),
        Some(c) => Ok(business(function, c, to)? - business(function, c, from)?),
    }
}

/// Business nanoseconds before `t` on `calendar`.
#[inline]
pub(crate) fn business(function: &str, calendar: &Calendar, t: i64) -> Result<i128> {
    match calendar.business_nanos(t) {
        Some(b) => Ok(b),
        None => crate::business_seconds::outside_calendars(
            function,
            ScalarValue::TimestampNanosecond(Some(t), Some("UTC".into())),
        ),
    }
}

/// The earliest instant at or after `from` by which `remaining` (> 0) nanoseconds of time have passed: clock
/// time, or business time on `calendar` (then at the close of a window when it ends exactly there). `None`
/// when it is beyond the nanosecond range or the calendar's.
pub(crate) fn after(
    function: &str,
    calendar: Option<&Calendar>,
    from: i64,
    remaining: i128,
) -> Result<Option<i64>> {
    Ok(match calendar {
        None => i64::try_from(i128::from(from) + remaining).ok(),
        Some(c) => c.instant_at_business(business(function, c, from)? + remaining),
    })
}

/// Seconds of a nanosecond count, rounded once.
pub(crate) fn seconds(nanos: i128) -> f64 {
    nanos as f64 / 1e9
}

/// The time zone of an instant argument's type (after coercion), for instants the functions return.
pub(crate) fn zone_of(t: Option<&DataType>) -> Option<Arc<str>> {
    match t {
        Some(DataType::Timestamp(_, tz)) => tz.clone(),
        _ => None,
    }
}

/// The timestamp type the functions return instants as: nanoseconds, in the zone of the input.
pub(crate) fn instant_type(t: Option<&DataType>) -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, zone_of(t))
}

/// Status values of one accumulator, interned: events hold a small code, not a string. The [`LIFECYCLE`]
/// statuses have the same codes in every accumulator (their place in it), so that the state carries them as
/// numbers; other values get codes from 6 on, in order of appearance.
#[derive(Debug, Clone)]
pub(crate) struct Statuses {
    names: Vec<Arc<str>>,
    index: HashMap<Arc<str>, u32>,
}

impl Default for Statuses {
    fn default() -> Self {
        let mut statuses = Self {
            names: Vec::new(),
            index: HashMap::new(),
        };
        for name in LIFECYCLE {
            statuses.code(name);
        }
        statuses
    }
}

impl Statuses {
    #[inline]
    pub(crate) fn code(&mut self, name: &str) -> u32 {
        // A handful of statuses: a scan beats hashing.
        if self.names.len() <= 8
            && let Some(i) = self.names.iter().position(|n| n.as_ref() == name)
        {
            return i as u32;
        }
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        let name: Arc<str> = Arc::from(name);
        self.names.push(Arc::clone(&name));
        self.index.insert(name, i);
        i
    }

    pub(crate) fn name(&self, code: u32) -> &str {
        &self.names[code as usize]
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    /// Each code's place in the tie order ([`LIFECYCLE`], then byte order), indexed by code.
    pub(crate) fn tie_order(&self) -> Vec<u32> {
        let key = |n: &str| {
            (
                LIFECYCLE
                    .iter()
                    .position(|l| *l == n)
                    .unwrap_or(LIFECYCLE.len()),
                n.to_string(),
            )
        };
        let mut codes: Vec<u32> = (0..self.names.len() as u32).collect();
        codes.sort_by_key(|&c| key(self.name(c)));
        let mut order = vec![0; codes.len()];
        for (place, &c) in codes.iter().enumerate() {
            order[c as usize] = place as u32;
        }
        order
    }
}

/// A status event: from `at` (ns) on, the ticket is in status `code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StatusEvent {
    pub(crate) at: i64,
    pub(crate) code: u32,
}

/// The event log the status functions share: reading `(at, status)` rows, the state columns, and sorting.
#[derive(Debug, Clone, Default)]
pub(crate) struct StatusLog {
    pub(crate) statuses: Statuses,
}

impl StatusLog {
    pub(crate) fn read<F: FnMut(usize, StatusEvent)>(
        &mut self,
        function: &str,
        at: &ArrayRef,
        status: &ArrayRef,
        rows: Option<&NullBuffer>,
        mut f: F,
    ) -> Result<()> {
        let (values, unit) = instants(at)?;
        let text = Text::new(function, status)?;
        let mut error = None;
        for_each_valid(at.len(), rows, |row| {
            if error.is_some() {
                return;
            }
            match nanos_at(function, &values, unit, at, row) {
                Ok(t) => f(
                    row,
                    StatusEvent {
                        at: t,
                        code: self.statuses.code(text.value(row)),
                    },
                ),
                Err(e) => error = Some(e),
            }
        });
        error.map_or(Ok(()), Err)
    }

    /// The state's event columns: the instant, the code of a [`LIFECYCLE`] status (-1 for another value) and
    /// the other value's text (NULL for a lifecycle status), so that the usual statuses travel as numbers.
    pub(crate) fn event_fields() -> Vec<(&'static str, DataType)> {
        vec![
            ("at", DataType::Int64),
            ("code", DataType::Int32),
            ("other", DataType::Utf8),
        ]
    }

    pub(crate) fn encode(&self, events: &[&[StatusEvent]]) -> Vec<ArrayRef> {
        let flat = || events.iter().flat_map(|e| e.iter());
        let lifecycle = |e: &StatusEvent| (e.code as usize) < LIFECYCLE.len();
        let at: Int64Array = flat().map(|e| e.at).collect();
        let code: Int32Array = flat()
            .map(|e| if lifecycle(e) { e.code as i32 } else { -1 })
            .collect();
        let other: StringArray = flat()
            .map(|e| (!lifecycle(e)).then(|| self.statuses.name(e.code)))
            .collect();
        vec![Arc::new(at), Arc::new(code), Arc::new(other)]
    }

    pub(crate) fn decode(
        &mut self,
        function: &str,
        values: &[ArrayRef],
    ) -> Result<Vec<StatusEvent>> {
        let at = values[0].as_primitive::<Int64Type>();
        let code = values[1].as_primitive::<Int32Type>();
        let other = Text::new(function, &values[2])?;
        (0..at.len())
            .map(|i| {
                let c = code.value(i);
                let code = match c {
                    -1 => self.statuses.code(other.value(i)),
                    c if (0..LIFECYCLE.len() as i32).contains(&c) => c as u32,
                    c => return internal_err!("{function}: status code {c} in a state"),
                };
                Ok(StatusEvent {
                    at: at.value(i),
                    code,
                })
            })
            .collect()
    }

    /// Sorts each group's events by time, ties in the [`LIFECYCLE`] order.
    pub(crate) fn sort(&self, groups: &mut [Group<'_, StatusEvent>]) {
        let order = self.statuses.tie_order();
        for g in groups {
            let key = |e: &StatusEvent| (e.at, order[e.code as usize]);
            if !g.events.is_sorted_by_key(key) {
                g.events.sort_unstable_by_key(key);
            }
        }
    }
}

/// The `counted` argument: a constant status or list of statuses.
pub(crate) fn counted_arg(function: &str, args: &AccumulatorArgs, i: usize) -> Result<Vec<String>> {
    let Some(value) = literal(args, i) else {
        return plan_err!(
            "{function}: counted must be a constant status or list of statuses (e.g. ['new', 'open']), not a \
             column"
        );
    };
    let values = match &value {
        ScalarValue::List(list) => Arc::clone(list.values()),
        ScalarValue::LargeList(list) => Arc::clone(list.values()),
        ScalarValue::FixedSizeList(list) => Arc::clone(list.values()),
        v if v.is_null() => {
            return plan_err!(
                "{function}: counted is NULL; expected a status or a list of statuses"
            );
        }
        v => v.to_array()?,
    };
    let mut names = Vec::new();
    for i in 0..values.len() {
        let v = ScalarValue::try_from_array(&values, i)?;
        match v.try_as_str() {
            Some(Some(s)) => names.push(s.to_string()),
            Some(None) => {}
            None => return plan_err!("{function}: counted holds {v}; expected statuses (VARCHAR)"),
        }
    }
    Ok(names)
}

/// The type `counted` is read as.
pub(crate) fn coerce_counted(function: &str, signatures: &str, t: &DataType) -> Result<DataType> {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => Ok(t.clone()),
        DataType::Dictionary(_, v) if v.is_string() => Ok(DataType::Utf8),
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _)
            if f.data_type().is_string() || f.data_type().is_null() =>
        {
            Ok(t.clone())
        }
        other => plan_err!(
            "{function}: counted must be a status (VARCHAR) or a list of statuses, got {other}; accepted \
             signatures: {signatures}"
        ),
    }
}

/// The `AggregateUDFImpl` methods the history functions share; the struct provides
/// `fn history(&self, args: &AccumulatorArgs) -> Result<H>` and a static `DOCUMENTATION`.
macro_rules! history_udaf_methods {
    ($history:ty) => {
        fn documentation(&self) -> Option<&datafusion::logical_expr::Documentation> {
            Some(&DOCUMENTATION)
        }

        fn state_fields(
            &self,
            args: datafusion::logical_expr::function::StateFieldsArgs,
        ) -> datafusion::common::Result<Vec<datafusion::arrow::datatypes::FieldRef>> {
            self.history_state_fields(args)
        }

        fn accumulator(
            &self,
            args: datafusion::logical_expr::function::AccumulatorArgs,
        ) -> datafusion::common::Result<Box<dyn datafusion::logical_expr::Accumulator>> {
            Ok(Box::new($crate::history::PlainHistory::new(
                self.history(&args)?,
            )))
        }

        fn groups_accumulator_supported(
            &self,
            _args: datafusion::logical_expr::function::AccumulatorArgs,
        ) -> bool {
            true
        }

        fn create_groups_accumulator(
            &self,
            args: datafusion::logical_expr::function::AccumulatorArgs,
        ) -> datafusion::common::Result<Box<dyn datafusion::logical_expr::GroupsAccumulator>> {
            Ok(Box::new($crate::history::HistoryAccumulator::new(
                self.history(&args)?,
            )))
        }

        fn order_sensitivity(&self) -> datafusion::logical_expr::utils::AggregateOrderSensitivity {
            datafusion::logical_expr::utils::AggregateOrderSensitivity::Insensitive
        }
    };
}
pub(crate) use history_udaf_methods;
