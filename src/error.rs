//! The one error type of the `cxsql` library, carrying the context a user needs: which file, which statement,
//! which parameter. Messages speak of tables, files and parameters; a front end may add its own words (the
//! command line names its flags) through the structured variants.

use std::path::PathBuf;

use datafusion::error::DataFusionError;

/// Everything that can go wrong in cxsql.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request or its inputs are wrong (exit code 2).
    #[error("{0}")]
    Usage(String),

    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// An output file or folder exists and replacing it was not allowed (exit code 2).
    #[error("{}: the {what} exists", path.display())]
    Exists { path: PathBuf, what: &'static str },

    /// A saved query's header or parameters are wrong (exit code 2).
    #[error("{file}: {message}")]
    SavedQuery { file: PathBuf, message: String },

    /// Some queries of a batch failed; the rest ran and their output was written (exit code 1).
    #[error("{0}")]
    QueriesFailed(String),

    /// A query failed: planning or execution (exit code 1). `hint` is appended to DataFusion's message.
    #[error("{context}{}{hint}", source.strip_backtrace())]
    Query {
        context: String,
        #[source]
        source: DataFusionError,
        hint: String,
    },

    /// A signal stopped the work (exit code 128 + the signal's number: 130 for SIGINT).
    #[error("interrupted by {}", crate::guard::signal::signal_name(*signal))]
    Interrupted { signal: i32 },

    /// A failure of cxsql itself, not of the input: a worker thread that panicked, a result that could not
    /// be serialised (exit code 1).
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The process exit code: 2 for usage errors (a missing input file among them), 1 when a query fails or
    /// cxsql itself does, 0 for a closed output pipe (the reader had enough, as with `| head`).
    pub fn exit_code(&self) -> u8 {
        match self {
            _ if self.is_broken_pipe() => 0,
            Error::Interrupted { signal } => u8::try_from(128 + signal).unwrap_or(1),
            Error::Usage(_) | Error::SavedQuery { .. } | Error::Exists { .. } => 2,
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => 2,
            Error::Io { .. }
            | Error::Query { .. }
            | Error::QueriesFailed(_)
            | Error::Internal(_) => 1,
        }
    }

    /// Whether the output was closed by its reader (`cxsql query ... | head -1`): not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        match self {
            Error::Io { source, .. } => source.kind() == std::io::ErrorKind::BrokenPipe,
            _ => false,
        }
    }

    /// The error with `prefix` before its message (`queries/x.sql: `, `statement 2: `).
    pub fn within(self, prefix: &str) -> Self {
        match self {
            Error::Query {
                context,
                source,
                hint,
            } => Error::Query {
                context: format!("{prefix}{context}"),
                source,
                hint,
            },
            Error::Usage(message) => Error::Usage(format!("{prefix}{message}")),
            Error::Internal(message) => Error::Internal(format!("{prefix}{message}")),
            other => other,
        }
    }

    /// A file error, naming the file.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// `90s`, `2m30s`: a duration as the user would write it, for messages about a time limit.
pub fn humantime(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match (s / 60, s % 60) {
        (0, _) if d.subsec_millis() > 0 => format!("{}ms", d.as_millis()),
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    }
}

impl From<DataFusionError> for Error {
    fn from(source: DataFusionError) -> Self {
        Error::Query {
            context: String::new(),
            source,
            hint: String::new(),
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<datafusion::arrow::error::ArrowError> for Error {
    fn from(source: datafusion::arrow::error::ArrowError) -> Self {
        DataFusionError::from(source).into()
    }
}

impl From<datafusion::parquet::errors::ParquetError> for Error {
    fn from(source: datafusion::parquet::errors::ParquetError) -> Self {
        DataFusionError::from(source).into()
    }
}
