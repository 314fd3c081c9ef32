//! Writing results: the one writer of cxsql, over one [`OutputFormat`], and the only module that touches
//! standard output. Query results, report files, listings and generated data all go through
//! [`BatchWriter`]. Results stream batch by batch (the table format, which needs column widths, collects
//! first). Files are written to a temporary file beside the target and renamed at the end ([`AtomicFile`]), so
//! a failed query leaves nothing half-written and an existing file is only replaced when allowed.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::csv::{Writer as CsvWriter, WriterBuilder as CsvWriterBuilder};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::json::writer::{JsonArray, LineDelimited};
use datafusion::arrow::json::{
    ArrayWriter, LineDelimitedWriter, WriterBuilder as JsonWriterBuilder,
};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::metadata::SortingColumn;
use datafusion::parquet::file::properties::WriterProperties;
use futures::StreamExt;
use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// The formats results are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    /// An aligned text table.
    Table,
    /// CSV with a header row.
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Apache Parquet (Snappy-compressed), to a file only.
    Parquet,
}

impl OutputFormat {
    /// Every format, in the order listings show them.
    pub const ALL: [OutputFormat; 5] = [
        OutputFormat::Table,
        OutputFormat::Csv,
        OutputFormat::Json,
        OutputFormat::Ndjson,
        OutputFormat::Parquet,
    ];

    /// The name users write (`--format csv`, `\format csv`).
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Table => "table",
            OutputFormat::Csv => "csv",
            OutputFormat::Json => "json",
            OutputFormat::Ndjson => "ndjson",
            OutputFormat::Parquet => "parquet",
        }
    }

    /// A one-line description, for help texts.
    pub fn description(self) -> &'static str {
        match self {
            OutputFormat::Table => "An aligned text table",
            OutputFormat::Csv => "CSV with a header row",
            OutputFormat::Json => "One JSON array of objects",
            OutputFormat::Ndjson => "One JSON object per line",
            OutputFormat::Parquet => "Apache Parquet (to a file only)",
        }
    }

    /// The extension of a file in this format.
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Table => "txt",
            other => other.name(),
        }
    }

    /// Whether the format is text that a terminal can show (not Parquet).
    pub fn is_text(self) -> bool {
        self != OutputFormat::Parquet
    }
}

impl std::fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for OutputFormat {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let wanted = text.trim();
        Self::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|f| f.name()).collect();
                Error::Usage(format!(
                    "unknown format {wanted:?}; expected one of {}",
                    names.join(", ")
                ))
            })
    }
}

/// `data_type` with the Arrow "view" layouts DataFusion uses inside the engine (`Utf8View`, `BinaryView`,
/// `ListView`) replaced by the plain ones (`Utf8`, `Binary`, `List`), at any depth. Most readers of Arrow
/// outside DataFusion (Flight SQL's JDBC and Go drivers, older pyarrow, SQLAlchemy dialects, Parquet readers
/// that take the stored Arrow schema) know only the plain ones.
pub fn plain_type(data_type: &DataType) -> DataType {
    let field = |f: &FieldRef| Arc::new(plain_field(f));
    match data_type {
        DataType::Utf8View => DataType::Utf8,
        DataType::BinaryView => DataType::Binary,
        DataType::ListView(f) | DataType::List(f) => DataType::List(field(f)),
        DataType::LargeListView(f) | DataType::LargeList(f) => DataType::LargeList(field(f)),
        DataType::FixedSizeList(f, n) => DataType::FixedSizeList(field(f), *n),
        DataType::Struct(fields) => DataType::Struct(fields.iter().map(field).collect()),
        DataType::Map(f, sorted) => DataType::Map(field(f), *sorted),
        DataType::Dictionary(key, value) => {
            DataType::Dictionary(key.clone(), Box::new(plain_type(value)))
        }
        other => other.clone(),
    }
}

fn plain_field(field: &Field) -> Field {
    field.clone().with_data_type(plain_type(field.data_type()))
}

/// `schema` with [`plain_type`]s (metadata kept).
pub fn plain_schema(schema: &Schema) -> SchemaRef {
    Arc::new(Schema::new_with_metadata(
        schema
            .fields()
            .iter()
            .map(|f| plain_field(f))
            .collect::<Vec<_>>(),
        schema.metadata().clone(),
    ))
}

/// `batch` as a batch of `plain` (its [`plain_schema`]): view columns cast to the plain layouts, the others
/// as they are.
pub fn to_plain(batch: &RecordBatch, plain: &SchemaRef) -> Result<RecordBatch> {
    if batch.schema_ref().fields() == plain.fields() {
        return Ok(batch.clone());
    }
    let columns = batch
        .columns()
        .iter()
        .zip(plain.fields())
        .map(|(column, field)| {
            if column.data_type() == field.data_type() {
                Ok(Arc::clone(column))
            } else {
                datafusion::arrow::compute::cast(column, field.data_type())
            }
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(Arc::clone(plain), columns)?)
}

/// Where the results of statements go: the execution path hands each result that has columns to a sink.
#[async_trait]
pub trait ResultSink: Send {
    /// Writes (or keeps) one result set; returns its number of rows.
    async fn write(&mut self, stream: SendableRecordBatchStream) -> Result<u64>;
}

/// A sink that keeps every result in memory, for library users and tests.
#[derive(Debug, Default)]
pub struct Collect {
    /// The result sets, in statement order.
    pub results: Vec<(SchemaRef, Vec<RecordBatch>)>,
}

#[async_trait]
impl ResultSink for Collect {
    async fn write(&mut self, mut stream: SendableRecordBatchStream) -> Result<u64> {
        let schema = stream.schema();
        let mut batches = Vec::new();
        let mut rows = 0;
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            rows += batch.num_rows() as u64;
            batches.push(batch);
        }
        self.results.push((schema, batches));
        Ok(rows)
    }
}

/// Batches written in one format to any `impl Write`. `label` names the output in error messages.
pub struct BatchWriter<W: Write + Send> {
    inner: Inner<Watched<W>>,
    schema: SchemaRef,
    label: PathBuf,
    rows: u64,
    /// Set when the output was closed by its reader: Arrow's CSV writer reports that as text only.
    closed: Arc<AtomicBool>,
}

enum Inner<W: Write + Send> {
    Table(W, Vec<RecordBatch>),
    Csv(Box<CsvWriter<W>>),
    Json(ArrayWriter<W>),
    Ndjson(LineDelimitedWriter<W>),
    Parquet(Box<ArrowWriter<W>>),
}

/// An output that notes when its reader has gone (a broken pipe).
struct Watched<W> {
    inner: W,
    closed: Arc<AtomicBool>,
}

impl<W: Write> Watched<W> {
    fn note<T>(&self, result: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &result
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            self.closed.store(true, Ordering::Relaxed);
        }
        result
    }
}

impl<W: Write> Write for Watched<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let result = self.inner.write(buf);
        self.note(result)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let result = self.inner.flush();
        self.note(result)
    }
}

impl<W: Write + Send> BatchWriter<W> {
    /// A writer of batches of `schema` in `format` to `out`.
    pub fn new(
        out: W,
        format: OutputFormat,
        schema: SchemaRef,
        label: impl Into<PathBuf>,
    ) -> Result<Self> {
        Self::sorted(out, format, schema, label, &[])
    }

    /// [`Self::new`] for batches that come sorted by the columns `sorted_by` (ascending): a Parquet file
    /// says so in its row groups' `sorting_columns`, from which DataFusion knows the order of the files it
    /// reads (e.g. to aggregate per ticket as the rows come).
    pub fn sorted(
        out: W,
        format: OutputFormat,
        schema: SchemaRef,
        label: impl Into<PathBuf>,
        sorted_by: &[&str],
    ) -> Result<Self> {
        let closed = Arc::new(AtomicBool::new(false));
        let out = Watched {
            inner: out,
            closed: Arc::clone(&closed),
        };
        // A Parquet file keeps its Arrow schema: plain types, for the readers that take it.
        let schema = if format == OutputFormat::Parquet {
            plain_schema(&schema)
        } else {
            schema
        };
        let inner = match format {
            OutputFormat::Table => Inner::Table(out, Vec::new()),
            OutputFormat::Csv => Inner::Csv(Box::new(
                CsvWriterBuilder::new().with_header(true).build(out),
            )),
            // A NULL is written as `null`, not left out: every object has every column.
            OutputFormat::Json => Inner::Json(
                JsonWriterBuilder::new()
                    .with_explicit_nulls(true)
                    .build::<_, JsonArray>(out),
            ),
            OutputFormat::Ndjson => Inner::Ndjson(
                JsonWriterBuilder::new()
                    .with_explicit_nulls(true)
                    .build::<_, LineDelimited>(out),
            ),
            OutputFormat::Parquet => {
                // Snappy, as most Parquet writers; row groups of 256k rows keep the writer's buffer small
                // whatever the number of rows.
                let sorting: Vec<SortingColumn> = sorted_by
                    .iter()
                    .filter_map(|name| schema.index_of(name).ok())
                    .map(|i| SortingColumn {
                        column_idx: i32::try_from(i).unwrap_or(i32::MAX),
                        descending: false,
                        nulls_first: false,
                    })
                    .collect();
                let props = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .set_max_row_group_row_count(Some(256 * 1024))
                    .set_sorting_columns((!sorting.is_empty()).then_some(sorting))
                    .build();
                Inner::Parquet(Box::new(ArrowWriter::try_new(
                    out,
                    Arc::clone(&schema),
                    Some(props),
                )?))
            }
        };
        Ok(Self {
            inner,
            schema,
            label: label.into(),
            rows: 0,
            closed,
        })
    }

    /// Writes one batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.rows += batch.num_rows() as u64;
        let (label, closed) = (&self.label, &self.closed);
        let arrow = |e| arrow(e, label, closed);
        match &mut self.inner {
            Inner::Table(_, batches) => {
                batches.push(batch.clone());
                Ok(())
            }
            Inner::Csv(w) => w.write(batch).map_err(arrow),
            Inner::Json(w) => w.write(batch).map_err(arrow),
            Inner::Ndjson(w) => w.write(batch).map_err(arrow),
            Inner::Parquet(w) => {
                let plain = to_plain(batch, &self.schema)?;
                Ok(w.write(&plain)?)
            }
        }
    }

    /// The rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Completes the output (the table, the closing bracket, the Parquet footer), flushes it and hands back
    /// the underlying writer.
    pub fn finish(self) -> Result<W> {
        let (label, closed) = (&self.label, &self.closed);
        let io = |e: std::io::Error| Error::io(label, e);
        let arrow = |e| arrow(e, label, closed);
        let mut out = match self.inner {
            Inner::Table(mut out, batches) => {
                // An empty result still shows its header.
                let table = if batches.iter().all(|b| b.num_rows() == 0) {
                    pretty_format_batches(&[RecordBatch::new_empty(self.schema)])?
                } else {
                    pretty_format_batches(&batches)?
                };
                writeln!(out, "{table}").map_err(io)?;
                out
            }
            Inner::Csv(mut w) => {
                if self.rows == 0 {
                    // The header alone says which columns an empty result has.
                    w.write(&RecordBatch::new_empty(self.schema))
                        .map_err(arrow)?;
                }
                w.into_inner()
            }
            Inner::Json(mut w) => {
                w.finish().map_err(arrow)?;
                // `[]` for no rows: the array writer opens and closes the array itself.
                let mut out = w.into_inner();
                out.write_all(b"\n").map_err(io)?;
                out
            }
            Inner::Ndjson(mut w) => {
                w.finish().map_err(arrow)?;
                w.into_inner()
            }
            Inner::Parquet(w) => w.into_inner()?,
        };
        out.flush().map_err(io)?;
        Ok(out.inner)
    }
}

/// An Arrow error, with the output's name when it is an I/O error (a full disk, a closed pipe).
fn arrow(e: ArrowError, label: &Path, closed: &AtomicBool) -> Error {
    match e {
        ArrowError::IoError(_, source) => Error::io(label, source),
        _ if closed.load(Ordering::Relaxed) => {
            Error::io(label, std::io::ErrorKind::BrokenPipe.into())
        }
        other => other.into(),
    }
}

/// Writes a stream of batches in `format` to `out`; returns the number of rows and the writer.
pub async fn write_stream<W: Write + Send>(
    mut stream: SendableRecordBatchStream,
    format: OutputFormat,
    out: W,
    label: &Path,
) -> Result<(u64, W)> {
    let mut writer = BatchWriter::new(out, format, stream.schema(), label)?;
    while let Some(batch) = stream.next().await {
        writer.write(&batch?)?;
    }
    let rows = writer.rows();
    Ok((rows, writer.finish()?))
}

/// Where a command's results go: standard output, or a file that appears only when everything was written.
pub struct Destination {
    format: OutputFormat,
    target: Option<PathBuf>,
    /// The target is a character device or FIFO: written directly, not through a temporary file.
    direct: bool,
    file: Option<AtomicFile>,
    results: usize,
}

const STDOUT: &str = "<stdout>";

impl Destination {
    /// Standard output, in a text format.
    pub fn stdout(format: OutputFormat) -> Result<Self> {
        if !format.is_text() {
            return Err(Error::Usage(format!(
                "{format} is not written to a terminal; write it to a file"
            )));
        }
        Ok(Self {
            format,
            target: None,
            direct: false,
            file: None,
            results: 0,
        })
    }

    /// A file, checked before anything runs: an existing regular file is replaced only when `replace` is
    /// true (through a symbolic link, the file it points to: the link stays); a character device or a FIFO
    /// (`/dev/stdout`, a named pipe) is written to as it is, never replaced.
    pub fn file(path: &Path, format: OutputFormat, replace: bool) -> Result<Self> {
        let mut target = path.to_path_buf();
        let mut direct = false;
        match std::fs::metadata(path) {
            Err(_) => {}
            Ok(meta) if meta.is_dir() => {
                return Err(Error::Usage(format!("{}: is a folder", path.display())));
            }
            Ok(meta) if meta.is_file() => {
                if !replace {
                    return Err(Error::Exists {
                        path: path.to_path_buf(),
                        what: "file",
                    });
                }
                if let Ok(real) = std::fs::canonicalize(path) {
                    target = real;
                }
            }
            Ok(meta) => {
                if !writable_as_is(&meta) {
                    return Err(Error::Usage(format!(
                        "{}: is neither a file, a character device nor a FIFO; cxsql writes results only \
                         to those",
                        path.display()
                    )));
                }
                direct = true;
            }
        }
        Ok(Self {
            format,
            target: Some(target),
            direct,
            file: None,
            results: 0,
        })
    }

    /// Opens the target for writing: a temporary file beside it, or the device itself.
    fn open(&mut self, path: &Path) -> Result<File> {
        if self.direct {
            return std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| Error::io(path, e));
        }
        let (atomic, file) = AtomicFile::create(path)?;
        self.file = Some(atomic);
        Ok(file)
    }

    /// Writes one result already in memory (a listing).
    pub async fn write_batch(&mut self, batch: RecordBatch) -> Result<u64> {
        let schema = batch.schema();
        let stream = datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(
            schema,
            futures::stream::iter([Ok(batch)]),
        );
        self.write(Box::pin(stream)).await
    }

    /// Writes text as it is (documentation, messages of a listing).
    pub fn write_text(&mut self, text: &str) -> Result<()> {
        match &self.target {
            None => print(text),
            Some(path) => {
                let path = path.clone();
                let mut file = self.open(&path)?;
                writeln!(file, "{text}").map_err(|e| Error::io(&path, e))
            }
        }
    }

    /// Moves the written file into place.
    pub fn finish(self) -> Result<()> {
        match self.file {
            Some(file) => file.commit(),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl ResultSink for Destination {
    async fn write(&mut self, stream: SendableRecordBatchStream) -> Result<u64> {
        self.results += 1;
        match &self.target {
            None => {
                let mut out = BufWriter::new(std::io::stdout());
                if self.results > 1 && self.format == OutputFormat::Table {
                    // A blank line between two tables.
                    writeln!(out).map_err(|e| Error::io(STDOUT, e))?;
                }
                let (rows, _) = write_stream(stream, self.format, out, Path::new(STDOUT)).await?;
                Ok(rows)
            }
            Some(path) => {
                if self.results > 1 {
                    return Err(Error::Usage(format!(
                        "{}: only one statement may return rows when writing to a file",
                        path.display()
                    )));
                }
                let path = path.clone();
                let out = BufWriter::new(self.open(&path)?);
                let (rows, _) = write_stream(stream, self.format, out, &path).await?;
                Ok(rows)
            }
        }
    }
}

/// Whether an existing non-regular file is one results may be written into as it is.
fn writable_as_is(meta: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        meta.file_type().is_char_device() || meta.file_type().is_fifo()
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        false
    }
}

/// Prints text and a newline to standard output (messages of the shell, listings).
pub fn print(text: &str) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| Error::io(STDOUT, e))
}

/// An output file: a temporary file beside `path`, renamed into place by [`AtomicFile::commit`]; dropped
/// uncommitted, it disappears and an existing file at `path` is untouched.
pub struct AtomicFile {
    path: PathBuf,
    temp: NamedTempFile,
    /// Registered so that a signal removes the temporary file too.
    _registered: crate::guard::Temporary,
}

impl AtomicFile {
    /// Opens a temporary file beside `path`.
    pub fn create(path: &Path) -> Result<(Self, File)> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".cxsql-");
        // A temporary file is private by default; the result is an ordinary file.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
        let temp = builder.tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
        let file = temp.reopen().map_err(|e| Error::io(temp.path(), e))?;
        let registered = crate::guard::Temporary::register(temp.path());
        Ok((
            AtomicFile {
                path: path.to_path_buf(),
                temp,
                _registered: registered,
            },
            file,
        ))
    }

    /// Creates the file and a writer of `schema` in `format` into it, buffered; the batches come sorted by
    /// `sorted_by` (see [`BatchWriter::sorted`]; empty when they are not).
    pub fn writer(
        path: &Path,
        format: OutputFormat,
        schema: SchemaRef,
        sorted_by: &[&str],
    ) -> Result<(Self, BatchWriter<BufWriter<File>>)> {
        let (atomic, file) = Self::create(path)?;
        let out = BufWriter::with_capacity(1 << 20, file);
        Ok((
            atomic,
            BatchWriter::sorted(out, format, schema, path, sorted_by)?,
        ))
    }

    /// Moves the file into place.
    pub fn commit(self) -> Result<()> {
        self.temp
            .persist(&self.path)
            .map_err(|e| Error::io(&self.path, e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("channel", DataType::Utf8, true),
            Field::new("n", DataType::Int64, false),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec![Some("chat"), None])),
                Arc::new(Int64Array::from(vec![3, 4])),
            ],
        )
        .expect("batch")
    }

    fn written(format: OutputFormat, batches: &[RecordBatch]) -> String {
        let schema = batch().schema();
        let mut w = BatchWriter::new(Vec::new(), format, schema, "<test>").expect("writer");
        for b in batches {
            w.write(b).expect("write");
        }
        String::from_utf8(w.finish().expect("finish")).expect("utf-8")
    }

    #[test]
    fn every_text_format_writes_the_rows_and_empty_results_keep_their_shape() {
        let b = batch();
        assert_eq!(
            written(OutputFormat::Csv, std::slice::from_ref(&b)),
            "channel,n\nchat,3\n,4\n"
        );
        assert_eq!(written(OutputFormat::Csv, &[]), "channel,n\n");
        assert_eq!(
            written(OutputFormat::Json, std::slice::from_ref(&b)),
            "[{\"channel\":\"chat\",\"n\":3},{\"channel\":null,\"n\":4}]\n"
        );
        assert_eq!(written(OutputFormat::Json, &[]), "[]\n");
        assert_eq!(
            written(OutputFormat::Ndjson, std::slice::from_ref(&b)),
            "{\"channel\":\"chat\",\"n\":3}\n{\"channel\":null,\"n\":4}\n"
        );
        let table = written(OutputFormat::Table, &[b]);
        assert!(table.contains("| channel | n |"), "{table}");
        assert!(table.contains("| chat    | 3 |"), "{table}");
        assert!(written(OutputFormat::Table, &[]).contains("| channel | n |"));
    }

    #[test]
    fn views_become_plain_types_at_any_depth_and_parquet_files_store_them() {
        use datafusion::arrow::array::{Array, ListBuilder, StringViewArray, StringViewBuilder};
        use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

        let mut list = ListBuilder::new(StringViewBuilder::new());
        list.values().append_value("a");
        list.append(true);
        list.append(false);
        let list = list.finish();
        let schema = Arc::new(Schema::new(vec![
            Field::new("s", DataType::Utf8View, true),
            Field::new("l", list.data_type().clone(), true),
        ]));
        let views = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(StringViewArray::from(vec![Some("chat"), None])),
                Arc::new(list),
            ],
        )
        .expect("batch");
        let plain = plain_schema(&schema);
        assert_eq!(plain.field(0).data_type(), &DataType::Utf8);
        assert_eq!(
            plain.field(1).data_type(),
            &DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)))
        );
        let converted = to_plain(&views, &plain).expect("cast");
        assert_eq!(converted.schema(), plain);
        assert_eq!(
            pretty_format_batches(&[converted])
                .expect("shown")
                .to_string(),
            pretty_format_batches(std::slice::from_ref(&views))
                .expect("shown")
                .to_string()
        );
        let mut w =
            BatchWriter::new(Vec::new(), OutputFormat::Parquet, schema, "<test>").expect("writer");
        w.write(&views).expect("write");
        let bytes = bytes::Bytes::from(w.finish().expect("finish"));
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes).expect("a Parquet file");
        assert_eq!(reader.schema().fields(), plain.fields());
    }

    #[test]
    fn format_names_parse_back_and_unknown_ones_list_the_choices() {
        for f in OutputFormat::ALL {
            assert_eq!(f.name().parse::<OutputFormat>().expect("parses"), f);
        }
        assert_eq!(
            "CSV".parse::<OutputFormat>().expect("any case"),
            OutputFormat::Csv
        );
        let err = "xml".parse::<OutputFormat>().expect_err("unknown");
        assert!(
            err.to_string()
                .contains("\"xml\"; expected one of table, csv, json, ndjson, parquet"),
            "{err}"
        );
    }

    #[test]
    fn a_closed_pipe_is_reported_as_such() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        for format in [OutputFormat::Csv, OutputFormat::Table, OutputFormat::Json] {
            let mut w =
                BatchWriter::new(Closed, format, batch().schema(), "<stdout>").expect("writer");
            let result = w.write(&batch()).and_then(|()| w.finish().map(|_| ()));
            let err = result.expect_err("the pipe is closed");
            assert!(err.is_broken_pipe(), "{format}: {err:?}");
            assert_eq!(err.exit_code(), 0);
        }
    }
}
