//! Which signal arrived and what it asks: stop the process (gracefully for a server), or cancel the running
//! statement (an interrupt in the interactive shell). Uses nothing of cxsql's.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// The signal that asked the process to stop (0: none yet).
static STOPPING: AtomicI32 = AtomicI32::new(0);
/// Whether an interrupt (SIGINT) cancels the running statement only (the interactive shell) rather than
/// stopping the process.
static INTERRUPT_CANCELS_STATEMENT: AtomicBool = AtomicBool::new(false);
/// Bumped on every interrupt that cancels a statement.
static INTERRUPTS: LazyLock<tokio::sync::watch::Sender<u64>> =
    LazyLock::new(|| tokio::sync::watch::Sender::new(0));
/// Set when the process is to stop.
static STOP: LazyLock<tokio::sync::watch::Sender<i32>> =
    LazyLock::new(|| tokio::sync::watch::Sender::new(0));

/// `SIGINT`, `SIGTERM`, `SIGHUP`: the exit code for each is 128 + its number.
pub const SIGHUP: i32 = 1;
pub const SIGINT: i32 = 2;
pub const SIGTERM: i32 = 15;

/// The signal's name, for messages.
pub fn signal_name(signal: i32) -> &'static str {
    match signal {
        SIGHUP => "SIGHUP",
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

/// Records that `signal` arrived. An interrupt while [`interrupts_cancel_statements`] is on cancels the running
/// statement; anything else asks the process to stop: returns whether it already had been asked (a second
/// signal: stop at once).
pub fn signal_arrived(signal: i32) -> bool {
    if signal == SIGINT && INTERRUPT_CANCELS_STATEMENT.load(Ordering::SeqCst) {
        INTERRUPTS.send_modify(|n| *n += 1);
        return false;
    }
    let earlier = STOPPING.swap(signal, Ordering::SeqCst);
    STOP.send_replace(signal);
    earlier != 0
}

/// The signal the process is stopping for, if any: long loops outside async code (the generator) check it.
pub fn stopping() -> Option<i32> {
    match STOPPING.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// Resolves when the process is asked to stop, with the signal.
pub async fn stop_requested() -> i32 {
    let mut rx = STOP.subscribe();
    match rx.wait_for(|&s| s != 0).await {
        Ok(signal) => *signal,
        // The sender is a static: never dropped.
        Err(_) => std::future::pending().await,
    }
}

/// Whether the work stops itself on a signal and the process then exits 0 (the server: it stops accepting
/// calls and lets running queries finish within its grace period).
static GRACEFUL: AtomicBool = AtomicBool::new(false);

/// Makes a stop signal end the work gracefully (see [`graceful`]).
pub fn stop_gracefully(on: bool) {
    GRACEFUL.store(on, Ordering::SeqCst);
}

/// Whether a stop signal ends the work gracefully: the work watches [`stop_requested`] itself, and the
/// process exits 0 once it has stopped.
pub fn graceful() -> bool {
    GRACEFUL.load(Ordering::SeqCst)
}

/// Makes an interrupt cancel the running statement instead of stopping the process (the interactive shell).
pub fn interrupts_cancel_statements(on: bool) {
    INTERRUPT_CANCELS_STATEMENT.store(on, Ordering::SeqCst);
}

/// A receiver of the count of interrupts that cancel statements.
pub(super) fn interrupts() -> tokio::sync::watch::Receiver<u64> {
    INTERRUPTS.subscribe()
}
