//! Customer-service KPIs as DataFusion functions: the aggregates `nps`, `nps_moe`, `nps_ci`, `nps_diff_test`,
//! `csat`, `csat_ci`, `fcr_rate`, `fcr_ci`, `rate_ci`, `servqual_gap`, `backlog_at`, `backlog_series` and `churn_rate`, and the scalar functions
//! `business_seconds` and `sla_breached`.
//!
//! Over ticket histories (one row per event), the aggregates `status_seconds`, `status_durations`, `sla_clock`,
//! `status_at` and `reply_waits` (module `history`): their state is the events of a group, not counters, and their results do
//! not depend on row order; the rules below about counters and retraction do not apply to them.
//!
//! Every aggregate skips NULL inputs, gives NULL for an empty or all-NULL group (except the backlog counts,
//! which give 0), keeps exact additive state (counts, sums, difference arrays), implements DataFusion's grouped
//! fast path (`GroupsAccumulator`) and supports sliding window frames (`retract_batch`). Bad values in the data
//! fail the query with a message naming the function, the value and the valid range.
//!
//! Beside them, [`UtcDateTrunc`]: DataFusion's own `date_trunc` with a fast path for UTC timestamps (same
//! results, no per-value time-zone work). It replaces a built-in, so `register_all` leaves it out; register it
//! with `ctx.register_udf(UtcDateTrunc::udf())`, as cxsql does.
//!
//! ```no_run
//! # async fn example() -> datafusion::common::Result<()> {
//! let ctx = datafusion::prelude::SessionContext::new();
//! cxsql_udfs::register_all(&ctx);
//! ctx.sql("SELECT channel, nps(nps_score) FROM surveys GROUP BY channel").await?;
//! # Ok(())
//! # }
//! ```

use std::sync::{Arc, LazyLock};

use datafusion::logical_expr::{AggregateUDF, DocSection, Documentation, ScalarUDF};
use datafusion::prelude::SessionContext;

mod backlog_at;
mod backlog_series;
mod business_seconds;
pub mod calendar;
mod churn_rate;
mod clock;
mod csat;
mod date_trunc;
mod fcr_rate;
mod forward;
mod history;
mod kpi;
mod nps;
mod nps_stats;
mod rate_ci;
mod reply_waits;
mod scores;
mod servqual_gap;
mod sla_clock;
mod status_at;
mod status_durations;
mod status_seconds;
mod time;

pub use backlog_at::BacklogAt;
pub use backlog_series::BacklogSeries;
pub use business_seconds::{BusinessSeconds, SlaBreached};
pub use calendar::{Calendar, Calendars, DEFAULT_CALENDAR};
pub use churn_rate::ChurnRate;
pub use csat::Csat;
pub use date_trunc::UtcDateTrunc;
pub use fcr_rate::FcrRate;
pub use nps::Nps;
pub use nps_stats::{NpsDiffTest, NpsInterval, tests_on_counts};
pub use rate_ci::RateInterval;
pub use reply_waits::ReplyWaits;
pub use servqual_gap::ServqualGap;
pub use sla_clock::SlaClock;
pub use status_at::StatusAt;
pub use status_durations::StatusDurations;
pub use status_seconds::StatusSeconds;

/// The documentation section all cxsql functions are listed under.
pub const DOC_SECTION: DocSection = DocSection {
    include: true,
    label: "Customer-service KPIs",
    description: Some("Aggregate functions for support and customer-experience metrics (cxsql)."),
};

macro_rules! udaf_singleton {
    ($fn_name:ident, $ty:ty) => {
        #[doc = concat!("The shared `", stringify!($ty), "` aggregate function.")]
        pub fn $fn_name() -> Arc<AggregateUDF> {
            static UDAF: LazyLock<Arc<AggregateUDF>> =
                LazyLock::new(|| Arc::new(AggregateUDF::from(<$ty>::new())));
            Arc::clone(&UDAF)
        }
    };
}

udaf_singleton!(nps_udaf, Nps);

/// The shared `nps_moe` aggregate function.
pub fn nps_moe_udaf() -> Arc<AggregateUDF> {
    static UDAF: LazyLock<Arc<AggregateUDF>> =
        LazyLock::new(|| Arc::new(AggregateUDF::from(NpsInterval::moe())));
    Arc::clone(&UDAF)
}

/// The shared `nps_ci` aggregate function.
pub fn nps_ci_udaf() -> Arc<AggregateUDF> {
    static UDAF: LazyLock<Arc<AggregateUDF>> =
        LazyLock::new(|| Arc::new(AggregateUDF::from(NpsInterval::ci())));
    Arc::clone(&UDAF)
}

udaf_singleton!(nps_diff_test_udaf, NpsDiffTest);
udaf_singleton!(csat_udaf, Csat);
udaf_singleton!(fcr_rate_udaf, FcrRate);
udaf_singleton!(servqual_gap_udaf, ServqualGap);
udaf_singleton!(backlog_at_udaf, BacklogAt);
udaf_singleton!(backlog_series_udaf, BacklogSeries);
udaf_singleton!(churn_rate_udaf, ChurnRate);
udaf_singleton!(status_at_udaf, StatusAt);

/// The shared `csat_ci` aggregate function.
pub fn csat_ci_udaf() -> Arc<AggregateUDF> {
    static UDAF: LazyLock<Arc<AggregateUDF>> =
        LazyLock::new(|| Arc::new(AggregateUDF::from(RateInterval::csat())));
    Arc::clone(&UDAF)
}

/// The shared `fcr_ci` aggregate function.
pub fn fcr_ci_udaf() -> Arc<AggregateUDF> {
    static UDAF: LazyLock<Arc<AggregateUDF>> =
        LazyLock::new(|| Arc::new(AggregateUDF::from(RateInterval::fcr())));
    Arc::clone(&UDAF)
}

/// The shared `rate_ci` aggregate function.
pub fn rate_ci_udaf() -> Arc<AggregateUDF> {
    static UDAF: LazyLock<Arc<AggregateUDF>> =
        LazyLock::new(|| Arc::new(AggregateUDF::from(RateInterval::condition())));
    Arc::clone(&UDAF)
}

/// One function of this crate: an aggregate or a scalar function.
#[derive(Debug, Clone)]
pub enum Function {
    Aggregate(Arc<AggregateUDF>),
    Scalar(Arc<ScalarUDF>),
}

impl Function {
    /// The SQL name.
    pub fn name(&self) -> &str {
        match self {
            Self::Aggregate(f) => f.name(),
            Self::Scalar(f) => f.name(),
        }
    }

    /// Other SQL names.
    pub fn aliases(&self) -> &[String] {
        match self {
            Self::Aggregate(f) => f.aliases(),
            Self::Scalar(f) => f.aliases(),
        }
    }

    /// The documentation (every function has one).
    pub fn documentation(&self) -> Option<&Documentation> {
        match self {
            Self::Aggregate(f) => f.documentation(),
            Self::Scalar(f) => f.documentation(),
        }
    }
}

/// The aggregate functions, then the scalar ones reading calendars from `calendars`.
fn functions_with(calendars: &Arc<Calendars>) -> Vec<Function> {
    let aggregates = [
        nps_udaf(),
        nps_moe_udaf(),
        nps_ci_udaf(),
        nps_diff_test_udaf(),
        csat_udaf(),
        csat_ci_udaf(),
        fcr_rate_udaf(),
        fcr_ci_udaf(),
        rate_ci_udaf(),
        servqual_gap_udaf(),
        backlog_at_udaf(),
        backlog_series_udaf(),
        churn_rate_udaf(),
        Arc::new(AggregateUDF::from(StatusSeconds::new(Arc::clone(
            calendars,
        )))),
        Arc::new(AggregateUDF::from(StatusDurations::new(Arc::clone(
            calendars,
        )))),
        Arc::new(AggregateUDF::from(SlaClock::new(Arc::clone(calendars)))),
        status_at_udaf(),
        Arc::new(AggregateUDF::from(ReplyWaits::new(Arc::clone(calendars)))),
    ];
    let scalars = [
        ScalarUDF::new_from_impl(BusinessSeconds::new(Arc::clone(calendars))),
        ScalarUDF::new_from_impl(SlaBreached::new(Arc::clone(calendars))),
    ];
    aggregates
        .into_iter()
        .map(Function::Aggregate)
        .chain(scalars.into_iter().map(|f| Function::Scalar(Arc::new(f))))
        .collect()
}

/// Every function of this crate (the scalar ones with only the default calendar).
pub fn all_functions() -> Vec<Function> {
    functions_with(&Arc::new(Calendars::new()))
}

/// Registers every function of this crate with `ctx`, with a calendar registry of its own holding the
/// `default` calendar; add calendars with [`register_calendar`].
///
/// DataFusion silently replaces a registered function of the same name; the crate's tests check that no name
/// here shadows a DataFusion built-in.
pub fn register_all(ctx: &SessionContext) {
    for f in functions_with(&Arc::new(Calendars::new())) {
        match f {
            Function::Aggregate(f) => ctx.register_udaf(f.as_ref().clone()),
            Function::Scalar(f) => ctx.register_udf(f.as_ref().clone()),
        }
    }
}

/// The calendars `business_seconds` and `sla_breached` read in `ctx` (after [`register_all`]).
pub fn calendars(ctx: &SessionContext) -> Option<Arc<Calendars>> {
    use datafusion::execution::FunctionRegistry;

    let udf = ctx.udf("business_seconds").ok()?;
    let any: &dyn std::any::Any = udf.inner().as_ref();
    any.downcast_ref::<BusinessSeconds>()
        .map(|f| Arc::clone(f.calendars()))
}

/// Adds (or replaces) calendar `name` for `business_seconds` and `sla_breached` in `ctx`.
pub fn register_calendar(
    ctx: &SessionContext,
    name: &str,
    calendar: Calendar,
) -> datafusion::common::Result<()> {
    match calendars(ctx) {
        Some(calendars) => {
            calendars.register(name, calendar);
            Ok(())
        }
        None => datafusion::common::plan_err!(
            "register_calendar: call cxsql_udfs::register_all on the session first"
        ),
    }
}

/// A Markdown reference of every function, generated from its `Documentation` (docs/functions.md embeds it).
pub fn reference_markdown() -> String {
    let all: Vec<String> = all_functions().iter().map(function_markdown).collect();
    all.join("\n\n") + "\n"
}

/// Every function in one line: its syntax and the first sentence of its description (the README embeds it).
pub fn list_markdown() -> String {
    let mut out = String::new();
    for f in all_functions() {
        let Some(doc) = f.documentation() else {
            continue;
        };
        // The first sentence ("i.e." does not end one); of a long one, what comes before its colon.
        let text = doc.description.replace('\n', " ");
        let end = text
            .match_indices(". ")
            .find(|(at, _)| !text[..*at].ends_with(".."))
            .map_or(text.len(), |(at, _)| at);
        let mut first = &text[..end];
        first = first.split(", i.e").next().unwrap_or(first);
        if let Some((head, _)) = first.split_once(": ")
            && head.chars().count() >= 20
        {
            first = head;
        }
        let stop = if first.ends_with('.') { "" } else { "." };
        out.push_str(&format!("- `{}`: {first}{stop}\n", doc.syntax_example));
    }
    out
}

/// One function's documentation as Markdown: syntax, description, arguments, examples.
pub fn function_markdown(f: &Function) -> String {
    let Some(doc) = f.documentation() else {
        return format!("### `{}`", f.name());
    };
    let mut out = format!("### `{}`\n\n{}\n", doc.syntax_example, doc.description);
    if let Some(arguments) = &doc.arguments {
        out.push('\n');
        for (name, text) in arguments {
            out.push_str(&format!("- `{name}`: {text}\n"));
        }
    }
    if let Some(example) = &doc.sql_example {
        out.push_str(&format!("\n{example}\n"));
    }
    out.trim_end().to_string()
}

/// Checks the generated section `key` of the Markdown page at `path` (the text between `<!-- {key}:start -->`
/// and `<!-- {key}:end -->`) against `expected`; with `UPDATE_README` in the environment it rewrites the
/// section instead. For the tests that keep generated documentation from drifting, here and in cxsql;
/// `rerun` is the command that rewrites the section, for the message.
#[doc(hidden)]
pub fn check_generated(
    path: &std::path::Path,
    key: &str,
    expected: &str,
    rerun: &str,
) -> Result<(), String> {
    let page = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{page}: {e}"))?;
    let (start, end) = (
        format!("<!-- {key}:start -->\n"),
        format!("<!-- {key}:end -->"),
    );
    let (Some(a), Some(b)) = (text.find(&start), text.find(&end)) else {
        return Err(format!("{page} lacks the {start:?} ... {end:?} markers"));
    };
    if &text[a + start.len()..b] == expected {
        return Ok(());
    }
    if std::env::var_os("UPDATE_README").is_none() {
        return Err(format!("{page}'s {key} section drifted; run {rerun}"));
    }
    let updated = format!("{}{expected}{}", &text[..a + start.len()], &text[b..]);
    std::fs::write(path, updated).map_err(|e| format!("{page}: {e}"))
}

/// `100 * part / whole`, NULL when `whole` is 0 (an empty or all-NULL group).
pub(crate) fn percent(part: i64, whole: i64) -> Option<f64> {
    (whole != 0).then(|| 100.0 * part as f64 / whole as f64)
}

/// Builders of the KPI expressions for DataFrame users.
pub mod expr_fn {
    use datafusion::logical_expr::Expr;

    /// `nps(score)`.
    pub fn nps(score: Expr) -> Expr {
        super::nps_udaf().call(vec![score])
    }

    /// `csat(score)`: top-two-box on the 1–5 scale.
    pub fn csat(score: Expr) -> Expr {
        super::csat_udaf().call(vec![score])
    }

    /// `csat(score, scale_max)`: top-two-box on the 1–`scale_max` scale (`scale_max` a constant).
    pub fn csat_scale(score: Expr, scale_max: Expr) -> Expr {
        super::csat_udaf().call(vec![score, scale_max])
    }

    /// `fcr_rate(x)`: `x` a boolean (resolved at first contact) or the number of contacts.
    pub fn fcr_rate(x: Expr) -> Expr {
        super::fcr_rate_udaf().call(vec![x])
    }

    /// `servqual_gap(perception, expectation)`.
    pub fn servqual_gap(perception: Expr, expectation: Expr) -> Expr {
        super::servqual_gap_udaf().call(vec![perception, expectation])
    }

    /// `servqual_gap(perception, expectation, weight)`.
    pub fn servqual_gap_weighted(perception: Expr, expectation: Expr, weight: Expr) -> Expr {
        super::servqual_gap_udaf().call(vec![perception, expectation, weight])
    }

    /// `backlog_at(created_at, resolved_at, at)`.
    pub fn backlog_at(created_at: Expr, resolved_at: Expr, at: Expr) -> Expr {
        super::backlog_at_udaf().call(vec![created_at, resolved_at, at])
    }

    /// `churn_rate(start_at, end_at, period_start, period_end)`.
    pub fn churn_rate(start_at: Expr, end_at: Expr, period_start: Expr, period_end: Expr) -> Expr {
        super::churn_rate_udaf().call(vec![start_at, end_at, period_start, period_end])
    }

    /// `backlog_at(created_at, resolved_at, at, sla)`.
    pub fn backlog_at_sla(created_at: Expr, resolved_at: Expr, at: Expr, sla: Expr) -> Expr {
        super::backlog_at_udaf().call(vec![created_at, resolved_at, at, sla])
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use datafusion::execution::FunctionRegistry;

    use super::*;

    #[test]
    fn no_name_collides_with_a_datafusion_builtin() {
        let ctx = SessionContext::new();
        let state = ctx.state();
        let mut builtin: HashSet<String> = HashSet::new();
        builtin.extend(state.udafs());
        builtin.extend(state.udfs());
        builtin.extend(state.udwfs());
        for f in state.aggregate_functions().values() {
            builtin.extend(f.aliases().iter().cloned());
        }
        for f in state.scalar_functions().values() {
            builtin.extend(f.aliases().iter().cloned());
        }
        for f in state.window_functions().values() {
            builtin.extend(f.aliases().iter().cloned());
        }
        assert!(
            builtin.contains("avg"),
            "the built-in list is not what this test expects"
        );
        let mut ours = HashSet::new();
        for f in all_functions() {
            for name in std::iter::once(f.name()).chain(f.aliases().iter().map(String::as_str)) {
                assert!(
                    !builtin.contains(name),
                    "{name} shadows a DataFusion built-in"
                );
                assert!(ours.insert(name.to_string()), "{name} is defined twice");
            }
        }
    }

    #[test]
    fn every_function_is_documented_with_an_example() {
        for f in all_functions() {
            let doc = f.documentation().expect("documented");
            assert!(doc.syntax_example.starts_with(f.name()), "{}", f.name());
            assert!(
                doc.sql_example
                    .as_deref()
                    .is_some_and(|e| e.contains(f.name()))
            );
            assert!(doc.arguments.as_ref().is_some_and(|a| !a.is_empty()));
        }
    }

    /// The function reference (docs/functions.md) and the README's one-line list are generated.
    #[test]
    fn readme_function_reference_is_up_to_date() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let rerun = "UPDATE_README=1 cargo test -p cxsql-udfs readme";
        for (page, key, expected) in [
            ("docs/functions.md", "functions", reference_markdown()),
            ("README.md", "function-list", list_markdown()),
        ] {
            check_generated(&root.join(page), key, &expected, rerun)
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }

    /// Runs every `> statement` of the documented SQL examples that shows a result (a table after it, or a
    /// trailing `; -- value`) and compares the first value.
    #[tokio::test]
    async fn documented_examples_give_the_documented_results() {
        use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

        let ctx = SessionContext::new();
        register_all(&ctx);
        let mut checked = 0;
        for f in all_functions() {
            let example = f
                .documentation()
                .and_then(|d| d.sql_example.clone())
                .unwrap_or_default();
            let lines: Vec<&str> = example.lines().collect();
            let mut i = 0;
            while i < lines.len() {
                let Some(first) = lines[i].strip_prefix("> ") else {
                    i += 1;
                    continue;
                };
                let mut sql = first.to_string();
                i += 1;
                while i < lines.len() && lines[i].starts_with("  ") {
                    sql = format!("{sql} {}", lines[i].trim());
                    i += 1;
                }
                let expected = if let Some((statement, value)) = sql.split_once("; -- ") {
                    let value = value.trim().to_string();
                    sql = statement.to_string();
                    value
                } else if lines.get(i).is_some_and(|l| l.starts_with('+')) {
                    let value = lines[i + 3].trim_matches('|').trim().to_string();
                    i += 5;
                    value
                } else {
                    continue;
                };
                let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
                let column = batches[0].column(0);
                let formatter = ArrayFormatter::try_new(column, &FormatOptions::default()).unwrap();
                assert_eq!(
                    formatter.value(0).to_string(),
                    expected,
                    "{}: {sql}",
                    f.name()
                );
                checked += 1;
            }
        }
        assert!(
            checked >= all_functions().len(),
            "only {checked} examples show a result"
        );
    }

    #[tokio::test]
    async fn register_all_makes_the_functions_callable() {
        let ctx = SessionContext::new();
        register_all(&ctx);
        let batches = ctx
            .sql("SELECT nps(s) FROM (VALUES (10), (0)) AS t(s)")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        assert_eq!(batches[0].num_rows(), 1);
    }
}
