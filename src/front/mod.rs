//! The front ends over the engine: the shell, the listings it shares with the command line, the Flight SQL
//! server, the Ballista scheduler and executor, and reports. None reaches into another.

pub mod executor;
pub mod listings;
pub mod report;
pub mod scheduler;
pub mod serve;
pub mod shell;
