//! Reading one part of a CSV file (the whole file, or the records that start in a byte range) into record
//! batches: bytes, decompressed, decoded from the file's encoding to UTF-8, checked (the field count of every
//! record, quotes left open, the part ending where a record ends), parsed by Arrow's CSV decoder, and the
//! columns written in a locale's way converted. Every error names the file, the line and, for a value, the
//! column and the value.

use std::collections::VecDeque;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, PrimitiveArray, PrimitiveBuilder, RecordBatch, RecordBatchOptions, StringArray,
};
use datafusion::arrow::datatypes::{
    ArrowPrimitiveType, DataType, Date32Type, Float64Type, IntervalMonthDayNano,
    IntervalMonthDayNanoType, SchemaRef, TimeUnit, TimestampMicrosecondType,
};
use datafusion::common::DataFusionError;

use crate::dialect::Dialect;
use crate::locale::{self, Locale};
use crate::split::Fields;

/// How a column read as text becomes its type.
#[derive(Debug, Clone, PartialEq)]
pub enum Convert {
    /// Decided by sniffing (or declared): decimal commas, day-/month-first dates, durations.
    Locale(Locale),
    /// A chrono format given in the catalog; with `utc`, the format carries an offset and the value is an
    /// instant.
    Timestamp {
        format: String,
        utc: bool,
    },
    Date {
        format: String,
    },
    /// A type declared in the catalog (`columns = { "Durée" = "DOUBLE" }`): the text read by `first` where the
    /// file writes it in a locale's way (a duration declared a number reads as its seconds), then cast.
    Cast {
        first: Option<Box<Convert>>,
        to: DataType,
    },
}

impl Convert {
    /// The type the column has in the table.
    pub fn data_type(&self) -> DataType {
        match self {
            Convert::Locale(Locale::DecimalComma) => DataType::Float64,
            Convert::Locale(Locale::Date(_)) | Convert::Date { .. } => DataType::Date32,
            Convert::Locale(Locale::Timestamp(_)) => {
                DataType::Timestamp(TimeUnit::Microsecond, None)
            }
            Convert::Timestamp { utc, .. } => {
                DataType::Timestamp(TimeUnit::Microsecond, utc.then(|| Arc::from("UTC")))
            }
            Convert::Locale(Locale::Duration) => {
                DataType::Interval(datafusion::arrow::datatypes::IntervalUnit::MonthDayNano)
            }
            Convert::Cast { to, .. } => to.clone(),
        }
    }

    /// What a value must look like, for messages.
    pub fn expected(&self) -> String {
        match self {
            Convert::Locale(Locale::DecimalComma) => "a number with a decimal comma (3,5)".into(),
            Convert::Locale(Locale::Date(order)) => format!("a {} date", order.name()),
            Convert::Locale(Locale::Timestamp(order)) => {
                format!("a {} date and time", order.name())
            }
            Convert::Locale(Locale::Duration) => "a duration H:MM:SS".into(),
            Convert::Timestamp { format, .. } => format!("a timestamp in the format {format}"),
            Convert::Date { format } => format!("a date in the format {format}"),
            Convert::Cast { first: None, to } => format!("a {to} (declared in the catalog)"),
            Convert::Cast {
                first: Some(first),
                to,
            } => format!("{}, as {to} (declared in the catalog)", first.expected()),
        }
    }

    /// Converts `text` (NULLs stay NULL); on a value that does not convert, the row and the value.
    pub fn apply(&self, text: &StringArray) -> std::result::Result<ArrayRef, (usize, String)> {
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("the epoch");
        let days = |d: chrono::NaiveDate| i32::try_from((d - epoch).num_days()).ok();
        Ok(match self {
            Convert::Locale(Locale::DecimalComma) => Arc::new(parse_each::<Float64Type>(
                text,
                locale::parse_decimal_comma,
            )?),
            Convert::Locale(Locale::Date(order)) => {
                Arc::new(parse_each::<Date32Type>(text, |v| {
                    locale::parse_date(v, *order).and_then(days)
                })?)
            }
            Convert::Date { format } => Arc::new(parse_each::<Date32Type>(text, |v| {
                chrono::NaiveDate::parse_from_str(v.trim(), format)
                    .ok()
                    .and_then(days)
            })?),
            Convert::Locale(Locale::Timestamp(order)) => {
                Arc::new(parse_each::<TimestampMicrosecondType>(text, |v| {
                    locale::parse_timestamp(v, *order).map(|t| t.and_utc().timestamp_micros())
                })?)
            }
            Convert::Timestamp { format, utc: true } => Arc::new(
                parse_each::<TimestampMicrosecondType>(text, |v| {
                    chrono::DateTime::parse_from_str(v.trim(), format)
                        .ok()
                        .map(|t| t.timestamp_micros())
                })?
                .with_timezone("UTC"),
            ),
            Convert::Timestamp { format, utc: false } => {
                Arc::new(parse_each::<TimestampMicrosecondType>(text, |v| {
                    chrono::NaiveDateTime::parse_from_str(v.trim(), format)
                        .ok()
                        .map(|t| t.and_utc().timestamp_micros())
                })?)
            }
            Convert::Locale(Locale::Duration) => {
                Arc::new(parse_each::<IntervalMonthDayNanoType>(text, |v| {
                    locale::parse_duration(v).map(|nanos| IntervalMonthDayNano::new(0, 0, nanos))
                })?)
            }
            Convert::Cast { first, to } => cast_text(first.as_deref(), to, text)?,
        })
    }
}

/// Each value of `text` parsed by `parse` (NULLs stay NULL); the first that does not parse, with its row.
fn parse_each<T: ArrowPrimitiveType>(
    text: &StringArray,
    parse: impl Fn(&str) -> Option<T::Native>,
) -> std::result::Result<PrimitiveArray<T>, (usize, String)> {
    let mut out = PrimitiveBuilder::<T>::with_capacity(text.len());
    for (row, value) in text.iter().enumerate() {
        match value {
            None => out.append_null(),
            Some(v) => out.append_value(parse(v).ok_or_else(|| (row, v.to_string()))?),
        }
    }
    Ok(out.finish())
}

/// `text` read by `first` (or as it is), cast to `to`; a value that does not cast is named.
fn cast_text(
    first: Option<&Convert>,
    to: &DataType,
    text: &StringArray,
) -> std::result::Result<ArrayRef, (usize, String)> {
    let bad = |row: usize| (row, text.value(row).to_string());
    let read: ArrayRef = match first {
        // A duration as a number: its seconds.
        Some(Convert::Locale(Locale::Duration)) if to.is_numeric() => {
            Arc::new(parse_each::<Float64Type>(text, |v| {
                locale::parse_duration(v).map(|nanos| nanos as f64 / 1e9)
            })?)
        }
        Some(first) => first.apply(text)?,
        None => Arc::new(text.clone()),
    };
    if read.data_type() == to {
        return Ok(read);
    }
    // A value that does not cast becomes NULL here, and is then found and named.
    let options = datafusion::arrow::compute::CastOptions {
        safe: true,
        ..Default::default()
    };
    // Casts that cannot be made at all are refused when the table is read (see `infer`).
    let cast =
        datafusion::arrow::compute::cast_with_options(&read, to, &options).map_err(|_| {
            let row = (0..text.len()).find(|&row| text.is_valid(row));
            (
                row.unwrap_or(0),
                row.map(|r| text.value(r).to_string()).unwrap_or_default(),
            )
        })?;
    match (0..cast.len()).find(|&row| read.is_valid(row) && cast.is_null(row)) {
        Some(row) => Err(bad(row)),
        None => Ok(cast),
    }
}

/// Arrow's CSV parse error, "Error while parsing value 'abc' as type 'Int64' for column 1 at line 3. Row
/// data: ...", taken apart: Arrow names neither the file nor the column, and counts its lines in records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrowParseError<'a> {
    pub value: &'a str,
    pub data_type: &'a str,
    /// The column's position among the file's columns.
    pub column: usize,
    /// Arrow's line: the decoder's record number (the header counted when there is one).
    pub line: usize,
}

impl<'a> ArrowParseError<'a> {
    /// The parts of `text`, if it is such an error (anywhere in it: DataFusion may prefix it).
    pub fn parse(text: &'a str) -> Option<Self> {
        let rest = text.split_once("Error while parsing value '")?.1;
        let (value, rest) = rest.split_once("' as type '")?;
        let (data_type, rest) = rest.split_once("' for column ")?;
        let (column, rest) = rest.split_once(" at line ")?;
        Some(Self {
            value,
            data_type,
            column: column.parse().ok()?,
            line: rest.split(['.', ' ']).next()?.parse().ok()?,
        })
    }
}

/// Checks the UTF-8 text of a part as it streams by: every record's field count against the table's, the
/// line each record starts on (for messages), quoted values left open, and where the part ends.
#[derive(Debug)]
pub struct Checker {
    fields: Fields,
    expected: usize,
    /// Lines since the part's start (1-based).
    line: u64,
    record_line: u64,
    quote_line: u64,
    /// The first record of the part is the header (skipped by the decoder too).
    header_pending: bool,
    /// The line of every data record checked and not yet handed out with a batch.
    pub record_lines: VecDeque<u64>,
}

impl Checker {
    pub fn new(dialect: &Dialect, expected: usize, header: bool) -> Self {
        Self {
            fields: Fields::new(dialect),
            expected,
            line: 1,
            record_line: 1,
            quote_line: 1,
            header_pending: header,
            record_lines: VecDeque::new(),
        }
    }

    /// Checks `text`; a problem is returned with its line (relative to the part's start).
    pub fn feed(&mut self, text: &[u8]) -> std::result::Result<(), (u64, String)> {
        let mut i = 0;
        while i < text.len() {
            let plain = self.fields.plain(&text[i..]);
            if plain > 0 {
                if self.fields.in_quotes() {
                    self.line += memchr::memchr_iter(b'\n', &text[i..i + plain]).count() as u64;
                }
                i += plain;
                continue;
            }
            let b = text[i];
            i += 1;
            if self.fields.at_record_start() {
                self.record_line = self.line;
            }
            let quoted = self.fields.in_quotes();
            if let Some(n) = self.fields.push(b) {
                self.record(n)?;
            }
            if !quoted && self.fields.in_quotes() {
                self.quote_line = self.line;
            }
            if b == b'\n' {
                self.line += 1;
            }
        }
        Ok(())
    }

    fn record(&mut self, fields: usize) -> std::result::Result<(), (u64, String)> {
        if fields != self.expected {
            return Err((
                self.record_line,
                format!(
                    "{fields} field{} where the header has {}; a row must have as many fields as the header \
                     (is a delimiter or a quote missing?)",
                    if fields == 1 { "" } else { "s" },
                    self.expected
                ),
            ));
        }
        if std::mem::take(&mut self.header_pending) {
            return Ok(());
        }
        self.record_lines.push_back(self.record_line);
        Ok(())
    }

    /// The end of the part's text. `at_end_of_file`: the part ends where the file does (a last record may lack
    /// its line break); otherwise the part must end where a record ends.
    pub fn finish(&mut self, at_end_of_file: bool) -> std::result::Result<(), (u64, String)> {
        if self.fields.in_quotes() {
            return Err((
                self.quote_line,
                if at_end_of_file {
                    "unterminated quote: the quoted value that starts there never ends, so every line after it \
                     would be read as part of it"
                        .to_string()
                } else {
                    "the file could not be split for parallel reading here (a quoted value spans the split); \
                     set `parallel = false` in the table's catalog options"
                        .to_string()
                },
            ));
        }
        if !at_end_of_file && !self.fields.at_record_start() {
            return Err((
                self.line,
                "the file could not be split for parallel reading here (the split is inside a record); set \
                 `parallel = false` in the table's catalog options"
                    .to_string(),
            ));
        }
        match self.fields.finish() {
            Some(n) => self.record(n),
            None => Ok(()),
        }
    }
}

/// Converts the columns of `batch` (the projected file columns, in `schema`'s order, `converts` for each) that
/// are read as text; an error names the column, the value and the row.
pub fn convert_batch(
    batch: RecordBatch,
    schema: &SchemaRef,
    converts: &[Option<Convert>],
) -> std::result::Result<RecordBatch, (usize, String, String, String)> {
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (i, column) in batch.columns().iter().enumerate() {
        match converts.get(i).and_then(Option::as_ref) {
            None => columns.push(Arc::clone(column)),
            Some(convert) => {
                let text = column
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .expect("converted columns are read as text");
                let converted = convert.apply(text).map_err(|(row, value)| {
                    (
                        row,
                        schema.field(i).name().clone(),
                        value,
                        convert.expected(),
                    )
                })?;
                columns.push(converted);
            }
        }
    }
    // A projection of no columns (`count(*)`) still has its rows.
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    Ok(
        RecordBatch::try_new_with_options(Arc::clone(schema), columns, &options)
            .expect("converted columns have the table's types"),
    )
}

/// An error for the file `name`.
pub fn file_error(name: &str, message: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("{name}: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Date32Array, Float64Array, IntervalMonthDayNanoArray};

    fn text(values: &[Option<&str>]) -> StringArray {
        StringArray::from(values.to_vec())
    }

    #[test]
    fn locale_columns_convert_and_bad_values_are_named() {
        let c = Convert::Locale(Locale::DecimalComma);
        let out = c
            .apply(&text(&[Some("3,5"), None, Some("1 234,5")]))
            .expect("converts");
        let out = out.as_any().downcast_ref::<Float64Array>().expect("f64");
        assert_eq!(out.value(0), 3.5);
        assert!(out.is_null(1));
        assert_eq!(out.value(2), 1234.5);
        assert_eq!(
            c.apply(&text(&[Some("3,5"), Some("n/a")])).err(),
            Some((1, "n/a".to_string()))
        );

        let d = Convert::Locale(Locale::Date(locale::Order::DayFirst));
        let out = d.apply(&text(&[Some("31/03/2021")])).expect("converts");
        let out = out.as_any().downcast_ref::<Date32Array>().expect("date");
        assert_eq!(out.value(0), 18_717, "2021-03-31 is day 18717 of the epoch");

        let t = Convert::Locale(Locale::Duration);
        let out = t.apply(&text(&[Some("0:02:23")])).expect("converts");
        let out = out
            .as_any()
            .downcast_ref::<IntervalMonthDayNanoArray>()
            .expect("interval");
        assert_eq!(
            out.value(0),
            IntervalMonthDayNano::new(0, 0, 143_000_000_000)
        );
    }

    #[test]
    fn arrow_parse_errors_are_taken_apart() {
        let text = "Error while parsing value 'abc' as type 'Int64' for column 1 at line 3. Row data: '[3,abc]'";
        assert_eq!(
            ArrowParseError::parse(text),
            Some(ArrowParseError {
                value: "abc",
                data_type: "Int64",
                column: 1,
                line: 3
            })
        );
        assert_eq!(
            ArrowParseError::parse(&format!("Arrow error: Parser error: {text}")).map(|e| e.line),
            Some(3)
        );
        assert_eq!(ArrowParseError::parse("something else"), None);
    }

    #[test]
    fn the_checker_gives_record_lines_and_refuses_a_split_inside_a_record() {
        let dialect = Dialect {
            delimiter: b',',
            quote: b'"',
            escape: None,
            comment: None,
        };
        let mut check = Checker::new(&dialect, 2, true);
        check
            .feed(b"a,b\n1,\"x\ny\"\n\n2,z\n")
            .expect("well formed");
        check.finish(true).expect("ends");
        assert_eq!(check.record_lines, [2, 5]);

        let mut check = Checker::new(&dialect, 2, false);
        check.feed(b"1,\"open\n").expect("so far");
        assert!(
            check.finish(false).is_err(),
            "a part may not end inside quotes"
        );
        let mut check = Checker::new(&dialect, 2, false);
        assert_eq!(
            check.feed(b"1,2\n3,4,5\n").map_err(|(line, _)| line),
            Err(2)
        );
    }
}
