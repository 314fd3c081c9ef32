//! Values that functions build, bounded by the session's memory limit.
//!
//! DataFusion accounts the memory of operators that hold data (sorts, aggregations, joins) to a pool with a
//! limit, but a scalar function builds its result outside it: `repeat('x', 1000000000)` over nine rows asks
//! the allocator for 9 GB at once, and when that fails the process aborts (Rust's allocation failure is not an
//! error). A server shared by many clients must not die of one query. So the functions whose result can be
//! far larger than their input are wrapped: before building, the wrapper works out how many bytes the
//! result's values take (from the argument values, without building anything) and reserves them in the
//! session's memory pool; a result that does not fit in what the pool has left fails with an error naming
//! the function, the size and the limit. The reservation is released when the result is built (from there it
//! is a batch like any other). A call on constants only gives one value that DataFusion repeats over each
//! batch (8,192 rows), so its size counts that many times: under a 500 MB limit a constant result may be up to
//! 64 KB. (The server limits text literals in statements the same way, see `sql_text`.)
//!
//! Wrapped: `repeat`, `lpad`, `rpad`, `concat`, `concat_ws`, the `||` operator on strings (chains of it double
//! a value at each step), `array_repeat`, `array_resize`, and the list-returning `range`/`generate_series`
//! scalar functions. `string_agg` and `array_agg` are aggregates, whose state DataFusion already accounts to
//! the pool (an aggregation over huge values fails with "Resources exhausted"); the table functions `range`
//! and `generate_series` stream their rows in batches and hold nothing.
//!
//! Only for sessions with a memory limit (the server always has one); without one the pool has no limit to
//! check against.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::compute::kernels::length::length;
use datafusion::arrow::datatypes::{DataType, FieldRef, Int64Type, IntervalUnit, TimeUnit};
use datafusion::common::{DFSchema, Result, ScalarValue, exec_err};
use datafusion::execution::FunctionRegistry;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryLimit, MemoryPool};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::expr::{
    AggregateFunction, AggregateFunctionParams, WindowFunctionParams,
};
use datafusion::logical_expr::function::{
    AccumulatorArgs, AggregateFunctionSimplification, StateFieldsArgs,
};
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult, RawBinaryExpr};
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::utils::AggregateOrderSensitivity;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, Documentation, EmitTo, Expr,
    ExprSchemable, GroupsAccumulator, Operator, ReversedUDAF, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, SetMonotonicity, Signature, StatisticsArgs,
};
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::BinaryOperator;

/// How a function's result size follows from its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Size {
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

/// The wrapped functions, by name.
const WRAPPED: [(&str, Size); 9] = [
    ("repeat", Size::Repeat),
    ("lpad", Size::Pad),
    ("rpad", Size::Pad),
    ("concat", Size::Concat),
    ("concat_ws", Size::Concat),
    ("array_repeat", Size::ArrayRepeat),
    ("array_resize", Size::ArrayResize),
    ("range", Size::Series),
    ("generate_series", Size::Series),
];

/// Wraps the size-multiplying functions of `ctx` and its `||` operator (see the module documentation), when
/// the session has a memory limit.
pub fn register(ctx: &mut SessionContext) -> Result<()> {
    let pool = Arc::clone(&ctx.runtime_env().memory_pool);
    if !matches!(pool.memory_limit(), MemoryLimit::Finite(_)) {
        return Ok(());
    }
    let state = ctx.state();
    let functions = state.scalar_functions();
    for (name, size) in WRAPPED {
        let Some(udf) = functions.get(name) else {
            continue;
        };
        SessionContext::register_udf(
            ctx,
            ScalarUDF::new_from_impl(Bounded {
                inner: Arc::clone(udf.inner()),
                size,
                pool: Arc::clone(&pool),
            }),
        );
    }
    if let Some(array_agg) = state.aggregate_functions().get("array_agg") {
        SessionContext::register_udaf(
            ctx,
            AggregateUDF::new_from_shared_impl(Counted::wrap(Arc::clone(array_agg.inner()))),
        );
    }
    if let Some(concat) = functions.get("concat") {
        let operator = ScalarUDF::new_from_impl(ConcatOperator {
            concat: Arc::clone(concat),
            signature: Signature::user_defined(datafusion::logical_expr::Volatility::Immutable),
            pool: Arc::clone(&pool),
        });
        ctx.register_expr_planner(Arc::new(BoundedConcatPlanner {
            operator: Arc::new(operator),
        }))?;
    }
    Ok(())
}

/// A function whose result is reserved in the memory pool before it is built.
#[derive(Debug)]
struct Bounded {
    inner: Arc<dyn ScalarUDFImpl>,
    size: Size,
    pool: Arc<dyn MemoryPool>,
}

impl PartialEq for Bounded {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner) && self.size == other.size
    }
}

impl Eq for Bounded {}

impl Hash for Bounded {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.inner.name().hash(state);
        self.size.hash(state);
    }
}

/// Reserves `bytes` for the result of `name` in `pool`; the error names the function and the limit.
fn reserve(
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

#[warn(clippy::missing_trait_methods)]
impl ScalarUDFImpl for Bounded {
    crate::engine::udf_forward::forward_scalar_udf!();

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let bytes =
            estimate(self.size, &args.args, args.number_rows)?.saturating_mul(broadcast(&args));
        let _reserved = reserve(&self.pool, &format!("{}()", self.inner.name()), bytes)?;
        self.inner.invoke_with_args(args)
    }

    fn with_updated_config(
        &self,
        _config: &datafusion::config::ConfigOptions,
    ) -> Option<ScalarUDF> {
        // The wrapped functions read no configuration; the wrapper stays in place.
        None
    }

    fn simplify(&self, args: Vec<Expr>, _info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        // Not the function's own: `concat`'s folds constant arguments into one value while planning,
        // building it without the reservation.
        Ok(ExprSimplifyResult::Original(args))
    }
}

/// How many times the result will be copied: a call on constants only (folded while planning, or on a
/// one-row batch) gives one value that DataFusion repeats over every row of a batch.
fn broadcast(args: &ScalarFunctionArgs) -> u64 {
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
fn estimate(size: Size, args: &[ColumnarValue], rows: usize) -> Result<u64> {
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
fn ints(arg: &ColumnarValue, rows: usize) -> Result<Vec<i64>> {
    let array = arg.to_array(rows)?;
    let array = cast(&array, &DataType::Int64)?;
    let array = array.as_primitive::<Int64Type>();
    Ok((0..rows)
        .map(|i| if array.is_null(i) { 0 } else { array.value(i) })
        .collect())
}

/// The bytes of each row's value as text (NULL as 0).
fn byte_lengths(arg: &ColumnarValue, rows: usize) -> Result<Vec<u64>> {
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
fn total_bytes(arg: &ColumnarValue, rows: usize) -> Result<u64> {
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
fn is_ascii(arg: &ColumnarValue) -> bool {
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
fn value_width(arg: &ColumnarValue, rows: usize) -> u64 {
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
fn series_values(args: &[ColumnarValue], rows: usize) -> Result<u64> {
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
fn steps_between(start: i128, stop: i128, step: i128) -> u64 {
    if step == 0 || (stop - start).signum() * step.signum() < 0 {
        return 0;
    }
    u64::try_from((stop - start) / step + 1).unwrap_or(u64::MAX)
}

/// `a || b` on text as a function: `concat`'s result, NULL where either side is NULL (as `||` is), with
/// the size reserved as for `concat`.
#[derive(Debug)]
struct ConcatOperator {
    concat: Arc<ScalarUDF>,
    signature: Signature,
    pool: Arc<dyn MemoryPool>,
}

impl PartialEq for ConcatOperator {
    fn eq(&self, other: &Self) -> bool {
        self.concat == other.concat
    }
}

impl Eq for ConcatOperator {}

impl Hash for ConcatOperator {
    fn hash<H: Hasher>(&self, state: &mut H) {
        "cx_concat_operator".hash(state);
    }
}

impl ScalarUDFImpl for ConcatOperator {
    fn name(&self) -> &str {
        "cx_concat_operator"
    }

    fn display_name(&self, args: &[Expr]) -> Result<String> {
        Ok(args
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" || "))
    }

    fn schema_name(&self, args: &[Expr]) -> Result<String> {
        let names = args
            .iter()
            .map(|a| a.schema_name().to_string())
            .collect::<Vec<_>>();
        Ok(names.join(" || "))
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.concat.return_type(arg_types)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        // Text stays as it is; anything else is written as text (`'a' || 1` is `a1`), as `||` does.
        Ok(arg_types
            .iter()
            .map(|t| match t {
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => t.clone(),
                _ => DataType::Utf8,
            })
            .collect())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let bytes = estimate(Size::Concat, &args.args, rows)?.saturating_mul(broadcast(&args));
        let _reserved = reserve(&self.pool, "the || operator", bytes)?;
        // `||` is NULL where either side is (concat reads NULL as empty text): a NULL constant makes every
        // row NULL; columns contribute their NULL rows.
        if args
            .args
            .iter()
            .any(|a| matches!(a, ColumnarValue::Scalar(v) if v.is_null()))
        {
            let data_type = args.return_field.data_type().clone();
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from(&data_type)?));
        }
        let mask = args
            .args
            .iter()
            .fold(None, |mask: Option<NullBuffer>, a| match a {
                ColumnarValue::Array(a) => {
                    NullBuffer::union(mask.as_ref(), a.logical_nulls().as_ref())
                }
                ColumnarValue::Scalar(_) => mask,
            });
        let scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let result = self.concat.invoke_with_args(args)?;
        if scalar {
            return Ok(result);
        }
        let result = result.to_array(rows)?;
        let result = match mask.filter(|m| m.null_count() > 0) {
            Some(mask) => {
                let mask = NullBuffer::union(Some(&mask), result.logical_nulls().as_ref());
                datafusion::arrow::array::make_array(
                    result.to_data().into_builder().nulls(mask).build()?,
                )
            }
            None => result,
        };
        Ok(ColumnarValue::Array(result))
    }
}

/// Plans `a || b` on text as [`ConcatOperator`] (lists are left to DataFusion's own planner, which comes
/// first).
#[derive(Debug)]
struct BoundedConcatPlanner {
    operator: Arc<ScalarUDF>,
}

impl ExprPlanner for BoundedConcatPlanner {
    fn plan_binary_op(
        &self,
        expr: RawBinaryExpr,
        schema: &DFSchema,
    ) -> Result<PlannerResult<RawBinaryExpr>> {
        if expr.op != BinaryOperator::StringConcat {
            return Ok(PlannerResult::Original(expr));
        }
        let text = |e: &Expr| {
            e.get_type(schema).is_ok_and(|t| {
                matches!(
                    t,
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
                )
            })
        };
        if !(text(&expr.left) || text(&expr.right))
            || [&expr.left, &expr.right]
                .iter()
                .any(|e| e.get_type(schema).is_ok_and(|t| t.is_nested()))
        {
            return Ok(PlannerResult::Original(expr));
        }
        Ok(PlannerResult::Planned(Expr::ScalarFunction(
            ScalarFunction::new_udf(Arc::clone(&self.operator), vec![expr.left, expr.right]),
        )))
    }
}

/// `array_agg` with the bytes it holds counted honestly. DataFusion's accumulators keep slices of the input
/// batches and count them with `get_slice_memory_size`, which for the view layouts (`Utf8View`, what text
/// columns and casts are) counts the 16-byte views and not the text they point to: measured, `array_agg` of
/// 100,000 values of 10 kB finished under a 500 MB limit holding 1.2 GB, and of 3,000,000 went on to 24 GB.
/// The wrapper adds up the bytes of the values it is given (text and binary by their length, lists by their
/// values) and reports at least that, so the aggregation's reservation fails as it should.
#[derive(Debug)]
struct Counted {
    inner: Arc<dyn AggregateUDFImpl>,
}

impl PartialEq for Counted {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for Counted {}

impl Hash for Counted {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.inner.name().hash(state);
    }
}

impl Counted {
    fn wrap(inner: Arc<dyn AggregateUDFImpl>) -> Arc<dyn AggregateUDFImpl> {
        Arc::new(Counted { inner })
    }
}

/// The bytes the values of `array` take when owned: text and binary by their lengths (whatever the layout),
/// lists by their values, the rest as Arrow counts a slice.
fn owned_bytes(array: &dyn Array) -> usize {
    match array.data_type() {
        DataType::Utf8View | DataType::BinaryView => {
            let lengths = byte_lengths(
                &ColumnarValue::Array(datafusion::arrow::array::make_array(array.to_data())),
                array.len(),
            )
            .unwrap_or_default();
            lengths.iter().sum::<u64>() as usize + 16 * array.len()
        }
        DataType::List(_) => {
            let list = array.as_list::<i32>();
            let offsets = list.value_offsets();
            let (start, end) = (offsets[0] as usize, offsets[offsets.len() - 1] as usize);
            owned_bytes(list.values().slice(start, end - start).as_ref()) + 4 * offsets.len()
        }
        DataType::LargeList(_) => {
            let list = array.as_list::<i64>();
            let offsets = list.value_offsets();
            let (start, end) = (offsets[0] as usize, offsets[offsets.len() - 1] as usize);
            owned_bytes(list.values().slice(start, end - start).as_ref()) + 8 * offsets.len()
        }
        _ => array.to_data().get_slice_memory_size().unwrap_or_default(),
    }
}

fn owned_bytes_of(arrays: &[ArrayRef]) -> usize {
    arrays.iter().map(|a| owned_bytes(a.as_ref())).sum()
}

/// An accumulator that reports at least the bytes of the values it was given.
#[derive(Debug)]
struct CountedAccumulator {
    inner: Box<dyn Accumulator>,
    bytes: usize,
}

impl Accumulator for CountedAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.bytes += owned_bytes_of(values);
        self.inner.update_batch(values)
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        self.inner.evaluate()
    }

    fn size(&self) -> usize {
        self.inner.size().max(self.bytes)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.inner.state()
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.bytes += owned_bytes_of(states);
        self.inner.merge_batch(states)
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.bytes = self.bytes.saturating_sub(owned_bytes_of(values));
        self.inner.retract_batch(values)
    }

    fn supports_retract_batch(&self) -> bool {
        self.inner.supports_retract_batch()
    }
}

/// A groups accumulator that reports at least the bytes of the values it holds.
struct CountedGroups {
    inner: Box<dyn GroupsAccumulator>,
    bytes: usize,
    groups: usize,
}

impl CountedGroups {
    /// After emitting `emit_to`'s groups: the bytes of the rest, in proportion.
    fn emitted(&mut self, emit_to: EmitTo) {
        match emit_to {
            EmitTo::All => {
                self.bytes = 0;
                self.groups = 0;
            }
            EmitTo::First(n) => {
                let left = self.groups.saturating_sub(n);
                self.bytes = if self.groups == 0 {
                    0
                } else {
                    (self.bytes as u128 * left as u128 / self.groups as u128) as usize
                };
                self.groups = left;
            }
        }
    }
}

impl GroupsAccumulator for CountedGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&datafusion::arrow::array::BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.bytes += owned_bytes_of(values);
        self.groups = self.groups.max(total_num_groups);
        self.inner
            .update_batch(values, group_indices, opt_filter, total_num_groups)
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let result = self.inner.evaluate(emit_to);
        self.emitted(emit_to);
        result
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let result = self.inner.state(emit_to);
        self.emitted(emit_to);
        result
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.bytes += owned_bytes_of(values);
        self.groups = self.groups.max(total_num_groups);
        self.inner
            .merge_batch(values, group_indices, total_num_groups)
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&datafusion::arrow::array::BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        self.inner.convert_to_state(values, opt_filter)
    }

    fn size(&self) -> usize {
        self.inner.size().max(self.bytes)
    }
}

#[warn(clippy::missing_trait_methods)]
impl AggregateUDFImpl for Counted {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn accumulator(&self, acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(CountedAccumulator {
            inner: self.inner.accumulator(acc_args)?,
            bytes: 0,
        }))
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn schema_name(&self, params: &AggregateFunctionParams) -> Result<String> {
        self.inner.schema_name(params)
    }

    fn human_display(&self, params: &AggregateFunctionParams) -> Result<String> {
        self.inner.human_display(params)
    }

    fn window_function_schema_name(&self, params: &WindowFunctionParams) -> Result<String> {
        self.inner.window_function_schema_name(params)
    }

    fn display_name(&self, params: &AggregateFunctionParams) -> Result<String> {
        self.inner.display_name(params)
    }

    fn window_function_display_name(&self, params: &WindowFunctionParams) -> Result<String> {
        self.inner.window_function_display_name(params)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        self.inner.state_fields(args)
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        self.inner.groups_accumulator_supported(args)
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(CountedGroups {
            inner: self.inner.create_groups_accumulator(args)?,
            bytes: 0,
            groups: 0,
        }))
    }

    fn create_sliding_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(CountedAccumulator {
            inner: self.inner.create_sliding_accumulator(args)?,
            bytes: 0,
        }))
    }

    fn with_beneficial_ordering(
        self: Arc<Self>,
        beneficial_ordering: bool,
    ) -> Result<Option<Arc<dyn AggregateUDFImpl>>> {
        Arc::clone(&self.inner)
            .with_beneficial_ordering(beneficial_ordering)
            .map(|udf| udf.map(Counted::wrap))
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        self.inner.order_sensitivity()
    }

    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        self.inner.simplify()
    }

    fn simplify_expr_op_literal(
        &self,
        agg_function: &AggregateFunction,
        arg: &Expr,
        op: Operator,
        lit: &Expr,
        arg_is_left: bool,
    ) -> Result<Option<Expr>> {
        self.inner
            .simplify_expr_op_literal(agg_function, arg, op, lit, arg_is_left)
    }

    fn reverse_expr(&self) -> ReversedUDAF {
        match self.inner.reverse_expr() {
            ReversedUDAF::Reversed(udf) => ReversedUDAF::Reversed(Arc::new(
                AggregateUDF::new_from_shared_impl(Counted::wrap(Arc::clone(udf.inner()))),
            )),
            other => other,
        }
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn return_field(&self, arg_fields: &[FieldRef]) -> Result<FieldRef> {
        self.inner.return_field(arg_fields)
    }

    fn is_nullable(&self) -> bool {
        self.inner.is_nullable()
    }

    fn is_descending(&self) -> Option<bool> {
        self.inner.is_descending()
    }

    fn value_from_stats(&self, statistics_args: &StatisticsArgs) -> Option<ScalarValue> {
        self.inner.value_from_stats(statistics_args)
    }

    fn default_value(&self, data_type: &DataType) -> Result<ScalarValue> {
        self.inner.default_value(data_type)
    }

    fn supports_null_handling_clause(&self) -> bool {
        self.inner.supports_null_handling_clause()
    }

    fn supports_within_group_clause(&self) -> bool {
        self.inner.supports_within_group_clause()
    }

    fn set_monotonicity(&self, data_type: &DataType) -> SetMonotonicity {
        self.inner.set_monotonicity(data_type)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::execution::runtime_env::RuntimeEnvBuilder;
    use datafusion::prelude::SessionConfig;

    /// A session with the wrappers, under `limit` bytes, two partitions (so partial and final aggregates
    /// run).
    fn bounded(limit: usize) -> SessionContext {
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_limit(limit, 1.0)
            .build_arc()
            .expect("runtime");
        let config = SessionConfig::new().with_target_partitions(2);
        let mut ctx = SessionContext::new_with_config_rt(config, runtime);
        register(&mut ctx).expect("wrappers");
        ctx
    }

    async fn run(ctx: &SessionContext, sql: &str) -> Result<String> {
        let batches = ctx.sql(sql).await?.collect().await?;
        Ok(pretty_format_batches(&batches)?.to_string())
    }

    #[tokio::test]
    async fn wrapped_functions_return_what_datafusion_s_own_return() {
        let plain = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(2));
        let ctx = bounded(1 << 30);
        for sql in [
            "SELECT repeat('ab', 3) a, lpad('x', 5, 'é') b, rpad('x', 4) c, concat('a', NULL, 1) d, \
             concat_ws('-', 'a', NULL, 'b') e",
            "SELECT 'a' || NULL a, NULL || 'b' b, 'a' || 1 c, 1 || 'a' d, 'é' || 'x' e, 'a' || 'b' || 'c' f",
            "SELECT array_repeat(2, 3) a, array_resize([1, 2], 4, 0) b, range(1, 10, 3) c, \
             generate_series(1, 3) d, cardinality(generate_series(DATE '2024-01-01', DATE '2024-03-01', \
             INTERVAL '1 month')) e",
            "SELECT v, repeat(CAST(v AS VARCHAR), v % 4) r, CAST(v AS VARCHAR) || 'x' s, lpad(CAST(v AS VARCHAR), v, '0') p \
             FROM (VALUES (1), (2), (NULL), (12)) t(v) ORDER BY v",
            "SELECT array_agg(v ORDER BY v DESC) a, string_agg(CAST(v AS VARCHAR), ',' ORDER BY v) s \
             FROM (VALUES (1), (2), (3)) t(v)",
            "SELECT k, array_agg(v ORDER BY v) a, cardinality(array_agg(DISTINCT v)) d FROM \
             (VALUES ('a', 1), ('b', 2), ('a', 3), ('a', 3)) t(k, v) GROUP BY k ORDER BY k",
        ] {
            let expected = run(&plain, sql).await.expect(sql);
            assert_eq!(run(&ctx, sql).await.expect(sql), expected, "{sql}");
        }
    }

    #[tokio::test]
    async fn results_that_do_not_fit_are_refused_before_they_are_built() {
        let ctx = bounded(10_000_000);
        let refused = |e: datafusion::error::DataFusionError, name: &str| {
            let text = e.to_string();
            assert!(
                text.contains(name) && text.contains("exceeds the memory limit (10000000 bytes"),
                "{text}"
            );
        };
        // Four rows of 3 MB: 12 MB; two rows: 6 MB, built.
        let rows = |n: usize| {
            format!(
                "SELECT length(repeat(CAST(v AS VARCHAR), 3000000)) AS n FROM (VALUES {}) t(v)",
                vec!["(1)"; n].join(", ")
            )
        };
        refused(run(&ctx, &rows(4)).await.expect_err("12 MB"), "repeat()");
        assert!(run(&ctx, &rows(2)).await.is_ok());
        // A constant result is repeated over a batch: 2 kB x 8,192 rows is 16 MB.
        refused(
            run(&ctx, "SELECT repeat('x', 2000) AS s")
                .await
                .expect_err("broadcast"),
            "repeat()",
        );
        assert!(run(&ctx, "SELECT repeat('x', 1000) AS s").await.is_ok());
        for (sql, name) in [
            (
                "SELECT lpad(CAST(v AS VARCHAR), 20000000) FROM (VALUES (1)) t(v)",
                "lpad()",
            ),
            (
                "SELECT array_repeat(v, 2000000) FROM (VALUES (1)) t(v)",
                "array_repeat()",
            ),
            ("SELECT range(v, 2000000) FROM (VALUES (1)) t(v)", "range()"),
            (
                "SELECT s || s FROM (SELECT repeat(CAST(v AS VARCHAR), 6000000) AS s FROM (VALUES (1)) t(v)) u",
                "the || operator",
            ),
            (
                "SELECT concat(s, s) FROM (SELECT repeat(CAST(v AS VARCHAR), 6000000) AS s FROM (VALUES (1)) t(v)) u",
                "concat()",
            ),
        ] {
            refused(run(&ctx, sql).await.expect_err(sql), name);
        }
    }

    #[tokio::test]
    async fn array_agg_counts_the_text_it_holds() {
        // 20,000 values of 1,000 bytes (views of text built per row): 20 MB held, over a 10 MB limit.
        let ctx = bounded(10_000_000);
        let e = run(
            &ctx,
            "SELECT cardinality(array_agg(repeat(CAST(value AS VARCHAR), 200))) FROM range(10000, 30000)",
        )
        .await
        .expect_err("20 MB");
        // The aggregate's reservation fails, or the next batch's values no longer fit beside what it holds;
        // counted by DataFusion alone (16 bytes a value) it held all 20 MB and finished.
        let text = e.to_string();
        assert!(
            text.contains("Resources exhausted") || text.contains("exceeds the memory limit"),
            "{text}"
        );
    }
}
