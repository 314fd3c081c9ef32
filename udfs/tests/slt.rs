//! Runs the SQL-level tests in `tests/slt/*.slt` (sqllogictest format) against a `SessionContext` with the
//! cxsql functions registered, 4 target partitions and tiny batches, so that partial states are merged.

use std::path::Path;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, RecordBatch};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::{DataFusionError, ScalarValue};
use datafusion::prelude::{SessionConfig, SessionContext};
use sqllogictest::{DBOutput, DefaultColumnType};

struct Db {
    ctx: SessionContext,
}

fn column_type(t: &DataType) -> DefaultColumnType {
    if t.is_integer() {
        DefaultColumnType::Integer
    } else if t.is_floating() || matches!(t, DataType::Decimal128(..)) {
        DefaultColumnType::FloatingPoint
    } else {
        DefaultColumnType::Text
    }
}

/// Floats are printed with at most 10 decimals, so that results do not depend on summation order.
fn cell(array: &dyn Array, row: usize) -> Result<String, DataFusionError> {
    let value = ScalarValue::try_from_array(array, row)?;
    if value.is_null() {
        return Ok("NULL".to_string());
    }
    Ok(match value {
        ScalarValue::Float64(Some(v)) => float(v),
        ScalarValue::Float32(Some(v)) => float(f64::from(v)),
        ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) if s.is_empty() => {
            "(empty)".to_string()
        }
        _ => ArrayFormatter::try_new(array, &FormatOptions::default())?
            .value(row)
            .to_string(),
    })
}

fn float(v: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    let s = format!("{v:.10}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn rows(batches: &[RecordBatch]) -> Result<Vec<Vec<String>>, DataFusionError> {
    let mut rows = Vec::new();
    for batch in batches {
        for row in 0..batch.num_rows() {
            rows.push(
                batch
                    .columns()
                    .iter()
                    .map(|c| cell(c.as_ref(), row))
                    .collect::<Result<_, _>>()?,
            );
        }
    }
    Ok(rows)
}

#[async_trait]
impl sqllogictest::AsyncDB for Db {
    type Error = DataFusionError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, DataFusionError> {
        let df = self.ctx.sql(sql).await?;
        let types = df
            .schema()
            .fields()
            .iter()
            .map(|f| column_type(f.data_type()))
            .collect::<Vec<_>>();
        let batches = df.collect().await?;
        if types.is_empty() {
            return Ok(DBOutput::StatementComplete(0));
        }
        Ok(DBOutput::Rows {
            types,
            rows: rows(&batches)?,
        })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "cxsql"
    }
}

fn new_db() -> Db {
    let config = SessionConfig::new()
        .with_target_partitions(4)
        .with_batch_size(2);
    let ctx = SessionContext::new_with_config(config);
    cxsql_udfs::register_all(&ctx);
    Db { ctx }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_logic_tests() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/slt exists")
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    let texts: Vec<String> = files
        .iter()
        .map(|f| std::fs::read_to_string(f).expect("readable .slt"))
        .collect();
    for f in cxsql_udfs::all_functions() {
        let call = format!("{}(", f.name());
        assert!(
            texts.iter().any(|t| t.contains(&call)),
            "no .slt file in {} calls {}",
            dir.display(),
            f.name()
        );
    }
    let mut failures = Vec::new();
    for file in &files {
        let mut runner = sqllogictest::Runner::new(|| async { Ok(new_db()) });
        if let Err(e) = runner.run_file_async(file).await {
            failures.push(format!("{}: {e}", file.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
