//! `servqual_gap(perception, expectation [, weight])`: SERVQUAL gap score.

use std::sync::LazyLock;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::datatypes::FieldRef;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::AggregateOrderSensitivity;
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, ReversedUDAF, Signature,
    Volatility,
};

use crate::DOC_SECTION;
use crate::kpi::{
    Kpi, KpiAccumulator, KpiGroupsAccumulator, for_each_valid, numbers, reject_distinct,
    state_fields, valid_rows,
};
use crate::scores::coerce_number;

const SIGNATURES: &str =
    "servqual_gap(perception, expectation), servqual_gap(perception, expectation, weight)";

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "SERVQUAL gap score: the mean of (perception - expectation) over the rows where both are non-NULL; \
         with a weight, the weighted mean Σ w·(P - E) / Σ w over the rows where all three are non-NULL. \
         Negative means service below expectations. Use `GROUP BY dimension` for the five SERVQUAL \
         dimensions (tangibles, reliability, responsiveness, assurance, empathy). Result Float64, in the \
         units of the scale (e.g. -6..6 for 1–7 items). An empty or all-NULL group gives NULL, and so does a \
         group whose weights are all 0. A negative, infinite or NaN weight is an error; perceptions and expectations \
         are not range-checked (a NaN makes the result NaN).",
        "servqual_gap(perception, expectation [, weight])",
    )
    .with_argument("perception", "Perceived service, any numeric column (usually a 1–7 item).")
    .with_argument("expectation", "Expected service on the same scale.")
    .with_argument(
        "weight",
        "Optional non-negative weight of the row, e.g. the importance of its dimension.",
    )
    .with_sql_example(
        "```sql\n\
         > SELECT dimension, servqual_gap(perception, expectation) AS gap\n\
         \x20 FROM servqual GROUP BY dimension ORDER BY gap;\n\
         > SELECT servqual_gap(p, e) AS gap FROM (VALUES (5, 6), (7, 6), (3, 6)) AS t(p, e);\n\
         +------+\n\
         | gap  |\n\
         +------+\n\
         | -1.0 |\n\
         +------+\n\
         > SELECT servqual_gap(p, e, w) FROM (VALUES (5, 6, 3.0), (7, 6, 1.0)) AS t(p, e, w); -- -0.5\n\
         ```",
    )
    .build()
});

/// `servqual_gap(perception, expectation [, weight])`: mean (weighted) perception minus expectation.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ServqualGap {
    signature: Signature,
}

impl Default for ServqualGap {
    fn default() -> Self {
        Self::new()
    }
}

impl ServqualGap {
    /// The function, ready to register.
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for ServqualGap {
    fn name(&self) -> &str {
        "servqual_gap"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        const NAMES: [&str; 3] = ["perception", "expectation", "weight"];
        if !(2..=3).contains(&args.len()) {
            return plan_err!(
                "servqual_gap takes 2 or 3 arguments, got {}; accepted signatures: {SIGNATURES}",
                args.len()
            );
        }
        // Sums are kept in Float64, so every argument is read as one.
        args.iter()
            .zip(NAMES)
            .map(|(t, name)| {
                coerce_number("servqual_gap", name, SIGNATURES, t).map(|_| DataType::Float64)
            })
            .collect()
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    // The unweighted form keeps two counters instead of three: the row count is the weight sum.
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(match args.input_fields.len() {
            2 => state_fields::<ServqualMean, 2>(args.name),
            _ => state_fields::<ServqualWeighted, 3>(args.name),
        })
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        reject_distinct(&args)?;
        Ok(match args.exprs.len() {
            2 => Box::new(KpiAccumulator::new(ServqualMean)),
            _ => Box::new(KpiAccumulator::new(ServqualWeighted)),
        })
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        reject_distinct(&args)?;
        Ok(match args.exprs.len() {
            2 => Box::new(KpiGroupsAccumulator::new(ServqualMean)),
            _ => Box::new(KpiGroupsAccumulator::new(ServqualWeighted)),
        })
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        AggregateOrderSensitivity::Insensitive
    }

    fn reverse_expr(&self) -> ReversedUDAF {
        ReversedUDAF::Identical
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}

/// The unweighted form. Counters: Σ (P - E), rows.
#[derive(Debug, Clone)]
pub(crate) struct ServqualMean;

impl Kpi<2> for ServqualMean {
    type C = f64;
    const STATE: [&'static str; 2] = ["gap_sum", "rows"];

    fn tally<F: FnMut(usize, [f64; 2])>(
        &self,
        args: &[ArrayRef],
        filter: Option<&BooleanArray>,
        mut f: F,
    ) -> Result<()> {
        let p = args[0].as_primitive::<Float64Type>();
        let e = args[1].as_primitive::<Float64Type>();
        let (pv, ev) = (p.values(), e.values());
        let valid = valid_rows(&[p as &dyn Array, e], filter);
        for_each_valid(p.len(), valid.as_ref(), |row| {
            f(row, [pv[row] - ev[row], 1.0])
        });
        Ok(())
    }

    fn finish_array(&self, states: &[[f64; 2]]) -> Result<ArrayRef> {
        Ok(numbers::<Float64Type, _>(states, |&[gap_sum, rows]| {
            (rows > 0.0).then(|| gap_sum / rows)
        }))
    }
}

/// The weighted form. Counters: Σ w·(P - E), Σ w, rows.
#[derive(Debug, Clone)]
pub(crate) struct ServqualWeighted;

impl Kpi<3> for ServqualWeighted {
    type C = f64;
    const STATE: [&'static str; 3] = ["weighted_gap_sum", "weight_sum", "rows"];

    fn tally<F: FnMut(usize, [f64; 3])>(
        &self,
        args: &[ArrayRef],
        filter: Option<&BooleanArray>,
        mut f: F,
    ) -> Result<()> {
        let p = args[0].as_primitive::<Float64Type>();
        let e = args[1].as_primitive::<Float64Type>();
        let w = args[2].as_primitive::<Float64Type>();
        let (pv, ev, wv) = (p.values(), e.values(), w.values());
        let valid = valid_rows(&[p as &dyn Array, e, w], filter);
        let mut bad = None;
        for_each_valid(p.len(), valid.as_ref(), |row| {
            let weight = wv[row];
            // Written so that NaN fails too; an infinite weight would make the mean NaN.
            if weight >= 0.0 && weight.is_finite() {
                f(row, [weight * (pv[row] - ev[row]), weight, 1.0]);
            } else if bad.is_none() {
                bad = Some(weight);
            }
        });
        match bad {
            None => Ok(()),
            Some(weight) => exec_err!(
                "servqual_gap: weight {weight} is invalid; weights must be finite non-negative numbers"
            ),
        }
    }

    fn finish_array(&self, states: &[[f64; 3]]) -> Result<ArrayRef> {
        Ok(numbers::<Float64Type, _>(
            states,
            |&[gap_sum, weight_sum, rows]| {
                (rows > 0.0 && weight_sum != 0.0).then(|| gap_sum / weight_sum)
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::Float64Array;
    use datafusion::common::ScalarValue;

    use super::*;
    use crate::kpi::test_util::{check_paths, eval_plain};

    fn cols(cols: &[&[Option<f64>]]) -> Vec<ArrayRef> {
        cols.iter()
            .map(|c| Arc::new(Float64Array::from(c.to_vec())) as ArrayRef)
            .collect()
    }

    fn value(s: ScalarValue) -> Option<f64> {
        match s {
            ScalarValue::Float64(v) => v,
            other => panic!("not a Float64: {other:?}"),
        }
    }

    #[test]
    fn mean_gap_over_complete_pairs() {
        // Pairs (5,6), (7,6), (3,6) count; (NULL,6) and (4,NULL) do not: (-1 + 1 - 3) / 3 = -1.
        let a = cols(&[
            &[Some(5.0), None, Some(7.0)],
            &[Some(6.0), Some(6.0), Some(6.0)],
        ]);
        let b = cols(&[&[Some(3.0), Some(4.0)], &[Some(6.0), None]]);
        assert_eq!(
            value(check_paths(&ServqualMean, &[a, b]).unwrap()),
            Some(-1.0)
        );
    }

    #[test]
    fn weighted_mean_gap() {
        // (3·(5-6) + 1·(7-6)) / 4 = -0.5; the row with a NULL weight is skipped.
        let a = cols(&[
            &[Some(5.0), Some(1.0)],
            &[Some(6.0), Some(7.0)],
            &[Some(3.0), None],
        ]);
        let b = cols(&[&[Some(7.0)], &[Some(6.0)], &[Some(1.0)]]);
        assert_eq!(
            value(check_paths(&ServqualWeighted, &[a, b]).unwrap()),
            Some(-0.5)
        );
    }

    #[test]
    fn empty_all_null_and_zero_weight_groups_are_null() {
        assert_eq!(value(eval_plain(&ServqualMean, &[]).unwrap()), None);
        assert_eq!(value(eval_plain(&ServqualWeighted, &[]).unwrap()), None);
        let nulls = cols(&[&[None, Some(1.0)], &[Some(1.0), None]]);
        assert_eq!(value(eval_plain(&ServqualMean, &[nulls]).unwrap()), None);
        let zero = cols(&[&[Some(1.0)], &[Some(3.0)], &[Some(0.0)]]);
        assert_eq!(value(eval_plain(&ServqualWeighted, &[zero]).unwrap()), None);
    }

    #[test]
    fn negative_infinite_or_nan_weight_is_an_error() {
        let neg = cols(&[&[Some(1.0)], &[Some(3.0)], &[Some(-2.0)]]);
        let err = eval_plain(&ServqualWeighted, &[neg]).unwrap_err();
        assert!(
            err.to_string()
                .contains("servqual_gap: weight -2 is invalid"),
            "{err}"
        );
        let nan = cols(&[&[Some(1.0)], &[Some(3.0)], &[Some(f64::NAN)]]);
        assert!(eval_plain(&ServqualWeighted, &[nan]).is_err());
        let inf = cols(&[&[Some(1.0)], &[Some(3.0)], &[Some(f64::INFINITY)]]);
        let err = eval_plain(&ServqualWeighted, &[inf]).unwrap_err();
        assert!(err.to_string().contains("weight inf is invalid"), "{err}");
    }
}
