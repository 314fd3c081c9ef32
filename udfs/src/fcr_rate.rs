//! `fcr_rate(x)`: first-contact-resolution rate.

use std::sync::LazyLock;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{AggregateUDFImpl, Documentation, Signature, Volatility};

use crate::kpi::{Kpi, for_each_valid, kpi_udaf_methods, numbers, valid_rows};
use crate::scores::{ScoreRule, coerce_number, tally_scores};
use crate::{DOC_SECTION, percent};

const SIGNATURES: &str = "fcr_rate(resolved_first_contact BOOLEAN), fcr_rate(contacts NUMERIC)";

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "First-contact-resolution rate in percent: 100 × (rows resolved at the first contact) / (non-NULL \
         rows). With a BOOLEAN argument, true means resolved at the first contact. With a numeric argument, \
         it is the number of contacts the resolution took, and the row counts as FCR when it is 1; a value \
         below 1 (or NaN) is an error. Result in [0, 100] (Float64). NULLs are skipped (an open ticket with \
         NULL contacts is not in the denominator); an empty or all-NULL group gives NULL. To measure FCR over \
         all requests, open ones included, pass a boolean that is never NULL: \
         `fcr_rate(resolved_at IS NOT NULL AND contacts = 1)` (wrap `contacts = 1` in `coalesce(..., false)` \
         if contacts can be NULL on resolved tickets).",
        "fcr_rate(x)",
    )
    .with_argument(
        "x",
        "BOOLEAN: resolved at the first contact; or any integer, float or decimal: contacts it took (>= 1).",
    )
    .with_sql_example(
        "```sql\n\
         > SELECT channel, priority, fcr_rate(contacts) AS fcr FROM tickets GROUP BY channel, priority;\n\
         > SELECT fcr_rate(resolved_at IS NOT NULL AND coalesce(contacts = 1, false)) FROM tickets;\n\
         > SELECT fcr_rate(c) AS fcr FROM (VALUES (1), (1), (2), (NULL)) AS t(c);\n\
         +-------------------+\n\
         | fcr               |\n\
         +-------------------+\n\
         | 66.66666666666667 |\n\
         +-------------------+\n\
         ```",
    )
    .build()
});

/// `fcr_rate(x)`: percentage of rows resolved at the first contact.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FcrRate {
    signature: Signature,
}

impl Default for FcrRate {
    fn default() -> Self {
        Self::new()
    }
}

impl FcrRate {
    /// The function, ready to register.
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    fn kpi(&self, _args: &AccumulatorArgs) -> Result<FcrKpi> {
        Ok(FcrKpi("fcr_rate"))
    }
}

impl AggregateUDFImpl for FcrRate {
    fn name(&self) -> &str {
        "fcr_rate"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [DataType::Boolean] => Ok(vec![DataType::Boolean]),
            [x] => Ok(vec![coerce_number("fcr_rate", "x", SIGNATURES, x)?]),
            _ => plan_err!(
                "fcr_rate takes 1 argument, got {}; accepted signatures: {SIGNATURES}",
                args.len()
            ),
        }
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    kpi_udaf_methods!(FcrKpi, 2);
}

/// Counters: non-NULL rows, rows resolved at the first contact. The name is the calling function's (for its
/// messages: `fcr_rate`, `fcr_ci`).
#[derive(Debug, Clone)]
pub(crate) struct FcrKpi(pub(crate) &'static str);

impl ScoreRule<2> for FcrKpi {
    const NAME: &'static str = "fcr_rate";
    const WHAT: &'static str = "contacts";

    fn range(&self) -> (i64, i64) {
        (1, i64::MAX)
    }

    fn range_text(&self) -> String {
        "the valid range 1.. (a resolution takes at least one contact)".to_string()
    }

    fn cuts(&self) -> [i64; 2] {
        [1, 1]
    }

    #[inline]
    fn classify<W: PartialOrd>(&self, v: W, [first, _]: &[W; 2]) -> [i64; 2] {
        [1, i64::from(v <= *first)]
    }

    fn name(&self) -> &'static str {
        self.0
    }
}

impl Kpi<2> for FcrKpi {
    type C = i64;
    const STATE: [&'static str; 2] = ["rows", "first_contact"];

    fn tally<F: FnMut(usize, [i64; 2])>(
        &self,
        args: &[ArrayRef],
        filter: Option<&BooleanArray>,
        mut f: F,
    ) -> Result<()> {
        let Some(flags) = args[0].as_boolean_opt() else {
            return tally_scores(self, &args[0], filter, f);
        };
        let values = flags.values();
        let valid = valid_rows(&[flags as &dyn Array], filter);
        for_each_valid(flags.len(), valid.as_ref(), |row| {
            f(row, [1, i64::from(values.value(row))])
        });
        Ok(())
    }

    fn finish_array(&self, states: &[[i64; 2]]) -> Result<ArrayRef> {
        Ok(numbers::<Float64Type, _>(states, |&[n, first_contact]| {
            percent(first_contact, n)
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Decimal128Array, Int16Array};
    use datafusion::common::ScalarValue;

    use super::*;
    use crate::kpi::test_util::{check_paths, eval_plain};

    const FCR: FcrKpi = FcrKpi("fcr_rate");

    fn value(s: ScalarValue) -> Option<f64> {
        match s {
            ScalarValue::Float64(v) => v,
            other => panic!("not a Float64: {other:?}"),
        }
    }

    fn flags(v: &[Option<bool>]) -> Vec<ArrayRef> {
        vec![Arc::new(BooleanArray::from(v.to_vec()))]
    }

    fn contacts(v: &[Option<i16>]) -> Vec<ArrayRef> {
        vec![Arc::new(Int16Array::from(v.to_vec()))]
    }

    #[test]
    fn boolean_share_of_non_null_rows() {
        let a = flags(&[Some(true), Some(false), None]);
        let b = flags(&[Some(true), Some(true), None]);
        assert_eq!(value(check_paths(&FCR, &[a, b]).unwrap()), Some(75.0));
    }

    #[test]
    fn contact_count_one_is_first_contact() {
        // 1, 1 FCR; 2, 3 not; NULL (open) skipped: 2 / 4.
        let a = contacts(&[Some(1), Some(2), None]);
        let b = contacts(&[Some(3), Some(1)]);
        assert_eq!(value(check_paths(&FCR, &[a, b]).unwrap()), Some(50.0));
        let d: ArrayRef = Arc::new(
            Decimal128Array::from(vec![100, 150, 200])
                .with_precision_and_scale(4, 2)
                .unwrap(),
        );
        let v = value(eval_plain(&FCR, &[vec![d]]).unwrap()).unwrap();
        assert!((v - 100.0 / 3.0).abs() < 1e-12, "{v}");
    }

    #[test]
    fn empty_and_all_null_are_null() {
        assert_eq!(value(eval_plain(&FCR, &[]).unwrap()), None);
        assert_eq!(value(eval_plain(&FCR, &[flags(&[None])]).unwrap()), None);
        assert_eq!(value(eval_plain(&FCR, &[contacts(&[None])]).unwrap()), None);
    }

    #[test]
    fn fewer_than_one_contact_is_an_error() {
        let err = eval_plain(&FCR, &[contacts(&[Some(1), Some(0)])]).unwrap_err();
        assert!(
            err.to_string()
                .contains("fcr_rate: contacts 0 is outside the valid range 1.."),
            "{err}"
        );
    }
}
