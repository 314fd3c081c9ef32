//! The tokio runtimes of the process: the main one (main.rs) and, for `cxsql serve`, the one its queries run
//! on, built the same way.

/// The tokio runtime: one worker per core, and a small pool of blocking threads. `cxsql serve` builds a
/// second one the same way for its queries.
///
/// DataFusion reads local files on tokio's blocking pool (one task per read), and planning reads up to 32
/// Parquet footers at once. With tokio's default pool (up to 512 threads) a query over a few dozen files starts
/// dozens of threads, each with its own allocator heap of fresh pages for the kernel to zero: measured on
/// the benchmark's 30M tickets (2 cores), 100–380 ms of system time and ±10–35% run-to-run spread, against
/// 30–150 ms and ±1–8% with this pool. Twice the partitions, at least 4, leaves room for DataFusion's
/// long-running blocking tasks (one per partition at most, e.g. parsing JSON arrays) beside the reads.
pub fn runtime(threads: Option<u16>) -> std::io::Result<tokio::runtime::Runtime> {
    let partitions = threads.map(usize::from).unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads((2 * partitions).max(4))
        .thread_stack_size(WORKER_STACK)
        .build()
}

/// Stack of the runtime's threads that evaluate deep expression trees (see main.rs's `MAIN_STACK`).
const WORKER_STACK: usize = 64 << 20;
