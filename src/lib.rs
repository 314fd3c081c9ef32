//! cxsql: SQL analytics for customer-service data, as a library. A [`Session`] is DataFusion with the KPI
//! functions of `cxsql-udfs` (`nps`, `csat`, `fcr_rate`, ...) and tables read from Parquet, CSV and JSON
//! files, folders, globs, Hive-partitioned lakes and `s3://` locations. Front ends (the `cxsql` command line,
//! the shell, reports) are thin layers over it:
//!
//! The folders are the layers; arrows point down only and no two modules import each other (checked by
//! `tests/cli/architecture.rs`; the whole map is `docs/architecture.md`):
//!
//! ```text
//! binary       main.rs (runtime, signals, exit codes) · cli/ (clap args; one function per command)
//!                  |  plain specs: SessionSpec, TableSource, Params, ReportOptions, GenOptions, ServeOptions
//! front        front/: shell · listings · serve (Flight SQL) · scheduler, executor (Ballista) · report/
//!                  |  Session methods
//! engine       engine/: session · exec (the one path) · sql_text · saved · table_functions · params · catalog
//!              · source · tables · verify · cluster · group_codes · bounded · query_pool
//! generate     generate/: the synthetic population and its tables (beside the engine, for `cxsql gen`)
//!                  |  RecordBatch streams into a ResultSink
//! base         writer (one BatchWriter over one OutputFormat) · error · guard (panics, temporary files,
//!              signals, secrets)
//! crates       cxsql-csv (csv/: reading CSV exports) · cxsql-udfs (udfs/: the SQL functions)
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

pub mod engine;
pub mod error;
pub mod front;
pub mod generate;
pub mod guard;
pub mod writer;

pub use cxsql_csv::{Reasons, SniffReport};

pub use engine::params::{ParamValue, Params};
pub use engine::saved::SavedQuery;
pub use engine::session::{Input, Session, SessionSpec, TableInfo};
pub use engine::source::{FileFormat, ReadOptions, S3Options, TableSource};
pub use engine::sql_text::{Limits, MAX_SQL_BYTES};
pub use error::{Error, Result};
pub use writer::{Collect, OutputFormat, ResultSink};
