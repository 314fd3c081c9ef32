//! What `status_seconds`, `sla_clock` and `status_durations` share: status events in, the counted time of each
//! ticket out.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Float64Builder, MapArray, StringBuilder, StructArray,
    TimestampNanosecondArray,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};

use crate::business_seconds::coerce_calendar;
use crate::calendar::{Calendar, Calendars};
use crate::history::{
    Const, ConstKind, Group, History, StatusEvent, StatusLog, after, calendar_arg, coerce_counted,
    coerce_target, coerce_text, counted_arg, measure, seconds, state_fields,
};
use crate::time::coerce_instant;

/// The rules the history functions share, written once for their documentation.
pub(crate) const HISTORY_RULES: &str = "Each row is an event of one ticket (aggregate with GROUP BY ticket_id): from `at` on, the \
     ticket is in `status`. Rows with a NULL `at` or `status` are skipped; a group without rows gives NULL. \
     Events are taken in time order whatever the row order, batches or partitions; two events of a ticket at \
     the same instant are ordered new, open, pending, hold, solved, closed, then other values in byte order, \
     and the later one is in force after the instant. `until` (default: the last event's `at`; NULL means the \
     default) cuts the history: events after it are ignored, one exactly at it counts, the status in force at \
     it counts up to it, and a ticket with no event at or before it gives NULL. `until` may be a column (e.g. \
     from a join) but must be the same on every row of a group. With `calendar` (a constant calendar name or \
     inline calendar, as in business_seconds) time is counted inside its business hours only. Zone-less \
     timestamps are UTC.";

/// What `status_seconds` and `sla_clock` keep and compute: status events and the counted time.
#[derive(Debug, Clone)]
pub(crate) struct ClockHistory {
    function: &'static str,
    log: StatusLog,
    counted: Vec<String>,
    calendar: Option<Arc<Calendar>>,
    consts: Vec<Const>,
    /// The places of `until` and `target` in a group's constants.
    until: Option<usize>,
    target: Option<usize>,
    kind: ClockKind,
    zone: Option<Arc<str>>,
}

/// Which function a [`ClockHistory`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClockKind {
    /// `status_seconds(at, status, counted [, until [, calendar]])`: the counted seconds.
    Seconds,
    /// `sla_clock(at, status, counted, target [, until [, calendar]])`: the SLA struct.
    Sla,
    /// `status_durations(at, status [, until [, calendar]])`: the seconds of every status, as a map.
    Durations,
}

impl ClockKind {
    /// The position of the first optional argument (`until`).
    fn first_optional(self) -> usize {
        match self {
            ClockKind::Seconds => 3,
            ClockKind::Sla => 4,
            ClockKind::Durations => 2,
        }
    }
}

impl ClockHistory {
    /// Arguments: at, status, counted (not for durations), [target (sla)], [until], [calendar].
    pub(crate) fn new(
        function: &'static str,
        calendars: &Calendars,
        args: &AccumulatorArgs,
        kind: ClockKind,
    ) -> Result<Self> {
        if args.is_distinct {
            return plan_err!("{function}: DISTINCT is not supported; every event counts");
        }
        let counted = match kind {
            ClockKind::Durations => Vec::new(),
            _ => counted_arg(function, args, 2)?,
        };
        let first_optional = kind.first_optional();
        let mut consts = Vec::new();
        let mut target = None;
        if kind == ClockKind::Sla {
            target = Some(consts.len());
            consts.push(Const {
                arg: 3,
                name: "target",
                kind: ConstKind::Target,
            });
        }
        let mut until = None;
        if args.exprs.len() > first_optional {
            until = Some(consts.len());
            consts.push(Const {
                arg: first_optional,
                name: "until",
                kind: ConstKind::Instant,
            });
        }
        let calendar = calendar_arg(function, calendars, args, first_optional + 1)?;
        let zone = crate::history::zone_of(Some(args.exprs[0].data_type(args.schema)?).as_ref());
        Ok(Self {
            function,
            log: StatusLog::default(),
            counted,
            calendar,
            consts,
            until,
            target,
            kind,
            zone,
        })
    }

    /// Each group's clock (None: no event at or before `until`), events sorted.
    pub(crate) fn clocks(
        &self,
        groups: &mut [Group<'_, StatusEvent>],
    ) -> Result<Vec<Option<Clock>>> {
        self.log.sort(groups);
        let statuses = &self.log.statuses;
        let counted: Vec<bool> = (0..statuses.len() as u32)
            .map(|c| self.counted.iter().any(|n| n == statuses.name(c)))
            .collect();
        groups
            .iter()
            .map(|g| {
                if !g.seen {
                    return Ok(None);
                }
                clock(
                    self.function,
                    g.events,
                    &counted,
                    self.until.and_then(|i| g.consts[i]),
                    self.target.and_then(|i| g.consts[i]),
                    self.calendar.as_deref(),
                )
            })
            .collect()
    }

    /// Whether each group has a target (sla_clock: a NULL target gives no breach).
    pub(crate) fn targets(&self, groups: &[Group<'_, StatusEvent>]) -> Vec<bool> {
        groups
            .iter()
            .map(|g| self.target.and_then(|i| g.consts[i]).is_some())
            .collect()
    }

    pub(crate) fn zone(&self) -> Option<Arc<str>> {
        self.zone.clone()
    }
}

impl History for ClockHistory {
    type Event = StatusEvent;

    fn name(&self) -> &'static str {
        self.function
    }

    fn consts(&self) -> &[Const] {
        &self.consts
    }

    fn required(&self) -> &[usize] {
        &[0, 1]
    }

    fn read<F: FnMut(usize, StatusEvent)>(
        &mut self,
        args: &[ArrayRef],
        rows: Option<&NullBuffer>,
        f: F,
    ) -> Result<()> {
        self.log.read(self.function, &args[0], &args[1], rows, f)
    }

    fn event_fields(&self) -> Vec<(&'static str, DataType)> {
        StatusLog::event_fields()
    }

    fn events_to_arrays(&self, events: &[&[StatusEvent]]) -> Result<Vec<ArrayRef>> {
        Ok(self.log.encode(events))
    }

    fn events_from_arrays(&mut self, values: &[ArrayRef]) -> Result<Vec<StatusEvent>> {
        self.log.decode(self.function, values)
    }

    fn finish(&self, groups: &mut [Group<'_, StatusEvent>]) -> Result<ArrayRef> {
        match self.kind {
            ClockKind::Sla => {
                let clocks = self.clocks(groups)?;
                let targets = self.targets(groups);
                clock_structs(&clocks, &targets, self.zone())
            }
            ClockKind::Seconds => {
                let values: Float64Array = self
                    .clocks(groups)?
                    .iter()
                    .map(|c| c.map(|c| seconds(c.elapsed)))
                    .collect();
                Ok(Arc::new(values))
            }
            ClockKind::Durations => self.durations(groups),
        }
    }
}

impl ClockHistory {
    /// status_durations: per group a map from each status it was in (tie order) to its seconds, NULL where no
    /// event is at or before `until`.
    fn durations(&self, groups: &mut [Group<'_, StatusEvent>]) -> Result<ArrayRef> {
        self.log.sort(groups);
        let statuses = &self.log.statuses;
        let order = statuses.tie_order();
        // Codes in tie order, for the keys' order.
        let mut by_place: Vec<u32> = (0..statuses.len() as u32).collect();
        by_place.sort_by_key(|&c| order[c as usize]);
        let mut keys = StringBuilder::new();
        let mut values = Float64Builder::new();
        let mut offsets = Vec::with_capacity(groups.len() + 1);
        offsets.push(0i32);
        let mut valid = Vec::with_capacity(groups.len());
        let mut spent: Vec<Option<i128>> = vec![None; statuses.len()];
        for g in groups.iter() {
            let until = self.until.and_then(|i| g.consts[i]);
            let kept = match until {
                Some(u) => g.events.partition_point(|e| e.at <= u),
                None => g.events.len(),
            };
            let events = &g.events[..kept];
            let (true, Some(last)) = (g.seen, events.last()) else {
                valid.push(false);
                offsets.push(*offsets.last().expect("offsets start at 0"));
                continue;
            };
            let end = until.unwrap_or(last.at);
            spent.iter_mut().for_each(|s| *s = None);
            for (i, e) in events.iter().enumerate() {
                let next = events.get(i + 1).map_or(end, |n| n.at);
                let len = measure(self.function, self.calendar.as_deref(), e.at, next)?;
                let slot = &mut spent[e.code as usize];
                *slot = Some(slot.unwrap_or(0) + len);
            }
            let mut entries = 0;
            for &code in &by_place {
                if let Some(nanos) = spent[code as usize] {
                    keys.append_value(statuses.name(code));
                    values.append_value(seconds(nanos));
                    entries += 1;
                }
            }
            valid.push(true);
            offsets.push(offsets.last().expect("offsets start at 0") + entries);
        }
        let DataType::Map(field, sorted) = durations_type() else {
            unreachable!("durations_type is a map")
        };
        let DataType::Struct(fields) = field.data_type() else {
            unreachable!("map entries are a struct")
        };
        let entries = StructArray::try_new(
            fields.clone(),
            vec![Arc::new(keys.finish()), Arc::new(values.finish())],
            None,
        )?;
        Ok(Arc::new(MapArray::try_new(
            field,
            OffsetBuffer::new(offsets.into()),
            entries,
            Some(NullBuffer::from(valid)),
            sorted,
        )?))
    }
}

/// status_durations' result type: MAP<VARCHAR, DOUBLE> (status → seconds).
pub(crate) fn durations_type() -> DataType {
    let entries = Fields::from(vec![
        Field::new("keys", DataType::Utf8, false),
        Field::new("values", DataType::Float64, true),
    ]);
    DataType::Map(
        Arc::new(Field::new("entries", DataType::Struct(entries), false)),
        false,
    )
}

/// The argument types of a clock function.
pub(crate) fn coerce_clock_args(
    function: &str,
    signatures: &str,
    args: &[DataType],
    kind: ClockKind,
) -> Result<Vec<DataType>> {
    let least = kind.first_optional();
    let most = least + 2;
    if !(least..=most).contains(&args.len()) {
        return plan_err!(
            "{function} takes {least} to {most} arguments, got {}; accepted signatures: {signatures}",
            args.len()
        );
    }
    let mut types = vec![
        coerce_instant(function, "at", signatures, &args[0])?,
        coerce_text(function, "status", signatures, &args[1])?,
    ];
    if kind != ClockKind::Durations {
        types.push(coerce_counted(function, signatures, &args[2])?);
    }
    let mut rest = args[types.len()..].iter();
    if kind == ClockKind::Sla
        && let Some(t) = rest.next()
    {
        types.push(coerce_target(function, signatures, t)?);
    }
    if let Some(t) = rest.next() {
        types.push(coerce_instant(function, "until", signatures, t)?);
    }
    if let Some(t) = rest.next() {
        types.push(coerce_calendar(function, signatures, t)?);
    }
    Ok(types)
}

/// State fields of a clock function: the event lists and the constants, as many as the call has.
pub(crate) fn clock_state_fields(args: &StateFieldsArgs, kind: ClockKind) -> Vec<FieldRef> {
    let until = args.input_fields.len() > kind.first_optional();
    let consts: &[&str] = match (kind == ClockKind::Sla, until) {
        (true, true) => &["target", "until"],
        (true, false) => &["target"],
        (false, true) => &["until"],
        (false, false) => &[],
    };
    state_fields(args.name, StatusLog::event_fields(), consts)
}

pub(crate) fn struct_fields(zone: Option<Arc<str>>) -> Fields {
    let at = DataType::Timestamp(datafusion::arrow::datatypes::TimeUnit::Nanosecond, zone);
    Fields::from(vec![
        Field::new("elapsed_seconds", DataType::Float64, true),
        Field::new("breach_at", at, true),
        Field::new("breached", DataType::Boolean, true),
    ])
}

/// The struct of each group: NULL where there is no clock; breach_at and breached NULL without a target.
pub(crate) fn clock_structs(
    clocks: &[Option<Clock>],
    targets: &[bool],
    zone: Option<Arc<str>>,
) -> Result<ArrayRef> {
    let elapsed: Float64Array = clocks
        .iter()
        .map(|c| c.map(|c| seconds(c.elapsed)))
        .collect();
    let breach_at: TimestampNanosecondArray = clocks
        .iter()
        .map(|c| c.and_then(|c| c.breach_at))
        .collect::<TimestampNanosecondArray>()
        .with_timezone_opt(zone.clone());
    let breached: BooleanArray = clocks
        .iter()
        .zip(targets)
        .map(|(c, &has_target)| {
            c.filter(|_| has_target)
                .map(|c| c.breach_at.is_some_and(|b| b <= c.end))
        })
        .collect();
    let nulls = NullBuffer::from(clocks.iter().map(Option::is_some).collect::<Vec<_>>());
    Ok(Arc::new(StructArray::try_new(
        struct_fields(zone),
        vec![Arc::new(elapsed), Arc::new(breach_at), Arc::new(breached)],
        Some(nulls),
    )?))
}

/// What a status function computes for one ticket: the counted time up to `end` and, with a target, the
/// earliest instant at which it reaches the target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Clock {
    /// Counted nanoseconds (clock or business) from the first event to `end`.
    pub(crate) elapsed: i128,
    /// `until`, or the last event's instant.
    pub(crate) end: i64,
    /// The earliest instant the counted time reaches the target (possibly a prediction after `end`).
    pub(crate) breach_at: Option<i64>,
}

/// The clock of one ticket from its sorted events: the time spent in a status with `counted[code]` between the
/// first event and `until` (default: the last event; events after it are ignored), and, with `target`, the
/// earliest instant the counted time reaches it, continuing past `end` with the status in force there when it is
/// counted. `None` when no event is at or before `until`.
pub(crate) fn clock(
    function: &str,
    events: &[StatusEvent],
    counted: &[bool],
    until: Option<i64>,
    target: Option<i64>,
    calendar: Option<&Calendar>,
) -> Result<Option<Clock>> {
    let kept = match until {
        Some(u) => events.partition_point(|e| e.at <= u),
        None => events.len(),
    };
    let events = &events[..kept];
    let Some(last) = events.last() else {
        return Ok(None);
    };
    let end = until.unwrap_or(last.at);
    let mut elapsed: i128 = 0;
    let mut breach_at = None;
    for (i, e) in events.iter().enumerate() {
        if !counted.get(e.code as usize).copied().unwrap_or(false) {
            continue;
        }
        let is_last = i + 1 == events.len();
        let next = if is_last { end } else { events[i + 1].at };
        let len = measure(function, calendar, e.at, next)?;
        if let Some(target) = target.map(i128::from)
            && breach_at.is_none()
            && (is_last || elapsed + len >= target)
        {
            // Reached in this interval; the last one runs on past `end` (a prediction).
            breach_at = after(function, calendar, e.at, target - elapsed)?;
        }
        elapsed += len;
    }
    Ok(Some(Clock {
        elapsed,
        end,
        breach_at,
    }))
}
