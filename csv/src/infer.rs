//! CSV schemas, inferred by cxsql from a sample of a table's first file, wherever it is stored.
//!
//! DataFusion 55 cuts a CSV file into records for schema inference with object_store's line splitter, which
//! takes `\` for an escape character and so loses track of quotes in real exports (`<div style=\""...`). cxsql
//! reads the first file's first bytes itself (through the session's object store: local folders and `s3://`
//! alike, decompressing `.gz`/`.bz2`/`.xz`/`.zst`), cuts the sample after its last complete record, and lets
//! Arrow's CSV reader infer the types.
//!
//! The sample is decoded from the file's encoding and sniffed (`sniff`); Arrow infers the standard types, and
//! the columns it leaves as text are decided by the catalog's `timestamp_format`/`date_format` and by the
//! locale rules (see [`infer`]). The conversion used when reading (`part::Convert`) is the very parser
//! that accepted the sample, so a column is converted only if its whole sample converts.

use std::io::{Cursor, Read};
use std::sync::Arc;

use datafusion::arrow::csv::reader::Format;
use datafusion::arrow::datatypes::{DataType, Field, IntervalUnit, Schema, SchemaRef, TimeUnit};
use datafusion::common::{DataFusionError, Result, exec_err};
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::listing::ListingTableUrl;
use object_store::ObjectStoreExt as _;

use crate::locale::{self, Locale};
use crate::part::Convert;
use crate::reading::CsvReading;

use crate::dialect;
use crate::files::{self, TableFiles};
use crate::sniff;

/// Bytes of the first file read to infer the schema (before decompression).
const SAMPLE_BYTES: u64 = 8 << 20;
/// At most this many bytes are read when the first records are longer than `SAMPLE_BYTES`.
const SAMPLE_MAX_BYTES: u64 = 512 << 20;
/// Records read to infer the schema.
const SAMPLE_RECORDS: usize = 10_000;

/// How a CSV table's files are written, as far as the user said; sniffing decides the rest (see `sniff`).
#[derive(Debug, Clone)]
pub struct CsvOptions {
    /// Whether the first record is a header; `None`: sniffed.
    pub header: Option<bool>,
    /// Delimiter, quote, escape, comment given by the user.
    pub fixed: dialect::Fixed,
    /// What reads as NULL (default: empty fields).
    pub null_regex: Option<regex::Regex>,
    pub compression: FileCompressionType,
    /// chrono format of text timestamps (`%d/%m/%Y %H:%M`).
    pub timestamp_format: Option<String>,
    /// chrono format of text dates (`%d/%m/%Y`).
    pub date_format: Option<String>,
    /// The files' encoding; `None`: detected.
    pub encoding: Option<&'static encoding_rs::Encoding>,
    /// Whether a large file may be read in parts by all cores (default true).
    pub parallel: bool,
    /// Numbers with a decimal comma; `None`: detected where the delimiter is not `,`.
    pub decimal_comma: Option<bool>,
    /// The order of day and month in dates; `None`: detected.
    pub dates: Option<locale::Order>,
    /// Column types declared by name.
    pub columns: Vec<(String, DataType)>,
}

/// What inference found: the table's file schema (the types of its columns) and how to read its files.
#[derive(Debug)]
pub struct Inferred {
    /// For each column, why it has its type.
    pub why: Vec<String>,
    pub schema: SchemaRef,
    pub reading: CsvReading,
}

/// Whether a chrono format reads an offset or a zone (the values are then instants, in UTC).
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
    dialect: &CsvOptions,
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
    let name = files::display_name(url, first);
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
    // The encoding, the dialect, the header and the names, from the sample.
    let cut = !complete;
    let encoding = match &dialect.encoding {
        Some(given) => sniff::DetectedEncoding {
            encoding: given,
            bom: 0,
            reason: "given".into(),
        },
        None => sniff::detect_encoding(&text, cut),
    };
    // Decoded (the byte order mark dropped); a character cut by the sample's end is dropped with it.
    let (decoded, _) = encoding
        .encoding
        .decode_with_bom_removal(&text[encoding.bom.min(text.len())..]);
    let mut decoded = decoded.into_owned();
    if cut && decoded.ends_with('\u{fffd}') {
        decoded.pop();
    }
    // The header (when there is one) and the records that are the sample.
    let sniffed = sniff::sniff_dialect(&decoded, cut, dialect.fixed, SAMPLE_RECORDS + 1);
    let d = sniffed.dialect;
    if let Some(hint) = &sniffed.hint {
        return Err(DataFusionError::Execution(format!(
            "{name}: the delimiter {} given in its options does not split it into columns ({}); {hint}: \
             correct `delimiter`, or leave it out to have it detected",
            dialect::delimiter_name(d.delimiter),
            sniffed.reason.trim_end_matches("; the delimiter was given"),
        )));
    }
    let decimal_comma = dialect.decimal_comma.unwrap_or(d.delimiter != b',');
    let (header, header_reason) = match dialect.header {
        Some(given) => (given, "given".to_string()),
        None => sniff::has_header(&sniffed.records, decimal_comma),
    };
    let fields = sniffed.records.first().map_or(0, Vec::len);
    let names = match (header, sniffed.records.first()) {
        (true, Some(first)) => sniff::column_names(first),
        _ => sniff::numbered_names(fields),
    };
    let mut records = sniffed.records;
    if header && !records.is_empty() {
        records.remove(0);
    }
    records.truncate(SAMPLE_RECORDS);
    let reasons = Reasons {
        encoding: encoding.reason.clone(),
        dialect: sniffed.reason.clone(),
        header: header_reason,
    };
    Ok(Some(Sample {
        reasons,
        name,
        text: decoded.into_bytes(),
        encoding: encoding.encoding,
        dialect: d,
        header,
        names,
        records,
    }))
}

/// What sniffing and inference found in a CSV table, and why (`cxsql sniff`).
#[derive(Debug, Clone)]
pub struct SniffReport {
    pub location: String,
    pub encoding: &'static encoding_rs::Encoding,
    pub dialect: dialect::Dialect,
    pub header: bool,
    pub reasons: Reasons,
    /// Name, type, why.
    pub columns: Vec<(String, DataType, String)>,
    /// Some column is read with a decimal comma.
    pub decimal_comma: bool,
    /// The order of day and month the file's dates were read in, if some were.
    pub dates: Option<locale::Order>,
}

/// Why sniffing decided what it did, for `cxsql sniff`.
#[derive(Debug, Clone, Default)]
pub struct Reasons {
    pub encoding: String,
    pub dialect: String,
    pub header: String,
}

/// The first bytes of a table's first file, cut after a whole record, and what sniffing found in them.
#[derive(Debug)]
pub struct Sample {
    pub reasons: Reasons,
    /// The file, for messages.
    name: String,
    /// The sample decoded to UTF-8.
    text: Vec<u8>,
    pub encoding: &'static encoding_rs::Encoding,
    pub dialect: dialect::Dialect,
    pub header: bool,
    names: Vec<String>,
    /// The sample's data records, as text.
    records: Vec<Vec<String>>,
}

/// Infers the schema of a CSV table from the sample of its first file (in name order), and how to read its
/// files: Arrow's types where Arrow recognises the values; for the columns it leaves as text, the catalog's
/// timestamp or date format when every value of the sample parses with it, else the locale rules of `sniff`
/// (decimal commas, day- or month-first dates and timestamps, durations). Date columns whose day and month
/// cannot be told apart follow another date column of the file that could, else day-first when the file
/// writes decimal commas (a European export), else stay text.
pub fn infer(sample: Sample, dialect: &CsvOptions) -> Result<Inferred> {
    let Sample {
        reasons: _,
        name,
        text,
        encoding,
        dialect: d,
        header,
        names,
        records,
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
    let (schema, _) = match format.infer_schema(Cursor::new(&text), Some(SAMPLE_RECORDS)) {
        Ok(inferred) => inferred,
        Err(e) => {
            // Say where and what, as the reader would (a ragged row, a quote left open).
            let fields = names.len();
            let mut check = crate::part::Checker::new(&d, fields, header);
            let found = check.feed(&text).and_then(|()| check.finish(true));
            return Err(match found {
                Err((line, message)) => {
                    DataFusionError::Execution(format!("{name}: line {line}: {message}"))
                }
                Ok(()) => fail(&e),
            });
        }
    };
    // Arrow names the columns from the header as it is; cxsql's names are trimmed, numbered and distinct. A
    // column empty throughout the sample is text (Arrow says Null, which no later value fits).
    let mut read: Vec<Field> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let name = names
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("column{}", i + 1));
            let field = field.as_ref().clone().with_name(name);
            if field.data_type() == &DataType::Null {
                field.with_data_type(DataType::Utf8)
            } else {
                field
            }
        })
        .collect();
    let is_null =
        |v: &str| v.trim().is_empty() || dialect.null_regex.as_ref().is_some_and(|r| r.is_match(v));
    let decimal_comma = dialect.decimal_comma.unwrap_or(d.delimiter != b',');
    let mut converts: Vec<Option<Convert>> = vec![None; read.len()];
    let mut why: Vec<String> = read
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 => "text".to_string(),
            other => format!("every sample value reads as {other}"),
        })
        .collect();
    let mut ambiguous = Vec::new();
    for (i, field) in read.iter().enumerate() {
        if field.data_type() != &DataType::Utf8 {
            continue;
        }
        let values: Vec<&str> = records
            .iter()
            .filter_map(|r| r.get(i).map(String::as_str))
            .filter(|v| !is_null(v))
            .collect();
        if values.is_empty() {
            why[i] = "empty throughout the sample: text".into();
            continue;
        }
        if let Some(format) = &dialect.timestamp_format {
            let utc = has_zone(format);
            let parses = |v: &&str| {
                if utc {
                    chrono::DateTime::parse_from_str(v.trim(), format).is_ok()
                } else {
                    chrono::NaiveDateTime::parse_from_str(v.trim(), format).is_ok()
                }
            };
            if values.iter().all(parses) {
                converts[i] = Some(Convert::Timestamp {
                    format: format.clone(),
                    utc,
                });
                continue;
            }
        }
        if let Some(format) = &dialect.date_format
            && values
                .iter()
                .all(|v| chrono::NaiveDate::parse_from_str(v.trim(), format).is_ok())
        {
            converts[i] = Some(Convert::Date {
                format: format.clone(),
            });
            continue;
        }
        let given = dialect.dates;
        match locale::decide(&values, decimal_comma) {
            // The catalog's order of day and month, over what the values say.
            locale::Decision::Locale(locale) => {
                converts[i] = Some(Convert::Locale(match (locale, given) {
                    (Locale::Date(o), Some(order)) if o != locale::Order::YearFirst => {
                        Locale::Date(order)
                    }
                    (Locale::Timestamp(o), Some(order)) if o != locale::Order::YearFirst => {
                        Locale::Timestamp(order)
                    }
                    (locale, _) => locale,
                }));
            }
            locale::Decision::AmbiguousDates { timestamp } if given.is_some() => {
                let order = given.unwrap_or(locale::Order::DayFirst);
                why[i] = format!("dates, {} as the catalog's `dates` says", order.name());
                converts[i] = Some(Convert::Locale(if timestamp {
                    Locale::Timestamp(order)
                } else {
                    Locale::Date(order)
                }));
            }
            locale::Decision::AmbiguousDates { timestamp } => {
                why[i] = "dates whose day and month cannot be told apart (no value above 12), and nothing \
                          else in the file decides: text"
                    .into();
                ambiguous.push((i, timestamp));
            }
            locale::Decision::Text => {}
        }
    }
    let decided: Vec<locale::Order> = converts
        .iter()
        .filter_map(|c| match c {
            Some(Convert::Locale(Locale::Date(o) | Locale::Timestamp(o)))
                if *o != locale::Order::YearFirst =>
            {
                Some(*o)
            }
            _ => None,
        })
        .collect();
    let file_order = match decided.first() {
        Some(first) if decided.iter().all(|o| o == first) => Some(*first),
        Some(_) => None,
        None if converts
            .iter()
            .any(|c| c == &Some(Convert::Locale(Locale::DecimalComma))) =>
        {
            Some(locale::Order::DayFirst)
        }
        None => None,
    };
    if let Some(order) = file_order {
        for &(i, _) in &ambiguous {
            why[i] = format!(
                "dates with no day above 12: {} like the file's other dates (or its decimal commas)",
                order.name()
            );
        }
        for (i, timestamp) in ambiguous {
            converts[i] = Some(Convert::Locale(if timestamp {
                Locale::Timestamp(order)
            } else {
                Locale::Date(order)
            }));
        }
    }
    for (i, convert) in converts.iter().enumerate() {
        if let Some(c) = convert
            && !why[i].starts_with("dates")
        {
            why[i] = format!("every sample value is {}", c.expected());
        }
    }
    // Types declared in the catalog, over what was detected.
    let mut declared = vec![false; read.len()];
    for (column, to) in &dialect.columns {
        let Some(i) = read.iter().position(|f| f.name() == column) else {
            let names: Vec<&str> = read.iter().map(|f| f.name().as_str()).collect();
            return Err(DataFusionError::Execution(format!(
                "{name}: its catalog options declare a type for the column {column:?}, which it does not \
                 have; its columns are: {}",
                names.join(", ")
            )));
        };
        let values: Vec<&str> = records
            .iter()
            .filter_map(|r| r.get(i).map(String::as_str))
            .filter(|v| !is_null(v))
            .collect();
        let (read_type, convert, how) = declare(
            converts[i].take(),
            to,
            &values,
            decimal_comma,
            dialect.dates.or(file_order),
        )
        .map_err(|e| DataFusionError::Execution(format!("{name}: column {column}: {e}")))?;
        read[i] = read[i].clone().with_data_type(read_type);
        converts[i] = convert;
        declared[i] = true;
        why[i] = format!("declared {to} in the catalog{how}");
    }
    let table: Vec<Field> = read
        .iter()
        .zip(&converts)
        .map(|(field, convert)| match convert {
            Some(c) => field.clone().with_data_type(c.data_type()),
            None => field.clone(),
        })
        .collect();
    Ok(Inferred {
        why,
        schema: Arc::new(Schema::new(table)),
        reading: CsvReading {
            dialect: d,
            header,
            encoding,
            compression: dialect.compression,
            null_regex: dialect.null_regex.clone(),
            read_schema: Arc::new(Schema::new(read)),
            converts,
            declared,
            // A line break is the byte `\n` in these encodings, and the parts are cut in the file's bytes.
            parallel: dialect.parallel
                && !dialect.compression.is_compressed()
                && encoding != encoding_rs::UTF_16LE
                && encoding != encoding_rs::UTF_16BE,
        },
    })
}

/// How a column declared `to` in the catalog is read: the type Arrow's decoder reads it as, the conversion
/// after it, and (for the sniff report) how its text is taken. `detected`: the locale conversion sniffing
/// found for it; `values`: its sample values; `order`: the file's order of day and month, if known.
fn declare(
    detected: Option<Convert>,
    to: &DataType,
    values: &[&str],
    decimal_comma: bool,
    order: Option<locale::Order>,
) -> std::result::Result<(DataType, Option<Convert>, String), String> {
    use datafusion::arrow::compute::can_cast_types;
    let temporal = matches!(to, DataType::Date32 | DataType::Timestamp(..));
    let all =
        |parses: &dyn Fn(&str) -> bool| !values.is_empty() && values.iter().all(|v| parses(v));
    let first = match detected {
        Some(c) if &c.data_type() == to => Some(c),
        Some(c @ Convert::Locale(Locale::Duration | Locale::DecimalComma)) if to.is_numeric() => {
            Some(c)
        }
        Some(
            c @ (Convert::Locale(Locale::Date(_) | Locale::Timestamp(_))
            | Convert::Date { .. }
            | Convert::Timestamp { .. }),
        ) if temporal => Some(c),
        Some(Convert::Locale(Locale::Duration)) if matches!(to, DataType::Interval(_)) => {
            Some(Convert::Locale(Locale::Duration))
        }
        _ if to.is_numeric()
            && decimal_comma
            && all(&|v| locale::parse_decimal_comma(v).is_some())
            && values.iter().any(|v| v.contains(',')) =>
        {
            Some(Convert::Locale(Locale::DecimalComma))
        }
        _ if temporal && order.is_some_and(|o| all(&|v| locale::parse_date(v, o).is_some())) => {
            order.map(|o| Convert::Locale(Locale::Date(o)))
        }
        _ if temporal
            && order.is_some_and(|o| all(&|v| locale::parse_timestamp(v, o).is_some())) =>
        {
            order.map(|o| Convert::Locale(Locale::Timestamp(o)))
        }
        _ if matches!(to, DataType::Interval(_))
            && all(&|v| locale::parse_duration(v).is_some()) =>
        {
            Some(Convert::Locale(Locale::Duration))
        }
        _ => None,
    };
    let how = match &first {
        Some(Convert::Locale(Locale::Duration)) if to.is_numeric() => {
            ", from durations H:MM:SS (in seconds)".to_string()
        }
        Some(c) => format!(
            ", from {}",
            c.expected()
                .trim_start_matches("a ")
                .trim_start_matches("an ")
        ),
        None => String::new(),
    };
    match first {
        Some(c) if &c.data_type() == to => Ok((DataType::Utf8, Some(c), how)),
        Some(c) => {
            let from = match &c {
                Convert::Locale(Locale::Duration) if to.is_numeric() => DataType::Float64,
                c => c.data_type(),
            };
            if !can_cast_types(&from, to) {
                return Err(format!(
                    "its values ({}) cannot be read as {to}",
                    c.expected()
                ));
            }
            Ok((
                DataType::Utf8,
                Some(Convert::Cast {
                    first: Some(Box::new(c)),
                    to: to.clone(),
                }),
                how,
            ))
        }
        None if crate::decode::arrow_reads(to) => Ok((to.clone(), None, how)),
        None if can_cast_types(&DataType::Utf8, to) => Ok((
            DataType::Utf8,
            Some(Convert::Cast {
                first: None,
                to: to.clone(),
            }),
            how,
        )),
        None => Err(format!("text cannot be read as {to}")),
    }
}

/// The SQL name of a column type, as a catalog's `columns` takes it; `None` for a type with a time zone
/// (pinned by `timestamp_format` instead).
pub fn sql_type_name(data_type: &DataType) -> Option<String> {
    use DataType::*;
    Some(match data_type {
        Boolean => "BOOLEAN".into(),
        Int8 => "TINYINT".into(),
        Int16 => "SMALLINT".into(),
        Int32 => "INT".into(),
        Int64 => "BIGINT".into(),
        UInt8 => "TINYINT UNSIGNED".into(),
        UInt16 => "SMALLINT UNSIGNED".into(),
        UInt32 => "INT UNSIGNED".into(),
        UInt64 => "BIGINT UNSIGNED".into(),
        Float32 => "REAL".into(),
        Float64 => "DOUBLE".into(),
        Decimal128(p, s) => format!("DECIMAL({p},{s})"),
        Utf8 | LargeUtf8 | Utf8View => "VARCHAR".into(),
        Date32 => "DATE".into(),
        Timestamp(unit, None) => format!(
            "TIMESTAMP({})",
            match unit {
                TimeUnit::Second => 0,
                TimeUnit::Millisecond => 3,
                TimeUnit::Microsecond => 6,
                TimeUnit::Nanosecond => 9,
            }
        ),
        Interval(IntervalUnit::MonthDayNano) => "INTERVAL".into(),
        _ => return None,
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
