//! A CSV decoder for the common dialect (a quote doubled inside a quoted value, no escape byte, no comment
//! lines) that reads only the columns a query uses.
//!
//! Arrow's decoder copies every field of every record before it builds the projected columns; most KPI
//! queries use three or four of a dozen or more columns, and a helpdesk export's long text columns are the
//! bulk of its bytes. This decoder finds the bytes that matter (delimiters, quotes, line breaks) 64 at a time
//! as a bit mask and keeps only the projected fields. Its reading of a record is Arrow's (`csv_core`'s): a
//! quote opens a quoted value only at the start of a field, inside one a doubled quote is a quote, after the
//! closing quote the value goes on unquoted; `\n`, `\r` and `\r\n` end a record; blank lines are no records.
//! Its values are Arrow's: a field is NULL when it is empty (or matches the table's `null_regex`), and typed
//! fields are parsed by the same Arrow parsers.

use std::sync::Arc;

use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, LargeStringArray, NullArray, PrimitiveArray, PrimitiveBuilder,
    RecordBatch, RecordBatchOptions, StringArray,
};
use datafusion::arrow::buffer::{Buffer, NullBuffer, OffsetBuffer};
use datafusion::arrow::compute::kernels::cast_utils::{Parser, parse_decimal, string_to_datetime};
use datafusion::arrow::datatypes::*;
use datafusion::arrow::error::ArrowError;

/// A value that does not parse as its column's type: its row in the batch, its column in the projection and
/// the value.
pub type BadValue = (usize, usize, String);

/// Decodes records of one dialect into batches of the projected columns.
#[derive(Debug)]
pub struct Decoder {
    delimiter: u8,
    quote: u8,
    /// Fields every record has.
    fields: usize,
    /// For each field of a record, the projected column it fills.
    slots: Vec<Option<usize>>,
    schema: SchemaRef,
    columns: Vec<Values>,
    null_regex: Option<regex::Regex>,
    batch_size: usize,
    rows: usize,
    /// The first record is a header, skipped.
    header: bool,
}

/// The text of one projected column's values in a batch.
#[derive(Debug, Default)]
struct Values {
    data: Vec<u8>,
    /// `offsets[k]..offsets[k + 1]` is row `k`.
    offsets: Vec<usize>,
}

impl Values {
    fn truncate(&mut self, rows: usize) {
        self.offsets.truncate(rows + 1);
        self.data.truncate(self.offsets[rows]);
    }
}

/// Whether the decoder builds a column of `data_type`: the types Arrow's decoder reads (the read schema holds
/// no others), and NULL.
pub fn reads(data_type: &DataType) -> bool {
    matches!(data_type, DataType::Null) || arrow_reads(data_type)
}

impl Decoder {
    /// A decoder of records of `file_schema`'s fields separated by `delimiter`, building `projection`'s
    /// columns; the first record is skipped when `header`.
    pub fn new(
        delimiter: u8,
        quote: u8,
        file_schema: &Schema,
        projection: &[usize],
        null_regex: Option<regex::Regex>,
        batch_size: usize,
        header: bool,
    ) -> Self {
        let fields = file_schema.fields().len();
        let mut slots = vec![None; fields];
        for (column, &field) in projection.iter().enumerate() {
            slots[field] = Some(column);
        }
        let schema = Arc::new(Schema::new_with_metadata(
            projection
                .iter()
                .map(|&i| Arc::clone(&file_schema.fields()[i]))
                .collect::<Vec<_>>(),
            file_schema.metadata().clone(),
        ));
        let columns = projection
            .iter()
            .map(|_| Values {
                data: Vec::new(),
                offsets: vec![0],
            })
            .collect();
        Self {
            delimiter,
            quote,
            fields,
            slots,
            schema,
            columns,
            null_regex,
            batch_size: batch_size.max(1),
            rows: 0,
            header,
        }
    }

    /// Records that can be decoded before [`Self::flush`] must be called.
    pub fn capacity(&self) -> usize {
        self.batch_size - self.rows
    }

    /// Decodes the complete records at the start of `text` (a record start), up to [`Self::capacity`] of
    /// them; with `eof`, `text` is the end of the input and its last record needs no line break. Returns the
    /// bytes taken: the rest starts with a record not yet complete. A record with the wrong number of fields,
    /// or a quoted value open at the end of the input, is an error.
    pub fn decode(&mut self, text: &[u8], eof: bool) -> Result<usize, String> {
        let (delimiter, quote) = (self.delimiter, self.quote);
        let n = text.len();
        let mut record_start = 0;
        let mut field_start = 0;
        let mut field = 0;
        let mut quoted = false;
        let mut in_quotes = false;
        // Bytes before `skip` were taken already (the second quote of a doubled one).
        let mut skip = 0;
        let mut block = 0;
        let mut mask = specials(&text[..n.min(64)], delimiter, quote);
        loop {
            while mask == 0 {
                block += 64;
                if block >= n {
                    return self.end_of_text(
                        text,
                        eof,
                        record_start,
                        field_start,
                        field,
                        quoted,
                        in_quotes,
                    );
                }
                mask = specials(&text[block..n.min(block + 64)], delimiter, quote);
            }
            let p = block + mask.trailing_zeros() as usize;
            mask &= mask - 1;
            if p < skip {
                continue;
            }
            let b = text[p];
            if in_quotes {
                if b == quote {
                    match text.get(p + 1) {
                        Some(&next) if next == quote => skip = p + 2,
                        None if !eof => {
                            // A doubled quote or the closing one: the next bytes tell.
                            return self.incomplete(record_start);
                        }
                        _ => in_quotes = false,
                    }
                }
                continue;
            }
            if b == quote {
                if p == field_start {
                    in_quotes = true;
                    quoted = true;
                }
                continue;
            }
            if b == delimiter {
                if let Some(&Some(column)) = self.slots.get(field) {
                    self.value(column, &text[field_start..p], quoted);
                }
                field += 1;
                field_start = p + 1;
                quoted = false;
                continue;
            }
            // `\n` or `\r`: the end of a record, or of a blank line.
            if p == record_start {
                record_start = p + 1;
                field_start = p + 1;
                continue;
            }
            if let Some(&Some(column)) = self.slots.get(field) {
                self.value(column, &text[field_start..p], quoted);
            }
            self.record(field + 1)?;
            record_start = p + 1;
            field_start = p + 1;
            field = 0;
            quoted = false;
            if self.rows == self.batch_size {
                return Ok(p + 1);
            }
        }
    }

    /// The end of `text` reached inside the record at `record_start`.
    #[allow(clippy::too_many_arguments)]
    fn end_of_text(
        &mut self,
        text: &[u8],
        eof: bool,
        record_start: usize,
        field_start: usize,
        field: usize,
        quoted: bool,
        in_quotes: bool,
    ) -> Result<usize, String> {
        if !eof {
            return self.incomplete(record_start);
        }
        if in_quotes {
            return Err("a quoted value is still open at the end".to_string());
        }
        if record_start < text.len() {
            if let Some(&Some(column)) = self.slots.get(field) {
                self.value(column, &text[field_start..], quoted);
            }
            self.record(field + 1)?;
        }
        Ok(text.len())
    }

    /// Drops the fields of the record not yet complete; the text is taken up to its start.
    fn incomplete(&mut self, record_start: usize) -> Result<usize, String> {
        let rows = self.rows;
        for column in &mut self.columns {
            column.truncate(rows);
        }
        Ok(record_start)
    }

    /// A value of projected column `column`: `raw`, a quoted value when `quoted`.
    fn value(&mut self, column: usize, raw: &[u8], quoted: bool) {
        let values = &mut self.columns[column];
        if quoted {
            unquote(raw, self.quote, &mut values.data);
        } else {
            values.data.extend_from_slice(raw);
        }
        values.offsets.push(values.data.len());
    }

    /// The end of a record of `fields` fields.
    fn record(&mut self, fields: usize) -> Result<(), String> {
        if fields != self.fields {
            return Err(format!(
                "a record has {fields} fields where {} were expected",
                self.fields
            ));
        }
        if self.header {
            self.header = false;
            for column in &mut self.columns {
                column.truncate(0);
            }
            return Ok(());
        }
        self.rows += 1;
        Ok(())
    }

    /// The records decoded since the last flush, as a batch of the projected columns; `None` when there are
    /// none.
    pub fn flush(&mut self) -> Result<Option<RecordBatch>, BadValue> {
        if self.rows == 0 {
            return Ok(None);
        }
        let rows = std::mem::take(&mut self.rows);
        let columns = std::mem::take(&mut self.columns);
        self.columns = columns
            .iter()
            .map(|_| Values {
                data: Vec::new(),
                offsets: vec![0],
            })
            .collect();
        let mut arrays = Vec::with_capacity(columns.len());
        for (i, values) in columns.into_iter().enumerate() {
            let field = self.schema.field(i);
            let array = build(values, field.data_type(), self.null_regex.as_ref())
                .map_err(|(row, value)| (row, i, value))?;
            arrays.push(array);
        }
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        let batch = RecordBatch::try_new_with_options(Arc::clone(&self.schema), arrays, &options)
            .map_err(|e| (0, 0, e.to_string()))?;
        Ok(Some(batch))
    }
}

/// Bit `i` set where `block[i]` is the delimiter, the quote, `\n` or `\r` (`block` holds at most 64 bytes).
#[inline]
fn specials(block: &[u8], delimiter: u8, quote: u8) -> u64 {
    match <&[u8; 64]>::try_from(block) {
        Ok(block) => specials_64(block, delimiter, quote),
        Err(_) => {
            let mut mask = 0u64;
            for (i, &b) in block.iter().enumerate() {
                let hit = (b == delimiter) | (b == quote) | (b == b'\n') | (b == b'\r');
                mask |= u64::from(hit) << i;
            }
            mask
        }
    }
}

/// [`specials`] of a whole block: one byte per position first (the compiler compares 16 or 32 bytes at
/// once), then each 8 of them packed into 8 bits by one multiplication.
#[inline]
fn specials_64(block: &[u8; 64], delimiter: u8, quote: u8) -> u64 {
    let mut hits = [0u8; 64];
    for (hit, &b) in hits.iter_mut().zip(block) {
        *hit = u8::from((b == delimiter) | (b == quote) | (b == b'\n') | (b == b'\r'));
    }
    let mut mask = 0u64;
    for (k, eight) in hits.chunks_exact(8).enumerate() {
        let bytes = u64::from_le_bytes(eight.try_into().expect("8 bytes"));
        // Byte i's low bit lands on bit 56 + i; no two bytes' bits meet there.
        mask |= (bytes.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * k);
    }
    mask
}

/// The value of a quoted field `raw` (from its opening quote): a doubled quote is one quote, and after the
/// closing quote the bytes are taken as they are.
fn unquote(raw: &[u8], quote: u8, out: &mut Vec<u8>) {
    let mut i = 1;
    while i < raw.len() {
        let b = raw[i];
        if b == quote {
            if raw.get(i + 1) == Some(&quote) {
                out.push(quote);
                i += 2;
                continue;
            }
            out.extend_from_slice(&raw[i + 1..]);
            return;
        }
        out.push(b);
        i += 1;
    }
}

/// A column of `data_type` from its values' text; a value that does not parse, with its row.
fn build(
    values: Values,
    data_type: &DataType,
    null_regex: Option<&regex::Regex>,
) -> Result<ArrayRef, (usize, String)> {
    let rows = values.offsets.len() - 1;
    let Ok(text) = std::str::from_utf8(&values.data) else {
        return Err((0, "(text that is not UTF-8)".to_string()));
    };
    let value = |k: usize| {
        text.get(values.offsets[k]..values.offsets[k + 1])
            .unwrap_or("")
    };
    let is_null = |v: &str| match null_regex {
        Some(regex) => regex.is_match(v),
        None => v.is_empty(),
    };
    use DataType::*;
    Ok(match data_type {
        Null => Arc::new(NullArray::new(rows)),
        Utf8 => {
            let nulls = NullBuffer::from_iter((0..rows).map(|k| !is_null(value(k))));
            let offsets = values
                .offsets
                .iter()
                .map(|&o| i32::try_from(o))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| (0, "(more than 2 GB of text in one batch)".to_string()))?;
            let array = StringArray::try_new(
                OffsetBuffer::new(offsets.into()),
                Buffer::from_vec(values.data),
                (nulls.null_count() > 0).then_some(nulls),
            )
            .map_err(|e| (0, e.to_string()))?;
            Arc::new(array)
        }
        LargeUtf8 => Arc::new(
            (0..rows)
                .map(|k| Some(value(k)).filter(|v| !is_null(v)))
                .collect::<LargeStringArray>(),
        ),
        Boolean => {
            let mut out = BooleanBuilder::with_capacity(rows);
            for k in 0..rows {
                let v = value(k);
                if is_null(v) {
                    out.append_null();
                } else if v.eq_ignore_ascii_case("true") {
                    out.append_value(true);
                } else if v.eq_ignore_ascii_case("false") {
                    out.append_value(false);
                } else {
                    return Err((k, v.to_string()));
                }
            }
            Arc::new(out.finish())
        }
        Int8 => primitive::<Int8Type>(rows, value, is_null, Int8Type::parse)?,
        Int16 => primitive::<Int16Type>(rows, value, is_null, Int16Type::parse)?,
        Int32 => primitive::<Int32Type>(rows, value, is_null, Int32Type::parse)?,
        Int64 => primitive::<Int64Type>(rows, value, is_null, Int64Type::parse)?,
        UInt8 => primitive::<UInt8Type>(rows, value, is_null, UInt8Type::parse)?,
        UInt16 => primitive::<UInt16Type>(rows, value, is_null, UInt16Type::parse)?,
        UInt32 => primitive::<UInt32Type>(rows, value, is_null, UInt32Type::parse)?,
        UInt64 => primitive::<UInt64Type>(rows, value, is_null, UInt64Type::parse)?,
        Float32 => primitive::<Float32Type>(rows, value, is_null, Float32Type::parse)?,
        Float64 => primitive::<Float64Type>(rows, value, is_null, Float64Type::parse)?,
        Date32 => primitive::<Date32Type>(rows, value, is_null, Date32Type::parse)?,
        Decimal128(precision, scale) => {
            let (precision, scale) = (*precision, *scale);
            let array = parse_column::<Decimal128Type>(rows, value, is_null, |v| {
                parse_decimal::<Decimal128Type>(v, precision, scale).ok()
            })?;
            Arc::new(
                array
                    .with_precision_and_scale(precision, scale)
                    .map_err(|e| (0, e.to_string()))?,
            )
        }
        Timestamp(TimeUnit::Second, tz) => {
            timestamps::<TimestampSecondType>(rows, value, is_null, tz)?
        }
        Timestamp(TimeUnit::Millisecond, tz) => {
            timestamps::<TimestampMillisecondType>(rows, value, is_null, tz)?
        }
        Timestamp(TimeUnit::Microsecond, tz) => {
            timestamps::<TimestampMicrosecondType>(rows, value, is_null, tz)?
        }
        Timestamp(TimeUnit::Nanosecond, tz) => {
            timestamps::<TimestampNanosecondType>(rows, value, is_null, tz)?
        }
        other => {
            return Err((
                0,
                format!("(a column of type {other}, which this reader cannot build)"),
            ));
        }
    })
}

/// A column of `T` with each value parsed by `parse` (NULLs as `is_null` says).
fn primitive<'a, T: ArrowPrimitiveType>(
    rows: usize,
    value: impl Fn(usize) -> &'a str,
    is_null: impl Fn(&str) -> bool,
    parse: impl Fn(&str) -> Option<T::Native>,
) -> Result<ArrayRef, (usize, String)> {
    Ok(Arc::new(parse_column::<T>(rows, value, is_null, parse)?))
}

/// [`primitive`], as the typed array (for a decimal's precision or a timestamp's zone).
fn parse_column<'a, T: ArrowPrimitiveType>(
    rows: usize,
    value: impl Fn(usize) -> &'a str,
    is_null: impl Fn(&str) -> bool,
    parse: impl Fn(&str) -> Option<T::Native>,
) -> Result<PrimitiveArray<T>, (usize, String)> {
    let mut out = PrimitiveBuilder::<T>::with_capacity(rows);
    for k in 0..rows {
        let v = value(k);
        if is_null(v) {
            out.append_null();
        } else {
            out.append_value(parse(v).ok_or_else(|| (k, v.to_string()))?);
        }
    }
    Ok(out.finish())
}

/// A timestamp column in time zone `tz` (values without an offset are in that zone, or UTC), read as Arrow's
/// decoder reads it.
fn timestamps<'a, T: ArrowTimestampType>(
    rows: usize,
    value: impl Fn(usize) -> &'a str,
    is_null: impl Fn(&str) -> bool,
    tz: &Option<Arc<str>>,
) -> Result<ArrayRef, (usize, String)> {
    fn instant<T: ArrowTimestampType, Z: chrono::TimeZone>(zone: &Z, v: &str) -> Option<i64> {
        let date = string_to_datetime(zone, v).ok()?;
        match T::UNIT {
            TimeUnit::Second => Some(date.timestamp()),
            TimeUnit::Millisecond => Some(date.timestamp_millis()),
            TimeUnit::Microsecond => Some(date.timestamp_micros()),
            TimeUnit::Nanosecond => date.timestamp_nanos_opt(),
        }
    }
    let zone: Option<Tz> = match tz {
        Some(tz) => Some(tz.parse().map_err(|e: ArrowError| (0, e.to_string()))?),
        None => None,
    };
    let array = parse_column::<T>(rows, value, is_null, |v| match &zone {
        Some(zone) => instant::<T, _>(zone, v),
        None => instant::<T, _>(&chrono::Utc, v),
    })?;
    Ok(Arc::new(array.with_timezone_opt(tz.clone())))
}

/// Types Arrow's CSV decoder reads itself.
pub(crate) fn arrow_reads(data_type: &DataType) -> bool {
    use DataType::*;
    matches!(
        data_type,
        Boolean
            | Int8
            | Int16
            | Int32
            | Int64
            | UInt8
            | UInt16
            | UInt32
            | UInt64
            | Float32
            | Float64
            | Decimal128(..)
            | Date32
            | Timestamp(..)
            | Utf8
            | LargeUtf8
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::csv::ReaderBuilder;

    /// A small deterministic generator (the tests need no seedable crate).
    struct Random(u64);

    impl Random {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) as usize) % n
        }

        fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
            from[self.below(from.len())]
        }
    }

    /// A CSV text of `fields` fields per record with every shape of value Arrow's reader takes: plain,
    /// empty, quoted with delimiters, line breaks and doubled quotes inside, a quote inside an unquoted
    /// value, text after a closing quote; `\n`, `\r\n` and `\r` line ends, blank lines, no final line end.
    fn random_text(random: &mut Random, fields: usize, records: usize) -> Vec<u8> {
        let values = [
            "",
            "abc",
            "12",
            "-3.5",
            "true",
            "x y",
            "5\" screen",
            "\"\"",
            "\"a,b\"",
            "\"line\nbreak\"",
            "\"cr\r\nlf\"",
            "\"say \"\"hi\"\"\"",
            "\"q\"tail",
            "\"\"\"\"",
            "é€",
            "\"é,\n€\"",
        ];
        let mut text = Vec::new();
        for record in 0..records {
            for field in 0..fields {
                if field > 0 {
                    text.push(b',');
                }
                text.extend_from_slice(random.pick(&values).as_bytes());
            }
            let last = record + 1 == records;
            if !(last && random.below(2) == 0) {
                text.extend_from_slice(random.pick(&["\n", "\n", "\r\n", "\r"]).as_bytes());
            }
            if !last && random.below(8) == 0 {
                text.extend_from_slice(random.pick(&["\n", "\r\n"]).as_bytes());
            }
        }
        text
    }

    fn text_schema(fields: usize) -> Schema {
        Schema::new(
            (0..fields)
                .map(|i| Field::new(format!("c{i}"), DataType::Utf8, true))
                .collect::<Vec<_>>(),
        )
    }

    /// `text` read whole by Arrow's decoder.
    fn arrow_reads(
        text: &[u8],
        schema: &Schema,
        projection: &[usize],
        header: bool,
    ) -> Vec<RecordBatch> {
        let mut decoder = ReaderBuilder::new(Arc::new(schema.clone()))
            .with_header(header)
            .with_batch_size(1000)
            .with_projection(projection.to_vec())
            .build_decoder();
        let mut at = 0;
        while at < text.len() {
            let n = decoder.decode(&text[at..]).expect("Arrow decodes");
            at += n;
            if n == 0 {
                break;
            }
        }
        decoder.decode(&[]).expect("Arrow decodes the end");
        decoder.flush().expect("Arrow builds").into_iter().collect()
    }

    /// `text` read by ours, fed in pieces whose lengths `random` picks, as a part feeds it.
    fn ours_reads(
        text: &[u8],
        schema: &Schema,
        projection: &[usize],
        header: bool,
        batch_size: usize,
        random: &mut Random,
    ) -> Result<Vec<RecordBatch>, String> {
        let mut decoder = Decoder::new(b',', b'"', schema, projection, None, batch_size, header);
        let mut batches = Vec::new();
        let mut buffer = Vec::new();
        let mut fed = 0;
        loop {
            let eof = fed == text.len();
            let mut at = 0;
            loop {
                let n = decoder.decode(&buffer[at..], eof)?;
                at += n;
                if decoder.capacity() == 0 || eof {
                    batches.extend(decoder.flush().map_err(|e| format!("{e:?}"))?);
                }
                if eof && at == buffer.len() {
                    return Ok(batches);
                }
                if n == 0 || at == buffer.len() {
                    break;
                }
            }
            buffer.drain(..at);
            let piece = (1 + random.below(40)).min(text.len() - fed);
            buffer.extend_from_slice(&text[fed..fed + piece]);
            fed += piece;
        }
    }

    fn strings(batches: &[RecordBatch], column: usize) -> Vec<Option<String>> {
        batches
            .iter()
            .flat_map(|b| {
                let a = b.column(column).as_string::<i32>();
                (0..a.len())
                    .map(|k| a.is_valid(k).then(|| a.value(k).to_string()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn reads_what_arrows_decoder_reads_in_any_pieces() {
        let mut random = Random(11);
        for case in 0..3000 {
            let fields = 1 + random.below(5);
            let records = 1 + random.below(12);
            let text = random_text(&mut random, fields, records);
            let schema = text_schema(fields);
            let projection: Vec<usize> = (0..fields).filter(|_| random.below(3) > 0).collect();
            let header = random.below(4) == 0;
            let batch_size = 1 + random.below(5);
            let expected = arrow_reads(&text, &schema, &projection, header);
            let got = ours_reads(&text, &schema, &projection, header, batch_size, &mut random)
                .unwrap_or_else(|e| {
                    panic!("case {case}: {e} in {:?}", String::from_utf8_lossy(&text))
                });
            let rows = |b: &[RecordBatch]| b.iter().map(RecordBatch::num_rows).sum::<usize>();
            assert_eq!(
                rows(&got),
                rows(&expected),
                "case {case}: {:?}",
                String::from_utf8_lossy(&text)
            );
            for column in 0..projection.len() {
                assert_eq!(
                    strings(&got, column),
                    strings(&expected, column),
                    "case {case}, column {column}: {:?}",
                    String::from_utf8_lossy(&text)
                );
            }
        }
    }

    #[test]
    fn typed_columns_are_parsed_as_arrows_decoder_parses_them() {
        let schema = Schema::new(vec![
            Field::new("n", DataType::Int64, true),
            Field::new("x", DataType::Float64, true),
            Field::new("b", DataType::Boolean, true),
            Field::new("d", DataType::Date32, true),
            Field::new(
                "t",
                DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
                true,
            ),
            Field::new("u", DataType::Timestamp(TimeUnit::Second, None), true),
            Field::new("m", DataType::Decimal128(10, 2), true),
            Field::new("s", DataType::Utf8, true),
        ]);
        let text = b"n,x,b,d,t,u,m,s\n\
            1,2.5,true,2024-03-31,2024-03-31T17:39:00Z,2024-03-31 17:39:00,12.34,a\n\
            -7,,FALSE,,2024-03-31T17:39:00.123456+02:00,,,\n\
            ,1e3,,1999-12-31,,1999-12-31T23:59:59,-0.5,\"q,\"\"\"\n";
        let projection: Vec<usize> = (0..8).collect();
        let expected = arrow_reads(text, &schema, &projection, true);
        let got = ours_reads(text, &schema, &projection, true, 100, &mut Random(3)).expect("reads");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].schema(), expected[0].schema());
        for column in 0..8 {
            assert_eq!(
                got[0].column(column).to_data(),
                expected[0].column(column).to_data(),
                "column {column}"
            );
        }
        let n = got[0].column(0).as_primitive::<Int64Type>();
        assert_eq!((n.value(0), n.value(1), n.is_null(2)), (1, -7, true));
    }

    #[test]
    fn a_value_that_does_not_parse_is_named_with_its_row_and_column() {
        let schema = Schema::new(vec![
            Field::new("s", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
        ]);
        let mut decoder = Decoder::new(b',', b'"', &schema, &[1], None, 10, false);
        decoder.decode(b"a,1\nb,2\nc,x3\n", true).expect("splits");
        assert_eq!(decoder.flush().unwrap_err(), (2, 0, "x3".to_string()));
    }

    #[test]
    fn wrong_field_counts_and_open_quotes_are_errors() {
        let schema = text_schema(2);
        let mut decoder = Decoder::new(b',', b'"', &schema, &[0, 1], None, 10, false);
        let e = decoder.decode(b"a,b\nc\n", true).unwrap_err();
        assert_eq!(e, "a record has 1 fields where 2 were expected");
        let mut decoder = Decoder::new(b',', b'"', &schema, &[0], None, 10, false);
        let e = decoder.decode(b"a,b\nc,d,e\n", false).unwrap_err();
        assert_eq!(e, "a record has 3 fields where 2 were expected");
        let mut decoder = Decoder::new(b',', b'"', &schema, &[0], None, 10, false);
        assert_eq!(decoder.decode(b"a,\"b\nc,d\n", false), Ok(0));
        let e = decoder.decode(b"a,\"b\nc,d\n", true).unwrap_err();
        assert_eq!(e, "a quoted value is still open at the end");
    }

    #[test]
    fn null_regex_decides_nulls_instead_of_emptiness() {
        let schema = text_schema(1);
        let regex = regex::Regex::new("^(NULL|n/a)$").expect("regex");
        let mut decoder = Decoder::new(b';', b'"', &schema, &[0], Some(regex), 10, false);
        decoder
            .decode(b"NULL\n\"\"\nn/a\nx\n", true)
            .expect("splits");
        let batch = decoder.flush().expect("builds").expect("rows");
        assert_eq!(
            strings(&[batch], 0),
            vec![None, Some(String::new()), None, Some("x".to_string())]
        );
    }

    #[test]
    fn specials_marks_exactly_the_bytes_that_matter() {
        let mut seed = 7u64;
        for _ in 0..2000 {
            let block: Vec<u8> = (0..64)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    b",;\"\n\rab\x80"[(seed >> 59) as usize % 8]
                })
                .collect();
            let mut expected = 0u64;
            for (i, &b) in block.iter().enumerate() {
                if matches!(b, b';' | b'"' | b'\n' | b'\r') {
                    expected |= 1 << i;
                }
            }
            assert_eq!(specials(&block, b';', b'"'), expected, "{block:?}");
            assert_eq!(
                specials(&block[..37], b';', b'"'),
                expected & ((1 << 37) - 1)
            );
        }
    }
}
