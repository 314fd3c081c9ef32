//! The one path that executes SQL, whatever its origin (argument, file, standard input, shell, saved query,
//! report, a catalog's views): split into statements, plan each (DDL takes effect), bind parameters, and hand
//! every result that has columns to a [`ResultSink`]. Errors have one shape: [`Error::Query`] naming the
//! statement when there are several, with a hint where DataFusion's message is not enough.

use std::collections::HashMap;

use datafusion::common::ScalarValue;
use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::{DFParser, Statement};
use datafusion::sql::sqlparser::dialect::dialect_from_str;

use crate::error::{Error, Result};
use crate::writer::ResultSink;

/// Parameter values bound to `$name` placeholders.
pub type Bound = HashMap<String, ScalarValue>;

/// Runs `sql` (one or more statements separated by `;`) in order, writing every result that has columns to
/// `sink`, with `params` bound to the `$name` placeholders. Stops at the first failure. Returns the number of
/// rows written.
pub async fn run(
    ctx: &SessionContext,
    sql: &str,
    params: &Bound,
    sink: &mut dyn ResultSink,
) -> Result<u64> {
    let statements = split(ctx, sql)?;
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
            hint: hint(ctx, &e),
            source: e,
        };
        let df = dataframe(ctx, statement, params).await.map_err(wrap)?;
        if df.schema().fields().is_empty() {
            // DDL and SET: run for their effect.
            df.collect().await.map_err(wrap)?;
            continue;
        }
        let stream = df.execute_stream().await.map_err(wrap)?;
        rows += sink.write(stream).await.map_err(|e| match e {
            // A failure while the result streamed (a KPI's range error): the statement's failure.
            Error::Query { source, .. } => wrap(source),
            other => other,
        })?;
    }
    Ok(rows)
}

/// Splits SQL text into statements with DataFusion's parser (so `;` inside strings and comments is safe).
fn split(ctx: &SessionContext, sql: &str) -> Result<Vec<Statement>> {
    let dialect = ctx.state().config().options().sql_parser.dialect;
    let dialect = dialect_from_str(dialect)
        .ok_or_else(|| Error::Usage(format!("unknown SQL dialect {dialect}")))?;
    let statements = DFParser::parse_sql_with_dialect(sql, dialect.as_ref())?;
    if statements.is_empty() {
        return Err(Error::Usage("no SQL statement given".into()));
    }
    Ok(statements.into_iter().collect())
}

/// Plans one statement (DDL takes effect here) and binds `params` to its placeholders.
async fn dataframe(
    ctx: &SessionContext,
    statement: Statement,
    params: &Bound,
) -> datafusion::error::Result<DataFrame> {
    let plan = ctx.state().statement_to_plan(statement).await?;
    let df = ctx.execute_logical_plan(plan).await?;
    if params.is_empty() {
        Ok(df)
    } else {
        df.with_param_values(params.clone())
    }
}

/// What the user needs beyond DataFusion's message: an unknown table lists the known ones.
fn hint(ctx: &SessionContext, e: &DataFusionError) -> String {
    let message = e.to_string();
    if message.contains("table '") && message.contains("not found") {
        let names = table_names(ctx);
        if names.is_empty() {
            return "; no tables are registered".into();
        }
        return format!("; registered tables: {}", names.join(", "));
    }
    String::new()
}

/// The names of the tables `ctx` knows (from files, catalogs, or created with SQL), sorted.
pub fn table_names(ctx: &SessionContext) -> Vec<String> {
    let mut names = Vec::new();
    for catalog_name in ctx.catalog_names() {
        let Some(catalog) = ctx.catalog(&catalog_name) else {
            continue;
        };
        for schema_name in catalog.schema_names() {
            if schema_name == "information_schema" {
                continue;
            }
            if let Some(schema) = catalog.schema(&schema_name) {
                names.extend(schema.table_names());
            }
        }
    }
    names.sort();
    names
}
