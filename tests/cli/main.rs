//! The `cxsql` binary run as a user runs it (spawned processes, real files in temporary folders, exit codes,
//! standard output and standard error), and the engine API used in-process. One test binary, a module per
//! topic.

mod architecture;
mod catalogs;
mod cluster;
mod commands;
mod engine;
mod errors;
mod exports;
mod external;
mod generator;
mod hostile;
mod memory;
mod object_storage;
mod params;
mod partitions;
mod report;
mod saved_functions;
mod saved_queries;
mod serve;
mod shell;
mod util;
