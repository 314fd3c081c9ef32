//! The engine: a session (DataFusion with cxsql's functions and tables), the one path every statement takes,
//! saved queries and their table functions, and what reads the tables' files. Front ends call its methods.

pub(crate) mod bounded;
pub mod catalog;
pub mod cluster;
pub(crate) mod exec;
pub(crate) mod group_codes;
pub mod params;
pub(crate) mod query_pool;
pub mod saved;
pub mod session;
pub mod source;
pub(crate) mod sql_text;
pub mod table_functions;
pub(crate) mod tables;
pub(crate) mod verify;
