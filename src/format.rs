//! Writing results: the only module that touches standard output. Results stream batch by batch to any
//! `impl Write` (the table format, which needs column widths, collects first). Files are written to a
//! temporary file beside the target and renamed at the end, so a failed query leaves nothing half-written and
//! an existing file is only replaced with --force.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::csv::WriterBuilder as CsvWriterBuilder;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::json::{ArrayWriter, LineDelimitedWriter};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::parquet::arrow::ArrowWriter;
use futures::StreamExt;
use tempfile::NamedTempFile;

use crate::cli::{Format, OutputArgs};
use crate::error::{Error, Result};

/// Where results go: standard output, or a file that appears only when everything was written.
pub struct Destination {
    format: Format,
    target: Option<PathBuf>,
    file: Option<FileOut>,
    results: usize,
}

impl Destination {
    /// Checks the output arguments before anything runs: parquet needs a file, and an existing file needs
    /// --force.
    pub fn new(args: &OutputArgs) -> Result<Self> {
        if args.format == Format::Parquet && args.output.is_none() {
            return Err(Error::Usage(
                "--format parquet needs --output FILE (Parquet is not written to a terminal)"
                    .into(),
            ));
        }
        if let Some(path) = &args.output {
            if path.exists() && !args.force {
                return Err(Error::Usage(format!(
                    "{}: the file exists; use --force to overwrite it",
                    path.display()
                )));
            }
            if path.is_dir() {
                return Err(Error::Usage(format!("{}: is a folder", path.display())));
            }
        }
        Ok(Destination {
            format: args.format,
            target: args.output.clone(),
            file: None,
            results: 0,
        })
    }

    /// Writes one result set (a query's stream of batches). Returns the number of rows.
    pub async fn write(&mut self, stream: SendableRecordBatchStream) -> Result<u64> {
        self.results += 1;
        match &self.target {
            None => {
                let mut out = BufWriter::new(std::io::stdout());
                let rows = write_stream(stream, self.format, &mut out, self.results > 1).await?;
                out.flush().map_err(|e| Error::io("<stdout>", e))?;
                Ok(rows)
            }
            Some(path) => {
                if self.results > 1 {
                    return Err(Error::Usage(format!(
                        "{}: only one statement may return rows when writing to a file",
                        path.display()
                    )));
                }
                let (file_out, file) = FileOut::create(path)?;
                let mut out = BufWriter::new(file);
                let rows = write_stream(stream, self.format, &mut out, false).await?;
                out.flush().map_err(|e| Error::io(path, e))?;
                self.file = Some(file_out);
                Ok(rows)
            }
        }
    }

    /// Moves the written file into place.
    pub fn finish(self) -> Result<()> {
        match self.file {
            Some(file) => file.finish(),
            None => Ok(()),
        }
    }
}

/// Writes a stream of batches in `format`. `separate` puts a blank line before a table that follows another.
pub async fn write_stream<W: Write + Send>(
    mut stream: SendableRecordBatchStream,
    format: Format,
    out: &mut W,
    separate: bool,
) -> Result<u64> {
    let schema = stream.schema();
    let mut rows = 0u64;
    let io = |e: std::io::Error| Error::io("<output>", e);
    match format {
        Format::Table => {
            let mut batches = Vec::new();
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                batches.push(batch);
            }
            if separate {
                writeln!(out).map_err(io)?;
            }
            write_table(&schema, &batches, out)?;
        }
        Format::Csv => {
            let mut writer = CsvWriterBuilder::new().with_header(true).build(out);
            let mut wrote = false;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch)?;
                wrote = true;
            }
            if !wrote {
                writer.write(&RecordBatch::new_empty(schema))?;
            }
        }
        Format::Json => {
            let mut writer = ArrayWriter::new(out);
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch)?;
            }
            writer.finish()?;
            if rows == 0 {
                // The array writer writes nothing for no rows: an empty array is the honest answer.
                writer.into_inner().write_all(b"[]").map_err(io)?;
            } else {
                writer.into_inner().write_all(b"\n").map_err(io)?;
            }
        }
        Format::Ndjson => {
            let mut writer = LineDelimitedWriter::new(out);
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch)?;
            }
            writer.finish()?;
        }
        Format::Parquet => {
            let mut writer = ArrowWriter::try_new(out, schema, None)?;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch)?;
            }
            writer.close()?;
        }
    }
    Ok(rows)
}

/// An aligned text table; an empty result still shows its header.
fn write_table<W: Write>(schema: &SchemaRef, batches: &[RecordBatch], out: &mut W) -> Result<()> {
    let table = if batches.iter().all(|b| b.num_rows() == 0) {
        pretty_format_batches(&[RecordBatch::new_empty(schema.clone())])?
    } else {
        pretty_format_batches(batches)?
    };
    writeln!(out, "{table}").map_err(|e| Error::io("<output>", e))
}

/// Prints a line of text to standard output (listings, documentation).
pub fn print(text: &str) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "{text}").map_err(|e| Error::io("<stdout>", e))
}

/// An output file: a temporary file beside `path`, renamed into place by [`FileOut::finish`]; dropped
/// unfinished, it disappears and an existing file at `path` is untouched.
pub struct FileOut {
    path: PathBuf,
    temp: NamedTempFile,
}

impl FileOut {
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
        Ok((
            FileOut {
                path: path.to_path_buf(),
                temp,
            },
            file,
        ))
    }

    /// Moves the file into place.
    pub fn finish(self) -> Result<()> {
        self.temp
            .persist(&self.path)
            .map_err(|e| Error::io(&self.path, e.error))?;
        Ok(())
    }
}
