//! Catalogs: a TOML file (`--catalog FILE.toml`, or `cxsql.toml` in the working folder) that names tables with
//! their location, format, reading options and Hive partition columns, and views (named SQL) that map a
//! foreign export onto the canonical schema.
//!
//! ```toml
//! [tables.kaggle_tickets]
//! location = "exports/customer_support_tickets.csv"   # a file, a folder or a glob; relative to this file
//! format = "csv"                                        # parquet, csv or json; default: from the extension
//! partitions = ["year INT", "month INT"]                # Hive partition columns, in folder order
//! options = { delimiter = ",", header = true, quoted_newlines = true, escape = "\\", comment = "#",
//!             compression = "gzip",                      # gzip, bzip2, xz, zstd, none; default: extension
//!             encoding = "windows-1252",                 # default: detected
//!             decimal = ",", dates = "day-first",        # default: detected
//!             columns = { "Durée" = "DOUBLE" },          # declared column types, over the detected ones
//!             parallel = true,                           # one large file read in byte ranges by all cores
//!             timestamp_format = "%d/%m/%Y %H:%M",       # text columns that all parse become timestamps
//!             date_format = "%d/%m/%Y" }                 # ... dates
//!
//! [[views]]
//! name = "tickets"
//! sql = "SELECT ... FROM kaggle_tickets"
//!
//! [calendars.emea]                                      # for business_seconds(a, b, 'emea') and sla_breached
//! time_zone = "Europe/Paris"
//! hours = ["Mon-Fri 09:00-17:00"]
//! holidays = ["2024-12-25", "2024-12-26"]
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use datafusion::arrow::datatypes::DataType;
use datafusion::execution::SessionStateBuilder;
use serde::Deserialize;

use crate::engine::params::sql_type;
use crate::engine::source::{FileFormat, ReadOptions, S3Options, TableSource, compression_named};
use crate::error::{Error, Result};

/// What a catalog file describes: tables, views and calendars. Loading reads and checks the file; it changes
/// no session (the session applies it, see `session::compose`).
#[derive(Debug, Default)]
pub struct Catalog {
    /// The file it was read from.
    pub path: PathBuf,
    /// The tables, locations resolved against the catalog's folder, in name order.
    pub tables: Vec<TableSource>,
    /// The views, in file order (a view may use the ones before it).
    pub views: Vec<View>,
    /// Business calendars for `business_seconds` and `sla_breached`, in name order.
    pub calendars: Vec<(String, cxsql_udfs::Calendar)>,
}

/// A named query over the tables.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct View {
    pub name: String,
    pub sql: String,
    pub description: Option<String>,
}

/// The file as written.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default)]
    tables: BTreeMap<String, TableEntry>,
    #[serde(default)]
    views: Vec<View>,
    #[serde(default)]
    calendars: BTreeMap<String, CalendarEntry>,
}

/// One business calendar.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarEntry {
    /// IANA name (`Europe/Paris`) or offset (`+05:30`); default UTC.
    time_zone: Option<String>,
    /// Weekly opening hours, e.g. `["Mon-Fri 09:00-17:00", "Sat 10:00-12:00"]`; default Mon–Fri 09:00–17:00.
    hours: Option<Vec<String>>,
    /// Dates without business hours (`YYYY-MM-DD`).
    #[serde(default)]
    holidays: Vec<String>,
}

/// One table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableEntry {
    location: String,
    format: Option<String>,
    #[serde(default)]
    partitions: Option<Vec<String>>,
    #[serde(default)]
    options: CsvEntry,
    /// For `s3://` locations: endpoint, region, credentials, allow_http, anonymous.
    #[serde(default)]
    s3: S3Options,
}

/// CSV reading options.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CsvEntry {
    delimiter: Option<String>,
    quote: Option<String>,
    /// The escape before a quote inside a quoted value (`\\`); `""`: quotes are doubled (the default).
    escape: Option<String>,
    /// Lines starting with it are skipped (`#`); `""`: none.
    comment: Option<String>,
    /// The text encoding (`utf-8`, `windows-1252`, `latin1`, `utf-16le`, ...); default: detected.
    encoding: Option<String>,
    header: Option<bool>,
    quoted_newlines: Option<bool>,
    /// Whether one large file may be read in parts by all cores (default true).
    parallel: Option<bool>,
    null_regex: Option<String>,
    /// gzip, bzip2, xz, zstd or none; default: from the files' extension.
    compression: Option<String>,
    /// chrono format of text timestamps (`%d/%m/%Y %H:%M`): matching columns become timestamps.
    timestamp_format: Option<String>,
    /// chrono format of text dates (`%d/%m/%Y`): matching columns become dates.
    date_format: Option<String>,
    /// The decimal separator: `","` reads `3,5` as a number in every column written so, `"."` never;
    /// default: detected (a decimal comma only where the delimiter is not `,`).
    decimal: Option<String>,
    /// `day-first` or `month-first`: the order of dates written `05/01/2024`; default: detected from values
    /// above 12 (a sample where it cannot be told leaves them text).
    dates: Option<String>,
    /// Column types declared by name (`{ "Durée" = "DOUBLE", "Zip" = "VARCHAR" }`), instead of detected.
    columns: Option<BTreeMap<String, String>>,
}

impl Catalog {
    /// Reads and checks a catalog file: formats, options, partition types and calendars. Locations are taken
    /// relative to the file's folder.
    pub async fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let file: CatalogFile =
            toml::from_str(&text).map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let fail = |message: String| Error::Usage(format!("{}: {message}", path.display()));
        let mut calendars = Vec::new();
        for (name, entry) in &file.calendars {
            let hours: Vec<&str> = match &entry.hours {
                Some(hours) => hours.iter().map(String::as_str).collect(),
                None => vec!["Mon-Fri 09:00-17:00"],
            };
            let holidays: Vec<&str> = entry.holidays.iter().map(String::as_str).collect();
            let calendar = cxsql_udfs::Calendar::new(
                entry.time_zone.as_deref().unwrap_or("UTC"),
                &hours,
                &holidays,
            )
            .map_err(|e| {
                fail(format!(
                    "calendar {name}: {}",
                    cxsql_udfs::calendar::message(&e)
                ))
            })?;
            calendars.push((name.clone(), calendar));
        }
        let mut tables = Vec::new();
        for (name, entry) in &file.tables {
            let read = read_options(entry)
                .await
                .map_err(|m| fail(format!("table {name}: {m}")))?;
            tables.push(TableSource {
                name: name.clone(),
                location: resolve(&base, &entry.location),
                read,
            });
        }
        // A view named like a table (or like an earlier view) would hide it: a mistake in the file.
        for (i, view) in file.views.iter().enumerate() {
            if file.tables.contains_key(&view.name) {
                return Err(fail(format!(
                    "view {0} has the name of table {0}; give one of them another name",
                    view.name
                )));
            }
            if file.views[..i].iter().any(|v| v.name == view.name) {
                return Err(fail(format!("two views are named {}", view.name)));
            }
        }
        Ok(Catalog {
            path: path.to_path_buf(),
            tables,
            views: file.views,
            calendars,
        })
    }
}

fn resolve(base: &Path, location: &str) -> String {
    let path = PathBuf::from(location);
    if path.is_absolute() || location.contains("://") {
        location.to_string()
    } else {
        base.join(path).to_string_lossy().into_owned()
    }
}

/// A format must be one chrono understands (`%d/%m/%Y %H:%M`), else every column would silently stay text.
fn check_chrono_format(what: &str, format: &str) -> std::result::Result<(), String> {
    use chrono::format::{Item, StrftimeItems};
    if !format.contains('%') {
        return Err(format!(
            "{what} {format:?} has no field; expected a chrono format such as \"%d/%m/%Y %H:%M\""
        ));
    }
    if StrftimeItems::new(format).any(|item| matches!(item, Item::Error)) {
        return Err(format!(
            "{what} {format:?} is not a valid chrono format (see https://docs.rs/chrono/latest/chrono/format/strftime)"
        ));
    }
    Ok(())
}

fn one_byte(what: &str, value: &Option<String>) -> std::result::Result<Option<u8>, String> {
    match value.as_deref() {
        None => Ok(None),
        Some("\\t") => Ok(Some(b'\t')),
        Some(s) if s.len() == 1 => Ok(Some(s.as_bytes()[0])),
        Some(s) => Err(format!("{what} must be one character, got {s:?}")),
    }
}

/// An option that is one character or, given as `""`, none.
fn none_or_byte(
    what: &str,
    value: &Option<String>,
) -> std::result::Result<Option<Option<u8>>, String> {
    match value.as_deref() {
        Some("") => Ok(Some(None)),
        _ => Ok(one_byte(what, value)?.map(Some)),
    }
}

async fn read_options(table: &TableEntry) -> std::result::Result<ReadOptions, String> {
    let format = match table.format.as_deref() {
        None => None,
        Some("parquet") => Some(FileFormat::Parquet),
        Some("csv") => Some(FileFormat::Csv),
        Some("json" | "ndjson") => Some(FileFormat::Json),
        Some(other) => {
            return Err(format!(
                "unknown format {other:?}; expected parquet, csv or json"
            ));
        }
    };
    let partitions = match &table.partitions {
        None => None,
        Some(list) => {
            // Partition types are SQL type names, read as DataFusion's SQL planner reads them.
            let state = SessionStateBuilder::new().build();
            let mut columns = Vec::new();
            for spec in list {
                let (name, type_name) = spec
                    .trim()
                    .split_once(char::is_whitespace)
                    .ok_or_else(|| format!("partition {spec:?}: expected \"NAME TYPE\""))?;
                let data_type = sql_type(&state, type_name.trim()).await?;
                columns.push((name.to_string(), data_type));
            }
            Some(columns)
        }
    };
    let o = &table.options;
    let compression = match o.compression.as_deref() {
        None => None,
        Some(name) => Some(compression_named(name).ok_or_else(|| {
            format!("unknown compression {name:?}; expected gzip, bzip2, xz, zstd or none")
        })?),
    };
    for (what, value) in [
        ("timestamp_format", &o.timestamp_format),
        ("date_format", &o.date_format),
    ] {
        if let Some(format) = value {
            check_chrono_format(what, format)?;
        }
    }
    let decimal_comma = match o.decimal.as_deref() {
        None => None,
        Some(",") => Some(true),
        Some(".") => Some(false),
        Some(other) => {
            return Err(format!("decimal {other:?}: expected \",\" or \".\""));
        }
    };
    let dates = match o.dates.as_deref() {
        None => None,
        Some("day-first") => Some(cxsql_csv::Order::DayFirst),
        Some("month-first") => Some(cxsql_csv::Order::MonthFirst),
        Some(other) => {
            return Err(format!(
                "dates {other:?}: expected \"day-first\" or \"month-first\""
            ));
        }
    };
    let mut columns = Vec::new();
    if let Some(declared) = &o.columns {
        let state = SessionStateBuilder::new().build();
        for (name, type_name) in declared {
            let data_type = sql_type(&state, type_name.trim())
                .await
                .map_err(|e| format!("columns: {name:?}: {e}"))?;
            // Text is read as Utf8, as detected text columns are (DataFusion's SQL says Utf8View).
            let data_type = match data_type {
                DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
                other => other,
            };
            columns.push((name.clone(), data_type));
        }
    }
    Ok(ReadOptions {
        format,
        decimal_comma,
        dates,
        columns,
        delimiter: one_byte("delimiter", &o.delimiter)?,
        quote: one_byte("quote", &o.quote)?,
        escape: none_or_byte("escape", &o.escape)?,
        comment: none_or_byte("comment", &o.comment)?,
        encoding: match &o.encoding {
            None => None,
            Some(label) => Some(cxsql_csv::encoding_for_label(label).ok_or_else(|| {
                format!("unknown encoding {label:?}; expected e.g. utf-8, windows-1252, latin1, utf-16le")
            })?),
        },
        header: o.header,
        quoted_newlines: o.quoted_newlines,
        parallel: o.parallel,
        null_regex: o.null_regex.clone(),
        compression,
        timestamp_format: o.timestamp_format.clone(),
        date_format: o.date_format.clone(),
        partitions,
        s3: table.s3.clone(),
    })
}
