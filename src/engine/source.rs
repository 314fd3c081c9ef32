//! Table sources: where a table's files are and how to read them (format, compression, CSV dialect, Hive
//! partitions, object store), turned into DataFusion listing tables that are built when first used (nothing
//! is read into memory up front).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::GetExt as _;
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::file_format::options::{
    CsvReadOptions, JsonReadOptions, ParquetReadOptions, ReadOptions as _,
};
use datafusion::datasource::listing::ListingTableUrl;
use datafusion::prelude::SessionContext;

use crate::engine::tables::ListingRecipe;
use crate::error::{Error, Result};
use cxsql_csv::CsvFiles;
use cxsql_csv::CsvOptions;

/// File formats tables can be read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Parquet,
    Csv,
    Json,
}

impl FileFormat {
    /// The format of a file name, from its extension (`.csv`, or `.csv.gz` and the like for compressed files).
    pub fn of(path: &Path) -> Option<Self> {
        Self::with_compression(path).map(|(format, _)| format)
    }

    /// The format and compression of a file name: `t.csv` is uncompressed CSV, `t.csv.gz` gzip'ed CSV
    /// (also `.bz2`, `.xz`, `.zst`). Parquet compresses inside the file, never around it.
    pub fn with_compression(path: &Path) -> Option<(Self, FileCompressionType)> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let (stem, ext) = name.rsplit_once('.')?;
        let (stem, compression) = match compression_of(ext) {
            Some(compression) => (stem, compression),
            None => (name.as_str(), FileCompressionType::UNCOMPRESSED),
        };
        let format = match stem.rsplit_once('.')?.1 {
            "parquet" if !compression.is_compressed() => FileFormat::Parquet,
            "csv" => FileFormat::Csv,
            "json" | "ndjson" | "jsonl" => FileFormat::Json,
            _ => return None,
        };
        Some((format, compression))
    }

    /// The name users see.
    pub fn name(self) -> &'static str {
        match self {
            FileFormat::Parquet => "parquet",
            FileFormat::Csv => "csv",
            FileFormat::Json => "json",
        }
    }
}

/// The compression an extension (without its dot) stands for.
fn compression_of(ext: &str) -> Option<FileCompressionType> {
    match ext.to_ascii_lowercase().as_str() {
        "gz" | "gzip" => Some(FileCompressionType::GZIP),
        "bz2" | "bzip2" => Some(FileCompressionType::BZIP2),
        "xz" => Some(FileCompressionType::XZ),
        "zst" | "zstd" => Some(FileCompressionType::ZSTD),
        _ => None,
    }
}

/// A compression by the name a catalog gives it: gzip, bzip2, xz, zstd (or their extensions), none.
pub fn compression_named(name: &str) -> Option<FileCompressionType> {
    match name.to_ascii_lowercase().as_str() {
        "none" | "uncompressed" => Some(FileCompressionType::UNCOMPRESSED),
        other => compression_of(other),
    }
}

/// How to read a table's files, beyond what the location says (from a catalog).
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// The format, when the extension does not tell.
    pub format: Option<FileFormat>,
    /// CSV: the field delimiter (default: sniffed, see `sniff`).
    pub delimiter: Option<u8>,
    /// CSV: the quote character (default: sniffed, `"` or `'`).
    pub quote: Option<u8>,
    /// CSV: the escape before a quote in a quoted value; `Some(None)`: quotes are doubled (default: sniffed).
    pub escape: Option<Option<u8>>,
    /// CSV: lines starting with this byte are skipped; `Some(None)`: none (default: sniffed, `#`).
    pub comment: Option<Option<u8>>,
    /// CSV: whether the first row is a header (default: sniffed).
    pub header: Option<bool>,
    /// CSV: whether quoted values may contain newlines (default true).
    pub quoted_newlines: Option<bool>,
    /// CSV: a regular expression for NULL values (default: empty fields).
    pub null_regex: Option<String>,
    /// CSV, JSON: how the files are compressed; default from their extension (`.csv.gz`), else none.
    pub compression: Option<FileCompressionType>,
    /// CSV: the files' text encoding (`windows-1252`, `utf-16le`, ...); default: detected.
    pub encoding: Option<&'static encoding_rs::Encoding>,
    /// CSV: whether one large file may be read in parts by all cores (default true).
    pub parallel: Option<bool>,
    /// CSV: whether numbers are written with a decimal comma (`3,5`); default: detected.
    pub decimal_comma: Option<bool>,
    /// CSV: the order of day and month in dates such as `05/01/2024`; default: detected.
    pub dates: Option<cxsql_csv::Order>,
    /// CSV: column types declared by (cleaned) column name, instead of detected.
    pub columns: Vec<(String, DataType)>,
    /// CSV: the chrono format of text timestamps; columns whose values all parse with it become timestamps.
    pub timestamp_format: Option<String>,
    /// CSV: the chrono format of text dates; columns whose values all parse with it become dates.
    pub date_format: Option<String>,
    /// Hive partition columns and types; `None` infers them from the folder names.
    pub partitions: Option<Vec<(String, DataType)>>,
    /// For `s3://` locations: how to reach the bucket (also read from the usual AWS_* variables).
    pub s3: S3Options,
}

/// How to reach an S3-compatible bucket. Secrets are only handed to the object store, never printed.
#[derive(Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Options {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    /// Allow plain http (a local server); implied by an http:// endpoint.
    pub allow_http: Option<bool>,
    /// Unsigned requests, for public buckets.
    pub anonymous: Option<bool>,
    /// Seconds a request may take, connecting included, and retries of a failed one together (default 30):
    /// an endpoint that accepts and never answers fails after about this long.
    pub timeout_seconds: Option<f64>,
}

/// How long an S3 request, and its retries, may take by default.
pub const S3_TIMEOUT_SECONDS: f64 = 30.0;

impl std::fmt::Debug for S3Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Credentials stay out of debug output.
        f.debug_struct("S3Options")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("anonymous", &self.anonymous)
            .field("timeout_seconds", &self.timeout_seconds)
            .finish_non_exhaustive()
    }
}

/// A table to read from files: its name, where the files are (a file, a folder, a glob or an `s3://` URL)
/// and how to read them.
#[derive(Debug, Clone)]
pub struct TableSource {
    pub name: String,
    pub location: String,
    pub read: ReadOptions,
}

impl TableSource {
    /// `location` as table `name`, read as its extension or files say.
    /// The table of one file, named after it: the file name up to its first dot, lower case, other
    /// characters than letters, digits and `_` as `_`, and `t_` before a name that would start with a digit
    /// or be empty (`Customer Support Tickets.csv` → `customer_support_tickets`).
    pub fn for_file(location: &str) -> Self {
        let stem = std::path::Path::new(location.trim_end_matches('/'))
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let stem = stem.split('.').next().unwrap_or_default();
        let name: String = stem
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        let name = if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            format!("t_{name}")
        } else {
            name
        };
        Self::new(name, location)
    }

    pub fn new(name: impl Into<String>, location: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            location: location.into(),
            read: ReadOptions::default(),
        }
    }
}

/// An entry of a data folder that looks like a table but cannot be one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub name: String,
    pub location: String,
    /// What it is, and what to do.
    pub reason: String,
}

/// What a data folder holds: its tables, and the entries that cannot be tables.
#[derive(Debug, Default)]
pub struct FolderTables {
    pub tables: Vec<TableSource>,
    pub unreadable: Vec<Unreadable>,
}

/// A table of `dir` for every NAME.parquet|csv|json file (compressed too: `t.csv.gz` is table `t`) and every
/// NAME/ folder of such files, in name order; hidden entries are skipped. An entry that is not a regular file
/// or folder (a FIFO, a device, a dangling link), or a name that two entries claim (`x.csv` and
/// `x.parquet`), is listed as unreadable: statements that use that name fail, naming what is wrong.
pub fn folder_tables(dir: &Path) -> Result<FolderTables> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    // Each name, with every entry claiming it and what is wrong with that entry.
    let mut claims: Vec<(String, Claims)> = Vec::new();
    for path in paths {
        let named_like_data = FileFormat::with_compression(&path).is_some();
        let problem = odd_entry(&path);
        let is_table = match &problem {
            Some(_) => named_like_data,
            None => {
                FileFormat::of(&path).is_some() || (path.is_dir() && find_format(&path).is_some())
            }
        };
        let compressed =
            FileFormat::with_compression(&path).is_some_and(|(_, c)| c.is_compressed());
        let unwrapped = if compressed && !path.is_dir() {
            path.with_extension("")
        } else {
            path.clone()
        };
        let Some(stem) = unwrapped.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if !is_table || stem.starts_with('.') {
            continue;
        }
        match claims.iter_mut().find(|(name, _)| name == stem) {
            Some((_, entries)) => entries.push((path, problem)),
            None => claims.push((stem.to_string(), vec![(path, problem)])),
        }
    }
    let mut found = FolderTables::default();
    for (name, entries) in claims {
        let location = entries[0].0.to_string_lossy().into_owned();
        if entries.len() > 1 {
            let all: Vec<String> = entries
                .iter()
                .map(|(p, _)| p.display().to_string())
                .collect();
            found.unreadable.push(Unreadable {
                name: name.clone(),
                location: all.join(", "),
                reason: format!(
                    "the name {name} is ambiguous: {} {} claim it; rename or remove all but one, or choose \
                     one with a table of its own (--table {name}=PATH)",
                    all.join(" and "),
                    if all.len() == 2 { "both" } else { "all" }
                ),
            });
        } else if let Some(reason) = entries[0].1.clone() {
            found.unreadable.push(Unreadable {
                name,
                location,
                reason,
            });
        } else {
            found.tables.push(TableSource::new(name, location));
        }
    }
    Ok(found)
}

/// The entries claiming one table name, each with what is wrong with it (if anything).
type Claims = Vec<(PathBuf, Option<String>)>;

/// What is wrong with a data folder entry that is not a regular file or a folder (through links).
fn odd_entry(path: &Path) -> Option<String> {
    let link = std::fs::symlink_metadata(path).ok()?;
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if link.file_type().is_symlink() => {
            let target = std::fs::read_link(path)
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            return Some(format!(
                "a symbolic link to {target}, which cannot be followed ({e})"
            ));
        }
        Err(e) => return Some(format!("cannot be read: {e}")),
    };
    if meta.is_file() || meta.is_dir() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        let kind = meta.file_type();
        let what = if kind.is_fifo() {
            "a FIFO (named pipe)"
        } else if kind.is_char_device() {
            "a character device"
        } else if kind.is_block_device() {
            "a block device"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        Some(format!("{what}, not a file cxsql can read as a table"))
    }
    #[cfg(not(unix))]
    Some("not a regular file or folder".to_string())
}

/// How to build `source`'s listing table when a statement first uses it, and the format of its files.
/// Registers the object store of an `s3://` location with `ctx`.
pub(crate) fn recipe(
    ctx: &SessionContext,
    source: &TableSource,
) -> Result<(ListingRecipe, FileFormat)> {
    let (name, location, read) = (source.name.as_str(), source.location.as_str(), &source.read);
    if name.is_empty() {
        return Err(Error::Usage(format!(
            "the table at {location} needs a name"
        )));
    }
    let path = Path::new(location);
    let is_glob = location.contains(['*', '?', '[']);
    let remote = location.starts_with("s3://");
    if remote {
        register_s3(ctx, location, &read.s3)?;
    }
    let (format, extension) = if remote {
        let format = read
            .format
            .or_else(|| FileFormat::of(path))
            .ok_or_else(|| {
                Error::Usage(format!(
                    "{location}: say the format (parquet, csv or json) for an object-store location"
                ))
            })?;
        // `s3://b/t.csv.gz`, `s3://b/*.csv.gz`: the location's extension; a prefix: the format's, with the
        // catalog's compression.
        let extension = match FileFormat::with_compression(path) {
            Some(_) => extension_of(path),
            None => {
                let compression = read
                    .compression
                    .unwrap_or(FileCompressionType::UNCOMPRESSED);
                format!(".{}{}", format.name(), compression.get_ext())
            }
        };
        (format, extension)
    } else if let Some(format) = read.format {
        // The catalog says the format: the extension is whatever the files have.
        let sample = if path.is_dir() {
            first_file_matching(path, &|_| true)
        } else {
            Some(path.to_path_buf())
        };
        (
            format,
            sample
                .map(|p: PathBuf| extension_of(&p))
                .unwrap_or_default(),
        )
    } else if is_glob || path.is_file() {
        let format = FileFormat::of(path).ok_or_else(|| {
                Error::Usage(format!(
                    "{location}: unknown file format; expected a .parquet, .csv or .json (.ndjson, .jsonl) file"
                ))
            })?;
        (format, extension_of(path))
    } else if path.is_dir() {
        let found: Vec<PathBuf> = [FileFormat::Parquet, FileFormat::Csv, FileFormat::Json]
            .into_iter()
            .filter_map(|format| first_file(path, format))
            .collect();
        if found.len() > 1 {
            let names: Vec<String> = found.iter().map(|p| p.display().to_string()).collect();
            return Err(Error::Usage(format!(
                "{location}: the folder holds files of more than one format ({}); a table reads one format: \
                 move the others out, or choose with a glob (e.g. {location}/*.csv)",
                names.join(", ")
            )));
        }
        find_format(path).ok_or_else(|| {
            Error::Usage(format!(
                "{location}: the folder holds no .parquet, .csv or .json files"
            ))
        })?
    } else {
        return Err(Error::Usage(format!("{location}: no such file or folder")));
    };
    // The compression the catalog says, else the one the files' extension says.
    let compression = match read.compression {
        Some(compression) => compression,
        None => compression_of(extension.rsplit('.').next().unwrap_or_default())
            .unwrap_or(FileCompressionType::UNCOMPRESSED),
    };
    if format == FileFormat::Parquet && compression.is_compressed() {
        return Err(Error::Usage(format!(
            "{location}: Parquet files are compressed inside; a compression applies to csv or json only"
        )));
    }
    // Hive-style folders (`year=2024/month=3/...`) give partition columns; filters on them skip folders.
    let partitions = match &read.partitions {
        Some(declared) => declared.clone(),
        None if path.is_dir() => hive_partitions(path),
        None => Vec::new(),
    };
    let config = ctx.copied_config();
    let table_options = ctx.copied_table_options();
    let (options, csv) = match format {
        FileFormat::Parquet => {
            let options = ParquetReadOptions::default()
                .file_extension(&extension)
                .table_partition_cols(partitions);
            (options.to_listing_options(&config, table_options), None)
        }
        FileFormat::Csv => {
            // Real exports: a header row, quoted values with commas and newlines, empty fields as NULL.
            // The schema is inferred by cxsql when the table is first used (see cxsql-csv's `infer`).
            let null_regex = match &read.null_regex {
                Some(pattern) => Some(
                    regex::Regex::new(pattern)
                        .map_err(|e| Error::Usage(format!("null_regex {pattern:?}: {e}")))?,
                ),
                None => None,
            };
            let dialect = CsvOptions {
                header: read.header,
                fixed: cxsql_csv::Fixed {
                    delimiter: read.delimiter,
                    quote: read.quote,
                    escape: read.escape,
                    comment: read.comment,
                },
                null_regex,
                compression,
                timestamp_format: read.timestamp_format.clone(),
                date_format: read.date_format.clone(),
                encoding: read.encoding,
                parallel: read.parallel.unwrap_or(true),
                decimal_comma: read.decimal_comma,
                dates: read.dates,
                columns: read.columns.clone(),
            };
            // Delimiter, quote and header are set from the sniffed dialect when the table is first used.
            let options = CsvReadOptions::new()
                .has_header(read.header.unwrap_or(true))
                .newlines_in_values(read.quoted_newlines.unwrap_or(true))
                .delimiter(read.delimiter.unwrap_or(b','))
                .quote(read.quote.unwrap_or(b'"'))
                .null_regex(read.null_regex.clone())
                .file_compression_type(compression)
                .file_extension(&extension)
                .table_partition_cols(partitions);
            let mut options = options.to_listing_options(&config, table_options);
            // Read through cxsql's CSV source, whose errors name the file (see cxsql-csv's `format`).
            if let Some(csv) = options.format.downcast_ref::<CsvFormat>() {
                options.format = Arc::new(CsvFiles::new(
                    CsvFormat::default().with_options(csv.options().clone()),
                ));
            }
            (options, Some(dialect))
        }
        FileFormat::Json => {
            let options = JsonReadOptions::default()
                .file_compression_type(compression)
                .file_extension(&extension)
                .table_partition_cols(partitions);
            (options.to_listing_options(&config, table_options), None)
        }
    };
    let url = ListingTableUrl::parse(location).map_err(|e| Error::Query {
        context: format!("table {name} ({location}): "),
        source: e,
        hint: String::new(),
    })?;
    // The files are read (schema inference) when a statement first uses the table.
    let recipe = ListingRecipe {
        location: location.to_string(),
        url,
        options,
        schema: None,
        csv,
    };
    Ok((recipe, format))
}

/// Registers the object store of an `s3://bucket/...` location, from `options` and the AWS_* variables.
fn register_s3(ctx: &SessionContext, location: &str, options: &S3Options) -> Result<()> {
    use object_store::ClientConfigKey;
    use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};

    let url = url::Url::parse(location)
        .map_err(|e| Error::Usage(format!("{location}: not a URL ({e})")))?;
    let bucket = url
        .host_str()
        .ok_or_else(|| Error::Usage(format!("{location}: no bucket name")))?;
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    if let Some(endpoint) = &options.endpoint {
        builder = builder
            .with_endpoint(endpoint)
            .with_allow_http(endpoint.starts_with("http://"));
    }
    if let Some(region) = &options.region {
        builder = builder.with_region(region);
    }
    if let Some(key) = &options.access_key_id {
        builder = builder.with_access_key_id(key);
    }
    if let Some(secret) = &options.secret_access_key {
        builder = builder.with_secret_access_key(secret);
    }
    if let Some(token) = &options.session_token {
        builder = builder.with_token(token);
    }
    if let Some(allow) = options.allow_http {
        builder = builder.with_allow_http(allow);
    }
    if options.anonymous == Some(true) {
        builder = builder.with_skip_signature(true);
    }
    let seconds = options.timeout_seconds.unwrap_or(S3_TIMEOUT_SECONDS);
    if !(seconds.is_finite() && seconds > 0.0) {
        return Err(Error::Usage(format!(
            "{location}: timeout_seconds is {seconds}; expected a positive number of seconds"
        )));
    }
    let timeout = std::time::Duration::from_secs_f64(seconds);
    // Set key by key: the builder's client options hold allow_http and what AWS_* variables said.
    let millis = |d: std::time::Duration| format!("{}ms", d.as_millis().max(1));
    builder = builder
        .with_config(
            AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout),
            millis(timeout.min(std::time::Duration::from_secs(10))),
        )
        .with_config(
            AmazonS3ConfigKey::Client(ClientConfigKey::Timeout),
            millis(timeout),
        )
        .with_retry(object_store::RetryConfig {
            max_retries: 3,
            retry_timeout: timeout,
            ..object_store::RetryConfig::default()
        });
    // The builder's own message names what is missing, not the secrets.
    let store = builder.build().map_err(|e| {
        Error::Usage(format!(
            "{location}: {}",
            crate::guard::redact(&e.to_string())
        ))
    })?;
    let root = url::Url::parse(&format!("s3://{bucket}"))
        .map_err(|e| Error::Usage(format!("{location}: {e}")))?;
    ctx.register_object_store(&root, Arc::new(store));
    Ok(())
}

/// The Hive partition columns of a folder: the `key=value` folder names on the way down to its first file,
/// typed INT when every value seen at that level is an integer, VARCHAR otherwise.
fn hive_partitions(dir: &Path) -> Vec<(String, DataType)> {
    let mut columns = Vec::new();
    let mut level = dir.to_path_buf();
    loop {
        let mut subdirs: Vec<PathBuf> = match std::fs::read_dir(&level) {
            Ok(entries) => entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir())
                .collect(),
            Err(_) => break,
        };
        subdirs.sort();
        let pairs: Vec<(String, String)> = subdirs
            .iter()
            .filter_map(|d| {
                let name = d.file_name()?.to_str()?;
                let (k, v) = name.split_once('=')?;
                Some((k.to_string(), v.to_string()))
            })
            .collect();
        let Some((key, _)) = pairs.first() else { break };
        if pairs.len() != subdirs.len() || pairs.iter().any(|(k, _)| k != key) {
            break;
        }
        let integer = pairs.iter().all(|(_, v)| v.parse::<i32>().is_ok());
        columns.push((
            key.clone(),
            if integer {
                DataType::Int32
            } else {
                DataType::Utf8
            },
        ));
        level = subdirs[0].clone();
    }
    columns
}

/// The first file of `format` under `dir`, depth-first in name order.
fn first_file(dir: &Path, format: FileFormat) -> Option<PathBuf> {
    first_file_matching(dir, &|p| FileFormat::of(p) == Some(format))
}

/// The first file under `dir` that `wanted` accepts, depth-first in name order (hidden files skipped).
fn first_file_matching(dir: &Path, wanted: &dyn Fn(&Path) -> bool) -> Option<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    entries.sort();
    entries
        .iter()
        .find(|p| p.is_file() && wanted(p))
        .cloned()
        .or_else(|| {
            entries
                .iter()
                .filter(|p| p.is_dir())
                .find_map(|p| first_file_matching(p, wanted))
        })
}

/// The extension with its dot, as DataFusion's listing options want it: `.csv`, or `.csv.gz` for a compressed
/// file.
fn extension_of(path: &Path) -> String {
    let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
        return String::new();
    };
    let inner = Path::new(path.file_stem().unwrap_or_default())
        .extension()
        .and_then(|e| e.to_str());
    match inner {
        Some(inner)
            if compression_of(ext).is_some() && FileFormat::with_compression(path).is_some() =>
        {
            format!(".{inner}.{ext}")
        }
        _ => format!(".{ext}"),
    }
}

/// The format and extension of the first data file found in `dir` (searched depth-first, sorted, so Hive-style
/// `key=value/` sub-folders are found too).
fn find_format(dir: &Path) -> Option<(FileFormat, String)> {
    [FileFormat::Parquet, FileFormat::Csv, FileFormat::Json]
        .into_iter()
        .find_map(|format| first_file(dir, format))
        .and_then(|file| Some((FileFormat::of(&file)?, extension_of(&file))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_s_table_is_named_after_it() {
        let name = |location: &str| TableSource::for_file(location).name;
        assert_eq!(
            name("exports/Customer Support Tickets.csv"),
            "customer_support_tickets"
        );
        assert_eq!(name("2024-tickets.csv.gz"), "t_2024_tickets");
        assert_eq!(name("data/tickets/"), "tickets");
        assert_eq!(name(".csv"), "t_");
        assert_eq!(TableSource::for_file("a/b.csv").location, "a/b.csv");
    }

    #[test]
    fn formats_and_compressions_come_from_the_file_name() {
        let of = |name: &str| FileFormat::with_compression(Path::new(name));
        assert_eq!(
            of("t.csv"),
            Some((FileFormat::Csv, FileCompressionType::UNCOMPRESSED))
        );
        assert_eq!(
            of("t.CSV.GZ"),
            Some((FileFormat::Csv, FileCompressionType::GZIP))
        );
        assert_eq!(
            of("a.b.json.zst"),
            Some((FileFormat::Json, FileCompressionType::ZSTD))
        );
        assert_eq!(
            of("t.ndjson.bz2"),
            Some((FileFormat::Json, FileCompressionType::BZIP2))
        );
        assert_eq!(
            of("t.parquet"),
            Some((FileFormat::Parquet, FileCompressionType::UNCOMPRESSED))
        );
        // Parquet compresses inside; a gzip'ed Parquet file is not a table file.
        assert_eq!(of("t.parquet.gz"), None);
        assert_eq!(of("t.gz"), None);
        assert_eq!(of("notes.txt"), None);
        assert_eq!(extension_of(Path::new("x/t.csv.gz")), ".csv.gz");
        assert_eq!(extension_of(Path::new("x/t.v2.csv")), ".csv");
        assert_eq!(extension_of(Path::new("x/backup.tar.gz")), ".gz");
        assert_eq!(compression_named("XZ"), Some(FileCompressionType::XZ));
        assert_eq!(
            compression_named("none"),
            Some(FileCompressionType::UNCOMPRESSED)
        );
        assert_eq!(compression_named("rar"), None);
    }
}
