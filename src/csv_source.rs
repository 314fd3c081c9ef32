//! cxsql's CSV file source: the files of a table read part by part through [`crate::csv_part`], with the
//! table's projection and partition columns applied by DataFusion's `ProjectionOpener`.

use std::sync::Arc;

use bytes::Bytes;
use datafusion::arrow::csv::ReaderBuilder;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
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
use object_store::{GetOptions, GetResultPayload, ObjectStore};

use crate::csv_part::{ArrowParseError, Checker, Convert, convert_batch, file_error};
use crate::sniff::Dialect;

/// Bytes read from a local file at once.
const BLOCK: usize = 1 << 20;

/// How a table's CSV files are read, decided when the table is first used.
#[derive(Debug)]
pub struct CsvReading {
    pub dialect: Dialect,
    pub header: bool,
    pub encoding: &'static encoding_rs::Encoding,
    pub compression: FileCompressionType,
    pub null_regex: Option<regex::Regex>,
    /// The file columns with the types Arrow's decoder reads (text for the converted ones).
    pub read_schema: SchemaRef,
    /// For each file column, how it is converted from text, if it is.
    pub converts: Vec<Option<Convert>>,
}

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
        // Parts of one file: the next step (csv_split).
        false
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

/// Opens one file (one part of it, later) of a table.
struct PartOpener {
    store: Arc<dyn ObjectStore>,
    reading: Arc<CsvReading>,
    root: String,
    /// The file columns read, and their types in the table.
    file_indices: Vec<usize>,
    output: SchemaRef,
    converts: Vec<Option<Convert>>,
    batch_size: usize,
}

impl FileOpener for PartOpener {
    fn open(&self, file: PartitionedFile) -> Result<FileOpenFuture> {
        let name = crate::verify::display_name_in(&self.root, &file.object_meta);
        let store = Arc::clone(&self.store);
        let reading = Arc::clone(&self.reading);
        let mut builder = ReaderBuilder::new(Arc::clone(&reading.read_schema))
            .with_header(reading.header)
            .with_delimiter(reading.dialect.delimiter)
            .with_quote(reading.dialect.quote)
            .with_batch_size(self.batch_size)
            .with_projection(self.file_indices.clone());
        if let Some(escape) = reading.dialect.escape {
            builder = builder.with_escape(escape);
        }
        if let Some(comment) = reading.dialect.comment {
            builder = builder.with_comment(comment);
        }
        if let Some(regex) = &reading.null_regex {
            builder = builder.with_null_regex(regex.clone());
        }
        let decoder = builder.build_decoder();
        let output = Arc::clone(&self.output);
        let converts = self.converts.clone();
        let read_schema = Arc::clone(&reading.read_schema);
        Ok(Box::pin(async move {
            let location = file.object_meta.location.clone();
            let got = store
                .get_opts(&location, GetOptions::default())
                .await
                .map_err(|e| file_error(&name, format!("cannot read it: {e}")))?;
            let bytes: BoxStream<'static, Result<Bytes>> = match got.payload {
                GetResultPayload::File(file, _) => blocks(file).boxed(),
                GetResultPayload::Stream(stream) => stream.map_err(DataFusionError::from).boxed(),
            };
            let bytes = reading.compression.convert_stream(bytes)?;
            let part = Part {
                name,
                bytes,
                text: Text::new(reading.encoding),
                checker: Checker::new(
                    &reading.dialect,
                    reading.read_schema.fields().len(),
                    reading.header,
                ),
                decoder,
                buffer: Vec::new(),
                at: 0,
                flushed: 0,
                header: usize::from(reading.header),
                eof: false,
                done: false,
                output,
                converts,
                read_schema,
            };
            Ok(futures::stream::try_unfold(part, |mut part| async move {
                Ok(part.next_batch().await?.map(|batch| (batch, part)))
            })
            .boxed())
        }))
    }
}

/// A local file read in blocks of [`BLOCK`] bytes.
fn blocks(mut file: std::fs::File) -> impl futures::Stream<Item = Result<Bytes>> + Send + 'static {
    futures::stream::iter(std::iter::from_fn(move || {
        let mut block = vec![0u8; BLOCK];
        let mut filled = 0;
        while filled < BLOCK {
            match std::io::Read::read(&mut file, &mut block[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Some(Err(DataFusionError::IoError(e))),
            }
        }
        if filled == 0 {
            return None;
        }
        block.truncate(filled);
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
    fn new(encoding: &'static encoding_rs::Encoding) -> Self {
        Self {
            decoder: (encoding != encoding_rs::UTF_8)
                .then(|| encoding.new_decoder_with_bom_removal()),
            carry: Vec::new(),
            started: false,
        }
    }

    /// The text of `chunk` (and, with `last`, the end of the file). Invalid UTF-8: the offset in `chunk`.
    fn decode(&mut self, chunk: &[u8], last: bool) -> std::result::Result<Vec<u8>, usize> {
        if let Some(decoder) = &mut self.decoder {
            let mut out = String::with_capacity(
                decoder
                    .max_utf8_buffer_length(chunk.len())
                    .unwrap_or(chunk.len() * 3),
            );
            let (_, _, _) = decoder.decode_to_string(chunk, &mut out, last);
            return Ok(out.into_bytes());
        }
        let mut text = std::mem::take(&mut self.carry);
        text.extend_from_slice(chunk);
        if !self.started && text.len() < 3 && !last {
            // Too short to tell a byte order mark yet.
            self.carry = text;
            return Ok(Vec::new());
        }
        if !self.started {
            self.started = true;
            if text.starts_with(b"\xEF\xBB\xBF") {
                text.drain(..3);
            }
        }
        match std::str::from_utf8(&text) {
            Ok(_) => Ok(text),
            Err(e) if e.error_len().is_none() && !last => {
                self.carry = text.split_off(e.valid_up_to());
                Ok(text)
            }
            Err(e) => Err(e.valid_up_to()),
        }
    }
}

/// The state of one part being read.
struct Part {
    name: String,
    bytes: BoxStream<'static, Result<Bytes>>,
    text: Text,
    checker: Checker,
    decoder: datafusion::arrow::csv::reader::Decoder,
    /// Checked text not yet taken by the decoder, from `at`.
    buffer: Vec<u8>,
    at: usize,
    /// Records flushed so far, and whether the decoder skipped a header before them.
    flushed: usize,
    header: usize,
    eof: bool,
    done: bool,
    output: SchemaRef,
    converts: Vec<Option<Convert>>,
    read_schema: SchemaRef,
}

impl Part {
    async fn next_batch(&mut self) -> Result<Option<datafusion::arrow::array::RecordBatch>> {
        loop {
            while self.at < self.buffer.len() {
                let n = self
                    .decoder
                    .decode(&self.buffer[self.at..])
                    .map_err(|e| file_error(&self.name, e))?;
                self.at += n;
                if self.decoder.capacity() == 0 {
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
                self.decoder
                    .decode(&[])
                    .map_err(|e| file_error(&self.name, e))?;
                self.done = true;
                return self.flush();
            }
            let (chunk, last) = match self.bytes.next().await {
                Some(chunk) => (
                    chunk.map_err(|e| file_error(&self.name, format!("cannot read it: {e}")))?,
                    false,
                ),
                None => (Bytes::new(), true),
            };
            let line = self.checker.lines();
            let text = self.text.decode(&chunk, last).map_err(|offset| {
                file_error(
                    &self.name,
                    format!(
                        "line {}: invalid UTF-8; the file was read as UTF-8 (declare its `encoding` in a \
                         catalog, e.g. \"windows-1252\")",
                        line + chunk[..offset.min(chunk.len())]
                            .iter()
                            .filter(|&&b| b == b'\n')
                            .count() as u64
                    ),
                )
            })?;
            let checked = self.checker.feed(&text).and_then(|()| {
                if last {
                    self.checker.finish(true)
                } else {
                    Ok(())
                }
            });
            checked.map_err(|(line, message)| {
                file_error(&self.name, format!("line {line}: {message}"))
            })?;
            self.buffer.extend_from_slice(&text);
            self.eof = last;
        }
    }

    fn flush(&mut self) -> Result<Option<datafusion::arrow::array::RecordBatch>> {
        let before = self.flushed;
        let batch = match self.decoder.flush() {
            Ok(Some(batch)) => batch,
            Ok(None) => return Ok(None),
            Err(e) => return Err(self.arrow_error(before, e)),
        };
        let rows = batch.num_rows();
        self.flushed += rows;
        let lines: Vec<u64> = self
            .checker
            .record_lines
            .drain(..rows.min(self.checker.record_lines.len()))
            .collect();
        match convert_batch(batch, &self.output, &self.converts) {
            Ok(batch) => Ok(Some(batch)),
            Err((row, column, value, expected)) => Err(file_error(
                &self.name,
                format!(
                    "line {}, column {column}: '{value}' is not {expected}",
                    lines.get(row).copied().unwrap_or_default()
                ),
            )),
        }
    }

    /// Arrow's "Error while parsing value 'abc' as type 'Int64' for column 1 at line 3", with the file's line
    /// and the column's name.
    fn arrow_error(
        &self,
        before: usize,
        e: datafusion::arrow::error::ArrowError,
    ) -> DataFusionError {
        let text = e.to_string();
        let parsed = ArrowParseError::parse(&text).and_then(|e| {
            let row = e.line.checked_sub(self.header + before)?;
            let line = self.checker.record_lines.get(row).copied()?;
            let name = self.read_schema.fields().get(e.column)?.name();
            Some(format!(
                "line {line}, column {name}: '{}' is not a {}; the table's column types come from the first \
                 10,000 records of its first file, and this value does not fit",
                e.value, e.data_type
            ))
        });
        file_error(&self.name, parsed.unwrap_or(text))
    }
}
