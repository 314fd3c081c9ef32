//! cxsql: SQL analytics for customer-service data, as a library. A [`Session`] is DataFusion with the KPI
//! functions of `cxsql-udfs` (`nps`, `csat`, `fcr_rate`, ...) and tables read from Parquet, CSV and JSON
//! files, folders, globs, Hive-partitioned lakes and `s3://` locations. Front ends (the `cxsql` command line,
//! the shell, reports) are thin layers over it:
//!
//! ```text
//! front ends   main.rs + cli.rs (binary) | shell | report | gen | serve | scheduler, executor (Ballista)
//!                  |  plain specs: SessionSpec, TableSource, Params, ReportOptions, GenOptions
//! engine       session (spec -> SessionContext) · source · catalog · saved · params · sql_text · exec
//!              (one path) · bounded (large values reserved first) · query_pool · cluster (Ballista)
//!                  |  RecordBatch streams into a ResultSink
//! output       writer: one BatchWriter over one OutputFormat, to any `impl Write` or an atomic file
//! functions    cxsql-udfs (DataFusion only)
//! ```
//!
//! Open a session on a folder, run a saved query and stream its result:
//!
//! ```
//! use cxsql::{OutputFormat, Params, SavedQuery, Session, SessionSpec};
//! use cxsql::writer::Destination;
//!
//! # #[tokio::main(flavor = "multi_thread")]
//! # async fn main() -> cxsql::Result<()> {
//! // Every NAME.parquet / NAME.csv of the folder is table NAME.
//! let session = Session::open(&SessionSpec::with_data("data")).await?;
//! let query = SavedQuery::load("queries/nps_by_channel.sql".as_ref())?;
//! // Parameters are typed or text; text is parsed to the type the query's header declares.
//! let mut params = Params::new();
//! params.insert("since".into(), "2024-01-01T00:00:00Z".into());
//! // Results stream batch by batch into a sink: here CSV on standard output.
//! let mut out = Destination::stdout(OutputFormat::Csv)?;
//! let rows = session.run_saved(&query, &params, &mut out).await?;
//! out.finish()?;
//! assert_eq!(rows, 5, "one row per channel");
//! # Ok(())
//! # }
//! ```

mod bounded;
pub mod catalog;
mod chart;
pub mod cluster;
pub mod commands;
mod compare;
mod csv_decode;
mod csv_part;
mod csv_read;
mod csv_schema;
mod csv_source;
mod csv_split;
pub mod error;
mod exec;
pub mod executor;
pub mod r#gen;
mod group_codes;
pub mod guard;
mod lazy;
pub mod params;
mod query_pool;
pub mod report;
pub mod saved;
pub mod saved_fn;
pub mod scheduler;
pub mod serve;
pub mod session;
pub mod shell;
pub mod sniff;
pub mod source;
mod sql_text;
mod udf_forward;
mod utc_trunc;
mod verify;
pub mod writer;

pub use csv_schema::{Reasons, SniffReport};

pub use error::{Error, Result};
pub use params::{ParamValue, Params};
pub use saved::SavedQuery;
pub use session::{Input, Session, SessionSpec, TableInfo};
pub use source::{FileFormat, ReadOptions, S3Options, TableSource};
pub use sql_text::{Limits, MAX_SQL_BYTES};
pub use writer::{Collect, OutputFormat, ResultSink};
