//! The listings shared by the command line and the shell (`tables`, `schema NAME`, `functions [NAME]`, the
//! shell's `\d`, `\d NAME`, `\f`), as datafusion-cli shares `command.rs` with its REPL. Each returns a
//! [`Listing`] that the front end writes through the writer, in the format the user chose.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};

use crate::error::{Error, Result};
use crate::session::Session;
use crate::writer::Destination;

/// What a listing command shows: rows, or a text (a function's documentation).
#[derive(Debug, Clone)]
pub enum Listing {
    Rows(RecordBatch),
    Text(String),
}

impl Listing {
    /// Writes the listing to `out`.
    pub async fn write_to(self, out: &mut Destination) -> Result<()> {
        match self {
            Listing::Rows(batch) => out.write_batch(batch).await.map(|_| ()),
            Listing::Text(text) => out.write_text(&text),
        }
    }
}

/// A batch of text columns.
fn text_rows(columns: &[(&str, Vec<Option<String>>)]) -> Result<RecordBatch> {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, values)| Field::new(*name, DataType::Utf8, values.iter().any(Option::is_none)))
        .collect();
    let arrays: Vec<ArrayRef> = columns
        .iter()
        .map(|(_, values)| Arc::new(StringArray::from(values.clone())) as ArrayRef)
        .collect();
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
}

/// The tables: name, kind (the file format, `view` or `table`) and location. Reads no file.
pub async fn tables(session: &Session) -> Result<Listing> {
    let tables = session.tables().await;
    let batch = text_rows(&[
        (
            "name",
            tables.iter().map(|t| Some(t.name.clone())).collect(),
        ),
        (
            "kind",
            tables.iter().map(|t| Some(t.kind.clone())).collect(),
        ),
        (
            "location",
            tables.iter().map(|t| t.location.clone()).collect(),
        ),
    ])?;
    Ok(Listing::Rows(batch))
}

/// A table's columns: name, type and whether it may be NULL (as `information_schema.columns` says it).
pub async fn schema(session: &Session, table: &str) -> Result<Listing> {
    let schema = session.schema(table).await?;
    let fields = schema.fields();
    let batch = text_rows(&[
        (
            "column_name",
            fields.iter().map(|f| Some(f.name().clone())).collect(),
        ),
        (
            "data_type",
            fields
                .iter()
                .map(|f| Some(f.data_type().to_string()))
                .collect(),
        ),
        (
            "is_nullable",
            fields
                .iter()
                .map(|f| Some(if f.is_nullable() { "YES" } else { "NO" }.to_string()))
                .collect(),
        ),
    ])?;
    Ok(Listing::Rows(batch))
}

/// The KPI functions with the first sentence of their description, or one function's documentation.
pub fn functions(name: Option<&str>) -> Result<Listing> {
    let all = cxsql_udfs::all_functions();
    match name {
        None => {
            let documented: Vec<_> = all
                .iter()
                .filter_map(|f| f.documentation().map(|d| (f.name(), d)))
                .collect();
            let batch = text_rows(&[
                (
                    "name",
                    documented
                        .iter()
                        .map(|(name, _)| Some(name.to_string()))
                        .collect(),
                ),
                (
                    "description",
                    documented
                        .iter()
                        .map(|(_, d)| {
                            let first = d.description.split(". ").next().unwrap_or_default();
                            Some(format!("{}.", first.trim_end_matches('.')))
                        })
                        .collect(),
                ),
            ])?;
            Ok(Listing::Rows(batch))
        }
        Some(name) => {
            let Some(f) = all.iter().find(|f| f.name().eq_ignore_ascii_case(name)) else {
                let names: Vec<&str> = all.iter().map(|f| f.name()).collect();
                return Err(Error::Usage(format!(
                    "unknown function {name}; the KPI functions are: {}",
                    names.join(", ")
                )));
            };
            Ok(Listing::Text(cxsql_udfs::function_markdown(f)))
        }
    }
}
