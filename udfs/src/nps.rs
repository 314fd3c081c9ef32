//! `nps(score)`: Net Promoter Score.

use std::sync::LazyLock;

use datafusion::arrow::array::{ArrayRef, BooleanArray};
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{AggregateUDFImpl, Documentation, Signature, Volatility};

use crate::kpi::{Kpi, kpi_udaf_methods, numbers};
use crate::scores::{ScoreRule, coerce_number, tally_scores};
use crate::{DOC_SECTION, percent};

const SIGNATURES: &str = "nps(score)";

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "Net Promoter Score of 0–10 \"how likely are you to recommend us\" answers: the percentage of \
         promoters (score 9 or 10) minus the percentage of detractors (0 to 6), over the non-NULL answers. \
         Passives (7 and 8) count only in the denominator. Result in [-100, 100] (Float64). NULL scores are \
         skipped; an empty or all-NULL group gives NULL. A score outside 0..10 (or NaN) is an error. \
         Fractional scores are compared as they are (8.5 is passive).",
        "nps(score)",
    )
    .with_argument(
        "score",
        "The answer on the 0–10 scale: any integer, float or decimal column or expression.",
    )
    .with_sql_example(
        "```sql\n\
         > SELECT channel, nps(nps_score) AS nps, count(nps_score) AS responses\n\
         \x20 FROM surveys GROUP BY channel ORDER BY channel;\n\
         > SELECT nps(score) AS nps FROM (VALUES (10), (9), (8), (6), (NULL)) AS t(score);\n\
         +------+\n\
         | nps  |\n\
         +------+\n\
         | 25.0 |\n\
         +------+\n\
         ```",
    )
    .with_related_udf("csat")
    .build()
});

/// `nps(score)`: Net Promoter Score on the 0–10 scale, in percent points.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Nps {
    signature: Signature,
}

impl Default for Nps {
    fn default() -> Self {
        Self::new()
    }
}

impl Nps {
    /// The function, ready to register.
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    fn kpi(&self, _args: &AccumulatorArgs) -> Result<NpsKpi> {
        Ok(NpsKpi)
    }
}

impl AggregateUDFImpl for Nps {
    fn name(&self) -> &str {
        "nps"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [score] => Ok(vec![coerce_number("nps", "score", SIGNATURES, score)?]),
            _ => plan_err!(
                "nps takes 1 argument, got {}; accepted signatures: {SIGNATURES}",
                args.len()
            ),
        }
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    kpi_udaf_methods!(NpsKpi, 3);
}

/// Counters: responses, promoters, detractors.
#[derive(Debug, Clone)]
pub(crate) struct NpsKpi;

impl ScoreRule<3> for NpsKpi {
    const NAME: &'static str = "nps";
    const WHAT: &'static str = "score";

    fn range(&self) -> (i64, i64) {
        (0, 10)
    }

    fn range_text(&self) -> String {
        "the 0..10 scale".to_string()
    }

    fn cuts(&self) -> [i64; 2] {
        [9, 6]
    }

    #[inline]
    fn classify<W: PartialOrd>(&self, v: W, [promoter, detractor]: &[W; 2]) -> [i64; 3] {
        [1, i64::from(v >= *promoter), i64::from(v <= *detractor)]
    }
}

impl Kpi<3> for NpsKpi {
    type C = i64;
    const STATE: [&'static str; 3] = ["responses", "promoters", "detractors"];

    fn tally<F: FnMut(usize, [i64; 3])>(
        &self,
        args: &[ArrayRef],
        filter: Option<&BooleanArray>,
        f: F,
    ) -> Result<()> {
        tally_scores(self, &args[0], filter, f)
    }

    fn finish_array(&self, states: &[[i64; 3]]) -> Result<ArrayRef> {
        Ok(numbers::<Float64Type, _>(
            states,
            |&[n, promoters, detractors]| percent(promoters - detractors, n),
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Decimal128Array, Float64Array, Int32Array, UInt8Array};
    use datafusion::common::ScalarValue;

    use super::*;
    use crate::kpi::test_util::{check_paths, eval_plain};

    fn ints(v: &[Option<i32>]) -> Vec<ArrayRef> {
        vec![Arc::new(Int32Array::from(v.to_vec()))]
    }

    fn value(s: ScalarValue) -> Option<f64> {
        match s {
            ScalarValue::Float64(v) => v,
            other => panic!("not a Float64: {other:?}"),
        }
    }

    #[test]
    fn promoters_minus_detractors_over_responses() {
        // 3 promoters, 2 passives, 3 detractors, 2 NULLs: (3 - 3) / 8 = 0; then one more promoter: 1/9.
        let a = ints(&[Some(10), Some(9), Some(9), Some(8), None]);
        let b = ints(&[Some(7), Some(6), Some(0), Some(3), None]);
        let c = ints(&[Some(9)]);
        assert_eq!(
            value(check_paths(&NpsKpi, &[a.clone(), b.clone()]).unwrap()),
            Some(0.0)
        );
        let v = value(check_paths(&NpsKpi, &[a, b, c]).unwrap()).unwrap();
        assert!((v - 100.0 / 9.0).abs() < 1e-12, "{v}");
    }

    #[test]
    fn boundaries_six_seven_eight_nine() {
        let v = eval_plain(&NpsKpi, &[ints(&[Some(6)])]).unwrap();
        assert_eq!(value(v), Some(-100.0));
        let v = eval_plain(&NpsKpi, &[ints(&[Some(7), Some(8)])]).unwrap();
        assert_eq!(value(v), Some(0.0));
        let v = eval_plain(&NpsKpi, &[ints(&[Some(9)])]).unwrap();
        assert_eq!(value(v), Some(100.0));
    }

    #[test]
    fn empty_and_all_null_are_null() {
        assert_eq!(value(eval_plain(&NpsKpi, &[]).unwrap()), None);
        assert_eq!(
            value(eval_plain(&NpsKpi, &[ints(&[None, None])]).unwrap()),
            None
        );
    }

    #[test]
    fn fractional_and_decimal_scores_use_the_same_cuts() {
        let floats: ArrayRef = Arc::new(Float64Array::from(vec![8.99, 9.0, 6.0, 6.01]));
        // 1 promoter, 1 detractor, 2 passives.
        assert_eq!(
            value(eval_plain(&NpsKpi, &[vec![floats]]).unwrap()),
            Some(0.0)
        );
        let decimals: ArrayRef = Arc::new(
            Decimal128Array::from(vec![899, 900, 1000, 600])
                .with_precision_and_scale(5, 2)
                .unwrap(),
        );
        // 8.99 passive, 9.00 and 10.00 promoters, 6.00 detractor: (2 - 1) / 4.
        assert_eq!(
            value(eval_plain(&NpsKpi, &[vec![decimals]]).unwrap()),
            Some(25.0)
        );
        let bytes: ArrayRef = Arc::new(UInt8Array::from(vec![10, 0]));
        assert_eq!(
            value(eval_plain(&NpsKpi, &[vec![bytes]]).unwrap()),
            Some(0.0)
        );
    }

    #[test]
    fn out_of_range_scores_are_errors_naming_the_value() {
        let err = eval_plain(&NpsKpi, &[ints(&[Some(9), Some(11)])]).unwrap_err();
        assert!(
            err.to_string()
                .contains("nps: score 11 is outside the 0..10 scale"),
            "{err}"
        );
        let err = eval_plain(&NpsKpi, &[ints(&[Some(-1)])]).unwrap_err();
        assert!(err.to_string().contains("score -1 is outside"), "{err}");
        let nan: ArrayRef = Arc::new(Float64Array::from(vec![f64::NAN]));
        assert!(eval_plain(&NpsKpi, &[vec![nan]]).is_err());
        let big: ArrayRef = Arc::new(
            Decimal128Array::from(vec![1001])
                .with_precision_and_scale(5, 2)
                .unwrap(),
        );
        let err = eval_plain(&NpsKpi, &[vec![big]]).unwrap_err();
        assert!(err.to_string().contains("score 10.01 is outside"), "{err}");
    }
}
