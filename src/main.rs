//! `cxsql`: parses the command line, runs it, maps the outcome to an exit code (0 ok, or the output pipe
//! was closed by its reader; 1 a query failed, or an internal error; 2 a usage error; 128 + N when signal N
//! stopped it: 130 SIGINT, 143 SIGTERM, 129 SIGHUP).

mod cli;

use std::process::ExitCode;

use clap::Parser;
use cxsql::{Error, guard};

/// Stack of the thread that parses and plans (DataFusion's recursive passes grow their stack on the heap
/// when it runs low, but dropping and walking very deep expression trees does not), and of the runtime's
/// threads that evaluate them. Machine-generated SQL (10,000 `OR` terms, 5,000-term sums, 2,000 `UNION ALL`
/// branches) needs far more than the default 2–8 MB; the memory is reserved, and only used as needed.
const MAIN_STACK: usize = 512 << 20;

/// After a signal, how long the work may take to stop before the process exits anyway.
const GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Waits for SIGINT, SIGTERM and SIGHUP. The first asks the work to stop (the interactive shell takes an
/// interrupt as "cancel this statement"); a second, or the work not stopping within [`GRACE`], removes the
/// temporary files and exits at once.
async fn listen_for_signals() {
    use tokio::signal::unix::{SignalKind, signal};

    let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        return;
    };
    loop {
        let signal = tokio::select! {
            _ = int.recv() => guard::SIGINT,
            _ = term.recv() => guard::SIGTERM,
            _ = hup.recv() => guard::SIGHUP,
        };
        if guard::signal_arrived(signal) {
            exit_now(signal);
        }
        if guard::stopping().is_some() && !guard::graceful() {
            tokio::spawn(async move {
                tokio::time::sleep(GRACE).await;
                exit_now(signal);
            });
        }
    }
}

/// Removes the temporary files and exits with 128 + `signal`.
fn exit_now(signal: i32) -> ! {
    guard::remove_temporaries();
    eprintln!("cxsql: interrupted by {}", guard::signal_name(signal));
    std::process::exit(128 + signal)
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // Everything runs on a thread with a large stack (see MAIN_STACK).
    let work = std::thread::Builder::new()
        .name("cxsql".into())
        .stack_size(MAIN_STACK)
        .spawn(move || run(cli));
    match work.map(|handle| handle.join()) {
        Ok(Ok(code)) => code,
        Ok(Err(_)) => ExitCode::from(1),
        Err(e) => {
            eprintln!("cxsql: internal error: cannot start the main thread: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: cli::Cli) -> ExitCode {
    let runtime = match cli::runtime::runtime(cli.global.threads) {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cxsql: internal error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    // A panic is caught where the statement runs and reported as an error; the hook only notes where.
    guard::install_panic_hook();
    // The server stops itself on a signal (no new calls, running queries finish) and exits 0; so do a cluster's scheduler and executors.
    guard::stop_gracefully(matches!(
        cli.command,
        Some(cli::Command::Serve(_) | cli::Command::Scheduler(_) | cli::Command::Executor(_))
    ));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(async {
            tokio::spawn(listen_for_signals());
            tokio::select! {
                outcome = cli::run(cli) => outcome,
                signal = guard::stop_requested(), if !guard::graceful() => Err(Error::Interrupted { signal }),
            }
        })
    }));
    // Work still running on the blocking pool (a file being written) gets a moment to end; what it wrote is
    // temporary and removed below.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(payload) => Err(guard::panicked("", payload.as_ref())),
    };
    if let Some(signal) = guard::stopping().filter(|_| !guard::graceful()) {
        guard::remove_temporaries();
        eprintln!("cxsql: interrupted by {}", guard::signal_name(signal));
        return ExitCode::from(u8::try_from(128 + signal).unwrap_or(1));
    }
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of the output had enough (`| head`): quietly done.
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cxsql: {}", guard::redact(&cli::message(&e)));
            ExitCode::from(e.exit_code())
        }
    }
}

/// mimalloc, as datafusion-cli uses: query execution allocates and frees many short-lived Arrow buffers, and
/// the system allocator spends measurable time (page faults, zeroing) on them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
