//! How cxsql reads a CSV table's files: DataFusion's CSV format and reader, behind a file format and source of
//! cxsql's own so that every error met while reading names the file it came from. Arrow's reader knows
//! neither the file nor the column's name ("Error while parsing value 'abc' as type 'Int64' for column 1 at
//! line 1"); a table of many files whose later files disagree with the types inferred from the first left
//! the user searching. Here the same failure reads
//! "data/t/b.csv, record 2, column score: 'abc' is not a Int64 (...)".
//!
//! Once a table's first use has sampled its files, [`CsvFiles`] carries the [`CsvReading`] and its file source
//! is cxsql's [`CsvTableSource`] (module `source`): that is how every CSV table with data is read. Before
//! that, and for a table whose first use found no file with data (an empty folder that files are added to
//! later), DataFusion's `CsvSource` reads, wrapped by [`NamingCsvSource`] so that its errors name the file.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::error::ArrowError;
use datafusion::catalog::Session;
use datafusion::common::stats::Precision;
use datafusion::common::{DataFusionError, Result, Statistics};
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{
    CsvSource, FileOpenFuture, FileOpener, FileScanConfig, FileScanConfigBuilder, FileSinkConfig,
    FileSource,
};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::table_schema::TableSchema;
use datafusion::physical_expr::{LexRequirement, PhysicalExpr};
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use datafusion::physical_plan::projection::ProjectionExprs;
use datafusion::physical_plan::{DisplayFormatType, ExecutionPlan};
use futures::{StreamExt, TryStreamExt};

use crate::part::ArrowParseError;
use crate::reading::CsvReading;
use crate::source::CsvTableSource;
use object_store::{ObjectMeta, ObjectStore};

/// DataFusion's CSV format, reading through [`NamingCsvSource`].
#[derive(Debug)]
pub struct CsvFiles {
    inner: CsvFormat,
    /// How the files are read, once the table's first use decided it: then cxsql's reader reads them.
    reading: Option<Arc<CsvReading>>,
}

impl CsvFiles {
    pub fn new(inner: CsvFormat) -> Self {
        Self {
            inner,
            reading: None,
        }
    }

    /// This format, read by cxsql's reader as `reading` says.
    pub fn reading(&self, reading: Arc<CsvReading>) -> Self {
        let mut options = self.inner.options().clone();
        options.delimiter = reading.dialect.delimiter;
        options.quote = reading.dialect.quote;
        options.escape = reading.dialect.escape;
        options.comment = reading.dialect.comment;
        options.has_header = Some(reading.header);
        Self {
            inner: CsvFormat::default().with_options(options),
            reading: Some(reading),
        }
    }
}

impl CsvFiles {
    /// The same files as DataFusion's own CSV format reads them, for a process without cxsql's reader (a
    /// cluster's executors rebuild the table from the plan): the dialect, header, compression and NULL
    /// pattern cxsql decided, with quoted line breaks allowed (files are then not split). `Err` says why that
    /// reader would not read what cxsql's reads: columns converted from text, or an encoding other than UTF-8.
    pub fn portable(&self) -> std::result::Result<CsvFormat, String> {
        let mut options = self.inner.options().clone();
        options.newlines_in_values = Some(true);
        if let Some(reading) = &self.reading {
            if reading.encoding != encoding_rs::UTF_8 {
                return Err(format!(
                    "its files are in {}, which only cxsql's own CSV reader decodes; convert them to UTF-8 \
                     or to Parquet (cxsql query 'SELECT * FROM ...' --format parquet -o FILE)",
                    reading.encoding.name()
                ));
            }
            let converted: Vec<&str> = reading
                .converts
                .iter()
                .zip(reading.read_schema.fields())
                .filter(|(convert, _)| convert.is_some())
                .map(|(_, field)| field.name().as_str())
                .collect();
            if !converted.is_empty() {
                return Err(format!(
                    "cxsql's own CSV reader converts its column(s) {} from text (dates, numbers or booleans \
                     written in a local style); convert the table to Parquet (cxsql query 'SELECT * FROM \
                     ...' --format parquet -o FILE) and read that on the cluster",
                    converted.join(", ")
                ));
            }
            options.null_regex = reading.null_regex.as_ref().map(|r| r.as_str().to_string());
            options.compression = *reading.compression.get_variant();
        }
        Ok(CsvFormat::default().with_options(options))
    }
}

#[async_trait]
impl FileFormat for CsvFiles {
    fn get_ext(&self) -> String {
        self.inner.get_ext()
    }

    fn get_ext_with_compression(&self, compression: &FileCompressionType) -> Result<String> {
        self.inner.get_ext_with_compression(compression)
    }

    fn compression_type(&self) -> Option<FileCompressionType> {
        self.inner.compression_type()
    }

    async fn infer_schema(
        &self,
        state: &dyn Session,
        store: &Arc<dyn ObjectStore>,
        objects: &[ObjectMeta],
    ) -> Result<SchemaRef> {
        self.inner.infer_schema(state, store, objects).await
    }

    async fn infer_stats(
        &self,
        state: &dyn Session,
        store: &Arc<dyn ObjectStore>,
        table_schema: SchemaRef,
        object: &ObjectMeta,
    ) -> Result<Statistics> {
        let mut stats = self
            .inner
            .infer_stats(state, store, table_schema, object)
            .await?;
        // The file's size as an estimate of its data's, so that the planner sees a small CSV table (a policy or
        // mapping table) as small: it becomes the build side of a join, collected once, instead of the big
        // table it is joined to.
        if stats.total_byte_size == Precision::Absent {
            stats.total_byte_size = Precision::Inexact(object.size as usize);
        }
        Ok(stats)
    }

    async fn create_physical_plan(
        &self,
        state: &dyn Session,
        conf: FileScanConfig,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if conf.file_source.downcast_ref::<CsvTableSource>().is_some() {
            // cxsql's reader decompresses itself; the compression tells DataFusion not to split the files.
            let config = FileScanConfigBuilder::from(conf)
                .with_file_compression_type(self.inner.options().compression.into())
                .build();
            return Ok(DataSourceExec::from_data_source(config));
        }
        // As CsvFormat does it (the session's defaults fill what the options leave open), with the source
        // wrapped.
        let mut options = self.inner.options().clone();
        let catalog = &state.config_options().catalog;
        options.has_header = Some(options.has_header.unwrap_or(catalog.has_header));
        options.newlines_in_values = Some(
            options
                .newlines_in_values
                .unwrap_or(catalog.newlines_in_values),
        );
        let csv = match conf.file_source.downcast_ref::<NamingCsvSource>() {
            Some(naming) => naming.inner.clone(),
            None => CsvSource::new(conf.file_source.table_schema().clone()),
        };
        let source = NamingCsvSource {
            inner: csv.with_csv_options(options.clone()),
        };
        let config = FileScanConfigBuilder::from(conf)
            .with_file_compression_type(options.compression.into())
            .with_source(Arc::new(source))
            .build();
        Ok(DataSourceExec::from_data_source(config))
    }

    async fn create_writer_physical_plan(
        &self,
        input: Arc<dyn ExecutionPlan>,
        state: &dyn Session,
        conf: FileSinkConfig,
        order_requirements: Option<LexRequirement>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.inner
            .create_writer_physical_plan(input, state, conf, order_requirements)
            .await
    }

    fn file_source(&self, table_schema: TableSchema) -> Arc<dyn FileSource> {
        if let Some(reading) = &self.reading {
            return Arc::new(CsvTableSource::new(Arc::clone(reading), table_schema));
        }
        let mut options = self.inner.options().clone();
        options.has_header = Some(options.has_header.unwrap_or(true));
        Arc::new(NamingCsvSource {
            inner: CsvSource::new(table_schema).with_csv_options(options),
        })
    }
}

/// DataFusion's [`CsvSource`], with an opener that names the file in every error.
#[derive(Clone)]
pub struct NamingCsvSource {
    inner: CsvSource,
}

impl NamingCsvSource {
    /// Wraps a source that `inner` made from this one's CsvSource.
    fn rewrap(source: Arc<dyn FileSource>) -> Arc<dyn FileSource> {
        match source.downcast_ref::<CsvSource>() {
            Some(csv) => Arc::new(NamingCsvSource { inner: csv.clone() }),
            None => source,
        }
    }
}

impl FileSource for NamingCsvSource {
    fn create_file_opener(
        &self,
        object_store: Arc<dyn ObjectStore>,
        base_config: &FileScanConfig,
        partition: usize,
    ) -> Result<Arc<dyn FileOpener>> {
        Ok(Arc::new(NamingOpener {
            inner: self
                .inner
                .create_file_opener(object_store, base_config, partition)?,
            root: base_config.object_store_url.as_str().to_string(),
            schema: Arc::clone(self.inner.table_schema().file_schema()),
        }))
    }

    fn table_schema(&self) -> &TableSchema {
        self.inner.table_schema()
    }

    fn with_batch_size(&self, batch_size: usize) -> Arc<dyn FileSource> {
        Self::rewrap(self.inner.with_batch_size(batch_size))
    }

    fn projection(&self) -> Option<&ProjectionExprs> {
        self.inner.projection()
    }

    fn metrics(&self) -> &ExecutionPlanMetricsSet {
        self.inner.metrics()
    }

    fn file_type(&self) -> &str {
        self.inner.file_type()
    }

    fn fmt_extra(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        self.inner.fmt_extra(t, f)
    }

    fn supports_repartitioning(&self) -> bool {
        self.inner.supports_repartitioning()
    }

    fn try_pushdown_projection(
        &self,
        projection: &ProjectionExprs,
    ) -> Result<Option<Arc<dyn FileSource>>> {
        Ok(self
            .inner
            .try_pushdown_projection(projection)?
            .map(Self::rewrap))
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(
            &Arc<dyn PhysicalExpr>,
        ) -> Result<datafusion::common::tree_node::TreeNodeRecursion>,
    ) -> Result<datafusion::common::tree_node::TreeNodeRecursion> {
        self.inner.apply_expressions(f)
    }
}

/// Opens a file with DataFusion's CSV opener and names the file in its errors.
struct NamingOpener {
    inner: Arc<dyn FileOpener>,
    /// The object store's URL (`file:///`, `s3://bucket/`), before the file's location.
    root: String,
    /// The files' columns, in file order (Arrow's errors give a column's position).
    schema: SchemaRef,
}

impl FileOpener for NamingOpener {
    fn open(&self, file: PartitionedFile) -> Result<FileOpenFuture> {
        let name = crate::files::display_name_in(&self.root, &file.object_meta);
        let schema = Arc::clone(&self.schema);
        let opening = self.inner.open(file)?;
        Ok(Box::pin(async move {
            let named = move |e| naming(&name, &schema, e);
            let stream = opening.await.map_err(&named)?;
            Ok(stream.map_err(named).boxed())
        }))
    }
}

/// `e`, met while reading the file `name`, as an error that names it.
fn naming(name: &str, schema: &SchemaRef, e: DataFusionError) -> DataFusionError {
    let message = match &e {
        DataFusionError::ArrowError(arrow, _) => match arrow.as_ref() {
            ArrowError::ParseError(text) => {
                parse_error(text, schema).unwrap_or_else(|| text.clone())
            }
            ArrowError::CsvError(text) => text.clone(),
            other => other.to_string(),
        },
        DataFusionError::ObjectStore(store) => format!("cannot read it: {store}"),
        DataFusionError::IoError(io) => format!("cannot read it: {io}"),
        _ => return e,
    };
    DataFusionError::Execution(format!("{name}: {message}"))
}

/// Arrow's "Error while parsing value 'abc' as type 'Int64' for column 1 at line 1. Row data: '[3,abc]'",
/// said with the column's name and the record's number in the file (1-based, the header included: Arrow's
/// line counts records from 0 with the header as 0, or from 0 without one, so the next number either way).
fn parse_error(text: &str, schema: &SchemaRef) -> Option<String> {
    let e = ArrowParseError::parse(text)?;
    let field = schema.fields().get(e.column)?;
    Some(format!(
        "record {}, column {}: '{}' is not a {}; the table's column types were inferred from the first records \
         of its first file, and this value does not fit",
        e.line + 1,
        field.name(),
        e.value,
        e.data_type
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    #[test]
    fn arrow_parse_errors_get_the_column_name_and_record_number() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("score", DataType::Int64, true),
        ]));
        let said = parse_error(
            "Error while parsing value 'abc' as type 'Int64' for column 1 at line 1. Row data: '[3,abc]'",
            &schema,
        );
        assert_eq!(
            said.as_deref()
                .map(|s| s.split(';').next().unwrap_or_default()),
            Some("record 2, column score: 'abc' is not a Int64")
        );
        assert_eq!(parse_error("something else", &schema), None);
        assert_eq!(
            parse_error(
                "Error while parsing value 'x' as type 'Int64' for column 9 at line 1. Row data: ''",
                &schema
            ),
            None,
            "a column outside the schema keeps Arrow's text"
        );
    }
}
