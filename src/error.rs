//! The one error type of the `cxsql` library and binary, carrying the context a user needs: which file,
//! which statement, which parameter.

use std::path::PathBuf;

use datafusion::error::DataFusionError;

/// Everything that can go wrong in cxsql.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line or its inputs are wrong (exit code 2).
    #[error("{0}")]
    Usage(String),

    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

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
}

impl Error {
    /// The process exit code: 2 for usage errors (a missing input file among them), 1 when a query fails.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) | Error::SavedQuery { .. } => 2,
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => 2,
            Error::Io { .. } | Error::Query { .. } | Error::QueriesFailed(_) => 1,
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
