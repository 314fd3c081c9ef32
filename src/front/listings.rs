//! The listings shared by the command line and the shell (`tables`, `schema NAME`, `functions [NAME]`, the
//! shell's `\d`, `\d NAME`, `\f`), as datafusion-cli shares `command.rs` with its REPL. Each returns a
//! [`Listing`] that the front end writes through the writer, in the format the user chose.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};

use crate::engine::saved::SavedQuery;
use crate::engine::session::Session;
use crate::engine::table_functions::Library;
use crate::error::{Error, Result};
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

/// The KPI functions and the saved queries of `library` (callable as table functions) with their parameters
/// and the first sentence of their description, or one's documentation.
pub fn functions(name: Option<&str>, library: &Library) -> Result<Listing> {
    let all = cxsql_udfs::all_functions();
    match name {
        None => {
            let mut names = Vec::new();
            let mut kinds = Vec::new();
            let mut calls = Vec::new();
            let mut descriptions = Vec::new();
            for f in &all {
                let Some(d) = f.documentation() else {
                    continue;
                };
                names.push(Some(f.name().to_string()));
                kinds.push(Some("KPI function".to_string()));
                calls.push(Some(d.syntax_example.clone()));
                let first = d.description.split(". ").next().unwrap_or_default();
                descriptions.push(Some(format!("{}.", first.trim_end_matches('.'))));
            }
            for q in library.queries() {
                names.push(Some(q.name.clone()));
                kinds.push(Some("saved query".to_string()));
                calls.push(Some(call_syntax(q)));
                let first = q.description.split(". ").next().unwrap_or_default();
                descriptions.push(Some(format!("{}.", first.trim_end_matches('.'))));
            }
            let batch = text_rows(&[
                ("name", names),
                ("kind", kinds),
                ("call", calls),
                ("description", descriptions),
            ])?;
            Ok(Listing::Rows(batch))
        }
        Some(name) => {
            if let Some(f) = all.iter().find(|f| f.name().eq_ignore_ascii_case(name)) {
                return Ok(Listing::Text(cxsql_udfs::function_markdown(f)));
            }
            if let Some(q) = library
                .queries()
                .find(|q| q.name.eq_ignore_ascii_case(name))
            {
                return Ok(Listing::Text(saved_markdown(q)));
            }
            let mut names: Vec<&str> = all.iter().map(|f| f.name()).collect();
            names.extend(library.queries().map(|q| q.name.as_str()));
            Err(Error::Usage(format!(
                "unknown function {name}; the KPI functions and saved queries are: {}",
                names.join(", ")
            )))
        }
    }
}

/// How a saved query is called: `nps_by_channel([since TIMESTAMP], [until TIMESTAMP])`, parameters with a
/// default in brackets (they may be left out from the end).
pub fn call_syntax(query: &SavedQuery) -> String {
    let params: Vec<String> = query
        .params
        .iter()
        .map(|p| match &p.default {
            Some(d) => format!("[{} {} = '{d}']", p.name, p.sql_type),
            None => format!("{} {}", p.name, p.sql_type),
        })
        .collect();
    format!("{}({})", query.name, params.join(", "))
}

/// A saved query's documentation: what it computes, how to call it, its file and its SQL.
fn saved_markdown(query: &SavedQuery) -> String {
    let mut text = format!(
        "# {} (saved query, {})\n\n{}\n\n## Call\n\n```sql\nSELECT * FROM {}\n```\n\n",
        query.name,
        query.path.display(),
        query.description,
        call_syntax(query)
    );
    text.push_str("Arguments in this order; those with a default may be left out from the end. ");
    text.push_str(
        "Text is read as the declared type, as `--param` reads it.\n\n## SQL\n\n```sql\n",
    );
    text.push_str(&query.body);
    text.push_str("\n```\n");
    text
}

/// What `cxsql sniff` shows of a CSV table: what was detected and why, the columns (name, type, why), and a
/// catalog entry that pins the detected reading.
pub struct Sniffed {
    pub summary: String,
    pub columns: Listing,
    pub catalog_entry: String,
}

/// `text` as a TOML basic string: quoted, with `\\`, `"` and control characters escaped.
fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What sniffing found in CSV table `table` of `session`.
pub async fn sniff(session: &Session, table: &str) -> Result<Sniffed> {
    let report = session.sniff(table).await?;
    let d = &report.dialect;
    let one_char = |b: u8| (b as char).to_string();
    let mut summary = String::new();
    summary.push_str(&format!("file       {}\n", report.location));
    summary.push_str(&format!(
        "encoding   {}: {}\n",
        report.encoding.name(),
        report.reasons.encoding
    ));
    summary.push_str(&format!(
        "dialect    delimiter {}, quote {}, {}, {}: {}\n",
        cxsql_csv::delimiter_name(d.delimiter),
        cxsql_csv::delimiter_name(d.quote),
        match d.escape {
            None => "quotes doubled inside quoted values".to_string(),
            Some(e) => format!("escape {}", cxsql_csv::delimiter_name(e)),
        },
        match d.comment {
            None => "no comment lines".to_string(),
            Some(c) => format!("comment lines start with {}", cxsql_csv::delimiter_name(c)),
        },
        report.reasons.dialect
    ));
    summary.push_str(&format!(
        "header     {}: {}\n",
        if report.header { "yes" } else { "no" },
        report.reasons.header
    ));
    let columns = Listing::Rows(text_rows(&[
        (
            "column_name",
            report
                .columns
                .iter()
                .map(|(n, _, _)| Some(n.clone()))
                .collect(),
        ),
        (
            "data_type",
            report
                .columns
                .iter()
                .map(|(_, t, _)| Some(t.to_string()))
                .collect(),
        ),
        (
            "why",
            report
                .columns
                .iter()
                .map(|(_, _, w)| Some(w.clone()))
                .collect(),
        ),
    ])?);
    let quoted = toml_string;
    let bare = |key: &str| {
        !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    let table_key = if bare(table) {
        table.to_string()
    } else {
        quoted(table)
    };
    let mut catalog_entry = format!(
        "[tables.{table_key}]\nlocation = {}\nformat = \"csv\"\n\n[tables.{table_key}.options]\n",
        quoted(&report.location)
    );
    let mut option =
        |key: &str, value: String| catalog_entry.push_str(&format!("{key} = {value}\n"));
    option("delimiter", quoted(&one_char(d.delimiter)));
    option("quote", quoted(&one_char(d.quote)));
    option(
        "escape",
        quoted(&d.escape.map(one_char).unwrap_or_default()),
    );
    option(
        "comment",
        quoted(&d.comment.map(one_char).unwrap_or_default()),
    );
    option("header", report.header.to_string());
    option("encoding", quoted(&report.encoding.name().to_lowercase()));
    option(
        "decimal",
        quoted(if report.decimal_comma { "," } else { "." }),
    );
    if let Some(order) = report.dates {
        option("dates", quoted(order.name()));
    }
    catalog_entry.push_str(&format!("\n[tables.{table_key}.options.columns]\n"));
    for (name, data_type, _) in &report.columns {
        if let Some(sql) = cxsql_csv::sql_type_name(data_type) {
            let key = if bare(name) {
                name.clone()
            } else {
                quoted(name)
            };
            catalog_entry.push_str(&format!("{key} = {}\n", quoted(&sql)));
        }
    }
    Ok(Sniffed {
        summary,
        columns,
        catalog_entry,
    })
}
