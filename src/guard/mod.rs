//! What stands between hostile input and the user: a panic boundary around every statement, the registry of
//! temporary files and folders that a signal must not leave behind, and the redaction of secrets from every
//! location or URL that cxsql prints or stores.
//!
//! A panic inside DataFusion or a library under it (a corrupt file, an unexpected input) becomes an
//! `Error::Internal` naming what was running; the statement fails, the shell and reports go on. Front ends
//! call [`install_panic_hook`] once so that such a panic is not also printed by Rust's default hook.
//!
//! Four jobs, a module each: `boundary` (the panic boundary and the interrupt that cancels a statement),
//! `temporary` (the registry of files a signal removes), `signal` (which signal arrived, what it asks),
//! `redact` (secrets out of messages). `signal` uses nothing of cxsql's, so that `error` can name signals.

mod boundary;
mod redact;
pub mod signal;
mod temporary;

pub use boundary::{cancellable, catch, install_panic_hook, panic_message, panicked, quietly};
pub use redact::redact;
pub use signal::{
    SIGHUP, SIGINT, SIGTERM, graceful, interrupts_cancel_statements, signal_arrived, signal_name,
    stop_gracefully, stop_requested, stopping,
};
pub use temporary::{Temporary, remove_temporaries};
