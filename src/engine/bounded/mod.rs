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

mod concat;
mod counted;
mod size;

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::common::Result;
use datafusion::execution::FunctionRegistry;
use datafusion::execution::memory_pool::{MemoryLimit, MemoryPool};
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{
    AggregateUDF, ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};
use datafusion::prelude::SessionContext;

use crate::engine::bounded::concat::{BoundedConcatPlanner, ConcatOperator};
use crate::engine::bounded::counted::Counted;
use crate::engine::bounded::size::{Size, broadcast, estimate, reserve};

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

#[warn(clippy::missing_trait_methods)]
impl ScalarUDFImpl for Bounded {
    cxsql_udfs::forward_scalar_udf!();

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
