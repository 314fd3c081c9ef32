//! How many bytes a wrapped function's result will take, worked out from its arguments without building
//! it, and the reservation of those bytes in the memory pool.

use std::hash::Hash;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::compute::kernels::length::length;
use datafusion::arrow::datatypes::{DataType, Int64Type, IntervalUnit, TimeUnit};
use datafusion::common::{Result, exec_err};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryLimit, MemoryPool};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};

/// How a function's result size follows from its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Size {
    /// `repeat(text, n)`: the text's bytes n times.
    Repeat,
    /// `lpad(text, n [, fill])`: n characters.
    Pad,
    /// `concat(a, b, ...)`, `concat_ws(sep, a, ...)`, `a || b`: at most the arguments' bytes together
    /// (separators counted once per argument).
    Concat,
    /// `array_repeat(value, n)`: n values.
    ArrayRepeat,
    /// `array_resize(list, n [, value])`: n values.
    ArrayResize,
    /// `range(start, stop [, step])` as a list: one value per step.
    Series,
}

/// Reserves `bytes` for the result of `name` in `pool`; the error names the function and the limit.
pub(super) fn reserve(
    pool: &Arc<dyn MemoryPool>,
    name: &str,
    bytes: u64,
) -> Result<datafusion::execution::memory_pool::MemoryReservation> {
    let reservation = MemoryConsumer::new(name).register(pool);
    let limit = match pool.memory_limit() {
        MemoryLimit::Finite(n) => n,
        _ => usize::MAX,
    };
    let wanted = usize::try_from(bytes).unwrap_or(usize::MAX);
    if wanted > limit || reservation.try_grow(wanted).is_err() {
        let free = limit.saturating_sub(pool.reserved());
        return exec_err!(
            "{name}: the values it would build take {bytes} bytes, which exceeds the memory limit \
             ({limit} bytes, {free} of them free now); a result this large is refused before it is built"
        );
    }
    Ok(reservation)
}

/// How many times the result will be copied: a call on constants only (folded while planning, or on a
/// one-row batch) gives one value that DataFusion repeats over every row of a batch.
pub(super) fn broadcast(args: &ScalarFunctionArgs) -> u64 {
    let constant = args
        .args
        .iter()
        .all(|a| matches!(a, ColumnarValue::Scalar(_)));
    if constant {
        (usize::from(args.config_options.execution.batch_size) / args.number_rows.max(1)).max(1)
            as u64
    } else {
        1
    }
}

/// The bytes the result of a `size` function takes over `rows` rows of `args` (an upper bound where the
/// exact figure would need the result).
pub(super) fn estimate(size: Size, args: &[ColumnarValue], rows: usize) -> Result<u64> {
    // The count argument (the second), NULL and negative as 0.
    let counts = || -> Result<Vec<u64>> {
        Ok(match args.get(1) {
            Some(arg) => ints(arg, rows)?
                .into_iter()
                .map(|n| n.max(0) as u64)
                .collect(),
            None => vec![0; rows],
        })
    };
    // Every row's count times `width` bytes.
    let times = |width: u64| -> Result<u64> {
        Ok(counts()?
            .into_iter()
            .fold(0u64, u64::saturating_add)
            .saturating_mul(width))
    };
    Ok(match size {
        Size::Repeat => {
            let Some(text) = args.first() else {
                return Ok(0);
            };
            byte_lengths(text, rows)?
                .into_iter()
                .zip(counts()?)
                .map(|(bytes, n)| bytes.saturating_mul(n))
                .fold(0u64, u64::saturating_add)
        }
        Size::Pad => {
            // n characters of the text or the fill: four bytes each unless both are ASCII.
            let wide = args
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != 1)
                .any(|(_, a)| !is_ascii(a));
            times(if wide { 4 } else { 1 })?
        }
        Size::Concat => {
            let mut total = 0u64;
            for arg in args {
                total = total.saturating_add(total_bytes(arg, rows)?);
            }
            total
        }
        Size::ArrayRepeat => {
            let Some(value) = args.first() else {
                return Ok(0);
            };
            times(value_width(value, rows))?
        }
        Size::ArrayResize => times(args.get(2).map_or(8, |v| value_width(v, rows)).max(8))?,
        Size::Series => series_values(args, rows)?.saturating_mul(8),
    })
}

/// The values of an integer argument, one per row (NULL as 0).
pub(super) fn ints(arg: &ColumnarValue, rows: usize) -> Result<Vec<i64>> {
    let array = arg.to_array(rows)?;
    let array = cast(&array, &DataType::Int64)?;
    let array = array.as_primitive::<Int64Type>();
    Ok((0..rows)
        .map(|i| if array.is_null(i) { 0 } else { array.value(i) })
        .collect())
}

/// The bytes of each row's value as text (NULL as 0).
pub(super) fn byte_lengths(arg: &ColumnarValue, rows: usize) -> Result<Vec<u64>> {
    if let ColumnarValue::Scalar(value) = arg {
        // One value for every row: measured once.
        let one = byte_lengths(&ColumnarValue::Array(value.to_array_of_size(1)?), 1)?;
        return Ok(vec![one.first().copied().unwrap_or(0); rows]);
    }
    let array = arg.to_array(rows)?;
    let text: ArrayRef = match array.data_type() {
        DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView => array,
        DataType::Null => return Ok(vec![0; rows]),
        _ => cast(&array, &DataType::Utf8)?,
    };
    let lengths = cast(&length(&text)?, &DataType::Int64)?;
    let lengths = lengths.as_primitive::<Int64Type>();
    Ok((0..rows)
        .map(|i| {
            if i < lengths.len() && !lengths.is_null(i) {
                lengths.value(i).max(0) as u64
            } else {
                0
            }
        })
        .collect())
}

/// The bytes of all rows' values as text, without a per-row list for the common layouts: a constant's
/// length times the rows, the extent of a plain array's values, the sum of a view array's lengths.
pub(super) fn total_bytes(arg: &ColumnarValue, rows: usize) -> Result<u64> {
    let ColumnarValue::Array(array) = arg else {
        return Ok(byte_lengths(arg, 1)?
            .first()
            .copied()
            .unwrap_or(0)
            .saturating_mul(rows as u64));
    };
    let extent = |first: i64, last: i64| (last - first).max(0) as u64;
    Ok(match array.data_type() {
        DataType::Utf8 => {
            let offsets = array.as_string::<i32>().value_offsets();
            extent(i64::from(offsets[0]), i64::from(offsets[offsets.len() - 1]))
        }
        DataType::LargeUtf8 => {
            let offsets = array.as_string::<i64>().value_offsets();
            extent(offsets[0], offsets[offsets.len() - 1])
        }
        DataType::Utf8View => array
            .as_string_view()
            .views()
            .iter()
            .map(|view| u64::from(*view as u32))
            .sum(),
        _ => byte_lengths(arg, rows)?.iter().sum(),
    })
}

/// Whether an argument's text is all ASCII.
pub(super) fn is_ascii(arg: &ColumnarValue) -> bool {
    let array = match arg {
        ColumnarValue::Scalar(value) => match value.to_array_of_size(1) {
            Ok(a) => a,
            Err(_) => return false,
        },
        ColumnarValue::Array(a) => Arc::clone(a),
    };
    match cast(&array, &DataType::Utf8) {
        Ok(text) => text.as_string::<i32>().value_data().is_ascii(),
        Err(_) => false,
    }
}

/// The bytes one value of an argument takes in a list.
pub(super) fn value_width(arg: &ColumnarValue, rows: usize) -> u64 {
    let data_type = arg.data_type();
    if let Some(width) = data_type.primitive_width() {
        return width as u64;
    }
    match arg {
        ColumnarValue::Scalar(value) => value.size() as u64,
        ColumnarValue::Array(a) => (a.get_array_memory_size() / rows.max(1)).max(1) as u64,
    }
}

/// How many values `range`/`generate_series` lists hold over all rows: integers, or dates and timestamps
/// with an interval step (a month counted as 28 days and a day as 23 hours, so never too few).
pub(super) fn series_values(args: &[ColumnarValue], rows: usize) -> Result<u64> {
    let first = args.first().map(ColumnarValue::data_type);
    let steps = match first {
        Some(t) if t.is_integer() => {
            let (start, stop, step) = match args.len() {
                1 => (vec![0; rows], ints(&args[0], rows)?, vec![1; rows]),
                2 => (ints(&args[0], rows)?, ints(&args[1], rows)?, vec![1; rows]),
                _ => (
                    ints(&args[0], rows)?,
                    ints(&args[1], rows)?,
                    ints(&args[2], rows)?,
                ),
            };
            start
                .iter()
                .zip(&stop)
                .zip(&step)
                .map(|((a, b), s)| steps_between(i128::from(*a), i128::from(*b), i128::from(*s)))
                .fold(0u64, u64::saturating_add)
        }
        Some(DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _))
            if args.len() == 3 =>
        {
            let ns = |arg: &ColumnarValue| -> Result<Vec<i64>> {
                let array = arg.to_array(rows)?;
                let array = cast(&array, &DataType::Timestamp(TimeUnit::Nanosecond, None))
                    .or_else(|_| cast(&array, &DataType::Int64))?;
                let array = cast(&array, &DataType::Int64)?;
                let array = array.as_primitive::<Int64Type>();
                Ok((0..rows)
                    .map(|i| if array.is_null(i) { 0 } else { array.value(i) })
                    .collect())
            };
            let (start, stop) = (ns(&args[0])?, ns(&args[1])?);
            let step = args[2].to_array(rows)?;
            let step = cast(&step, &DataType::Interval(IntervalUnit::MonthDayNano))?;
            let step =
                step.as_primitive::<datafusion::arrow::datatypes::IntervalMonthDayNanoType>();
            (0..rows)
                .map(|i| {
                    if step.is_null(i) {
                        return 0;
                    }
                    let v = step.value(i);
                    let hour = 3_600_000_000_000i128;
                    let smallest = i128::from(v.months) * 28 * 24 * hour
                        + i128::from(v.days) * 23 * hour
                        + i128::from(v.nanoseconds);
                    steps_between(i128::from(start[i]), i128::from(stop[i]), smallest)
                })
                .fold(0u64, u64::saturating_add)
        }
        _ => 0,
    };
    Ok(steps)
}

/// Values from `start` to `stop` by `step` (0 where the step goes the other way or is 0: the function's
/// own error or empty list).
pub(super) fn steps_between(start: i128, stop: i128, step: i128) -> u64 {
    if step == 0 || (stop - start).signum() * step.signum() < 0 {
        return 0;
    }
    u64::try_from((stop - start) / step + 1).unwrap_or(u64::MAX)
}
