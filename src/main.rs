//! `cxsql`: parses the command line, runs it, maps the outcome to an exit code (0 ok, 1 a query failed,
//! 2 a usage error).

use std::process::ExitCode;

use clap::Parser;

/// mimalloc, as datafusion-cli uses: query execution allocates and frees many short-lived Arrow buffers, and
/// the system allocator spends measurable time (page faults, zeroing) on them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cxsql::cli::Cli::parse();
    match cxsql::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cxsql: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
