//! The machinery every KPI aggregate shares: a KPI is a fixed set of additive counters per group (counts, sums)
//! and a final formula over them. From that description this module derives the plain `Accumulator` (with
//! `retract_batch`, for sliding window frames) and the grouped fast path (`GroupsAccumulator`), so that both
//! paths run the same per-row code and merge states exactly.

use std::fmt::Debug;
use std::marker::PhantomData;
use std::mem::size_of;
use std::ops::{AddAssign, SubAssign};
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, ArrowPrimitiveType, AsArray, BooleanArray, PrimitiveArray,
};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::datatypes::{ArrowNativeType, Field, FieldRef, Float64Type, Int64Type};
use datafusion::common::{Result, ScalarValue, internal_err};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{Accumulator, EmitTo, GroupsAccumulator};
use datafusion_functions_aggregate_common::aggregate::groups_accumulator::nulls::filtered_null_mask;

/// A per-group counter: `i64` for counts, `f64` for sums.
pub(crate) trait Counter:
    ArrowNativeType + AddAssign + SubAssign + Default + Debug + Send + Sync
{
    type Arrow: ArrowPrimitiveType<Native = Self>;
}

impl Counter for i64 {
    type Arrow = Int64Type;
}

impl Counter for f64 {
    type Arrow = Float64Type;
}

/// One KPI: `N` additive counters per group and the formula that turns them into the result.
///
/// Implementations only say how one row contributes (`tally`) and how counters become a value (`finish`);
/// because counters only ever add up, partial states merge exactly and rows can be retracted.
pub(crate) trait Kpi<const N: usize>: Clone + Debug + Send + Sync + 'static {
    /// The counter type of the state.
    type C: Counter;
    /// Names of the state columns, in order.
    const STATE: [&'static str; N];

    /// Calls `f(row, increments)` for every row of the batch that counts (its inputs are not NULL and it passes
    /// the optional filter). Returns an error naming the function and the value when a row is out of range.
    fn tally<F: FnMut(usize, [Self::C; N])>(
        &self,
        args: &[ArrayRef],
        filter: Option<&BooleanArray>,
        f: F,
    ) -> Result<()>;

    /// The results of many groups from their counters, as an array of the function's return type: one number
    /// per group for most KPIs (see [`numbers`]), a struct for composite results (`nps_ci`, `nps_diff_test`).
    /// NULL where the group has no result (no answers).
    fn finish_array(&self, states: &[[Self::C; N]]) -> Result<ArrayRef>;
}

/// One number per group: `value` of each group's counters (`None` is SQL NULL), as an array of `O`.
pub(crate) fn numbers<O: ArrowPrimitiveType, S>(
    states: &[S],
    value: impl Fn(&S) -> Option<O::Native>,
) -> ArrayRef {
    let result: PrimitiveArray<O> = states.iter().map(value).collect();
    Arc::new(result)
}

/// The state fields of a KPI, named after the aggregate expression so that they are unique in a plan.
pub(crate) fn state_fields<K: Kpi<N>, const N: usize>(name: &str) -> Vec<FieldRef> {
    K::STATE
        .iter()
        .map(|s| {
            Arc::new(Field::new(
                format_state_name(name, s),
                <K::C as Counter>::Arrow::DATA_TYPE,
                false,
            ))
        })
        .collect()
}

/// The rows of a batch that count: valid in every column of `required` and passing `filter`.
/// `None` means every row counts.
pub(crate) fn valid_rows(
    required: &[&dyn Array],
    filter: Option<&BooleanArray>,
) -> Option<NullBuffer> {
    let mut valid = match required.first() {
        Some(first) => filtered_null_mask(filter, *first),
        None => None,
    };
    for array in required.iter().skip(1) {
        valid = NullBuffer::union(valid.as_ref(), array.nulls());
    }
    valid
}

/// Calls `f(row)` for each of the `len` rows that `valid` marks valid (all rows when `valid` is `None`).
#[inline]
pub(crate) fn for_each_valid(len: usize, valid: Option<&NullBuffer>, f: impl FnMut(usize)) {
    match valid {
        None => (0..len).for_each(f),
        Some(nulls) if nulls.null_count() == len => {}
        Some(nulls) => {
            // 64 rows at a time: a run of valid rows (the usual case) is a plain loop, not a bit search per row.
            let mut f = f;
            for (base, word) in (0..len).step_by(64).zip(validity_words(Some(nulls))) {
                set_bits(word, base, &mut f);
            }
        }
    }
}

/// The validity of rows 64 at a time (bit `i` of word `k` is row `64k + i`), the last word padded with zeros;
/// all ones without a buffer. Endless: zip it with the rows' words.
pub(crate) fn validity_words(nulls: Option<&NullBuffer>) -> impl Iterator<Item = u64> + '_ {
    nulls
        .map(|n| {
            let chunks = n.inner().bit_chunks();
            chunks
                .iter()
                .chain(std::iter::once(chunks.remainder_bits()))
        })
        .into_iter()
        .flatten()
        .chain(std::iter::repeat(u64::MAX))
}

/// Calls `f(base + i)` for each bit `i` set in `bits`, lowest first; a full word is a plain loop.
#[inline]
pub(crate) fn set_bits(mut bits: u64, base: usize, f: &mut impl FnMut(usize)) {
    if bits == u64::MAX {
        (base..base + 64).for_each(f);
        return;
    }
    while bits != 0 {
        f(base + bits.trailing_zeros() as usize);
        bits &= bits - 1;
    }
}

fn add<C: Counter, const N: usize>(state: &mut [C; N], inc: [C; N]) {
    for (s, i) in state.iter_mut().zip(inc) {
        *s += i;
    }
}

fn state_columns<C: Counter, const N: usize>(states: &[ArrayRef]) -> Result<[&[C]; N]> {
    if states.len() != N {
        return internal_err!("expected {N} state columns, got {}", states.len());
    }
    let mut cols: [&[C]; N] = [&[]; N];
    for (col, array) in cols.iter_mut().zip(states) {
        match array.as_primitive_opt::<C::Arrow>() {
            Some(a) => *col = a.values(),
            None => {
                return internal_err!(
                    "state column of type {} where {} was expected",
                    array.data_type(),
                    C::Arrow::DATA_TYPE
                );
            }
        }
    }
    Ok(cols)
}

fn to_state_arrays<C: Counter, const N: usize>(states: &[[C; N]]) -> Vec<ArrayRef> {
    (0..N)
        .map(|i| {
            let col: Vec<C> = states.iter().map(|s| s[i]).collect();
            Arc::new(PrimitiveArray::<C::Arrow>::from_iter_values(col)) as ArrayRef
        })
        .collect()
}

/// The plain accumulator of a KPI: one group, used without GROUP BY and in window frames.
#[derive(Debug)]
pub(crate) struct KpiAccumulator<K: Kpi<N>, const N: usize> {
    kpi: K,
    state: [K::C; N],
}

impl<K: Kpi<N>, const N: usize> KpiAccumulator<K, N> {
    pub(crate) fn new(kpi: K) -> Self {
        Self {
            kpi,
            state: [K::C::default(); N],
        }
    }
}

impl<K: Kpi<N>, const N: usize> Accumulator for KpiAccumulator<K, N> {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let state = &mut self.state;
        self.kpi.tally(values, None, |_, inc| add(state, inc))
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let state = &mut self.state;
        self.kpi.tally(values, None, |_, inc| {
            for (s, i) in state.iter_mut().zip(inc) {
                *s -= i;
            }
        })
    }

    fn supports_retract_batch(&self) -> bool {
        true
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let cols = state_columns::<K::C, N>(states)?;
        for (s, col) in self.state.iter_mut().zip(cols) {
            for &v in col {
                *s += v;
            }
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.state
            .iter()
            .map(|&v| {
                ScalarValue::new_primitive::<<K::C as Counter>::Arrow>(
                    Some(v),
                    &<K::C as Counter>::Arrow::DATA_TYPE,
                )
            })
            .collect()
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let result = self.kpi.finish_array(std::slice::from_ref(&self.state))?;
        ScalarValue::try_from_array(&result, 0)
    }

    fn size(&self) -> usize {
        size_of::<Self>()
    }
}

/// The grouped fast path of a KPI: one counter array per batch of groups, updated in one pass over the rows.
#[derive(Debug)]
pub(crate) struct KpiGroupsAccumulator<K: Kpi<N>, const N: usize> {
    kpi: K,
    states: Vec<[K::C; N]>,
    _counter: PhantomData<K::C>,
}

impl<K: Kpi<N>, const N: usize> KpiGroupsAccumulator<K, N> {
    pub(crate) fn new(kpi: K) -> Self {
        Self {
            kpi,
            states: Vec::new(),
            _counter: PhantomData,
        }
    }
}

impl<K: Kpi<N>, const N: usize> GroupsAccumulator for KpiGroupsAccumulator<K, N> {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.states.resize(total_num_groups, [K::C::default(); N]);
        let states = &mut self.states;
        self.kpi.tally(values, opt_filter, |row, inc| {
            add(&mut states[group_indices[row]], inc)
        })
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.states.resize(total_num_groups, [K::C::default(); N]);
        let cols = state_columns::<K::C, N>(values)?;
        for (row, &g) in group_indices.iter().enumerate() {
            let state = &mut self.states[g];
            for (s, col) in state.iter_mut().zip(&cols) {
                *s += col[row];
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let states = emit_to.take_needed(&mut self.states);
        self.kpi.finish_array(&states)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let states = emit_to.take_needed(&mut self.states);
        Ok(to_state_arrays(&states))
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let rows = values.first().map_or(0, |v| v.len());
        let mut states = vec![[K::C::default(); N]; rows];
        self.kpi
            .tally(values, opt_filter, |row, inc| states[row] = inc)?;
        Ok(to_state_arrays(&states))
    }

    fn size(&self) -> usize {
        self.states.capacity() * size_of::<[K::C; N]>() + size_of::<Self>()
    }
}

/// The constant value of argument `i` (a literal after planning), if it is one.
pub(crate) fn literal(
    args: &datafusion::logical_expr::function::AccumulatorArgs,
    i: usize,
) -> Option<ScalarValue> {
    args.exprs
        .get(i)
        .and_then(|e| e.downcast_ref::<datafusion::physical_expr::expressions::Literal>())
        .map(|l| l.value().clone())
}

/// KPIs are defined over all responses; `nps(DISTINCT score)` would silently mean something else.
pub(crate) fn reject_distinct(
    args: &datafusion::logical_expr::function::AccumulatorArgs,
) -> Result<()> {
    if args.is_distinct {
        return datafusion::common::plan_err!(
            "{}: DISTINCT is not supported; a KPI counts every response",
            args.name
        );
    }
    Ok(())
}

/// The `AggregateUDFImpl` methods that every KPI function shares, written once. The function's struct provides
/// `fn kpi(&self, args: &AccumulatorArgs) -> Result<K>`, which reads constant arguments.
macro_rules! kpi_udaf_methods {
    ($kpi:ty, $n:literal) => {
        $crate::kpi::kpi_udaf_methods!($kpi, $n, static_documentation);

        fn documentation(&self) -> Option<&datafusion::logical_expr::Documentation> {
            Some(&DOCUMENTATION)
        }
    };
    // Without `documentation`: the function writes its own.
    ($kpi:ty, $n:literal, static_documentation) => {
        fn state_fields(
            &self,
            args: datafusion::logical_expr::function::StateFieldsArgs,
        ) -> datafusion::common::Result<Vec<datafusion::arrow::datatypes::FieldRef>> {
            Ok($crate::kpi::state_fields::<$kpi, $n>(args.name))
        }

        fn accumulator(
            &self,
            args: datafusion::logical_expr::function::AccumulatorArgs,
        ) -> datafusion::common::Result<Box<dyn datafusion::logical_expr::Accumulator>> {
            $crate::kpi::reject_distinct(&args)?;
            Ok(Box::new($crate::kpi::KpiAccumulator::<$kpi, $n>::new(
                self.kpi(&args)?,
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
            $crate::kpi::reject_distinct(&args)?;
            Ok(Box::new(
                $crate::kpi::KpiGroupsAccumulator::<$kpi, $n>::new(self.kpi(&args)?),
            ))
        }

        fn order_sensitivity(&self) -> datafusion::logical_expr::utils::AggregateOrderSensitivity {
            datafusion::logical_expr::utils::AggregateOrderSensitivity::Insensitive
        }

        fn reverse_expr(&self) -> datafusion::logical_expr::ReversedUDAF {
            datafusion::logical_expr::ReversedUDAF::Identical
        }
    };
}
pub(crate) use kpi_udaf_methods;

#[cfg(test)]
pub(crate) mod test_util {
    //! Drives a KPI through both accumulator paths, so each function's tests can check that they agree.

    use super::*;

    /// Evaluates `kpi` over `batches` with the plain accumulator, one batch at a time.
    pub(crate) fn eval_plain<K: Kpi<N>, const N: usize>(
        kpi: &K,
        batches: &[Vec<ArrayRef>],
    ) -> Result<ScalarValue> {
        let mut acc = KpiAccumulator::new(kpi.clone());
        for b in batches {
            acc.update_batch(b)?;
        }
        acc.evaluate()
    }

    /// Checks the laws that make a KPI's paths interchangeable on `batches` (at least two):
    /// - plain, grouped (all rows in group 0), and plain-with-merged-partial-states give the same value;
    /// - a grouped state merges into a plain accumulator and the reverse;
    /// - `convert_to_state` rows merged together equal the direct result;
    /// - update then retract of a batch returns to the previous value.
    ///
    /// Returns the common value.
    pub(crate) fn check_paths<K: Kpi<N>, const N: usize>(
        kpi: &K,
        batches: &[Vec<ArrayRef>],
    ) -> Result<ScalarValue> {
        let direct = eval_plain(kpi, batches)?;

        // Grouped: every row in group 0, plus an untouched group 1 that must stay "empty".
        let mut groups = KpiGroupsAccumulator::new(kpi.clone());
        for b in batches {
            let n = b[0].len();
            groups.update_batch(b, &vec![0; n], None, 2)?;
        }
        let grouped = groups.evaluate(EmitTo::All)?;
        assert_eq!(
            ScalarValue::try_from_array(&grouped, 0)?,
            direct,
            "grouped vs plain"
        );
        let empty = eval_plain(kpi, &[])?;
        assert_eq!(
            ScalarValue::try_from_array(&grouped, 1)?,
            empty,
            "untouched group"
        );

        // Partial states: plain state of the first batch merged with grouped state of the rest.
        let mut first = KpiAccumulator::new(kpi.clone());
        first.update_batch(&batches[0])?;
        let plain_state: Vec<ArrayRef> = first
            .state()?
            .iter()
            .map(|s| s.to_array())
            .collect::<Result<_>>()?;
        let mut rest = KpiGroupsAccumulator::new(kpi.clone());
        for b in &batches[1..] {
            rest.update_batch(b, &vec![0; b[0].len()], None, 1)?;
        }
        rest.merge_batch(&plain_state, &[0], 1)?;
        let merged = rest.evaluate(EmitTo::All)?;
        assert_eq!(
            ScalarValue::try_from_array(&merged, 0)?,
            direct,
            "plain state into groups"
        );

        let mut rest = KpiGroupsAccumulator::new(kpi.clone());
        for b in &batches[1..] {
            rest.update_batch(b, &vec![0; b[0].len()], None, 1)?;
        }
        let mut final_acc = KpiAccumulator::new(kpi.clone());
        final_acc.merge_batch(&rest.state(EmitTo::All)?)?;
        final_acc.merge_batch(&plain_state)?;
        assert_eq!(final_acc.evaluate()?, direct, "group state into plain");

        // Skipped partial aggregation: one state row per input row, merged.
        let mut converted = KpiGroupsAccumulator::new(kpi.clone());
        for b in batches {
            let state = converted.convert_to_state(b, None)?;
            converted.merge_batch(&state, &vec![0; b[0].len()], 1)?;
        }
        let converted = converted.evaluate(EmitTo::All)?;
        assert_eq!(
            ScalarValue::try_from_array(&converted, 0)?,
            direct,
            "convert_to_state"
        );

        // Retraction undoes an update.
        let mut acc = KpiAccumulator::new(kpi.clone());
        acc.update_batch(&batches[0])?;
        let before = acc.evaluate()?;
        acc.update_batch(&batches[1])?;
        acc.retract_batch(&batches[1])?;
        assert_eq!(acc.evaluate()?, before, "retract");

        Ok(direct)
    }
}

#[cfg(test)]
mod for_each_valid_tests {
    use datafusion::arrow::buffer::{BooleanBuffer, NullBuffer};

    use super::for_each_valid;

    /// Every length, offset and pattern (runs of valid rows, single gaps, all null) visits exactly the rows
    /// arrow's own iterator yields, in order.
    #[test]
    fn visits_the_valid_rows_in_order() {
        let patterns: [fn(usize) -> bool; 4] = [
            |i| i % 7 != 3,
            |i| (i / 64) % 2 == 0,
            |i| i % 2 == 0,
            |_| false,
        ];
        for pattern in patterns {
            let bits = BooleanBuffer::from_iter((0..300).map(pattern));
            for offset in [0, 1, 63, 64, 65] {
                for len in [0, 1, 63, 64, 65, 130, 300 - offset] {
                    let nulls = NullBuffer::new(bits.slice(offset, len.min(300 - offset)));
                    let mut seen = Vec::new();
                    for_each_valid(nulls.len(), Some(&nulls), |row| seen.push(row));
                    let expected: Vec<usize> = nulls.valid_indices().collect();
                    assert_eq!(seen, expected, "offset {offset} len {len}");
                }
            }
        }
        let mut all = Vec::new();
        for_each_valid(5, None, |row| all.push(row));
        assert_eq!(all, [0, 1, 2, 3, 4]);
    }
}
