//! What stands between hostile input and the user: a panic boundary around every statement, the registry of
//! temporary files and folders that a signal must not leave behind, and the redaction of secrets from every
//! location or URL that cxsql prints or stores.
//!
//! A panic inside DataFusion or a library under it (a corrupt file, an unexpected input) becomes an
//! [`Error::Internal`] naming what was running; the statement fails, the shell and reports go on. Front ends
//! call [`install_panic_hook`] once so that such a panic is not also printed by Rust's default hook.

use std::any::Any;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};

use futures::FutureExt as _;

use crate::error::{Error, Result};

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

/// Temporary files and folders being written (an output's temporary file, a report's staging folder, spill
/// files), so that a signal can remove them before the process exits.
static TEMPORARY: LazyLock<Mutex<BTreeMap<u64, PathBuf>>> =
    LazyLock::new(|| Mutex::new(BTreeMap::new()));
static NEXT: AtomicU64 = AtomicU64::new(0);

/// A temporary path registered for removal on a signal; dropping it unregisters it (the owner removed or
/// published the path itself).
#[derive(Debug)]
pub struct Temporary(u64);

impl Temporary {
    /// Registers `path` (a file, or a folder removed with everything in it).
    pub fn register(path: &Path) -> Self {
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        TEMPORARY
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, path.to_path_buf());
        Temporary(id)
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        TEMPORARY
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.0);
    }
}

/// Removes every registered temporary file and folder (on a signal, before exiting). Safe to call from any
/// thread, more than once.
pub fn remove_temporaries() {
    remove_where(|_| true);
}

/// Removes the registered temporaries that `which` accepts.
fn remove_where(which: impl Fn(&Path) -> bool) {
    let paths: Vec<PathBuf> = TEMPORARY
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .filter(|p| which(p))
        .cloned()
        .collect();
    for path in paths {
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => {
                let _ = std::fs::remove_dir_all(&path);
            }
            Ok(_) => {
                let _ = std::fs::remove_file(&path);
            }
            Err(_) => {}
        }
    }
}

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

/// Runs `work` until it ends or an interrupt cancels it ([`Error::Interrupted`]); dropping it cancels the
/// statement (DataFusion stops its tasks, temporary files are removed).
pub async fn cancellable<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    let mut interrupts = INTERRUPTS.subscribe();
    interrupts.mark_unchanged();
    tokio::select! {
        result = work => result,
        _ = interrupts.changed() => Err(Error::Interrupted { signal: SIGINT }),
    }
}

/// Query-string keys whose values are secrets (presigned URLs, SAS tokens, passwords).
const SECRET_KEYS: &str = "x-amz-signature|x-amz-credential|x-amz-security-token|signature|sig|token|\
                           access_token|password|passwd|secret|secret_access_key|session_token|api_key|apikey|key";

/// `text` with credentials removed from every URL in it: the password of `scheme://user:password@host` and
/// the values of secret query parameters (`X-Amz-Signature=`, `sig=`, `token=`, ...) become `***`.
pub fn redact(text: &str) -> Cow<'_, str> {
    static USERINFO: LazyLock<Option<regex::Regex>> = LazyLock::new(|| {
        regex::Regex::new(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/\s:@]*):[^/\s@]*@")
            .ok()
    });
    static QUERY: LazyLock<Option<regex::Regex>> = LazyLock::new(|| {
        regex::Regex::new(&format!(r"(?i)(?P<k>[?&](?:{SECRET_KEYS}))=[^&\s#'\x22]*")).ok()
    });
    let mut out = Cow::Borrowed(text);
    if let Some(re) = USERINFO.as_ref()
        && re.is_match(&out)
    {
        out = Cow::Owned(re.replace_all(&out, "${scheme}${user}:***@").into_owned());
    }
    if let Some(re) = QUERY.as_ref()
        && re.is_match(&out)
    {
        out = Cow::Owned(re.replace_all(&out, "${k}=***").into_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_urls_are_redacted_and_the_rest_kept() {
        assert_eq!(
            redact("cannot reach http://admin:hunter2@minio:9000/bucket: refused"),
            "cannot reach http://admin:***@minio:9000/bucket: refused"
        );
        assert_eq!(
            redact(
                "GET https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA1&X-Amz-Signature=abc123&part=2"
            ),
            "GET https://b.s3.amazonaws.com/k?X-Amz-Credential=***&X-Amz-Signature=***&part=2"
        );
        assert_eq!(
            redact("https://acct.blob.core.windows.net/c?sv=2020&sig=Zm9v%3D"),
            "https://acct.blob.core.windows.net/c?sv=2020&sig=***"
        );
        let plain = "data/tickets.parquet: no such file; see http://example.com/a?b=c";
        assert!(matches!(redact(plain), Cow::Borrowed(_)));
        assert_eq!(redact("s3://user@bucket/key"), "s3://user@bucket/key");
    }

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

    #[test]
    fn registered_temporaries_are_removed_and_dropped_ones_are_not() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (kept, removed, folder) = (
            dir.path().join("kept"),
            dir.path().join("removed"),
            dir.path().join("folder"),
        );
        std::fs::write(&kept, b"x").expect("write");
        std::fs::write(&removed, b"x").expect("write");
        std::fs::create_dir_all(folder.join("inner")).expect("mkdir");
        let unregistered = Temporary::register(&kept);
        drop(unregistered);
        let _file = Temporary::register(&removed);
        let _folder = Temporary::register(&folder);
        // Only this test's: other tests may have temporaries of their own registered meanwhile.
        remove_where(|p| p.starts_with(dir.path()));
        assert!(kept.exists());
        assert!(!removed.exists());
        assert!(!folder.exists());
    }
}
