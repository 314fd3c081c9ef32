//! cxsql's CSV file source: the files of a table read part by part through [`crate::part`], with the
//! table's projection and partition columns applied by DataFusion's `ProjectionOpener`.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use datafusion::arrow::csv::ReaderBuilder;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{
    FileOpenFuture, FileOpener, FileScanConfig, FileSource,
};
use datafusion::datasource::projection::{ProjectionOpener, SplitProjection};
use datafusion::datasource::table_schema::TableSchema;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::apply_expression_roots;
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use datafusion::physical_plan::projection::ProjectionExprs;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{GetOptions, GetResultPayload, ObjectStore, ObjectStoreExt};

use crate::decode;
use crate::part::{ArrowParseError, Checker, Convert, convert_batch, file_error};
use crate::reading::CsvReading;
use crate::split::{self, Quotes, Start};

/// Bytes read from a local file at once.
const BLOCK: usize = 1 << 20;

/// The file source of a CSV table read by cxsql.
#[derive(Clone)]
pub struct CsvTableSource {
    reading: Arc<CsvReading>,
    table_schema: TableSchema,
    projection: SplitProjection,
    batch_size: Option<usize>,
    metrics: ExecutionPlanMetricsSet,
}

impl CsvTableSource {
    pub fn new(reading: Arc<CsvReading>, table_schema: TableSchema) -> Self {
        let projection = SplitProjection::unprojected(&table_schema);
        Self {
            reading,
            table_schema,
            projection,
            batch_size: None,
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }
}

impl FileSource for CsvTableSource {
    fn create_file_opener(
        &self,
        object_store: Arc<dyn ObjectStore>,
        base_config: &FileScanConfig,
        _partition: usize,
    ) -> Result<Arc<dyn FileOpener>> {
        // Where DataFusion cut each file into ranges: a part whose range ends where the next part's start is
        // undecided reads on to the next boundary (see `Bounds`).
        let mut bounds: HashMap<Path, Vec<u64>> = HashMap::new();
        for group in &base_config.file_groups {
            for file in group.files() {
                if let Some(range) = &file.range {
                    let cuts = bounds.entry(file.object_meta.location.clone()).or_default();
                    cuts.extend([range.start as u64, range.end as u64]);
                }
            }
        }
        for cuts in bounds.values_mut() {
            cuts.sort_unstable();
            cuts.dedup();
        }
        let file_indices = self.projection.file_indices.clone();
        let file_schema = self.table_schema.file_schema();
        let output = Arc::new(file_schema.project(&file_indices)?);
        let converts = file_indices
            .iter()
            .map(|&i| self.reading.converts.get(i).cloned().flatten())
            .collect();
        let opener = PartOpener {
            store: object_store,
            reading: Arc::clone(&self.reading),
            root: base_config.object_store_url.as_str().to_string(),
            file_indices,
            output,
            converts,
            batch_size: self.batch_size.unwrap_or(8192),
            bounds: Arc::new(bounds),
        };
        ProjectionOpener::try_new(self.projection.clone(), Arc::new(opener), file_schema)
    }

    fn table_schema(&self) -> &TableSchema {
        &self.table_schema
    }

    fn with_batch_size(&self, batch_size: usize) -> Arc<dyn FileSource> {
        let mut source = self.clone();
        source.batch_size = Some(batch_size);
        Arc::new(source)
    }

    fn projection(&self) -> Option<&ProjectionExprs> {
        Some(&self.projection.source)
    }

    fn metrics(&self) -> &ExecutionPlanMetricsSet {
        &self.metrics
    }

    fn file_type(&self) -> &str {
        "csv"
    }

    fn supports_repartitioning(&self) -> bool {
        self.reading.parallel
    }

    fn try_pushdown_projection(
        &self,
        projection: &ProjectionExprs,
    ) -> Result<Option<Arc<dyn FileSource>>> {
        let mut source = self.clone();
        let merged = self.projection.source.try_merge(projection)?;
        source.projection = SplitProjection::new(self.table_schema.file_schema(), &merged);
        Ok(Some(Arc::new(source)))
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        apply_expression_roots(self.projection.source.iter(), f)
    }
}

/// Opens one part of a file of a table: the whole file, or the records that start in a byte range.
struct PartOpener {
    store: Arc<dyn ObjectStore>,
    reading: Arc<CsvReading>,
    root: String,
    /// The file columns read, and their types in the table.
    file_indices: Vec<usize>,
    output: SchemaRef,
    converts: Vec<Option<Convert>>,
    batch_size: usize,
    /// For each file read in ranges, the offsets where its ranges begin and end.
    bounds: Arc<HashMap<Path, Vec<u64>>>,
}

impl FileOpener for PartOpener {
    fn open(&self, file: PartitionedFile) -> Result<FileOpenFuture> {
        let name = crate::files::display_name_in(&self.root, &file.object_meta);
        let store = Arc::clone(&self.store);
        let reading = Arc::clone(&self.reading);
        let range = file
            .range
            .as_ref()
            .map(|r| (r.start.max(0) as u64, r.end.max(0) as u64));
        let cuts = self
            .bounds
            .get(&file.object_meta.location)
            .cloned()
            .unwrap_or_default();
        let projection = self.file_indices.clone();
        let batch_size = self.batch_size;
        let output = Arc::clone(&self.output);
        let converts = self.converts.clone();
        Ok(Box::pin(async move {
            let location = file.object_meta.location.clone();
            let size = file.object_meta.size;
            let cannot_read =
                |e: object_store::Error| file_error(&name, format!("cannot read it: {e}"));
            // The part: from the first record that starts in the range to the first record that starts in
            // the next range whose start is decided.
            let (start, end) = match range {
                None => (0, None),
                Some((from, to)) => {
                    let Some(start) = record_start(&store, &location, from, size, &reading)
                        .await
                        .map_err(cannot_read)?
                    else {
                        // Undecided: the previous part reads these records.
                        return Ok(futures::stream::empty().boxed());
                    };
                    let mut end = size;
                    for &cut in cuts.iter().filter(|&&cut| cut >= to) {
                        if cut >= size {
                            break;
                        }
                        if let Some(at) = record_start(&store, &location, cut, size, &reading)
                            .await
                            .map_err(cannot_read)?
                        {
                            end = at;
                            break;
                        }
                    }
                    if end < start {
                        return Err(file_error(
                            &name,
                            format!(
                                "the file could not be split for parallel reading near byte {start} (two parts \
                                 found record starts out of order); set `parallel = false` in the table's catalog options"
                            ),
                        ));
                    }
                    (start, Some(end))
                }
            };
            let bytes = part_bytes(&store, &location, start, end)
                .await
                .map_err(cannot_read)?;
            let bytes = reading.compression.convert_stream(bytes)?;
            let header = reading.header && start == 0;
            // Ours reads the common dialect; Arrow's the others (an escape byte, comment lines).
            let fast = reading.dialect.escape.is_none()
                && reading.dialect.comment.is_none()
                && projection
                    .iter()
                    .all(|&i| decode::reads(reading.read_schema.field(i).data_type()));
            let part = Part {
                name,
                bytes,
                text: Text::new(reading.encoding, start == 0),
                scan: if fast {
                    Scan::Decoder
                } else if reading.dialect.comment.is_some() {
                    Scan::Full(Checker::new(
                        &reading.dialect,
                        reading.read_schema.fields().len(),
                        header,
                    ))
                } else {
                    Scan::Quotes(Quotes::new(&reading.dialect))
                },
                lines: 1,
                decoder: if fast {
                    Decoding::Fast(decode::Decoder::new(
                        reading.dialect.delimiter,
                        reading.dialect.quote,
                        &reading.read_schema,
                        &projection,
                        reading.null_regex.clone(),
                        batch_size,
                        header,
                    ))
                } else {
                    Decoding::Arrow(Box::new(decoder(
                        &reading,
                        header,
                        batch_size,
                        projection.clone(),
                    )))
                },
                projection,
                buffer: Vec::new(),
                at: 0,
                flushed: 0,
                header: usize::from(header),
                eof: false,
                done: false,
                to_end_of_file: end.is_none_or(|end| end == size),
                output,
                converts,
                read_schema: Arc::clone(&reading.read_schema),
                declared: reading.declared.clone(),
            };
            let place = Place {
                store,
                location,
                start,
                end,
                to_end_of_file: end.is_none_or(|end| end == size),
                header,
                reading: Arc::clone(&reading),
            };
            Ok(
                futures::stream::try_unfold((part, place), |(mut part, place)| async move {
                    match part.next_batch().await {
                        Ok(batch) => Ok(batch.map(|batch| (batch, (part, place)))),
                        Err(failure) => Err(place.explain(&part.name, failure).await),
                    }
                })
                .boxed(),
            )
        }))
    }
}

/// Arrow's CSV decoder for a part: the file's dialect, the header skipped when the part has it.
fn decoder(
    reading: &CsvReading,
    header: bool,
    batch_size: usize,
    projection: Vec<usize>,
) -> datafusion::arrow::csv::reader::Decoder {
    let mut builder = ReaderBuilder::new(Arc::clone(&reading.read_schema))
        .with_header(header)
        .with_delimiter(reading.dialect.delimiter)
        .with_quote(reading.dialect.quote)
        .with_batch_size(batch_size)
        .with_projection(projection);
    if let Some(escape) = reading.dialect.escape {
        builder = builder.with_escape(escape);
    }
    if let Some(comment) = reading.dialect.comment {
        builder = builder.with_comment(comment);
    }
    if let Some(regex) = &reading.null_regex {
        builder = builder.with_null_regex(regex.clone());
    }
    builder.build_decoder()
}

/// The first record that starts at or after `offset` (see [`split::decide`]); `None` when it cannot be
/// told.
async fn record_start(
    store: &Arc<dyn ObjectStore>,
    location: &Path,
    offset: u64,
    size: u64,
    reading: &CsvReading,
) -> object_store::Result<Option<u64>> {
    if offset == 0 || offset >= size {
        return Ok(Some(offset.min(size)));
    }
    let from = offset - 1;
    let to = (from + split::WINDOW).min(size);
    let window = store.get_range(location, from..to).await?;
    Ok(
        match split::decide(
            &window,
            offset,
            to == size,
            &reading.dialect,
            reading.read_schema.fields().len(),
        ) {
            Start::At(at) => Some(at),
            Start::Undecided => None,
        },
    )
}

/// The bytes of a file from `start` to `end` (or to its end), read in blocks from a local file.
async fn part_bytes(
    store: &Arc<dyn ObjectStore>,
    location: &Path,
    start: u64,
    end: Option<u64>,
) -> object_store::Result<BoxStream<'static, Result<Bytes>>> {
    if end == Some(start) {
        return Ok(futures::stream::empty().boxed());
    }
    let options = GetOptions {
        range: end.map(|end| (start..end).into()),
        ..GetOptions::default()
    };
    let got = store.get_opts(location, options).await?;
    let range = got.range.clone();
    Ok(match got.payload {
        GetResultPayload::File(file, _) => blocks(file, range).boxed(),
        GetResultPayload::Stream(stream) => stream.map_err(DataFusionError::from).boxed(),
    })
}

/// Where a part lies in its file and how it is read: to read it again when something went wrong, and say
/// where.
struct Place {
    store: Arc<dyn ObjectStore>,
    location: Path,
    start: u64,
    end: Option<u64>,
    to_end_of_file: bool,
    header: bool,
    reading: Arc<CsvReading>,
}

/// What reading a part again with the [`Checker`] found: the first problem in it (its line in the part and
/// the message), else the line of the record asked for.
enum Rescan {
    Problem(u64, String),
    Record(Option<u64>),
}

impl Place {
    /// The error for `failure` in the file `name`, with the file's line.
    async fn explain(&self, name: &str, failure: Failure) -> DataFusionError {
        let (line, rest) = match failure {
            Failure::Other(e) => return e,
            Failure::Line(line, rest) => (line, rest),
            Failure::Record(record, rest) => match self.rescan(Some(record)).await {
                Ok(Rescan::Problem(line, message)) => (line, format!(": {message}")),
                Ok(Rescan::Record(Some(line))) => (line, rest),
                _ => {
                    return file_error(
                        name,
                        format!("record {}{rest}", record + usize::from(!self.header) + 1),
                    );
                }
            },
            Failure::Check(fallback) => match self.rescan(None).await {
                Ok(Rescan::Problem(line, message)) => (line, format!(": {message}")),
                _ => return file_error(name, fallback),
            },
        };
        let line = self.line(line).await;
        file_error(name, format!("line {line}{rest}"))
    }

    /// Reads the part again, checking every record with the [`Checker`]; stops at the first problem, or at
    /// data record `record` (0-based) when one is asked for.
    async fn rescan(&self, record: Option<usize>) -> Result<Rescan> {
        let reading = &self.reading;
        let bytes = part_bytes(&self.store, &self.location, self.start, self.end)
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        let mut bytes = reading.compression.convert_stream(bytes)?;
        let mut text = Text::new(reading.encoding, self.start == 0);
        let mut checker = Checker::new(
            &reading.dialect,
            reading.read_schema.fields().len(),
            self.header,
        );
        let mut seen = 0;
        loop {
            let (chunk, last) = match bytes.next().await {
                Some(chunk) => (chunk?, false),
                None => (Bytes::new(), true),
            };
            let Ok(decoded) = text.decode(&chunk, last) else {
                return Ok(Rescan::Record(None));
            };
            let checked = checker.feed(&decoded).and_then(|()| {
                if last {
                    checker.finish(self.to_end_of_file)
                } else {
                    Ok(())
                }
            });
            if let Err((line, message)) = checked {
                return Ok(Rescan::Problem(line, message));
            }
            while let Some(line) = checker.record_lines.pop_front() {
                if Some(seen) == record {
                    return Ok(Rescan::Record(Some(line)));
                }
                seen += 1;
            }
            if last {
                return Ok(Rescan::Record(None));
            }
        }
    }

    /// The file's line of the part's line `line` (1-based): the lines before the part are counted only
    /// now, for a message.
    async fn line(&self, line: u64) -> u64 {
        if self.start == 0 {
            return line;
        }
        let before = async {
            let mut stream = self
                .store
                .get_opts(
                    &self.location,
                    GetOptions {
                        range: Some((0..self.start).into()),
                        ..GetOptions::default()
                    },
                )
                .await?
                .into_stream();
            let mut lines = 0u64;
            while let Some(chunk) = stream.next().await {
                lines += chunk?.iter().filter(|&&b| b == b'\n').count() as u64;
            }
            Ok::<u64, object_store::Error>(lines)
        };
        // Should the count fail, the part's own line is still better than none.
        before.await.map_or(line, |before| before + line)
    }
}

/// A local file's bytes in `range`, read in blocks of [`BLOCK`] bytes.
fn blocks(
    mut file: std::fs::File,
    range: std::ops::Range<u64>,
) -> impl futures::Stream<Item = Result<Bytes>> + Send + 'static {
    let mut left = range.end.saturating_sub(range.start);
    let mut seek = Some(range.start);
    futures::stream::iter(std::iter::from_fn(move || {
        if let Some(at) = seek.take()
            && let Err(e) = std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(at))
        {
            return Some(Err(DataFusionError::IoError(e)));
        }
        let want = BLOCK.min(usize::try_from(left).unwrap_or(BLOCK));
        if want == 0 {
            return None;
        }
        // Read into spare capacity: no zeroing of a buffer about to be overwritten.
        let mut block = Vec::with_capacity(want);
        if let Err(e) =
            std::io::Read::read_to_end(&mut std::io::Read::take(&mut file, want as u64), &mut block)
        {
            return Some(Err(DataFusionError::IoError(e)));
        }
        let filled = block.len();
        if filled == 0 {
            return None;
        }
        left -= filled as u64;
        Some(Ok(Bytes::from(block)))
    }))
}

/// Bytes of the file's encoding to UTF-8 text; UTF-8 is checked (and its byte order mark dropped), not
/// copied through a decoder.
struct Text {
    decoder: Option<encoding_rs::Decoder>,
    /// UTF-8: the bytes of a character cut by the end of the last chunk; whether the start was seen.
    carry: Vec<u8>,
    started: bool,
}

impl Text {
    /// A decoder for a part at the file's start (`at_start`, where a byte order mark may be), or after it.
    fn new(encoding: &'static encoding_rs::Encoding, at_start: bool) -> Self {
        Self {
            decoder: (encoding != encoding_rs::UTF_8).then(|| {
                if at_start {
                    encoding.new_decoder_with_bom_removal()
                } else {
                    encoding.new_decoder_without_bom_handling()
                }
            }),
            carry: Vec::new(),
            started: !at_start,
        }
    }

    /// The text of `chunk` (and, with `last`, the end of the file). Invalid UTF-8: the offset in `chunk`.
    fn decode(&mut self, chunk: &[u8], last: bool) -> std::result::Result<Vec<u8>, usize> {
        let mut text = Vec::new();
        self.decode_into(chunk, last, &mut text)?;
        Ok(text)
    }

    /// [`Self::decode`], the text appended to `out`.
    fn decode_into(
        &mut self,
        chunk: &[u8],
        last: bool,
        out: &mut Vec<u8>,
    ) -> std::result::Result<(), usize> {
        if let Some(decoder) = &mut self.decoder {
            let mut text = String::with_capacity(
                decoder
                    .max_utf8_buffer_length(chunk.len())
                    .unwrap_or(chunk.len() * 3),
            );
            let (_, _, _) = decoder.decode_to_string(chunk, &mut text, last);
            out.extend_from_slice(text.as_bytes());
            return Ok(());
        }
        let start = out.len();
        let carried = self.carry.len();
        out.append(&mut self.carry);
        out.extend_from_slice(chunk);
        if !self.started {
            if out.len() - start < 3 && !last {
                // Too short to tell a byte order mark yet.
                self.carry = out.split_off(start);
                return Ok(());
            }
            self.started = true;
            if out[start..].starts_with(b"\xEF\xBB\xBF") {
                out.drain(start..start + 3);
            }
        }
        match std::str::from_utf8(&out[start..]) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() && !last => {
                self.carry = out.split_off(start + e.valid_up_to());
                Ok(())
            }
            Err(e) => {
                out.truncate(start);
                Err(e.valid_up_to().saturating_sub(carried))
            }
        }
    }
}

/// Why a part could not be read: at a line of the part (and what follows "line N" in the message), or
/// otherwise.
enum Failure {
    Line(u64, String),
    /// At the part's data record with this number (0-based): its line is found by reading the part again.
    Record(usize, String),
    /// Something the [`Checker`] will say more about, reading the part again; else this message.
    Check(String),
    Other(DataFusionError),
}

/// Arrow's CSV decoder, or ours for the common dialect ([`decode`]).
enum Decoding {
    Arrow(Box<datafusion::arrow::csv::reader::Decoder>),
    Fast(decode::Decoder),
}

/// How a part is checked as it streams by.
enum Scan {
    /// By the decoder itself (ours knows where quoted values end).
    Decoder,
    /// Only whether it ends inside a quoted value (Arrow's decoder counts the fields).
    Quotes(Quotes),
    /// Every record (dialects with comment lines).
    Full(Checker),
}

/// The state of one part being read.
struct Part {
    name: String,
    bytes: BoxStream<'static, Result<Bytes>>,
    text: Text,
    scan: Scan,
    /// Lines begun so far (1-based), for a message about invalid text.
    lines: u64,
    decoder: Decoding,
    /// The file columns read.
    projection: Vec<usize>,
    /// Checked text not yet taken by the decoder, from `at`.
    buffer: Vec<u8>,
    at: usize,
    /// Records flushed so far, and whether the decoder skipped a header before them.
    flushed: usize,
    header: usize,
    eof: bool,
    done: bool,
    /// The part ends where the file does (else it must end where a record ends).
    to_end_of_file: bool,
    output: SchemaRef,
    converts: Vec<Option<Convert>>,
    read_schema: SchemaRef,
    declared: Vec<bool>,
}

impl Part {
    async fn next_batch(
        &mut self,
    ) -> std::result::Result<Option<datafusion::arrow::array::RecordBatch>, Failure> {
        loop {
            match &mut self.decoder {
                Decoding::Arrow(decoder) => {
                    while self.at < self.buffer.len() {
                        let n = decoder
                            .decode(&self.buffer[self.at..])
                            .map_err(|e| Failure::Check(e.to_string()))?;
                        self.at += n;
                        if decoder.capacity() == 0 {
                            return self.flush();
                        }
                        if n == 0 {
                            break;
                        }
                    }
                    if self.at >= self.buffer.len() {
                        self.buffer.clear();
                        self.at = 0;
                    }
                    if self.done {
                        return Ok(None);
                    }
                    if self.eof {
                        decoder
                            .decode(&[])
                            .map_err(|e| Failure::Check(e.to_string()))?;
                        self.done = true;
                        return self.flush();
                    }
                }
                Decoding::Fast(decoder) => {
                    if self.done {
                        return Ok(None);
                    }
                    if self.at < self.buffer.len() || self.eof {
                        let n = decoder
                            .decode(&self.buffer[self.at..], self.eof)
                            .map_err(Failure::Check)?;
                        self.at += n;
                        if decoder.capacity() == 0 {
                            return self.flush();
                        }
                        if self.eof {
                            self.done = true;
                            return self.flush();
                        }
                    }
                    // What is left is the start of a record not yet complete.
                    self.buffer.drain(..self.at);
                    self.at = 0;
                }
            }
            self.read_more().await?;
        }
    }

    /// Reads the next chunk of the part into the buffer (or notes its end), checking its text.
    async fn read_more(&mut self) -> std::result::Result<(), Failure> {
        let (chunk, last) = match self.bytes.next().await {
            Some(chunk) => (
                chunk.map_err(|e| {
                    Failure::Other(file_error(&self.name, format!("cannot read it: {e}")))
                })?,
                false,
            ),
            None => (Bytes::new(), true),
        };
        let line = self.lines;
        let start = self.buffer.len();
        self.text
            .decode_into(&chunk, last, &mut self.buffer)
            .map_err(|offset| {
                Failure::Line(
                    line + memchr::memchr_iter(b'\n', &chunk[..offset.min(chunk.len())]).count()
                        as u64,
                    ": invalid UTF-8; the file was read as UTF-8 (declare its `encoding` in a catalog, \
                     e.g. \"windows-1252\")"
                        .to_string(),
                )
            })?;
        let text = &self.buffer[start..];
        self.lines += memchr::memchr_iter(b'\n', text).count() as u64;
        match &mut self.scan {
            Scan::Decoder => {}
            Scan::Quotes(quotes) => {
                quotes.feed(text);
                if last && quotes.inside() {
                    return Err(Failure::Check(
                        "a quoted value is still open at the end".to_string(),
                    ));
                }
            }
            Scan::Full(checker) => {
                let checked = checker.feed(text).and_then(|()| {
                    if last {
                        checker.finish(self.to_end_of_file)
                    } else {
                        Ok(())
                    }
                });
                checked.map_err(|(line, message)| Failure::Line(line, format!(": {message}")))?;
                // The lines are found again if needed (`Failure::Record`).
                checker.record_lines.clear();
            }
        }
        self.eof = last;
        Ok(())
    }

    fn flush(
        &mut self,
    ) -> std::result::Result<Option<datafusion::arrow::array::RecordBatch>, Failure> {
        let before = self.flushed;
        let flushed = match &mut self.decoder {
            Decoding::Arrow(decoder) => decoder.flush().map_err(|e| self.arrow_error(e))?,
            Decoding::Fast(decoder) => decoder.flush().map_err(|(row, column, value)| {
                let field = self.projection.get(column).copied().unwrap_or(usize::MAX);
                self.bad_value(before + row, field, &value)
            })?,
        };
        let Some(batch) = flushed else {
            return Ok(None);
        };
        self.flushed += batch.num_rows();
        match convert_batch(batch, &self.output, &self.converts) {
            Ok(batch) => Ok(Some(batch)),
            Err((row, column, value, expected)) => Err(Failure::Record(
                before + row,
                format!(", column {column}: '{value}' is not {expected}"),
            )),
        }
    }

    /// Data record `record` of the part has `value` in file column `field`, which is not of the column's
    /// type.
    fn bad_value(&self, record: usize, field: usize, value: &str) -> Failure {
        let Some(column) = self.read_schema.fields().get(field) else {
            return Failure::Record(record, format!(": '{value}' cannot be read"));
        };
        let why = if self.declared.get(field).copied().unwrap_or(false) {
            "the column's type is declared in the catalog"
        } else {
            "the table's column types come from the first 10,000 records of its first file, and this \
             value does not fit (declare the column's type in the catalog's `columns`)"
        };
        Failure::Record(
            record,
            format!(
                ", column {}: '{value}' is not a {}; {why}",
                column.name(),
                column.data_type()
            ),
        )
    }

    /// Arrow's "Error while parsing value 'abc' as type 'Int64' for column 1 at line 3", with the file's line
    /// and the column's name.
    fn arrow_error(&self, e: datafusion::arrow::error::ArrowError) -> Failure {
        let text = e.to_string();
        let parsed = ArrowParseError::parse(&text).and_then(|e| {
            // Arrow counts the records it decoded, the header first.
            let record = e.line.checked_sub(self.header)?;
            self.read_schema.fields().get(e.column)?;
            Some(self.bad_value(record, e.column, e.value))
        });
        parsed.unwrap_or_else(|| Failure::Check(text))
    }
}
