//! `cxsql`: parses the command line, runs it, maps the outcome to an exit code (0 ok, or the output pipe
//! was closed by its reader; 1 a query failed, or an internal error; 2 a usage error).

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc, as datafusion-cli uses: query execution allocates and frees many short-lived Arrow buffers, and
/// the system allocator spends measurable time (page faults, zeroing) on them.
/// The tokio runtime: one worker per core, and a small pool of blocking threads.
///
/// DataFusion reads local files on tokio's blocking pool (one task per read), and planning reads up to 32
/// Parquet footers at once. With tokio's default pool (up to 512 threads) a query over a few dozen files starts
/// dozens of threads, each with its own allocator heap of fresh pages for the kernel to zero: measured on
/// the benchmark's 30M tickets (2 cores), 100–380 ms of system time and ±10–35% run-to-run spread, against
/// 30–150 ms and ±1–8% with this pool. Twice the partitions, at least 4, leaves room for DataFusion's
/// long-running blocking tasks (one per partition at most, e.g. parsing JSON arrays) beside the reads.
fn runtime(threads: Option<u16>) -> std::io::Result<tokio::runtime::Runtime> {
    let partitions = threads.map(usize::from).unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads((2 * partitions).max(4))
        .build()
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match runtime(cli.global.threads) {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cxsql: internal error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    // A panic is a bug in cxsql, not a usage error: say so, and exit 1 rather than the default 101.
    std::panic::set_hook(Box::new(|info| eprintln!("cxsql: internal error: {info}")));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(cli::run(cli))
    }));
    let Ok(outcome) = outcome else {
        return ExitCode::from(1);
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of the output had enough (`| head`): quietly done.
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cxsql: {}", cli::message(&e));
            ExitCode::from(e.exit_code())
        }
    }
}
