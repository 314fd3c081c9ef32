//! Confidence intervals of rates: `csat_ci`, `fcr_ci` and `rate_ci`, the Wilson score interval of the
//! proportion behind `csat`, `fcr_rate` and any boolean condition.
//!
//! With n answers of which s are successes, p̂ = s / n and z the two-sided normal quantile of the confidence
//! level, the Wilson (1927) interval is centre ± half with
//! centre = (p̂ + z²/(2n)) / (1 + z²/n) and half = z·sqrt(p̂(1 − p̂)/n + z²/(4n²)) / (1 + z²/n).
//! Unlike the textbook p̂ ± z·sqrt(p̂(1 − p̂)/n) it never leaves [0, 1] and does not collapse to a point at
//! 0% or 100% (four satisfied answers out of four do not prove 100% CSAT).

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayRef, BooleanArray, Float64Array, StructArray};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::{Result, ScalarValue, internal_err, plan_err};
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{AggregateUDFImpl, Documentation, Signature, Volatility};

use crate::DOC_SECTION;
use crate::csat::{CsatKpi, csat_kpi};
use crate::fcr_rate::FcrKpi;
use crate::kpi::{Kpi, kpi_udaf_methods};
use crate::nps_stats::{constant, z_of};
use crate::scores::coerce_number;

/// The Wilson score interval of `successes` of `n`, in percent; `None` for no answers.
pub(crate) fn wilson(n: i64, successes: i64, z: f64) -> Option<(f64, f64)> {
    if n <= 0 {
        return None;
    }
    let n = n as f64;
    let p = successes as f64 / n;
    let z2 = z * z;
    let scale = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / scale;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / scale;
    Some((
        (100.0 * (centre - half)).max(0.0),
        (100.0 * (centre + half)).min(100.0),
    ))
}

/// The fields of an interval: `{low, high}`.
pub(crate) fn interval_fields() -> Fields {
    Fields::from(vec![
        Field::new("low", DataType::Float64, true),
        Field::new("high", DataType::Float64, true),
    ])
}

/// The interval of a proportion KPI: the counters of `K` (answers, successes) and the Wilson bounds.
#[derive(Debug, Clone)]
pub(crate) struct WilsonKpi<K> {
    inner: K,
    z: f64,
}

impl<K: Kpi<2, C = i64>> Kpi<2> for WilsonKpi<K> {
    type C = i64;
    const STATE: [&'static str; 2] = K::STATE;

    fn tally<F: FnMut(usize, [i64; 2])>(
        &self,
        args: &[ArrayRef],
        filter: Option<&BooleanArray>,
        f: F,
    ) -> Result<()> {
        self.inner.tally(args, filter, f)
    }

    fn finish_array(&self, states: &[[i64; 2]]) -> Result<ArrayRef> {
        let bounds: Vec<Option<(f64, f64)>> = states
            .iter()
            .map(|&[n, successes]| wilson(n, successes, self.z))
            .collect();
        let low: Float64Array = bounds.iter().map(|b| b.map(|b| b.0)).collect();
        let high: Float64Array = bounds.iter().map(|b| b.map(|b| b.1)).collect();
        let nulls = NullBuffer::from_iter(bounds.iter().map(Option::is_some));
        Ok(Arc::new(StructArray::try_new(
            interval_fields(),
            vec![Arc::new(low), Arc::new(high)],
            Some(nulls),
        )?))
    }
}

/// The confidence level of a call from its argument `i` (default 0.95) as `z`.
fn z_at(args: &AccumulatorArgs, i: usize, function: &str) -> Result<f64> {
    let confidence = match constant(args, i, function, "confidence")? {
        None => 0.95,
        Some(ScalarValue::Float64(Some(c))) => c,
        Some(ScalarValue::Float64(None)) => {
            return plan_err!("{function}: confidence is NULL; expected a level such as 0.95");
        }
        Some(other) => return internal_err!("{function}: confidence {other} after coercion"),
    };
    z_of(function, confidence)
}

/// The Wilson formula in words, shared by the three functions' documentation.
const WILSON: &str = "the Wilson score interval, as a struct {low, high} in percent: with n answers, \
                      p̂ = successes / n and z the two-sided normal quantile of `confidence` (default 0.95, \
                      z = 1.96), centre = (p̂ + z²/(2n)) / (1 + z²/n), half = z·sqrt(p̂(1 − p̂)/n + z²/(4n²)) \
                      / (1 + z²/n), bounds 100·(centre ∓ half). It stays within [0, 100] and does not shrink to \
                      a point at 0% or 100%. An empty or all-NULL group gives NULL.";

/// The documentation of an interval function: what it is (followed by the Wilson formula), its syntax, its
/// arguments before `confidence`, its example and the function whose rate it bounds.
fn interval_documentation(
    what: &str,
    rest: &str,
    syntax: &str,
    arguments: &[(&str, &str)],
    example: &str,
    related: Option<&str>,
) -> Documentation {
    let mut doc = Documentation::builder(DOC_SECTION, format!("{what}: {WILSON} {rest}"), syntax);
    for (name, text) in arguments {
        doc = doc.with_argument(*name, *text);
    }
    doc = doc
        .with_argument("confidence", "Optional constant in (0, 1), default 0.95.")
        .with_sql_example(example);
    if let Some(related) = related {
        doc = doc.with_related_udf(related);
    }
    doc.build()
}

static CSAT_CI_DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    interval_documentation(
        "Confidence interval of csat",
        "Successes are the top-two-box answers (score >= scale_max - 1), as in csat; NULL scores are skipped \
         and a score outside 1..scale_max is an error, as in csat.",
        "csat_ci(score [, scale_max [, confidence]])",
        &[
            ("score", "The answer on the 1–scale_max scale (as in csat)."),
            (
                "scale_max",
                "Optional constant integer >= 2, the top of the scale (default 5).",
            ),
        ],
        "```sql\n\
         > SELECT channel, csat(csat_score) AS csat, csat_ci(csat_score)['low'] AS low,\n\
         \x20   csat_ci(csat_score)['high'] AS high, count(csat_score) AS n FROM surveys GROUP BY channel;\n\
         > SELECT round(csat_ci(score)['low'], 4) AS low FROM (VALUES (5), (4), (4), (4)) AS t(score);\n\
         +---------+\n\
         | low     |\n\
         +---------+\n\
         | 51.0109 |\n\
         +---------+\n\
         ```",
        Some("csat"),
    )
});

static FCR_CI_DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    interval_documentation(
        "Confidence interval of fcr_rate",
        "Successes are the rows resolved at the first contact (true, or 1 contact), as in fcr_rate; NULLs are \
         skipped and fewer than 1 contact is an error, as in fcr_rate.",
        "fcr_ci(x [, confidence])",
        &[(
            "x",
            "BOOLEAN: resolved at the first contact; or a number: the contacts it took (>= 1), as in fcr_rate.",
        )],
        "```sql\n\
         > SELECT channel, fcr_rate(contacts) AS fcr, fcr_ci(contacts) AS ci FROM tickets GROUP BY channel;\n\
         > SELECT round(fcr_ci(c, 0.9)['high'], 2) AS high FROM (VALUES (1), (2), (1), (3)) AS t(c);\n\
         +---------+\n\
         | high    |\n\
         +---------+\n\
         | 81.76   |\n\
         +---------+\n\
         ```",
        Some("fcr_rate"),
    )
});

static RATE_CI_DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    interval_documentation(
        "Confidence interval of the share of true values of a BOOLEAN condition (goal completion, reopening, \
         SLA met)",
        "NULL conditions are skipped. The rate itself is `100.0 * avg(CASE WHEN condition THEN 1.0 ELSE 0.0 \
         END)` over the non-NULL rows.",
        "rate_ci(condition [, confidence])",
        &[(
            "condition",
            "A BOOLEAN column or expression: true is a success.",
        )],
        "```sql\n\
         > SELECT channel, rate_ci(goal_completed) AS goal_ci, rate_ci(reopened) AS reopen_ci\n\
         \x20 FROM tickets GROUP BY channel;\n\
         > SELECT round(rate_ci(ok)['low'], 4) AS low FROM (VALUES (true), (true), (false), (NULL)) AS t(ok);\n\
         +---------+\n\
         | low     |\n\
         +---------+\n\
         | 20.766  |\n\
         +---------+\n\
         ```",
        None,
    )
});

/// Which rate an interval function is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Of {
    Csat,
    Fcr,
    Condition,
}

/// `csat_ci`, `fcr_ci` and `rate_ci`: the Wilson interval of a rate.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RateInterval {
    signature: Signature,
    of: Of,
}

impl RateInterval {
    fn new(of: Of) -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
            of,
        }
    }

    /// `csat_ci(score [, scale_max [, confidence]])`.
    pub fn csat() -> Self {
        Self::new(Of::Csat)
    }

    /// `fcr_ci(x [, confidence])`.
    pub fn fcr() -> Self {
        Self::new(Of::Fcr)
    }

    /// `rate_ci(condition [, confidence])`.
    pub fn condition() -> Self {
        Self::new(Of::Condition)
    }

    fn signatures(&self) -> &'static str {
        match self.of {
            Of::Csat => {
                "csat_ci(score), csat_ci(score, scale_max), csat_ci(score, scale_max, confidence)"
            }
            Of::Fcr => "fcr_ci(x), fcr_ci(x, confidence)",
            Of::Condition => "rate_ci(condition BOOLEAN), rate_ci(condition BOOLEAN, confidence)",
        }
    }
}

/// The counters of the three functions: CSAT's or FCR's (a boolean condition is FCR's boolean form).
#[derive(Debug, Clone)]
pub(crate) enum RateKpi {
    Csat(CsatKpi),
    Fcr(FcrKpi),
}

impl Kpi<2> for RateKpi {
    type C = i64;
    const STATE: [&'static str; 2] = ["answers", "successes"];

    fn tally<F: FnMut(usize, [i64; 2])>(
        &self,
        args: &[ArrayRef],
        filter: Option<&BooleanArray>,
        f: F,
    ) -> Result<()> {
        match self {
            RateKpi::Csat(k) => k.tally(args, filter, f),
            RateKpi::Fcr(k) => k.tally(args, filter, f),
        }
    }

    fn finish_array(&self, _states: &[[i64; 2]]) -> Result<ArrayRef> {
        internal_err!("RateKpi counts; WilsonKpi finishes")
    }
}

impl RateInterval {
    fn kpi(&self, args: &AccumulatorArgs) -> Result<WilsonKpi<RateKpi>> {
        let name = match self.of {
            Of::Csat => "csat_ci",
            Of::Fcr => "fcr_ci",
            Of::Condition => "rate_ci",
        };
        Ok(match self.of {
            Of::Csat => WilsonKpi {
                inner: RateKpi::Csat(csat_kpi(name, args)?),
                z: z_at(args, 2, name)?,
            },
            Of::Fcr | Of::Condition => WilsonKpi {
                inner: RateKpi::Fcr(FcrKpi(name)),
                z: z_at(args, 1, name)?,
            },
        })
    }
}

impl AggregateUDFImpl for RateInterval {
    fn name(&self) -> &str {
        match self.of {
            Of::Csat => "csat_ci",
            Of::Fcr => "fcr_ci",
            Of::Condition => "rate_ci",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name();
        let signatures = self.signatures();
        let most = if self.of == Of::Csat { 3 } else { 2 };
        if args.is_empty() || args.len() > most {
            return plan_err!(
                "{name} takes 1 to {most} arguments, got {}; accepted signatures: {signatures}",
                args.len()
            );
        }
        let mut types = vec![match (self.of, &args[0]) {
            (Of::Condition, DataType::Boolean | DataType::Null) => DataType::Boolean,
            (Of::Condition, other) => {
                return plan_err!(
                    "{name}: condition must be a BOOLEAN, got {other}; accepted signatures: {signatures}"
                );
            }
            (Of::Fcr, DataType::Boolean) => DataType::Boolean,
            (_, t) => coerce_number(name, self.first_argument(), signatures, t)?,
        }];
        let confidence_at = if self.of == Of::Csat { 2 } else { 1 };
        if self.of == Of::Csat
            && let Some(m) = args.get(1)
        {
            if !(m.is_integer() || m == &DataType::Null) {
                return plan_err!(
                    "{name}: scale_max must be a constant integer >= 2, got type {m}; accepted signatures: \
                     {signatures}"
                );
            }
            types.push(DataType::Int64);
        }
        if let Some(c) = args.get(confidence_at) {
            coerce_number(name, "confidence", signatures, c)?;
            types.push(DataType::Float64);
        }
        Ok(types)
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(interval_fields()))
    }

    kpi_udaf_methods!(WilsonKpi<RateKpi>, 2, static_documentation);

    fn documentation(&self) -> Option<&Documentation> {
        Some(match self.of {
            Of::Csat => &CSAT_CI_DOCUMENTATION,
            Of::Fcr => &FCR_CI_DOCUMENTATION,
            Of::Condition => &RATE_CI_DOCUMENTATION,
        })
    }
}

impl RateInterval {
    fn first_argument(&self) -> &'static str {
        match self.of {
            Of::Csat => "score",
            Of::Fcr => "x",
            Of::Condition => "condition",
        }
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Array, AsArray, Int64Array};

    use super::*;
    use crate::kpi::test_util::{check_paths, eval_plain};
    use crate::nps_stats::normal_quantile;

    const Z95: f64 = 1.959_963_984_540_054;

    fn bounds(s: ScalarValue) -> Option<(f64, f64)> {
        let ScalarValue::Struct(a) = s else {
            panic!("not a struct: {s:?}")
        };
        if a.is_null(0) {
            return None;
        }
        let f = |i: usize| {
            a.column(i)
                .as_primitive::<datafusion::arrow::datatypes::Float64Type>()
                .value(0)
        };
        Some((f(0), f(1)))
    }

    /// Hand computation: 8 successes of 10 at 95%: p̂ = 0.8, z² = 3.8415; centre = (0.8 + 0.19207) / 1.38415
    /// = 0.716740; half = 1.96·sqrt(0.016 + 0.0096036) / 1.38415 = 0.226576; (49.0162, 94.3318).
    #[test]
    fn the_wilson_bounds_of_a_hand_computation() {
        let (low, high) = wilson(10, 8, Z95).expect("bounds");
        assert!((low - 49.016_247).abs() < 1e-5, "{low}");
        assert!((high - 94.331_785).abs() < 1e-5, "{high}");
        assert!((normal_quantile(0.975) - Z95).abs() < 1e-12);
    }

    #[test]
    fn all_or_nothing_does_not_collapse_and_stays_in_range() {
        let (low, high) = wilson(4, 4, Z95).expect("bounds");
        assert!(low > 40.0 && low < 60.0 && high == 100.0, "{low} {high}");
        let (low, high) = wilson(4, 0, Z95).expect("bounds");
        assert!(low == 0.0 && high > 40.0 && high < 60.0, "{low} {high}");
        assert_eq!(wilson(0, 0, Z95), None);
        // Symmetric: s of n and n - s of n mirror around 50%.
        let (a, b) = wilson(37, 11, Z95).expect("bounds");
        let (c, d) = wilson(37, 26, Z95).expect("bounds");
        assert!((a - (100.0 - d)).abs() < 1e-9 && (b - (100.0 - c)).abs() < 1e-9);
    }

    #[test]
    fn csat_ci_counts_the_top_two_boxes_and_merges_exactly() {
        let kpi = WilsonKpi {
            inner: RateKpi::Csat(CsatKpi {
                scale_max: 5,
                name: "csat_ci",
            }),
            z: Z95,
        };
        let ints = |v: &[Option<i64>]| vec![Arc::new(Int64Array::from(v.to_vec())) as ArrayRef];
        // 5, 4, 4 of 1, 2, 4, 4, 5, 3 satisfied (NULLs skipped): 3 of 6.
        let got = check_paths(
            &kpi,
            &[
                ints(&[Some(1), Some(2), None, Some(4)]),
                ints(&[Some(4), Some(5), Some(3), None]),
            ],
        )
        .expect("evaluates");
        assert_eq!(bounds(got), wilson(6, 3, Z95));
        assert_eq!(bounds(eval_plain(&kpi, &[]).expect("empty")), None);
        let err = eval_plain(&kpi, &[ints(&[Some(6)])])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("csat_ci: score 6 is outside the 1..5 scale"),
            "{err}"
        );
    }

    #[test]
    fn rate_ci_skips_nulls() {
        let kpi = WilsonKpi {
            inner: RateKpi::Fcr(FcrKpi("rate_ci")),
            z: Z95,
        };
        let flags = |v: &[Option<bool>]| vec![Arc::new(BooleanArray::from(v.to_vec())) as ArrayRef];
        let got = check_paths(
            &kpi,
            &[
                flags(&[Some(true), None]),
                flags(&[Some(false), Some(true), Some(true)]),
            ],
        )
        .expect("evaluates");
        assert_eq!(bounds(got), wilson(4, 3, Z95));
    }
}
