//! The `cxsql` command line as a library: everything `main.rs` runs, so that tests and benchmarks can drive it
//! in-process.

pub mod catalog;
pub mod chart;
pub mod cli;
pub mod csv_schema;
pub mod engine;
pub mod error;
pub mod exec;
pub mod format;
pub mod r#gen;
pub mod lazy;
pub mod report;
pub mod saved;
pub mod shell;
pub mod utc_trunc;

use std::collections::HashMap;
use std::io::Read;

use cli::{Cli, Command};
use engine::Engine;
use error::{Error, Result};
use format::{Destination, print};
use saved::SavedQuery;

/// Runs one command (the shell when none is given).
pub async fn run(cli: Cli) -> Result<()> {
    let Some(command) = cli.command else {
        let engine = Engine::new(&cli.tables).await?;
        return shell::run(&engine).await;
    };
    match command {
        Command::Shell => {
            let engine = Engine::new(&cli.tables).await?;
            shell::run(&engine).await
        }
        Command::Gen(args) => r#gen::generate(&args),
        Command::Functions { name } => functions(name.as_deref()),
        Command::Report(options) => {
            let engine = Engine::new(&cli.tables).await?;
            if report::run(&engine, &options).await? {
                Ok(())
            } else {
                Err(Error::QueriesFailed(format!(
                    "some queries of the report failed; see {}/manifest.json",
                    options.out.display()
                )))
            }
        }
        Command::Query { sql, file, output } => {
            let sql = match (sql, file) {
                (Some(sql), _) => sql,
                (None, Some(path)) => {
                    std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?
                }
                (None, None) => read_stdin()?,
            };
            let mut out = Destination::new(&output)?;
            let engine = Engine::new(&cli.tables).await?;
            let statements = exec::split(&engine, &sql)?;
            exec::run_statements(&engine, statements, &HashMap::new(), &mut out).await?;
            out.finish()
        }
        Command::Run {
            file,
            params,
            output,
        } => {
            let query = SavedQuery::load(&file)?;
            let mut out = Destination::new(&output)?;
            let engine = Engine::new(&cli.tables).await?;
            let values = query.bind(&engine, &params).await?;
            let statements = exec::split(&engine, &query.body).map_err(|e| match e {
                Error::Query { source, .. } => Error::SavedQuery {
                    file: file.clone(),
                    message: source.strip_backtrace(),
                },
                other => other,
            })?;
            exec::run_statements(&engine, statements, &values, &mut out).await?;
            out.finish()
        }
        Command::Tables => {
            let engine = Engine::new(&cli.tables).await?;
            let mut lines = Vec::new();
            for name in engine.table_names() {
                match engine.sources.iter().find(|s| s.name == name) {
                    Some(s) => lines.push(format!("{name}\t{}\t{}", s.format.name(), s.location)),
                    None => lines.push(name),
                }
            }
            print(&lines.join("\n"))
        }
        Command::Schema { table } => {
            let engine = Engine::new(&cli.tables).await?;
            let provider = engine
                .ctx
                .table_provider(table.as_str())
                .await
                .map_err(|e| {
                    let names = engine.table_names();
                    if names.contains(&table) {
                        // It is there but cannot be read.
                        return Error::Query {
                            context: String::new(),
                            source: e,
                            hint: String::new(),
                        };
                    }
                    let names = names.join(", ");
                    Error::Usage(format!(
                        "{}; registered tables: {}",
                        e.strip_backtrace(),
                        if names.is_empty() { "none" } else { &names }
                    ))
                })?;
            let schema = provider.schema();
            let lines: Vec<String> = schema
                .fields()
                .iter()
                .map(|f| {
                    let null = if f.is_nullable() { "" } else { " NOT NULL" };
                    format!("{}\t{}{null}", f.name(), f.data_type())
                })
                .collect();
            print(&lines.join("\n"))
        }
    }
}

fn read_stdin() -> Result<String> {
    let mut sql = String::new();
    std::io::stdin()
        .read_to_string(&mut sql)
        .map_err(|e| Error::io("<stdin>", e))?;
    if sql.trim().is_empty() {
        return Err(Error::Usage(
            "no SQL given: pass it as an argument, with --file, or on standard input".into(),
        ));
    }
    Ok(sql)
}

/// `cxsql functions [NAME]`: the list, or one function's documentation.
pub(crate) fn functions(name: Option<&str>) -> Result<()> {
    let all = cxsql_udfs::all_functions();
    match name {
        None => {
            let lines: Vec<String> = all
                .iter()
                .filter_map(|f| f.documentation().map(|d| (f, d)))
                .map(|(f, d)| {
                    let first = d.description.split(". ").next().unwrap_or_default();
                    format!("{:<14} {first}.", f.name())
                })
                .collect();
            print(&lines.join("\n"))
        }
        Some(name) => {
            let Some(f) = all.iter().find(|f| f.name().eq_ignore_ascii_case(name)) else {
                let names: Vec<&str> = all.iter().map(|f| f.name()).collect();
                return Err(Error::Usage(format!(
                    "unknown function {name}; the KPI functions are: {}",
                    names.join(", ")
                )));
            };
            print(&cxsql_udfs::function_markdown(f))
        }
    }
}

/// The README sections generated from the code: the saved queries (from their headers) and the command-line
/// reference (from clap). A test fails when the committed README drifts.
pub mod readme {
    use std::path::Path;

    use clap::CommandFactory;

    use crate::cli::Cli;
    use crate::error::Result;
    use crate::saved::SavedQuery;

    /// A Markdown table of the saved queries in `dir`: file, description, parameters.
    pub fn saved_queries(dir: &Path) -> Result<String> {
        let files = SavedQuery::files_in(dir)?;
        let mut out =
            String::from("| query | what it computes | parameters (defaults) |\n|---|---|---|\n");
        for file in files {
            let q = SavedQuery::load(&file)?;
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push_str(&format!(
                "| `queries/{name}` | {} | {} |\n",
                q.description.replace('|', "\\|"),
                q.declared().replace('|', "\\|")
            ));
        }
        Ok(out)
    }

    /// `cxsql --help` and each subcommand's help, at a fixed width.
    pub fn cli_reference() -> String {
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
        use super::*;

        /// Replaces the text between `<!-- {key}:start -->` and `<!-- {key}:end -->` of the README, or checks it.
        fn check_section(key: &str, expected: &str) {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
            let readme = std::fs::read_to_string(&path).expect("README.md");
            let (start, end) = (
                format!("<!-- {key}:start -->\n"),
                format!("<!-- {key}:end -->"),
            );
            let (Some(a), Some(b)) = (readme.find(&start), readme.find(&end)) else {
                panic!("README.md lacks the {start:?} ... {end:?} markers");
            };
            if &readme[a + start.len()..b] == expected {
                return;
            }
            if std::env::var_os("UPDATE_README").is_some() {
                let updated = format!("{}{expected}{}", &readme[..a + start.len()], &readme[b..]);
                std::fs::write(&path, updated).expect("README.md writable");
            } else {
                panic!(
                    "README.md's {key} section drifted; run UPDATE_README=1 cargo test -p cxsql readme -- --test-threads=1"
                );
            }
        }

        #[test]
        fn readme_saved_queries_are_up_to_date() {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
            check_section("queries", &saved_queries(&dir).expect("queries/ readable"));
        }

        #[test]
        fn readme_cli_reference_is_up_to_date() {
            check_section("cli", &cli_reference());
        }
    }
}
