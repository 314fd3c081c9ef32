//! The one path that executes SQL, whatever its origin (argument, file, standard input, saved query).

use std::collections::HashMap;

use datafusion::common::ScalarValue;
use datafusion::error::DataFusionError;
use datafusion::sql::parser::{DFParser, Statement};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::format::Destination;

/// Splits SQL text into statements with DataFusion's parser (so `;` inside strings and comments is safe).
pub fn split(engine: &Engine, sql: &str) -> Result<Vec<Statement>> {
    let dialect = engine.ctx.state().config().options().sql_parser.dialect;
    let dialect = datafusion::sql::sqlparser::dialect::dialect_from_str(dialect)
        .ok_or_else(|| Error::Usage(format!("unknown SQL dialect {dialect}")))?;
    let statements = DFParser::parse_sql_with_dialect(sql, dialect.as_ref())?;
    if statements.is_empty() {
        return Err(Error::Usage("no SQL statement given".into()));
    }
    Ok(statements.into_iter().collect())
}

/// Runs each statement in order, writing every result that has columns to `out`; `params` are bound to the
/// `$name` placeholders. Stops at the first failure, naming the statement when there are several. Returns the
/// number of rows written.
pub async fn run_statements(
    engine: &Engine,
    statements: Vec<Statement>,
    params: &HashMap<String, ScalarValue>,
    out: &mut Destination,
) -> Result<u64> {
    let many = statements.len() > 1;
    let mut rows = 0;
    for (i, statement) in statements.into_iter().enumerate() {
        let context = if many {
            format!("statement {}: ", i + 1)
        } else {
            String::new()
        };
        let wrap = |e: DataFusionError| Error::Query {
            context: context.clone(),
            hint: hint(engine, &e),
            source: e,
        };
        let df = dataframe(engine, statement, params).await.map_err(wrap)?;
        if df.schema().fields().is_empty() {
            // DDL and SET: run for their effect.
            df.collect().await.map_err(wrap)?;
            continue;
        }
        let stream = df.execute_stream().await.map_err(wrap)?;
        rows += out.write(stream).await.map_err(|e| match e {
            Error::Query { source, .. } => wrap(source),
            other => other,
        })?;
    }
    Ok(rows)
}

/// Plans one statement (DDL takes effect here) and binds `params` to its placeholders.
async fn dataframe(
    engine: &Engine,
    statement: Statement,
    params: &HashMap<String, ScalarValue>,
) -> datafusion::error::Result<datafusion::dataframe::DataFrame> {
    let plan = engine.ctx.state().statement_to_plan(statement).await?;
    let df = engine.ctx.execute_logical_plan(plan).await?;
    if params.is_empty() {
        Ok(df)
    } else {
        df.with_param_values(params.clone())
    }
}

/// What the user needs beyond DataFusion's message: an unknown table lists the registered ones.
fn hint(engine: &Engine, e: &DataFusionError) -> String {
    let message = e.to_string();
    if message.contains("table '") && message.contains("not found") {
        let names = engine.table_names();
        if names.is_empty() {
            return "; no tables are registered (use --data DIR or --table NAME=PATH)".into();
        }
        return format!("; registered tables: {}", names.join(", "));
    }
    String::new()
}

/// Runs `sql` (one or more statements) and returns the last result that has columns, as one batch.
pub async fn collect_last(
    engine: &Engine,
    sql: &str,
    params: &HashMap<String, ScalarValue>,
) -> Result<datafusion::arrow::array::RecordBatch> {
    let statements = split(engine, sql)?;
    let mut last = None;
    for statement in statements {
        let df = dataframe(engine, statement, params).await?;
        let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await?;
        if !schema.fields().is_empty() {
            last = Some(datafusion::arrow::compute::concat_batches(
                &schema, &batches,
            )?);
        }
    }
    last.ok_or_else(|| Error::Usage("the query returns no rows or columns".into()))
}
