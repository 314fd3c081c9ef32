//! Numeric score columns (NPS 0–10, CSAT 1–N, contact counts): which input types are accepted, and one scan
//! that range-checks each value and classifies it, in the column's own type (no cast of the input).

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, PrimitiveArray};
use datafusion::arrow::datatypes::{
    ArrowPrimitiveType, DataType, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type,
    Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use datafusion::common::{Result, ScalarValue, exec_err, internal_err, plan_err};

use crate::kpi::{for_each_valid, valid_rows};

/// The type a numeric argument is planned as: integers, `Float32`/`Float64` and `Decimal128` are read as they
/// are; other decimals and `Float16` are converted to the nearest of those; anything else is a planning error
/// naming the function, the argument and the accepted signatures.
pub(crate) fn coerce_number(
    function: &str,
    argument: &str,
    signatures: &str,
    t: &DataType,
) -> Result<DataType> {
    use DataType::*;
    Ok(match t {
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 | Float32 | Float64 => {
            t.clone()
        }
        Decimal128(_, s) if *s >= 0 => t.clone(),
        Decimal32(p, s) | Decimal64(p, s) if *s >= 0 => Decimal128(*p, *s),
        Float16 | Decimal32(..) | Decimal64(..) | Decimal128(..) | Decimal256(..) => Float64,
        Null => Int64,
        Dictionary(_, value) => coerce_number(function, argument, signatures, value)?,
        other => {
            return plan_err!(
                "{function}: {argument} must be a number (integer, float or decimal), got {other}; \
                 accepted signatures: {signatures}"
            );
        }
    })
}

/// How a score KPI classifies one valid value into `N` counter increments.
///
/// Bounds and cut points are whole numbers on the score's own scale; `scan` lifts them into the column's type
/// (exactly, also for decimals), so that `9` means 9 whatever the column's type.
pub(crate) trait ScoreRule<const N: usize> {
    /// The SQL function name, for messages.
    const NAME: &'static str;
    /// What the value is, for messages (`score`, `contacts`).
    const WHAT: &'static str;
    /// The inclusive valid range.
    fn range(&self) -> (i64, i64);
    /// The valid range in words, for messages (`the 0..10 scale`).
    fn range_text(&self) -> String;
    /// Cut points that `classify` compares against.
    fn cuts(&self) -> [i64; 2];
    /// The increments for a value known to be in range.
    fn classify<W: PartialOrd>(&self, v: W, cuts: &[W; 2]) -> [i64; N];
    /// The function name in messages (functions that share a rule name themselves).
    fn name(&self) -> &'static str {
        Self::NAME
    }
}

/// Calls `f(row, increments)` for each valid, non-NULL value of `array` passing `filter`, or fails with the
/// first value outside the rule's range.
pub(crate) fn tally_scores<R: ScoreRule<N>, const N: usize>(
    rule: &R,
    array: &ArrayRef,
    filter: Option<&BooleanArray>,
    f: impl FnMut(usize, [i64; N]),
) -> Result<()> {
    let int = |k: i64| k;
    let float = |k: i64| k as f64;
    match array.data_type() {
        DataType::Int8 => scan(
            rule,
            array.as_primitive::<Int8Type>(),
            filter,
            i64::from,
            int,
            f,
        ),
        DataType::Int16 => scan(
            rule,
            array.as_primitive::<Int16Type>(),
            filter,
            i64::from,
            int,
            f,
        ),
        DataType::Int32 => scan(
            rule,
            array.as_primitive::<Int32Type>(),
            filter,
            i64::from,
            int,
            f,
        ),
        DataType::Int64 => scan(
            rule,
            array.as_primitive::<Int64Type>(),
            filter,
            |v| v,
            int,
            f,
        ),
        DataType::UInt8 => scan(
            rule,
            array.as_primitive::<UInt8Type>(),
            filter,
            i64::from,
            int,
            f,
        ),
        DataType::UInt16 => scan(
            rule,
            array.as_primitive::<UInt16Type>(),
            filter,
            i64::from,
            int,
            f,
        ),
        DataType::UInt32 => scan(
            rule,
            array.as_primitive::<UInt32Type>(),
            filter,
            i64::from,
            int,
            f,
        ),
        // Above i64::MAX is out of every score range: saturating keeps the comparison right.
        DataType::UInt64 => {
            let widen = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
            scan(
                rule,
                array.as_primitive::<UInt64Type>(),
                filter,
                widen,
                int,
                f,
            )
        }
        DataType::Float32 => scan(
            rule,
            array.as_primitive::<Float32Type>(),
            filter,
            f64::from,
            float,
            f,
        ),
        DataType::Float64 => scan(
            rule,
            array.as_primitive::<Float64Type>(),
            filter,
            |v| v,
            float,
            f,
        ),
        DataType::Decimal128(_, scale) if *scale >= 0 => {
            // Compare unscaled values against bounds scaled up: exact, no rounding through floats.
            let unit = 10i128.saturating_pow(u32::from(scale.unsigned_abs()));
            let lift = |k: i64| i128::from(k).saturating_mul(unit);
            scan(
                rule,
                array.as_primitive::<Decimal128Type>(),
                filter,
                |v| v,
                lift,
                f,
            )
        }
        DataType::Null => Ok(()),
        other => internal_err!(
            "{}: unexpected argument type {other} after coercion",
            rule.name()
        ),
    }
}

fn scan<R, const N: usize, T, W>(
    rule: &R,
    array: &PrimitiveArray<T>,
    filter: Option<&BooleanArray>,
    widen: impl Fn(T::Native) -> W,
    lift: impl Fn(i64) -> W,
    mut f: impl FnMut(usize, [i64; N]),
) -> Result<()>
where
    R: ScoreRule<N>,
    T: ArrowPrimitiveType,
    W: PartialOrd + Copy,
{
    let (lo, hi) = rule.range();
    let (lo, hi) = (lift(lo), lift(hi));
    let cuts = rule.cuts().map(&lift);
    let values = array.values();
    let valid = valid_rows(&[array as &dyn Array], filter);
    let mut bad = None;
    for_each_valid(values.len(), valid.as_ref(), |row| {
        let v = widen(values[row]);
        // Written so that NaN fails too.
        if v >= lo && v <= hi {
            f(row, rule.classify(v, &cuts));
        } else if bad.is_none() {
            bad = Some(row);
        }
    });
    match bad {
        None => Ok(()),
        Some(row) => exec_err!(
            "{}: {} {} is outside {}",
            rule.name(),
            R::WHAT,
            ScalarValue::try_from_array(array, row)?,
            rule.range_text()
        ),
    }
}
