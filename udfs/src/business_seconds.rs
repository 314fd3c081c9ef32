//! `business_seconds(start, end [, calendar])` and `sla_breached(start, end, target [, calendar])`.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, BooleanBufferBuilder, Float64Array,
};
use datafusion::arrow::buffer::{BooleanBuffer, NullBuffer};
use datafusion::arrow::datatypes::{DataType, IntervalMonthDayNanoType, IntervalUnit};
use datafusion::common::{Result, ScalarValue, exec_err, internal_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::DOC_SECTION;
use crate::calendar::{Calendar, Calendars, DEFAULT_CALENDAR};
use crate::time::{coerce_instant, instants};

const NANOS_PER_SECOND: f64 = 1e9;
const NANOS_PER_SECOND_I64: i64 = 1_000_000_000;

/// The calendar argument: one for the whole batch, or one per row.
enum CalendarArg {
    One(Option<Arc<Calendar>>),
    PerRow(Vec<Option<Arc<Calendar>>>),
}

impl CalendarArg {
    /// `clock_time_word`: a value meaning "calendar time, no business hours" (sla_breached's 'calendar').
    fn read(
        function: &str,
        calendars: &Calendars,
        arg: Option<&ColumnarValue>,
        clock_time_word: Option<&str>,
    ) -> Result<Self> {
        let lookup = |text: &str| -> Result<Option<Arc<Calendar>>> {
            if clock_time_word.is_some_and(|w| text.eq_ignore_ascii_case(w)) {
                return Ok(None);
            }
            calendars.get(function, text).map(Some)
        };
        match arg {
            None => Ok(Self::One(match clock_time_word {
                Some(_) => None,
                None => Some(calendars.get(function, DEFAULT_CALENDAR)?),
            })),
            Some(ColumnarValue::Scalar(s)) => match s.try_as_str() {
                Some(Some(text)) => Ok(Self::One(lookup(text)?)),
                Some(None) if clock_time_word.is_some() => Ok(Self::One(None)),
                Some(None) => Ok(Self::PerRow(Vec::new())),
                None => internal_err!("{function}: calendar {s} after coercion"),
            },
            Some(ColumnarValue::Array(array)) => {
                let strings = datafusion::arrow::compute::cast(array, &DataType::Utf8)?;
                let strings = strings.as_string::<i32>();
                let mut seen: std::collections::HashMap<&str, Option<Arc<Calendar>>> =
                    Default::default();
                let mut per_row = Vec::with_capacity(strings.len());
                for text in strings.iter() {
                    per_row.push(match text {
                        None => None,
                        Some(text) => match seen.get(text) {
                            Some(c) => c.clone(),
                            None => {
                                let c = lookup(text)?;
                                seen.insert(text, c.clone());
                                c
                            }
                        },
                    });
                }
                Ok(Self::PerRow(per_row))
            }
        }
    }
}

/// Business seconds between two instants (ns) on `calendar`; an error names an instant out of range.
///
/// The difference of the two business times is exact (whole seconds and nanoseconds apart, joined in an i64
/// when it fits, which is every span shorter than 292 years of business time) and rounded to an f64 once.
#[inline(always)]
fn between(function: &str, calendar: &Calendar, start: i64, end: i64) -> Result<f64> {
    let (Some((seconds_a, nanos_a)), Some((seconds_b, nanos_b))) =
        (calendar.business_parts(start), calendar.business_parts(end))
    else {
        return out_of_range(function, calendar, start, end);
    };
    let (seconds, nanos) = (seconds_b - seconds_a, nanos_b - nanos_a);
    let exact = match seconds
        .checked_mul(NANOS_PER_SECOND_I64)
        .and_then(|n| n.checked_add(nanos))
    {
        Some(n) => n as f64,
        None => (i128::from(seconds) * i128::from(NANOS_PER_SECOND_I64) + i128::from(nanos)) as f64,
    };
    Ok(exact / NANOS_PER_SECOND)
}

/// The error for an instant that nanoseconds cannot hold: outside the calendars' range with a calendar,
/// outside the nanosecond range for clock time.
#[cold]
#[inline(never)]
pub(crate) fn beyond_nanoseconds<T>(
    function: &str,
    calendar: Option<&Calendar>,
    array: &ArrayRef,
    row: usize,
) -> Result<T> {
    let shown = datafusion::arrow::util::display::array_value_to_string(array, row)?;
    match calendar {
        Some(_) => outside_calendars(function, shown),
        None => exec_err!(
            "{function}: instant {shown} is outside the nanosecond range; expected 1677-09-22 to 2262-04-11"
        ),
    }
}

pub(crate) fn outside_calendars<T>(function: &str, shown: impl std::fmt::Display) -> Result<T> {
    exec_err!(
        "{function}: instant {shown} is outside the calendars' range; expected 1900-01-02 to 2199-12-30"
    )
}

/// The error for an instant outside the calendars' range (`start` if it is, else `end`).
#[cold]
#[inline(never)]
fn out_of_range(function: &str, calendar: &Calendar, start: i64, end: i64) -> Result<f64> {
    let bad = if calendar.business_parts(start).is_none() {
        start
    } else {
        end
    };
    outside_calendars(
        function,
        ScalarValue::TimestampNanosecond(Some(bad), Some("UTC".into())),
    )
}

pub(crate) fn coerce_calendar(function: &str, signatures: &str, t: &DataType) -> Result<DataType> {
    match t {
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Null => {
            Ok(DataType::Utf8)
        }
        DataType::Dictionary(_, v) if v.is_string() => Ok(DataType::Utf8),
        other => plan_err!(
            "{function}: calendar must be a string (a calendar name or an inline calendar), got {other}; \
             accepted signatures: {signatures}"
        ),
    }
}

const BUSINESS_SIGNATURES: &str = "business_seconds(start TIMESTAMP, end TIMESTAMP), business_seconds(start, end, calendar VARCHAR)";

static BUSINESS_DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "Seconds between two instants counting only business time (Float64): the time inside the calendar's \
         opening hours, in its time zone, outside its holidays. The default calendar is Mon–Fri 09:00–17:00 UTC \
         without holidays; other calendars come from the catalog (`[calendars.NAME]`), from \
         register_calendar, or inline: 'time_zone=Europe/Paris; hours=Mon-Fri 09:00-17:00, Sat 10:00-12:00; \
         holidays=2024-12-25 2024-12-26'. Opening hours are local wall-clock times, so a day with a \
         daylight-saving change keeps 09:00–17:00 local (a time skipped by the change opens when the clocks \
         jump). NULL when either instant or the calendar is NULL. When end is before start the result is negative \
         (-business_seconds(end, start)), as real exports have such rows and hiding them would skew averages; \
         filter them out if they are errors. Instants from 1900-01-02 to 2199-12-30 (UTC) are supported; others \
         are an error. Zone-less timestamps are UTC.",
        "business_seconds(start, end [, calendar])",
    )
    .with_argument("start", "The first instant (TIMESTAMP or DATE).")
    .with_argument("end", "The second instant.")
    .with_argument(
        "calendar",
        "Optional: a calendar name ('default', or one from the catalog) or an inline calendar; a column works \
         too (one calendar per row, e.g. from an SLA policy table).",
    )
    .with_sql_example(
        "```sql\n\
         > SELECT avg(business_seconds(created_at, first_response_at)) / 3600 AS business_hours FROM tickets;\n\
         > SELECT business_seconds(TIMESTAMP '2024-03-29T16:00:00Z', TIMESTAMP '2024-04-02T10:00:00Z',\n\
         \x20   'time_zone=Europe/Paris; hours=Mon-Fri 09:00-17:00; holidays=2024-04-01') AS s;\n\
         +---------+\n\
         | s       |\n\
         +---------+\n\
         | 10800.0 |\n\
         +---------+\n\
         > SELECT business_seconds(TIMESTAMP '2024-01-05T16:00:00Z', TIMESTAMP '2024-01-08T10:00:00Z') / 3600 AS h; -- 2.0\n\
         ```",
    )
    .build()
});

/// A session's calendar registry, shared by its functions; two handles are equal when they are the same
/// registry (what DataFusion's function equality needs).
#[derive(Debug, Clone)]
pub(crate) struct SharedCalendars(pub(crate) Arc<Calendars>);

impl PartialEq for SharedCalendars {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for SharedCalendars {}

impl std::hash::Hash for SharedCalendars {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        Arc::as_ptr(&self.0).hash(state);
    }
}

/// `business_seconds(start, end [, calendar])`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct BusinessSeconds {
    signature: Signature,
    calendars: SharedCalendars,
}

impl BusinessSeconds {
    /// The function, reading calendars from `calendars`.
    pub fn new(calendars: Arc<Calendars>) -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
            calendars: SharedCalendars(calendars),
        }
    }

    /// The calendars this function reads (register more with [`Calendars::register`]).
    pub fn calendars(&self) -> &Arc<Calendars> {
        &self.calendars.0
    }
}

/// Evaluates `f(row, start_ns, end_ns, calendar)` over the rows where both instants are present and the
/// calendar is known (no calendar is clock time if `clock_time`, else NULL): the values, `T::default()` in the
/// NULL rows, and the NULL mask. An instant beyond i64 nanoseconds (a seconds or microseconds column before
/// 1677 or after 2262) is an error naming it.
fn per_row<T: Default>(
    function: &str,
    clock_time: bool,
    args: &[ColumnarValue],
    rows: usize,
    calendar: &CalendarArg,
    mut f: impl FnMut(usize, i64, i64, Option<&Calendar>) -> Result<Option<T>>,
) -> Result<(Vec<T>, Option<NullBuffer>)> {
    let (start, end) = (args[0].to_array(rows)?, args[1].to_array(rows)?);
    let ((starts, start_unit), (ends, end_unit)) = (instants(&start)?, instants(&end)?);
    let inputs = NullBuffer::union(start.nulls(), end.nulls());
    let mut values = Vec::with_capacity(rows);
    // Rows NULL although both instants are there (no calendar, `f` said so): rare.
    let mut also_null = Vec::new();
    for row in 0..rows {
        if inputs.as_ref().is_some_and(|n| n.is_null(row)) {
            values.push(T::default());
            continue;
        }
        let calendar = match calendar {
            CalendarArg::One(c) => Some(c.as_deref()),
            CalendarArg::PerRow(cs) => cs.get(row).map(|c| c.as_deref()),
        };
        let value = match (
            calendar,
            starts[row].checked_mul(start_unit),
            ends[row].checked_mul(end_unit),
        ) {
            (None, _, _) => None,
            (Some(None), _, _) if !clock_time => None,
            (Some(c), Some(s), Some(e)) => f(row, s, e, c)?,
            (Some(c), None, _) => return beyond_nanoseconds(function, c, &start, row),
            (Some(c), _, None) => return beyond_nanoseconds(function, c, &end, row),
        };
        values.push(value.unwrap_or_else(|| {
            also_null.push(row);
            T::default()
        }));
    }
    let nulls = if also_null.is_empty() {
        inputs
    } else {
        let mut valid = BooleanBufferBuilder::new(rows);
        valid.append_n(rows, true);
        for row in also_null {
            valid.set_bit(row, false);
        }
        NullBuffer::union(inputs.as_ref(), Some(&NullBuffer::new(valid.finish())))
    };
    Ok((values, nulls))
}

fn as_output(args: &[ColumnarValue], array: ArrayRef) -> Result<ColumnarValue> {
    if args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) {
        return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
            &array, 0,
        )?));
    }
    Ok(ColumnarValue::Array(array))
}

impl ScalarUDFImpl for BusinessSeconds {
    fn name(&self) -> &str {
        "business_seconds"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        const F: &str = "business_seconds";
        if !(2..=3).contains(&args.len()) {
            return plan_err!(
                "{F} takes 2 or 3 arguments, got {}; accepted signatures: {BUSINESS_SIGNATURES}",
                args.len()
            );
        }
        let mut types = vec![
            coerce_instant(F, "start", BUSINESS_SIGNATURES, &args[0])?,
            coerce_instant(F, "end", BUSINESS_SIGNATURES, &args[1])?,
        ];
        if let Some(c) = args.get(2) {
            types.push(coerce_calendar(F, BUSINESS_SIGNATURES, c)?);
        }
        Ok(types)
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        const F: &str = "business_seconds";
        let rows = args.number_rows;
        let calendar = CalendarArg::read(F, &self.calendars.0, args.args.get(2), None)?;
        let (values, nulls) = per_row(
            F,
            false,
            &args.args,
            rows,
            &calendar,
            // Without clock time, per_row calls this only with a calendar.
            |_, s, e, c| c.map(|c| between(F, c, s, e)).transpose(),
        )?;
        as_output(
            &args.args,
            Arc::new(Float64Array::new(values.into(), nulls)),
        )
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&BUSINESS_DOCUMENTATION)
    }
}

const SLA_SIGNATURES: &str = "sla_breached(start TIMESTAMP, end TIMESTAMP, target INTERVAL | seconds), \
                              sla_breached(start, end, target, calendar VARCHAR)";

static SLA_DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "Whether a service-level target was missed (Boolean): the time from start to end is more than \
         target. Without a calendar, or with calendar 'calendar' or NULL, the time is clock time (end - start); \
         with a calendar name or inline calendar, it is business time as business_seconds counts it. target \
         is an INTERVAL without months (e.g. INTERVAL '4 hours') or a number of seconds, so that a policy \
         table can hold it per channel and priority. NULL when start, end or target is NULL: for tickets \
         still waiting, pass coalesce(first_response_at, TIMESTAMP 'as of'). Exactly at the target is not a \
         breach. A negative or month-based target is an error, and so is an instant outside \
         1900-01-02..2199-12-30 with a calendar or outside 1677-09-22..2262-04-11 (nanosecond timestamps) in \
         clock time.",
        "sla_breached(start, end, target [, calendar])",
    )
    .with_argument("start", "When the clock starts (e.g. created_at).")
    .with_argument("end", "When it stops (e.g. first_response_at, resolved_at).")
    .with_argument("target", "INTERVAL without months, or seconds (a number).")
    .with_argument(
        "calendar",
        "Optional: 'calendar' (clock time, the default), a calendar name or an inline calendar; may be a column.",
    )
    .with_sql_example(
        "```sql\n\
         > SELECT t.channel, t.priority, 100.0 * avg(CASE WHEN sla_breached(t.created_at, t.first_response_at,\n\
         \x20   p.first_reply_hours * 3600, p.clock) THEN 1 ELSE 0 END) AS breached_pct\n\
         \x20 FROM tickets t JOIN sla_policies p USING (channel, priority) GROUP BY 1, 2;\n\
         > SELECT sla_breached(TIMESTAMP '2024-01-05T16:00:00Z', TIMESTAMP '2024-01-08T10:00:00Z',\n\
         \x20   INTERVAL '4 hours', 'default') AS late; -- false\n\
         ```",
    )
    .with_related_udf("business_seconds")
    .build()
});

/// `sla_breached(start, end, target [, calendar])`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SlaBreached {
    signature: Signature,
    calendars: SharedCalendars,
}

impl SlaBreached {
    /// The function, reading calendars from `calendars`.
    pub fn new(calendars: Arc<Calendars>) -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
            calendars: SharedCalendars(calendars),
        }
    }

    /// The calendars it reads.
    pub fn calendars(&self) -> &Arc<Calendars> {
        &self.calendars.0
    }
}

/// The target of each row in seconds (`None` for NULL).
fn targets(array: &ArrayRef) -> Result<Vec<Option<f64>>> {
    const F: &str = "sla_breached";
    match array.data_type() {
        DataType::Interval(IntervalUnit::MonthDayNano) => array
            .as_primitive::<IntervalMonthDayNanoType>()
            .iter()
            .map(|v| match v {
                None => Ok(None),
                Some(v) if v.months != 0 => exec_err!(
                    "{F}: target of {} months has no fixed length; expected days, hours or minutes",
                    v.months
                ),
                Some(v) => {
                    let s = f64::from(v.days) * 86_400.0 + v.nanoseconds as f64 / NANOS_PER_SECOND;
                    if s < 0.0 {
                        exec_err!("{F}: target of {s} seconds is negative; expected a target >= 0")
                    } else {
                        Ok(Some(s))
                    }
                }
            })
            .collect(),
        DataType::Float64 => array
            .as_primitive::<datafusion::arrow::datatypes::Float64Type>()
            .iter()
            .map(|v| match v {
                Some(s) if s.is_nan() || s < 0.0 => {
                    exec_err!("{F}: target of {s} seconds is not a number >= 0")
                }
                other => Ok(other),
            })
            .collect(),
        other => internal_err!("{F}: target of type {other} after coercion"),
    }
}

impl ScalarUDFImpl for SlaBreached {
    fn name(&self) -> &str {
        "sla_breached"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        const F: &str = "sla_breached";
        if !(3..=4).contains(&args.len()) {
            return plan_err!(
                "{F} takes 3 or 4 arguments, got {}; accepted signatures: {SLA_SIGNATURES}",
                args.len()
            );
        }
        let target = match &args[2] {
            DataType::Interval(_) | DataType::Duration(_) => {
                DataType::Interval(IntervalUnit::MonthDayNano)
            }
            t if t.is_numeric() || t.is_null() => DataType::Float64,
            other => {
                return plan_err!(
                    "{F}: target must be an INTERVAL or a number of seconds, got {other}; accepted signatures: \
                     {SLA_SIGNATURES}"
                );
            }
        };
        let mut types = vec![
            coerce_instant(F, "start", SLA_SIGNATURES, &args[0])?,
            coerce_instant(F, "end", SLA_SIGNATURES, &args[1])?,
            target,
        ];
        if let Some(c) = args.get(3) {
            types.push(coerce_calendar(F, SLA_SIGNATURES, c)?);
        }
        Ok(types)
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        const F: &str = "sla_breached";
        let rows = args.number_rows;
        let calendar = CalendarArg::read(F, &self.calendars.0, args.args.get(3), Some("calendar"))?;
        let target = targets(&args.args[2].to_array(rows)?)?;
        let (values, nulls) = per_row(F, true, &args.args, rows, &calendar, |row, s, e, c| {
            let Some(target) = target[row] else {
                return Ok(None);
            };
            let elapsed = match c {
                Some(c) => between(F, c, s, e)?,
                None => (e - s) as f64 / NANOS_PER_SECOND,
            };
            Ok(Some(elapsed > target))
        })?;
        let values = BooleanBuffer::from_iter(values);
        as_output(&args.args, Arc::new(BooleanArray::new(values, nulls)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&SLA_DOCUMENTATION)
    }
}
