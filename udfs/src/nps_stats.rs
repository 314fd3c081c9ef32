//! Statistics of NPS: `nps_moe` (margin of error), `nps_ci` (confidence interval) and `nps_diff_test` (whether
//! two segments' NPS differ).
//!
//! With n answers of which P promoters and D detractors, p = P/n and d = D/n, NPS = p - d is the mean of a
//! variable that is +1 (promoter), 0 (passive) or -1 (detractor), whose variance is p + d - (p - d)^2. Hence
//! the textbook (Wald) standard error sqrt((p + d - (p - d)^2) / n). It is poor for small n and extreme
//! scores (all promoters gives a zero-width interval), so the default is the adjusted-Wald interval that Rocks
//! (2016, "Interval Estimation for the 'Net Promoter Score'", The American Statistician 70(4), 365-372) found
//! the best of the simple methods: add 3 to n and 3/4 to both P and D, then compute p, d, NPS and the standard
//! error as above; the interval is centred on that adjusted NPS. Bounds are clipped to [-100, 100].

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, StructArray};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Float64Type};
use datafusion::common::{Result, ScalarValue, internal_err, plan_err};
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{AggregateUDFImpl, Documentation, Signature, Volatility};
use datafusion::physical_expr::expressions::Literal;

use crate::DOC_SECTION;
use crate::kpi::{Kpi, kpi_udaf_methods, numbers};
use crate::nps::NpsKpi;
use crate::scores::{ScoreRule, coerce_number, tally_scores};

/// The standard normal distribution function.
pub(crate) fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// The standard normal quantile: x with normal_cdf(x) = q, for 0 < q < 1.
///
/// Newton's method from 0 converges monotonically (the distribution function is concave right of 0 and
/// convex left of it, and the root is on the same side as the start's error); the density and erfc are
/// evaluated in double precision, so the result is exact to ~1e-15 relative, also deep in the lower tail.
pub(crate) fn normal_quantile(q: f64) -> f64 {
    let density = |x: f64| (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let mut x = 0.0;
    for _ in 0..200 {
        let step = (q - normal_cdf(x)) / density(x);
        x += step;
        if step.abs() <= 1e-15 * x.abs().max(1.0) {
            break;
        }
    }
    x
}

/// How the interval is computed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Method {
    AdjustedWald,
    Wald,
}

impl Method {
    fn parse(function: &str, text: &str) -> Result<Self> {
        match text
            .trim()
            .to_ascii_lowercase()
            .replace(['-', ' '], "_")
            .as_str()
        {
            "adjusted_wald" => Ok(Self::AdjustedWald),
            "wald" => Ok(Self::Wald),
            _ => plan_err!(
                "{function}: unknown method '{text}'; expected 'adjusted_wald' (the default) or 'wald'"
            ),
        }
    }
}

/// The NPS estimate (centre of the interval) and its standard error, both as fractions of 1 (not points).
/// `None` for no answers.
pub(crate) fn estimate(
    method: Method,
    n: i64,
    promoters: i64,
    detractors: i64,
) -> Option<(f64, f64)> {
    if n <= 0 {
        return None;
    }
    let (n, p, d) = match method {
        Method::Wald => (n as f64, promoters as f64, detractors as f64),
        Method::AdjustedWald => (
            n as f64 + 3.0,
            promoters as f64 + 0.75,
            detractors as f64 + 0.75,
        ),
    };
    let (p, d) = (p / n, d / n);
    let nps = p - d;
    // Never negative in exact arithmetic; rounding can leave -1e-17.
    let variance = (p + d - nps * nps).max(0.0);
    Some((nps, (variance / n).sqrt()))
}

/// `z` of a two-sided confidence level, checked.
pub(crate) fn z_of(function: &str, confidence: f64) -> Result<f64> {
    if !(confidence > 0.0 && confidence < 1.0) {
        return plan_err!(
            "{function}: confidence {confidence} is outside (0, 1); expected a level such as 0.95"
        );
    }
    Ok(normal_quantile(0.5 + confidence / 2.0))
}

/// A constant argument of the call, if given: `None` when absent; an error when it is a column.
pub(crate) fn constant(
    args: &AccumulatorArgs,
    i: usize,
    function: &str,
    what: &str,
) -> Result<Option<ScalarValue>> {
    match args.exprs.get(i) {
        None => Ok(None),
        Some(e) => match e.downcast_ref::<Literal>() {
            Some(l) => Ok(Some(l.value().clone())),
            None => plan_err!("{function}: {what} must be a constant"),
        },
    }
}

/// The NPS score rule under another function's name (for its messages).
#[derive(Debug, Clone, Copy)]
pub(crate) struct NpsScores(pub &'static str);

impl ScoreRule<3> for NpsScores {
    const NAME: &'static str = "nps";
    const WHAT: &'static str = "score";

    fn range(&self) -> (i64, i64) {
        NpsKpi.range()
    }

    fn range_text(&self) -> String {
        NpsKpi.range_text()
    }

    fn cuts(&self) -> [i64; 2] {
        NpsKpi.cuts()
    }

    #[inline]
    fn classify<W: PartialOrd>(&self, v: W, cuts: &[W; 2]) -> [i64; 3] {
        NpsKpi.classify(v, cuts)
    }

    fn name(&self) -> &'static str {
        self.0
    }
}

/// What an interval function returns.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Output {
    Moe,
    Ci,
}

/// Counters: answers, promoters, detractors (as `nps`); the result is the margin or the interval.
#[derive(Debug, Clone)]
pub(crate) struct NpsIntervalKpi {
    output: Output,
    z: f64,
    method: Method,
}

impl NpsIntervalKpi {
    fn name(&self) -> &'static str {
        match self.output {
            Output::Moe => "nps_moe",
            Output::Ci => "nps_ci",
        }
    }

    /// (low, high) in points, clipped to [-100, 100].
    fn bounds(&self, state: &[i64; 3]) -> Option<(f64, f64)> {
        let (centre, se) = estimate(self.method, state[0], state[1], state[2])?;
        let margin = self.z * se;
        Some((
            (100.0 * (centre - margin)).max(-100.0),
            (100.0 * (centre + margin)).min(100.0),
        ))
    }

    fn ci_fields() -> Fields {
        Fields::from(vec![
            Field::new("low", DataType::Float64, true),
            Field::new("high", DataType::Float64, true),
        ])
    }
}

impl Kpi<3> for NpsIntervalKpi {
    type C = i64;
    const STATE: [&'static str; 3] = ["responses", "promoters", "detractors"];

    fn tally<F: FnMut(usize, [i64; 3])>(
        &self,
        args: &[ArrayRef],
        filter: Option<&BooleanArray>,
        f: F,
    ) -> Result<()> {
        tally_scores(&NpsScores(self.name()), &args[0], filter, f)
    }

    /// nps_moe: the margin of error in points (Float64); nps_ci: the interval {low, high} (a struct).
    fn finish_array(&self, states: &[[i64; 3]]) -> Result<ArrayRef> {
        if self.output == Output::Moe {
            return Ok(numbers::<Float64Type, _>(states, |&[n, p, d]| {
                let (_, se) = estimate(self.method, n, p, d)?;
                Some(100.0 * self.z * se)
            }));
        }
        let bounds: Vec<Option<(f64, f64)>> = states.iter().map(|s| self.bounds(s)).collect();
        let low: Float64Array = bounds.iter().map(|b| b.map(|b| b.0)).collect();
        let high: Float64Array = bounds.iter().map(|b| b.map(|b| b.1)).collect();
        let nulls = NullBuffer::from_iter(bounds.iter().map(Option::is_some));
        Ok(Arc::new(StructArray::try_new(
            Self::ci_fields(),
            vec![Arc::new(low), Arc::new(high)],
            Some(nulls),
        )?))
    }
}

const INTERVAL_SIGNATURES: &str = "(score), (score, confidence), (score, confidence, method)";

fn interval_documentation(output: Output) -> Documentation {
    let (name, what, example) = match output {
        Output::Moe => (
            "nps_moe",
            "Margin of error of the NPS, in points (Float64, >= 0): z * SE * 100, where z is the two-sided \
             normal quantile of `confidence` (1.96 for 0.95). With the default adjusted-Wald method (Rocks \
             2016, The American Statistician 70(4)) n' = n + 3, p = (promoters + 3/4) / n', \
             d = (detractors + 3/4) / n' and SE = sqrt((p + d - (p - d)^2) / n'); with method 'wald' the same \
             without the additions. It is the half-width of nps_ci before clipping to [-100, 100].",
            "```sql\n\
             > SELECT channel, nps(nps_score) AS nps, nps_moe(nps_score) AS moe FROM surveys GROUP BY channel;\n\
             > SELECT round(nps_moe(s, 0.95, 'wald'), 4) AS moe FROM (VALUES (10), (9), (8), (6)) AS t(s);\n\
             +---------+\n\
             | moe     |\n\
             +---------+\n\
             | 81.2558 |\n\
             +---------+\n\
             ```",
        ),
        Output::Ci => (
            "nps_ci",
            "Confidence interval of the NPS: a struct {low, high} in points, clipped to [-100, 100]. Default \
             method adjusted-Wald (Rocks 2016, The American Statistician 70(4)): n' = n + 3, \
             p = (promoters + 3/4) / n', d = (detractors + 3/4) / n', centre p - d, \
             SE = sqrt((p + d - (p - d)^2) / n'), bounds centre ± z * SE with z the two-sided normal quantile \
             of `confidence` (default 0.95). Method 'wald': the textbook interval, centred on the NPS, with \
             the plain shares (zero width when all answers are promoters).",
            "```sql\n\
             > SELECT channel, nps_ci(nps_score)['low'] AS low, nps_ci(nps_score)['high'] AS high\n\
             \x20 FROM surveys GROUP BY channel;\n\
             > SELECT round(nps_ci(s)['low'], 4) AS low FROM (VALUES (10), (9), (8), (6)) AS t(s);\n\
             +----------+\n\
             | low      |\n\
             +----------+\n\
             | -44.1598 |\n\
             +----------+\n\
             ```",
        ),
    };
    Documentation::builder(
        DOC_SECTION,
        format!(
            "{what} NULL scores are skipped; an empty or all-NULL group gives NULL. Scores outside 0..10 are \
             an error, as in nps. confidence must be a constant in (0, 1); method 'adjusted_wald' or 'wald'."
        ),
        format!("{name}(score [, confidence [, method]])"),
    )
    .with_argument("score", "The answer on the 0–10 scale (as in nps).")
    .with_argument("confidence", "Optional constant in (0, 1), default 0.95.")
    .with_argument("method", "Optional constant: 'adjusted_wald' (default) or 'wald'.")
    .with_sql_example(example)
    .with_related_udf("nps")
    .build()
}

static MOE_DOCUMENTATION: LazyLock<Documentation> =
    LazyLock::new(|| interval_documentation(Output::Moe));
static CI_DOCUMENTATION: LazyLock<Documentation> =
    LazyLock::new(|| interval_documentation(Output::Ci));

/// `nps_moe(score [, confidence [, method]])` and `nps_ci(...)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct NpsInterval {
    signature: Signature,
    ci: bool,
}

impl NpsInterval {
    /// `nps_moe`.
    pub fn moe() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
            ci: false,
        }
    }

    /// `nps_ci`.
    pub fn ci() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
            ci: true,
        }
    }

    fn output(&self) -> Output {
        if self.ci { Output::Ci } else { Output::Moe }
    }

    fn kpi(&self, args: &AccumulatorArgs) -> Result<NpsIntervalKpi> {
        let name = self.name();
        let confidence = match constant(args, 1, name, "confidence")? {
            None => 0.95,
            Some(ScalarValue::Float64(Some(c))) => c,
            Some(ScalarValue::Float64(None)) => {
                return plan_err!("{name}: confidence is NULL; expected a level such as 0.95");
            }
            Some(other) => return internal_err!("{name}: confidence {other} after coercion"),
        };
        let method = match constant(args, 2, name, "method")? {
            None => Method::AdjustedWald,
            Some(ScalarValue::Utf8(Some(m))) => Method::parse(name, &m)?,
            Some(other) => {
                return plan_err!("{name}: method {other}; expected 'adjusted_wald' or 'wald'");
            }
        };
        Ok(NpsIntervalKpi {
            output: self.output(),
            z: z_of(name, confidence)?,
            method,
        })
    }
}

impl AggregateUDFImpl for NpsInterval {
    fn name(&self) -> &str {
        match self.output() {
            Output::Moe => "nps_moe",
            Output::Ci => "nps_ci",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name();
        let signatures = format!(
            "{name}{}",
            INTERVAL_SIGNATURES.replace(", (", format!(", {name}(").as_str())
        );
        if !(1..=3).contains(&args.len()) {
            return plan_err!(
                "{name} takes 1 to 3 arguments, got {}; accepted signatures: {signatures}",
                args.len()
            );
        }
        let mut types = vec![coerce_number(name, "score", &signatures, &args[0])?];
        if let Some(confidence) = args.get(1) {
            coerce_number(name, "confidence", &signatures, confidence)?;
            types.push(DataType::Float64);
        }
        if let Some(method) = args.get(2) {
            match method {
                DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Null => {
                    types.push(DataType::Utf8)
                }
                other => {
                    return plan_err!(
                        "{name}: method must be a string, got {other}; accepted signatures: {signatures}"
                    );
                }
            }
        }
        Ok(types)
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(match self.output() {
            Output::Moe => DataType::Float64,
            Output::Ci => DataType::Struct(NpsIntervalKpi::ci_fields()),
        })
    }

    kpi_udaf_methods!(NpsIntervalKpi, 3, static_documentation);

    fn documentation(&self) -> Option<&Documentation> {
        Some(match self.output() {
            Output::Moe => &MOE_DOCUMENTATION,
            Output::Ci => &CI_DOCUMENTATION,
        })
    }
}

/// Counters: answers, promoters and detractors of segment A, then of segment B.
#[derive(Debug, Clone)]
pub(crate) struct NpsDiffKpi;

impl NpsDiffKpi {
    fn fields() -> Fields {
        Fields::from(
            ["nps_a", "nps_b", "diff", "z", "p_value"]
                .map(|name| Field::new(name, DataType::Float64, true))
                .to_vec(),
        )
    }

    /// [nps_a, nps_b, diff, z, p_value]; `None` when a segment has no answers.
    fn test(state: &[i64; 6]) -> Option<[Option<f64>; 5]> {
        let (a, se_a) = estimate(Method::Wald, state[0], state[1], state[2])?;
        let (b, se_b) = estimate(Method::Wald, state[3], state[4], state[5])?;
        // se_a^2 = v_a / n_a: the two-sample standard error sqrt(v_a / n_a + v_b / n_b).
        let se = (se_a * se_a + se_b * se_b).sqrt();
        let z = (se > 0.0).then(|| (b - a) / se);
        let p = z.map(|z| 2.0 * normal_cdf(-z.abs()));
        Some([
            Some(100.0 * a),
            Some(100.0 * b),
            Some(100.0 * (b - a)),
            z,
            p,
        ])
    }
}

impl Kpi<6> for NpsDiffKpi {
    type C = i64;
    const STATE: [&'static str; 6] = [
        "responses_a",
        "promoters_a",
        "detractors_a",
        "responses_b",
        "promoters_b",
        "detractors_b",
    ];

    fn tally<F: FnMut(usize, [i64; 6])>(
        &self,
        args: &[ArrayRef],
        filter: Option<&BooleanArray>,
        mut f: F,
    ) -> Result<()> {
        let Some(in_b) = args[1].as_boolean_opt() else {
            return internal_err!(
                "nps_diff_test: in_segment_b of type {}",
                args[1].data_type()
            );
        };
        tally_scores(
            &NpsScores("nps_diff_test"),
            &args[0],
            filter,
            |row, [n, p, d]| {
                if in_b.is_valid(row) {
                    if in_b.value(row) {
                        f(row, [0, 0, 0, n, p, d]);
                    } else {
                        f(row, [n, p, d, 0, 0, 0]);
                    }
                }
            },
        )
    }

    /// The struct {nps_a, nps_b, diff, z, p_value} per group.
    fn finish_array(&self, states: &[[i64; 6]]) -> Result<ArrayRef> {
        let tests: Vec<Option<[Option<f64>; 5]>> = states.iter().map(Self::test).collect();
        let columns: Vec<ArrayRef> = (0..5)
            .map(|i| {
                let column: Float64Array = tests.iter().map(|t| t.and_then(|t| t[i])).collect();
                Arc::new(column) as ArrayRef
            })
            .collect();
        let nulls = NullBuffer::from_iter(tests.iter().map(Option::is_some));
        Ok(Arc::new(StructArray::try_new(
            Self::fields(),
            columns,
            Some(nulls),
        )?))
    }
}

const DIFF_SIGNATURES: &str = "nps_diff_test(score, in_segment_b BOOLEAN)";

static DIFF_DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "Two-sample test of whether two segments' NPS differ: rows with in_segment_b false form segment A, \
         true segment B. Returns a struct {nps_a, nps_b, diff, z, p_value}: both NPS and diff = nps_b - nps_a \
         in points, z = (NPS_b - NPS_a) / SE with SE = sqrt(v_a / n_a + v_b / n_b) and v = p + d - (p - d)^2 \
         the variance of one answer (+1 promoter, 0 passive, -1 detractor), and the two-sided normal p-value \
         2 * (1 - Phi(|z|)). Rows with a NULL score or a NULL in_segment_b are skipped. NULL when either \
         segment has no answers; z and p_value are NULL when SE is 0 (every answer in both segments the same \
         class). Large-sample (normal) test: with a few dozen answers per segment, read it with care.",
        "nps_diff_test(score, in_segment_b)",
    )
    .with_argument("score", "The answer on the 0–10 scale (as in nps).")
    .with_argument("in_segment_b", "BOOLEAN: true for segment B, false for segment A (e.g. channel = 'chat').")
    .with_sql_example(
        "```sql\n\
         > SELECT nps_diff_test(nps_score, channel = 'chat') AS t FROM surveys WHERE channel IN ('chat', 'email');\n\
         > SELECT round(nps_diff_test(s, b)['p_value'], 4) AS p FROM (VALUES (10, false), (9, false),\n\
         \x20   (8, false), (6, false), (10, true), (10, true), (10, true), (0, true)) AS t(s, b);\n\
         +--------+\n\
         | p      |\n\
         +--------+\n\
         | 0.6767 |\n\
         +--------+\n\
         ```",
    )
    .with_related_udf("nps")
    .build()
});

/// `nps_diff_test(score, in_segment_b)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct NpsDiffTest {
    signature: Signature,
}

impl Default for NpsDiffTest {
    fn default() -> Self {
        Self::new()
    }
}

impl NpsDiffTest {
    /// The function, ready to register.
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    fn kpi(&self, _args: &AccumulatorArgs) -> Result<NpsDiffKpi> {
        Ok(NpsDiffKpi)
    }
}

impl AggregateUDFImpl for NpsDiffTest {
    fn name(&self) -> &str {
        "nps_diff_test"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [score, flag] => {
                let score = coerce_number("nps_diff_test", "score", DIFF_SIGNATURES, score)?;
                match flag {
                    DataType::Boolean | DataType::Null => Ok(vec![score, DataType::Boolean]),
                    other => plan_err!(
                        "nps_diff_test: in_segment_b must be a BOOLEAN, got {other}; accepted signatures: \
                         {DIFF_SIGNATURES}"
                    ),
                }
            }
            _ => plan_err!(
                "nps_diff_test takes 2 arguments, got {}; accepted signatures: {DIFF_SIGNATURES}",
                args.len()
            ),
        }
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(NpsDiffKpi::fields()))
    }

    kpi_udaf_methods!(NpsDiffKpi, 6, static_documentation);

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DIFF_DOCUMENTATION)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantiles_match_published_values() {
        // Values from statistics tables (and Python's statistics.NormalDist), 16 digits.
        for (q, z) in [
            (0.975, 1.959_963_984_540_054),
            (0.95, 1.644_853_626_951_472_2),
            (0.995, 2.575_829_303_548_9),
            (0.5, 0.0),
            (0.841_344_746_068_542_9, 1.0),
            (1e-10, -6.361_340_902_404_056),
        ] {
            let got = normal_quantile(q);
            assert!(
                (got - z).abs() < 1e-12,
                "quantile({q}) = {got}, expected {z}"
            );
            assert!(
                (normal_cdf(z) - q).abs() < 1e-15_f64.max(q * 1e-12),
                "cdf({z})"
            );
        }
    }

    #[test]
    fn composite_results_agree_on_every_path() {
        use datafusion::arrow::array::Int32Array;

        use crate::kpi::test_util::check_paths;

        let batch =
            |v: &[Option<i32>]| -> Vec<ArrayRef> { vec![Arc::new(Int32Array::from(v.to_vec()))] };
        let kpi = NpsIntervalKpi {
            output: Output::Ci,
            z: normal_quantile(0.975),
            method: Method::AdjustedWald,
        };
        let value = check_paths(
            &kpi,
            &[
                batch(&[Some(10), Some(9)]),
                batch(&[Some(8), None, Some(6)]),
            ],
        )
        .expect("evaluates");
        let ScalarValue::Struct(array) = value else {
            panic!("a struct")
        };
        let low = array.column(0).as_primitive::<Float64Type>().value(0);
        assert!((low - -44.159_768_529_899_175).abs() < 1e-9, "{low}");

        let flags = |v: &[bool]| -> ArrayRef { Arc::new(BooleanArray::from(v.to_vec())) };
        let scores = |v: &[i32]| -> ArrayRef { Arc::new(Int32Array::from(v.to_vec())) };
        let value = check_paths(
            &NpsDiffKpi,
            &[
                vec![scores(&[10, 9, 10]), flags(&[false, false, true])],
                vec![
                    scores(&[8, 6, 10, 10, 0]),
                    flags(&[false, false, true, true, true]),
                ],
            ],
        )
        .expect("evaluates");
        let ScalarValue::Struct(array) = value else {
            panic!("a struct")
        };
        let p = array.column(4).as_primitive::<Float64Type>().value(0);
        assert!((p - 0.676_657_321_716_424_5).abs() < 1e-12, "{p}");
    }
}

/// Two-sample tests on counts, for callers outside SQL (the report's period-over-period comparison): the
/// same formulas as `nps_diff_test` and the pooled two-proportion z-test.
pub mod tests_on_counts {
    use super::{Method, estimate, normal_cdf};

    /// The outcome of a two-sample test: the difference b - a (points), z and the two-sided p-value.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub struct Outcome {
        pub diff: f64,
        pub z: f64,
        pub p_value: f64,
    }

    /// `nps_diff_test`'s test of NPS b against NPS a, from (answers, promoters, detractors) of each: the
    /// two-sample z-test with the Wald variance p + d - (p - d)² of each sample. `None` when a sample is empty
    /// or both have zero variance.
    pub fn nps(a: (i64, i64, i64), b: (i64, i64, i64)) -> Option<Outcome> {
        let (na, se_a) = estimate(Method::Wald, a.0, a.1, a.2)?;
        let (nb, se_b) = estimate(Method::Wald, b.0, b.1, b.2)?;
        let se = (se_a * se_a + se_b * se_b).sqrt();
        (se > 0.0).then(|| {
            let z = (nb - na) / se;
            Outcome {
                diff: 100.0 * (nb - na),
                z,
                p_value: 2.0 * normal_cdf(-z.abs()),
            }
        })
    }

    /// The pooled two-proportion z-test of rate b against rate a, from (answers, successes) of each:
    /// p = (s_a + s_b) / (n_a + n_b), z = (s_b/n_b - s_a/n_a) / sqrt(p (1 - p) (1/n_a + 1/n_b)). `None` when a
    /// sample is empty or p is 0 or 1.
    pub fn proportions(a: (i64, i64), b: (i64, i64)) -> Option<Outcome> {
        if a.0 <= 0 || b.0 <= 0 {
            return None;
        }
        let (na, nb) = (a.0 as f64, b.0 as f64);
        let (pa, pb) = (a.1 as f64 / na, b.1 as f64 / nb);
        let pooled = (a.1 + b.1) as f64 / (na + nb);
        let se = (pooled * (1.0 - pooled) * (1.0 / na + 1.0 / nb)).sqrt();
        (se > 0.0).then(|| {
            let z = (pb - pa) / se;
            Outcome {
                diff: 100.0 * (pb - pa),
                z,
                p_value: 2.0 * normal_cdf(-z.abs()),
            }
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// 45 of 100 against 60 of 120: pooled p = 105/220, se = sqrt(p(1-p)(1/100 + 1/120)) = 0.067630,
        /// z = (0.5 - 0.45) / se = 0.73931, p = 0.45972.
        #[test]
        fn two_proportions_by_hand() {
            let o = proportions((100, 45), (120, 60)).expect("a test");
            assert!((o.diff - 5.0).abs() < 1e-9);
            assert!((o.z - 0.739_313).abs() < 1e-5, "{o:?}");
            assert!((o.p_value - 0.459_717).abs() < 1e-5, "{o:?}");
            assert_eq!(proportions((0, 0), (10, 5)), None);
            assert_eq!(proportions((10, 10), (10, 10)), None);
        }

        #[test]
        fn nps_matches_nps_diff_test() {
            // The state nps_diff_test keeps, and its own result.
            let state = [200, 90, 40, 150, 50, 45];
            let [_, _, diff, z, p] = super::super::NpsDiffKpi::test(&state).expect("a test");
            let o = nps((200, 90, 40), (150, 50, 45)).expect("a test");
            assert_eq!(Some(o.diff), diff);
            assert_eq!(Some(o.z), z);
            assert_eq!(Some(o.p_value), p);
        }
    }
}
