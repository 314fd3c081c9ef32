//! Instants and intervals as the time-based functions (`backlog_at`, `backlog_series`, `business_seconds`,
//! `sla_breached`) read them: timestamps of any unit, with or without a zone, as nanoseconds since the epoch;
//! dates as timestamps; SLA intervals checked and, without months, as fixed lengths.

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::buffer::ScalarBuffer;
use datafusion::arrow::datatypes::{
    DataType, IntervalMonthDayNano, IntervalUnit, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
};
use datafusion::common::{Result, ScalarValue, exec_err, internal_err, plan_err};

pub(crate) const NANOS_PER_DAY: i64 = 86_400_000_000_000;

/// Nanoseconds since the epoch of a timestamp literal (NULL stays NULL).
pub(crate) fn instant_of(v: &ScalarValue) -> Result<Option<i64>> {
    let (value, per_unit) = match v {
        ScalarValue::TimestampSecond(v, _) => (v, 1_000_000_000),
        ScalarValue::TimestampMillisecond(v, _) => (v, 1_000_000),
        ScalarValue::TimestampMicrosecond(v, _) => (v, 1_000),
        ScalarValue::TimestampNanosecond(v, _) => (v, 1),
        ScalarValue::Null => (&None, 1),
        other => return internal_err!("at literal {other} after coercion"),
    };
    Ok(value.map(|v| v.saturating_mul(per_unit)))
}

/// The type an instant argument is read as: timestamps as they are, dates as timestamps, NULL as a timestamp.
pub(crate) fn coerce_instant(
    function: &str,
    name: &str,
    signatures: &str,
    t: &DataType,
) -> Result<DataType> {
    match t {
        DataType::Timestamp(..) => Ok(t.clone()),
        DataType::Date32 | DataType::Date64 => Ok(DataType::Timestamp(TimeUnit::Second, None)),
        DataType::Null => Ok(DataType::Timestamp(TimeUnit::Nanosecond, None)),
        other => plan_err!(
            "{function}: {name} must be a TIMESTAMP or DATE, got {other}; accepted signatures: {signatures}"
        ),
    }
}

/// The type an interval argument (`sla`, `step`) is read as.
pub(crate) fn coerce_interval(
    function: &str,
    name: &str,
    signatures: &str,
    t: &DataType,
) -> Result<DataType> {
    match t {
        DataType::Interval(_) | DataType::Duration(_) | DataType::Null => {
            Ok(DataType::Interval(IntervalUnit::MonthDayNano))
        }
        other => plan_err!(
            "{function}: {name} must be an INTERVAL, got {other}; accepted signatures: {signatures}"
        ),
    }
}

/// The values of a timestamp column and how many nanoseconds one unit is.
pub(crate) fn instants(array: &ArrayRef) -> Result<(ScalarBuffer<i64>, i64)> {
    Ok(match array.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => (
            array.as_primitive::<TimestampSecondType>().values().clone(),
            1_000_000_000,
        ),
        DataType::Timestamp(TimeUnit::Millisecond, _) => (
            array
                .as_primitive::<TimestampMillisecondType>()
                .values()
                .clone(),
            1_000_000,
        ),
        DataType::Timestamp(TimeUnit::Microsecond, _) => (
            array
                .as_primitive::<TimestampMicrosecondType>()
                .values()
                .clone(),
            1_000,
        ),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => (
            array
                .as_primitive::<TimestampNanosecondType>()
                .values()
                .clone(),
            1,
        ),
        other => {
            return internal_err!("unexpected timestamp argument type {other} after coercion");
        }
    })
}

pub(crate) fn check_sla(function: &str, sla: IntervalMonthDayNano) -> Result<()> {
    if sla.months < 0 || sla.days < 0 || sla.nanoseconds < 0 {
        let IntervalMonthDayNano {
            months,
            days,
            nanoseconds,
        } = sla;
        return exec_err!(
            "{function}: sla of {months} months {days} days {nanoseconds} ns is negative; \
             expected an interval >= 0"
        );
    }
    Ok(())
}

/// The SLA as a fixed length in nanoseconds, when it has no calendar months.
pub(crate) fn fixed_nanos(sla: IntervalMonthDayNano) -> Option<i64> {
    (sla.months == 0).then(|| {
        i64::from(sla.days)
            .saturating_mul(NANOS_PER_DAY)
            .saturating_add(sla.nanoseconds)
    })
}
