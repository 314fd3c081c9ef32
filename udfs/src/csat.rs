//! `csat(score [, scale_max])`: customer-satisfaction score (top-two-box).

use std::sync::LazyLock;

use datafusion::arrow::array::{ArrayRef, BooleanArray};
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{AggregateUDFImpl, Documentation, Signature, Volatility};
use datafusion::physical_expr::expressions::Literal;

use crate::kpi::{Kpi, kpi_udaf_methods, numbers};
use crate::scores::{ScoreRule, coerce_number, tally_scores};
use crate::{DOC_SECTION, percent};

const SIGNATURES: &str = "csat(score), csat(score, scale_max)";
const DEFAULT_SCALE_MAX: i64 = 5;

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "Customer-satisfaction score as the top-two-box share: the percentage of non-NULL answers that are \
         satisfied, i.e. score >= scale_max - 1 (4 or 5 on the default 1–5 scale). Result in [0, 100] \
         (Float64). NULL scores are skipped; an empty or all-NULL group gives NULL. A score outside \
         1..scale_max (or NaN) is an error.",
        "csat(score [, scale_max])",
    )
    .with_argument(
        "score",
        "The answer on the 1–scale_max scale: any integer, float or decimal column or expression.",
    )
    .with_argument(
        "scale_max",
        "Optional constant integer >= 2, the top of the scale (default 5). Anything else is a planning error.",
    )
    .with_sql_example(
        "```sql\n\
         > SELECT channel, csat(csat_score) AS csat FROM surveys GROUP BY channel;\n\
         > SELECT csat(score) AS csat FROM (VALUES (5), (4), (3), (1)) AS t(score);\n\
         +------+\n\
         | csat |\n\
         +------+\n\
         | 50.0 |\n\
         +------+\n\
         > SELECT csat(score, 7) FROM (VALUES (7), (6), (5)) AS t(score); -- 66.66666666666667\n\
         ```",
    )
    .with_related_udf("nps")
    .build()
});

/// `csat(score [, scale_max])`: top-two-box satisfaction in percent.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Csat {
    signature: Signature,
}

impl Default for Csat {
    fn default() -> Self {
        Self::new()
    }
}

impl Csat {
    /// The function, ready to register.
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    fn kpi(&self, args: &AccumulatorArgs) -> Result<CsatKpi> {
        csat_kpi("csat", args)
    }
}

impl AggregateUDFImpl for Csat {
    fn name(&self) -> &str {
        "csat"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let score = |t| coerce_number("csat", "score", SIGNATURES, t);
        match args {
            [s] => Ok(vec![score(s)?]),
            [s, m] if m.is_integer() => Ok(vec![score(s)?, DataType::Int64]),
            [_, m] => plan_err!(
                "csat: scale_max must be a constant integer >= 2, got type {m}; accepted signatures: {SIGNATURES}"
            ),
            _ => plan_err!(
                "csat takes 1 or 2 arguments, got {}; accepted signatures: {SIGNATURES}",
                args.len()
            ),
        }
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    kpi_udaf_methods!(CsatKpi, 2);
}

/// The CSAT counters of a call whose argument 1, if any, is `scale_max`; `function` names the caller in
/// messages (`csat`, `csat_ci`).
pub(crate) fn csat_kpi(function: &'static str, args: &AccumulatorArgs) -> Result<CsatKpi> {
    let Some(expr) = args.exprs.get(1) else {
        return Ok(CsatKpi {
            scale_max: DEFAULT_SCALE_MAX,
            name: function,
        });
    };
    let value = expr.downcast_ref::<Literal>().map(Literal::value);
    match value {
        Some(ScalarValue::Int64(Some(m))) if *m >= 2 => Ok(CsatKpi {
            scale_max: *m,
            name: function,
        }),
        Some(v) => plan_err!("{function}: scale_max must be an integer >= 2, got {v}"),
        None => plan_err!(
            "{function}: scale_max must be a constant integer >= 2, got the expression {expr}"
        ),
    }
}

/// Counters: responses, satisfied.
#[derive(Debug, Clone)]
pub(crate) struct CsatKpi {
    pub(crate) scale_max: i64,
    /// The calling function, for messages.
    pub(crate) name: &'static str,
}

impl ScoreRule<2> for CsatKpi {
    const NAME: &'static str = "csat";
    const WHAT: &'static str = "score";

    fn range(&self) -> (i64, i64) {
        (1, self.scale_max)
    }

    fn range_text(&self) -> String {
        format!("the 1..{} scale", self.scale_max)
    }

    fn cuts(&self) -> [i64; 2] {
        [self.scale_max - 1, self.scale_max]
    }

    #[inline]
    fn classify<W: PartialOrd>(&self, v: W, [satisfied, _]: &[W; 2]) -> [i64; 2] {
        [1, i64::from(v >= *satisfied)]
    }

    fn name(&self) -> &'static str {
        self.name
    }
}

impl Kpi<2> for CsatKpi {
    type C = i64;
    const STATE: [&'static str; 2] = ["responses", "satisfied"];

    fn tally<F: FnMut(usize, [i64; 2])>(
        &self,
        args: &[ArrayRef],
        filter: Option<&BooleanArray>,
        f: F,
    ) -> Result<()> {
        tally_scores(self, &args[0], filter, f)
    }

    fn finish_array(&self, states: &[[i64; 2]]) -> Result<ArrayRef> {
        Ok(numbers::<Float64Type, _>(states, |&[n, satisfied]| {
            percent(satisfied, n)
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Float32Array, Int64Array};

    use super::*;
    use crate::kpi::test_util::{check_paths, eval_plain};

    const FIVE: CsatKpi = CsatKpi {
        scale_max: 5,
        name: "csat",
    };

    fn ints(v: &[Option<i64>]) -> Vec<ArrayRef> {
        vec![Arc::new(Int64Array::from(v.to_vec()))]
    }

    fn value(s: ScalarValue) -> Option<f64> {
        match s {
            ScalarValue::Float64(v) => v,
            other => panic!("not a Float64: {other:?}"),
        }
    }

    #[test]
    fn top_two_box_share_of_non_null_answers() {
        // Satisfied: 5, 4, 4 of 1, 2, 3, 4, 4, 5 (NULLs skipped) = 3 / 6.
        let a = ints(&[Some(1), Some(2), None, Some(3)]);
        let b = ints(&[Some(4), Some(4), Some(5), None]);
        assert_eq!(value(check_paths(&FIVE, &[a, b]).unwrap()), Some(50.0));
    }

    #[test]
    fn scale_max_moves_the_boxes() {
        let seven = CsatKpi {
            scale_max: 7,
            name: "csat",
        };
        let a = ints(&[Some(7), Some(6), Some(5)]);
        let b = ints(&[Some(1)]);
        assert_eq!(value(check_paths(&seven, &[a, b]).unwrap()), Some(50.0));
        let two = CsatKpi {
            scale_max: 2,
            name: "csat",
        };
        // On a 1–2 scale both answers are in the top two boxes.
        assert_eq!(
            value(eval_plain(&two, &[ints(&[Some(1), Some(2)])]).unwrap()),
            Some(100.0)
        );
    }

    #[test]
    fn empty_and_all_null_are_null() {
        assert_eq!(value(eval_plain(&FIVE, &[]).unwrap()), None);
        assert_eq!(value(eval_plain(&FIVE, &[ints(&[None])]).unwrap()), None);
    }

    #[test]
    fn fractional_scores_below_the_box_are_not_satisfied() {
        let f: ArrayRef = Arc::new(Float32Array::from(vec![3.9, 4.0, 4.5]));
        let v = value(eval_plain(&FIVE, &[vec![f]]).unwrap()).unwrap();
        assert!((v - 200.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn out_of_range_scores_are_errors_naming_the_value() {
        let err = eval_plain(&FIVE, &[ints(&[Some(0)])]).unwrap_err();
        assert!(
            err.to_string()
                .contains("csat: score 0 is outside the 1..5 scale"),
            "{err}"
        );
        let err = eval_plain(&FIVE, &[ints(&[Some(6)])]).unwrap_err();
        assert!(
            err.to_string()
                .contains("score 6 is outside the 1..5 scale"),
            "{err}"
        );
    }
}
