//! What a statement runs inside: a panic boundary that turns a panic into an error naming what ran, and the
//! interrupt that cancels it.

use std::any::Any;
use std::future::Future;
use std::sync::Mutex;

use futures::FutureExt as _;

use crate::error::{Error, Result};
use crate::guard::redact::redact;
use crate::guard::signal::{SIGINT, interrupts};

/// Where the last panic happened (file:line), recorded by the hook for the boundary's message.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Replaces Rust's panic hook with one that records where a panic happened and prints nothing (the boundary
/// reports it as an error); with `RUST_BACKTRACE` set, the default hook prints as usual, for debugging.
pub fn install_panic_hook() {
    let backtrace = std::env::var_os("RUST_BACKTRACE").is_some();
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if QUIET.get() {
            return;
        }
        if backtrace {
            return default(info);
        }
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()));
        *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = location;
    }));
}

thread_local! {
    /// Set while [`quietly`] runs work expected to panic on bad input: the hook then prints nothing.
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `work`, which may panic on bad input (a library's decoder that panics instead of returning an
/// error), on this thread; a panic becomes `Err(its message)` and is not printed, even with `RUST_BACKTRACE`.
pub fn quietly<T>(work: impl FnOnce() -> T) -> std::result::Result<T, String> {
    QUIET.set(true);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
    QUIET.set(false);
    outcome.map_err(|payload| panic_message(payload.as_ref()))
}

/// The text of a panic's payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(no message)".to_string()
    }
}

/// Runs `work`, turning a panic inside it (or inside DataFusion tasks it waits for) into an error that names
/// `what` ("statement 2", "table tickets") and says it is a bug, not the user's doing.
pub async fn catch<T>(what: &str, work: impl Future<Output = Result<T>>) -> Result<T> {
    match std::panic::AssertUnwindSafe(work).catch_unwind().await {
        Ok(result) => result,
        Err(payload) => Err(panicked(what, payload.as_ref())),
    }
}

/// The error for a panic caught while running `what`.
pub fn panicked(what: &str, payload: &(dyn Any + Send)) -> Error {
    let at = LAST_PANIC
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .map(|l| format!(" at {l}"))
        .unwrap_or_default();
    let what = if what.is_empty() {
        String::new()
    } else {
        format!("{what}: ")
    };
    Error::Internal(format!(
        "{what}the engine stopped on unexpected input ({}{at}); \
         the input may be corrupt. This is a bug in cxsql or a library it uses: please report it",
        redact(&panic_message(payload))
    ))
}

/// Runs `work` until it ends or an interrupt cancels it ([`Error::Interrupted`]); dropping it cancels the
/// statement (DataFusion stops its tasks, temporary files are removed).
pub async fn cancellable<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    let mut interrupts = interrupts();
    interrupts.mark_unchanged();
    tokio::select! {
        result = work => result,
        _ = interrupts.changed() => Err(Error::Interrupted { signal: SIGINT }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_an_error_naming_what_ran() {
        let err = catch("statement 2", async {
            if std::hint::black_box(true) {
                panic!("attempt to subtract with overflow");
            }
            Ok(())
        })
        .await
        .expect_err("the panic is an error");
        let message = err.to_string();
        assert!(message.contains("statement 2: "), "{message}");
        assert!(
            message.contains("attempt to subtract with overflow"),
            "{message}"
        );
        assert_eq!(err.exit_code(), 1);
        assert_eq!(catch("x", async { Ok(7) }).await.expect("no panic"), 7);
    }
}
