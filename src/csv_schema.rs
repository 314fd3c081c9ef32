//! CSV schemas, inferred by cxsql from a sample of a table's first file, wherever it is stored.
//!
//! DataFusion 55 cuts a CSV file into records for schema inference with object_store's line splitter, which
//! takes `\` for an escape character and so loses track of quotes in real exports (`<div style=\""...`). cxsql
//! reads the first file's first bytes itself (through the session's object store: local folders and `s3://`
//! alike, decompressing `.gz`/`.bz2`/`.xz`/`.zst`), cuts the sample after its last complete record, and lets
//! Arrow's CSV reader infer the types.
//!
//! With a `timestamp_format` or `date_format`, a column that Arrow reads as text becomes a timestamp (a date)
//! when every value of the sample parses with that format. The check uses the very function the table then
//! applies (`to_timestamp_micros`, `to_date`), so a column is converted only if its sample converts.

use std::io::{Cursor, Read};
use std::sync::Arc;

use datafusion::arrow::array::{Array, RecordBatch};
use datafusion::arrow::csv::ReaderBuilder;
use datafusion::arrow::csv::reader::Format;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::common::{Column, DataFusionError, Result, exec_err};
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::listing::ListingTableUrl;
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::{Expr, cast, lit};
use datafusion::prelude::SessionContext;
use object_store::ObjectStoreExt as _;

use crate::sniff;
use crate::verify::{self, TableFiles};

/// Bytes of the first file read to infer the schema (before decompression).
const SAMPLE_BYTES: u64 = 8 << 20;
/// At most this many bytes are read when the first records are longer than `SAMPLE_BYTES`.
const SAMPLE_MAX_BYTES: u64 = 512 << 20;
/// Records read to infer the schema.
const SAMPLE_RECORDS: usize = 10_000;

/// How a CSV table's files are written, as far as the user said; sniffing decides the rest (see `sniff`).
#[derive(Debug, Clone)]
pub struct CsvDialect {
    /// Whether the first record is a header; `None`: sniffed.
    pub header: Option<bool>,
    /// Delimiter, quote, escape, comment given by the user.
    pub fixed: sniff::Fixed,
    /// What reads as NULL (default: empty fields).
    pub null_regex: Option<regex::Regex>,
    pub compression: FileCompressionType,
    /// chrono format of text timestamps (`%d/%m/%Y %H:%M`).
    pub timestamp_format: Option<String>,
    /// chrono format of text dates (`%d/%m/%Y`).
    pub date_format: Option<String>,
}

impl CsvDialect {
    /// The dialect as given, with the defaults (`,`, `"`, quotes doubled, no comments) for what was not.
    pub fn fixed_or_default(&self) -> sniff::Dialect {
        sniff::Dialect {
            delimiter: self.fixed.delimiter.unwrap_or(b','),
            quote: self.fixed.quote.unwrap_or(b'"'),
            escape: self.fixed.escape.flatten(),
            comment: self.fixed.comment.flatten(),
        }
    }
}

/// A column read as text and converted.
#[derive(Debug, Clone, PartialEq)]
pub enum Conversion {
    /// `to_timestamp_micros(column, format)`; in UTC when the format carries an offset or zone.
    Timestamp { format: String, utc: bool },
    /// `to_date(column, format)`.
    Date { format: String },
}

/// What inference found: the schema of the files, and the columns to convert.
#[derive(Debug, Clone)]
pub struct Inferred {
    pub schema: SchemaRef,
    pub conversions: Vec<(String, Conversion)>,
}

impl Conversion {
    /// The expression that converts `column`, named as the column.
    pub fn expr(&self, state: &SessionState, column: &str) -> Result<Expr> {
        let text = Expr::Column(Column::from_name(column));
        let converted = match self {
            Conversion::Timestamp { format, utc } => {
                let parsed = function(state, "to_timestamp_micros")?.call(vec![text, lit(format)]);
                let zone = utc.then(|| Arc::from("UTC"));
                cast(parsed, DataType::Timestamp(TimeUnit::Microsecond, zone))
            }
            Conversion::Date { format } => {
                function(state, "to_date")?.call(vec![text, lit(format)])
            }
        };
        Ok(converted.alias(column))
    }
}

fn function(state: &SessionState, name: &str) -> Result<Arc<datafusion::logical_expr::ScalarUDF>> {
    match state.scalar_functions().get(name) {
        Some(udf) => Ok(Arc::clone(udf)),
        None => exec_err!("the session has no {name} function"),
    }
}

/// Whether a chrono format reads an offset or a zone, so that its instants are absolute.
fn has_zone(format: &str) -> bool {
    ["%z", "%:z", "%::z", "%:::z", "%#z", "%Z", "%+", "%s"]
        .iter()
        .any(|spec| format.contains(spec))
}

/// Reads the first bytes of the first file (in name order) of the CSV table at `url` and sniffs its dialect,
/// header and column names. `None` when the table has no file yet.
pub async fn sample(
    url: &ListingTableUrl,
    listed: &TableFiles,
    dialect: &CsvDialect,
) -> Result<Option<Sample>> {
    let (store, files) = (&listed.store, &listed.files);
    if files.is_empty() {
        return Ok(None);
    }
    // An empty file (an export with no rows and no header) says nothing about the columns.
    let Some(first) = files.iter().find(|f| f.size > 0) else {
        return exec_err!(
            "every file of the table is empty (0 bytes); a CSV table needs at least a header line"
        );
    };
    let name = verify::display_name(url, first);
    let fail = |e: &dyn std::fmt::Display| {
        DataFusionError::Execution(format!("{name}: cannot read it as CSV: {e}"))
    };
    // The first SAMPLE_BYTES, cut after the last whole record; more (4x at a time) while not even one record
    // (beyond the header) fits.
    let mut want = SAMPLE_BYTES;
    let (text, complete) = loop {
        let whole = first.size <= want;
        let bytes = store
            .get_range(&first.location, 0..first.size.min(want))
            .await?;
        let (mut text, complete) = decompress(
            dialect.compression,
            bytes.to_vec(),
            whole,
            4 * want as usize,
        )
        .map_err(|e| fail(&e))?;
        if complete {
            break (text, true);
        }
        let quote = dialect.fixed.quote.unwrap_or(b'"');
        let (end, records) = record_ends(&text, quote);
        if records > usize::from(dialect.header.unwrap_or(true)) || want >= SAMPLE_MAX_BYTES {
            text.truncate(end);
            break (text, false);
        }
        want *= 4;
    };
    // The dialect, the header and the names, from the sample (decoded for sniffing only: the files are read
    // as UTF-8 until the reader decodes other encodings).
    let cut = !complete;
    let encoding = sniff::detect_encoding(&text, cut);
    let (decoded, _, _) = encoding.encoding.decode(&text);
    let sniffed = sniff::sniff_dialect(&decoded, cut, dialect.fixed);
    let d = sniffed.dialect;
    let decimal_comma = d.delimiter != b',';
    let header = match dialect.header {
        Some(given) => given,
        None => sniff::has_header(&sniffed.records, decimal_comma).0,
    };
    let fields = sniffed.records.first().map_or(0, Vec::len);
    let names = match (header, sniffed.records.first()) {
        (true, Some(first)) => sniff::column_names(first),
        _ => sniff::numbered_names(fields),
    };
    Ok(Some(Sample {
        name,
        text,
        dialect: d,
        header,
        names,
    }))
}

/// The first bytes of a table's first file, cut after a whole record, and what sniffing found in them.
#[derive(Debug)]
pub struct Sample {
    /// The file, for messages.
    name: String,
    text: Vec<u8>,
    pub dialect: sniff::Dialect,
    pub header: bool,
    names: Vec<String>,
}

/// Infers the schema of a CSV table from the sample of its first file (in name order).
pub async fn infer(state: &SessionState, sample: Sample, dialect: &CsvDialect) -> Result<Inferred> {
    let Sample {
        name,
        text,
        dialect: d,
        header,
        names,
    } = sample;
    let fail = |e: &dyn std::fmt::Display| {
        DataFusionError::Execution(format!("{name}: cannot read it as CSV: {e}"))
    };
    let mut format = Format::default()
        .with_header(header)
        .with_delimiter(d.delimiter)
        .with_quote(d.quote);
    if let Some(escape) = d.escape {
        format = format.with_escape(escape);
    }
    if let Some(comment) = d.comment {
        format = format.with_comment(comment);
    }
    if let Some(regex) = &dialect.null_regex {
        format = format.with_null_regex(regex.clone());
    }
    // A UTF-8 byte order mark is no part of the first name.
    let text = text
        .strip_prefix(b"\xEF\xBB\xBF")
        .map(<[u8]>::to_vec)
        .unwrap_or(text);
    let (schema, _) = format
        .infer_schema(Cursor::new(&text), Some(SAMPLE_RECORDS))
        .map_err(|e| fail(&e))?;
    // Arrow names the columns from the header as it is; cxsql's names are trimmed, numbered and distinct.
    let schema = Schema::new(
        schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, field)| {
                let name = names
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| format!("column{}", i + 1));
                // A column empty throughout the sample is text (Arrow says Null, which no later value fits).
                let field = field.as_ref().clone().with_name(name);
                if field.data_type() == &DataType::Null {
                    field.with_data_type(DataType::Utf8)
                } else {
                    field
                }
            })
            .collect::<Vec<_>>(),
    );
    let schema = Arc::new(schema);
    let mut conversions = Vec::new();
    if dialect.timestamp_format.is_some() || dialect.date_format.is_some() {
        let sample = ReaderBuilder::new(Arc::clone(&schema))
            .with_format(format)
            .with_batch_size(SAMPLE_RECORDS)
            .build(Cursor::new(&text))
            .and_then(|mut reader| reader.next().transpose())
            .map_err(|e| fail(&e))?;
        if let Some(sample) = sample {
            conversions = convertible_columns(state, &sample, dialect).await?;
        }
    }
    Ok(Inferred {
        schema,
        conversions,
    })
}

/// Decompresses `bytes`, stopping after `limit` bytes of output. With `whole` false the input is a prefix of the file, and the decoder's complaint
/// about its end is expected: what was decoded before it is kept. Returns the text and whether it is the whole
/// file.
fn decompress(
    compression: FileCompressionType,
    bytes: Vec<u8>,
    whole: bool,
    limit: usize,
) -> std::result::Result<(Vec<u8>, bool), String> {
    if !compression.is_compressed() {
        return Ok((bytes, whole));
    }
    let mut reader = compression
        .convert_read(Cursor::new(bytes))
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        match reader.read(&mut chunk) {
            Ok(0) => return Ok((out, whole)),
            Ok(n) => {
                out.extend_from_slice(&chunk[..n]);
                if out.len() >= limit {
                    return Ok((out, false));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) if !whole => return Ok((out, false)),
            Err(e) => return Err(format!("cannot decompress it: {e}")),
        }
    }
}

/// The length of `text` up to and including its last line break outside quotes (RFC 4180: a doubled quote
/// inside a quoted value toggles twice), and how many such line breaks (records) it holds.
fn record_ends(text: &[u8], quote: u8) -> (usize, usize) {
    let mut quoted = false;
    let (mut end, mut records) = (0, 0);
    for (i, &byte) in text.iter().enumerate() {
        if byte == quote {
            quoted = !quoted;
        } else if byte == b'\n' && !quoted {
            end = i + 1;
            records += 1;
        }
    }
    (end, records)
}

/// The text columns of `sample` whose every value converts with the dialect's timestamp (else date) format.
async fn convertible_columns(
    state: &SessionState,
    sample: &RecordBatch,
    dialect: &CsvDialect,
) -> Result<Vec<(String, Conversion)>> {
    let mut candidates = Vec::new();
    if let Some(format) = &dialect.timestamp_format {
        candidates.push(Conversion::Timestamp {
            format: format.clone(),
            utc: has_zone(format),
        });
    }
    if let Some(format) = &dialect.date_format {
        candidates.push(Conversion::Date {
            format: format.clone(),
        });
    }
    let ctx = SessionContext::new_with_state(state.clone());
    let mut found = Vec::new();
    for (index, field) in sample.schema().fields().iter().enumerate() {
        let column = sample.column(index);
        if field.data_type() != &DataType::Utf8 || column.null_count() == column.len() {
            continue;
        }
        let single = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new(
                field.name(),
                DataType::Utf8,
                true,
            )])),
            vec![Arc::clone(column)],
        )?;
        for conversion in &candidates {
            let expr = conversion.expr(state, field.name())?;
            let converts = match ctx.read_batch(single.clone())?.select(vec![expr]) {
                Ok(df) => df.collect().await.is_ok(),
                Err(_) => false,
            };
            if converts {
                found.push((field.name().clone(), conversion.clone()));
                break;
            }
        }
    }
    Ok(found)
}

/// The projection that reads a table of `schema` with `conversions` applied, in column order.
pub fn projection(
    state: &SessionState,
    schema: &Schema,
    conversions: &[(String, Conversion)],
) -> Result<Vec<Expr>> {
    schema
        .fields()
        .iter()
        .map(
            |field| match conversions.iter().find(|(name, _)| name == field.name()) {
                Some((name, conversion)) => conversion.expr(state, name),
                None => Ok(Expr::Column(Column::from_name(field.name()))),
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_is_cut_after_its_last_complete_record() {
        let text = b"a,b\n1,\"x\ny\"\n2,\"un\nfinished";
        assert_eq!(record_ends(text, b'"'), (12, 2));
        assert_eq!(&text[..12], b"a,b\n1,\"x\ny\"\n");
        // Doubled quotes inside a quoted value, and a backslash before a quote, are not escapes of the record end.
        let text = b"a\n\"say \"\"hi\"\"\nthere\"\n\"c:\\\"\n\"open";
        let (end, records) = record_ends(text, b'"');
        assert_eq!(&text[..end], b"a\n\"say \"\"hi\"\"\nthere\"\n\"c:\\\"\n");
        assert_eq!(records, 3);
        assert_eq!(record_ends(b"no newline", b'"'), (0, 0));
    }

    #[test]
    fn zone_aware_formats_are_recognised() {
        assert!(has_zone("%Y-%m-%d %H:%M:%S%z"));
        assert!(has_zone("%+"));
        assert!(!has_zone("%d/%m/%Y %H:%M"));
    }

    #[test]
    fn a_truncated_compressed_sample_keeps_what_decodes() {
        use std::io::Write;
        let text: Vec<u8> = (0..20_000)
            .flat_map(|i| format!("{i},row {i}\n").into_bytes())
            .collect();
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&text).expect("in memory");
        let gz = encoder.finish().expect("in memory");
        let (all, complete) =
            decompress(FileCompressionType::GZIP, gz.clone(), true, usize::MAX).expect("whole");
        assert!(complete);
        assert_eq!(all, text);
        let (part, complete) = decompress(
            FileCompressionType::GZIP,
            gz[..gz.len() / 2].to_vec(),
            false,
            usize::MAX,
        )
        .expect("prefix");
        assert!(!complete);
        assert!(!part.is_empty() && text.starts_with(&part));
        let (capped, complete) =
            decompress(FileCompressionType::GZIP, gz.clone(), true, 1000).expect("capped");
        assert!(!complete && capped.len() >= 1000 && text.starts_with(&capped));
        assert!(
            decompress(
                FileCompressionType::GZIP,
                gz[..gz.len() / 2].to_vec(),
                true,
                usize::MAX
            )
            .is_err()
        );
    }
}
