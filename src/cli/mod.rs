//! The command line: clap derive structs (`args`), converted once into the library's plain specs (`SessionSpec`,
//! `Params`, `ReportOptions`, `GenOptions`, `ServeOptions`), as ripgrep turns its flags into `HiArgs`; one
//! function per command (`commands`); the runtimes (`runtime`). The only modules besides `main.rs` that name
//! clap types or flags.

pub mod args;
mod commands;
pub mod runtime;

pub use args::{Cli, Command};
use cxsql::{Error, Result};

/// The message for an error, in the command line's words where a flag is the way out.
pub fn message(e: &Error) -> String {
    match e {
        Error::Exists { .. } => format!("{e}; use --force to replace it"),
        other => other.to_string(),
    }
}

/// Runs one command (the shell when none is given).
pub async fn run(cli: Cli) -> Result<()> {
    let (Some(cluster), Some(limit)) = (cli.global.cluster.clone(), cli.global.cluster_timeout)
    else {
        return run_command(cli).await;
    };
    // Dropping the work cancels it: the client stops waiting for the job.
    match tokio::time::timeout(limit, run_command(cli)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(Error::QueriesFailed(format!(
            "the cluster at {cluster} did not finish within {} (--cluster-timeout); see the scheduler's \
             and executors' logs for lost executors",
            cxsql::error::humantime(limit)
        ))),
    }
}

async fn run_command(cli: Cli) -> Result<()> {
    let global = &cli.global;
    if global.cluster.is_some()
        && matches!(
            cli.command,
            Some(
                Command::Scheduler(_) | Command::Executor(_) | Command::Serve(_) | Command::Gen(_)
            )
        )
    {
        return Err(Error::Usage(
            "--cluster runs query, run, report and the shell on a cluster; the scheduler, executors, \
             serve and gen run here"
                .into(),
        ));
    }
    match cli.command.unwrap_or(Command::Shell) {
        Command::Shell => commands::shell(global).await,
        Command::Gen(args) => commands::generate(args),
        Command::Functions { name, output } => {
            commands::functions(global, name.as_deref(), &output).await
        }
        Command::Tables { output } => commands::tables(global, &output).await,
        Command::Schema { table, output } => commands::schema(global, &table, &output).await,
        Command::Sniff { file } => commands::sniff(global, &file).await,
        Command::Report(args) => commands::report(global, args).await,
        Command::Serve(args) => commands::serve(global, args).await,
        Command::Scheduler(args) => commands::scheduler(global, args).await,
        Command::Executor(args) => commands::executor(global, args).await,
        Command::Query { sql, file, output } => commands::query(global, sql, file, &output).await,
        Command::Run {
            file,
            params,
            output,
        } => commands::run_saved(global, &file, &params, &output).await,
    }
}

/// `cxsql --help` and each subcommand's help at a fixed width: the command-line reference, docs/cli.md.
#[cfg(test)]
fn reference() -> String {
    use clap::CommandFactory;

    let mut command = Cli::command().term_width(110);
    let mut out = format!(
        "```text\n$ cxsql --help\n{}```\n",
        command.render_long_help()
    );
    let names: Vec<String> = command
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .filter(|n| n != "help")
        .collect();
    for name in names {
        if let Some(sub) = command.find_subcommand_mut(&name) {
            let help = sub.clone().term_width(110).render_long_help();
            out.push_str(&format!("\n```text\n$ cxsql {name} --help\n{help}```\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use clap::Parser;
    use cxsql::{Input, OutputFormat, ParamValue};

    use super::args::{params, parse_size};
    use super::*;

    /// Checks the generated section `key` of `file` (a page of docs/), or rewrites it with UPDATE_README.
    fn check_section(file: &str, key: &str, expected: &str) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let rerun = "UPDATE_README=1 cargo test -p cxsql --bin cxsql readme -- --test-threads=1";
        cxsql_udfs::check_generated(&path, key, expected, rerun).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn readme_saved_queries_are_up_to_date() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
        let table = cxsql::engine::saved::markdown_table(&dir).expect("queries/ readable");
        check_section("docs/saved-queries.md", "queries", &table);
    }

    #[test]
    fn readme_cli_reference_is_up_to_date() {
        check_section("docs/cli.md", "cli", &reference());
    }

    #[test]
    fn flags_become_plain_specs() {
        let cli = Cli::parse_from([
            "cxsql",
            "--table",
            "t = x/*.csv",
            "--threads",
            "3",
            "run",
            "q.sql",
            "--param",
            "a=1=2",
        ]);
        let spec = cli.global.session_spec().expect("spec");
        assert_eq!(spec.tables[0].name, "t");
        assert_eq!(spec.tables[0].location, "x/*.csv");
        assert_eq!(spec.threads, Some(3));
        assert_eq!(spec.data, Some(Input::IfPresent("data".into())));
        let Some(Command::Run { params: given, .. }) = cli.command else {
            panic!("run");
        };
        let given = params(&given).expect("params");
        assert_eq!(given["a"], ParamValue::Text("1=2".into()));
        assert!(params(&["a=1".into(), "a=2".into()]).is_err());
        assert!(params(&["a".into()]).is_err());
        let bad = Cli::parse_from(["cxsql", "--table", "=x.csv", "tables"]);
        let err = bad.global.session_spec().expect_err("no name");
        assert!(err.to_string().contains("expected NAME=PATH"), "{err}");
    }

    #[test]
    fn format_flags_take_the_writer_names_and_only_the_allowed_ones() {
        let cli = Cli::parse_from(["cxsql", "query", "SELECT 1", "--format", "ndjson"]);
        let Some(Command::Query { output, .. }) = cli.command else {
            panic!("query");
        };
        assert_eq!(output.format, OutputFormat::Ndjson);
        assert!(
            Cli::try_parse_from(["cxsql", "report", "--out", "r", "--format", "table"]).is_err()
        );
        assert!(Cli::try_parse_from(["cxsql", "gen", "--out", "g", "--format", "json"]).is_err());
        let exists = Error::Exists {
            path: "out.csv".into(),
            what: "file",
        };
        assert_eq!(
            message(&exists),
            "out.csv: the file exists; use --force to replace it"
        );
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("512m"), Ok(512 << 20));
        assert_eq!(parse_size("1.5GB"), Ok(3 << 29));
        assert_eq!(parse_size("64KiB"), Ok(64 << 10));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert!(parse_size("2X").is_err());
        assert!(parse_size("-1G").is_err());
        assert!(parse_size("G").is_err());
    }
}
