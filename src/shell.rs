//! The interactive SQL shell with line editing, history, multi-line statements ending in `;`,
//! tab completion of tables, columns and functions, and backslash commands. Errors are printed and the shell
//! goes on. Without a terminal it reads statements from standard input, so it can be scripted and tested.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};

use crate::commands::{self, Listing};
use crate::error::{Error, Result};
use crate::params::Params;
use crate::session::Session;
use crate::writer::{Destination, OutputFormat, print};

const HELP: &str = "\
Statements end with `;` and may span several lines. Commands:
  \\d            list tables
  \\d NAME       a table's columns
  \\f [NAME]     the KPI functions, or one's documentation
  \\timing       toggle timing of statements
  \\format FMT   table, csv, json or ndjson
  \\?            this help
  \\q            quit";

const KEYWORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "BY",
    "ORDER",
    "HAVING",
    "LIMIT",
    "JOIN",
    "LEFT",
    "INNER",
    "ON",
    "AS",
    "AND",
    "OR",
    "NOT",
    "NULL",
    "IS",
    "IN",
    "BETWEEN",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "WITH",
    "DISTINCT",
    "OVER",
    "PARTITION",
    "ROWS",
    "PRECEDING",
    "FOLLOWING",
    "CURRENT",
    "ROW",
    "FILTER",
    "INTERVAL",
    "TIMESTAMP",
    "CAST",
    "CREATE",
    "VIEW",
    "EXTERNAL",
    "TABLE",
    "DESC",
    "ASC",
    "UNION",
    "ALL",
];

/// Completion of the word before the cursor from tables, columns, functions and keywords.
struct SqlHelper {
    words: BTreeSet<String>,
}

impl Completer for SqlHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let start = line[..pos]
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let prefix = &line[start..pos];
        if prefix.is_empty() {
            return Ok((start, Vec::new()));
        }
        let lower = prefix.to_lowercase();
        let candidates = self
            .words
            .iter()
            .filter(|w| w.to_lowercase().starts_with(&lower))
            .map(|w| Pair {
                display: w.clone(),
                replacement: w.clone(),
            })
            .collect();
        Ok((start, candidates))
    }
}

impl Hinter for SqlHelper {
    type Hint = String;
}
impl Highlighter for SqlHelper {}
impl Validator for SqlHelper {}
impl Helper for SqlHelper {}

/// Everything completion offers: tables, their columns, functions, keywords.
async fn completion_words(session: &Session) -> BTreeSet<String> {
    let mut words: BTreeSet<String> = KEYWORDS.iter().map(|k| k.to_string()).collect();
    let state = session.context().state();
    words.extend(state.scalar_functions().keys().cloned());
    words.extend(state.aggregate_functions().keys().cloned());
    words.extend(state.window_functions().keys().cloned());
    for table in session.table_names() {
        if let Ok(schema) = session.schema(&table).await {
            words.extend(schema.fields().iter().map(|f| f.name().clone()));
        }
        words.insert(table);
    }
    words
}

/// Runs the shell until `\q` or end of input.
pub async fn run(session: &Session) -> Result<()> {
    let interactive = std::io::stdin().is_terminal();
    let mut editor: Editor<SqlHelper, DefaultHistory> =
        Editor::new().map_err(|e| Error::Usage(format!("cannot start the shell: {e}")))?;
    editor.set_helper(Some(SqlHelper {
        words: completion_words(session).await,
    }));
    let history = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cxsql_history"));
    if interactive {
        if let Some(h) = &history {
            let _ = editor.load_history(h);
        }
        print(&format!(
            "cxsql {} — SQL with customer-service KPIs. \\? for help, \\q to quit.",
            env!("CARGO_PKG_VERSION")
        ))?;
    }
    let mut format = OutputFormat::Table;
    let mut timing = false;
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() {
            "cxsql> "
        } else {
            "   ...> "
        };
        let line = tokio::task::block_in_place(|| editor.readline(prompt));
        let line = match line {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(Error::Usage(format!("shell input: {e}"))),
        };
        let trimmed = line.trim();
        if buffer.is_empty() && trimmed.starts_with('\\') {
            let _ = editor.add_history_entry(trimmed);
            match command(session, trimmed, &mut format, &mut timing).await {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => eprintln!("Error: {e}"),
            }
            continue;
        }
        if trimmed.is_empty() && buffer.is_empty() {
            continue;
        }
        buffer.push_str(&line);
        buffer.push('\n');
        if !trimmed.ends_with(';') {
            continue;
        }
        let sql = std::mem::take(&mut buffer);
        let _ = editor.add_history_entry(sql.trim());
        let started = Instant::now();
        match execute(session, &sql, format).await {
            Ok(rows) => {
                if timing {
                    print(&format!(
                        "{rows} row{} in {:.3} s",
                        if rows == 1 { "" } else { "s" },
                        started.elapsed().as_secs_f64()
                    ))?;
                }
            }
            Err(e) => eprintln!("Error: {e}"),
        }
        // Tables and views may have been created: refresh completion.
        if let Some(helper) = editor.helper_mut() {
            helper.words = completion_words(session).await;
        }
    }
    if !buffer.trim().is_empty() {
        // A last statement without `;` at the end of input still runs.
        if let Err(e) = execute(session, &buffer, format).await {
            eprintln!("Error: {e}");
        }
    }
    if interactive && let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    Ok(())
}

async fn execute(session: &Session, sql: &str, format: OutputFormat) -> Result<u64> {
    let mut out = Destination::stdout(format)?;
    let rows = session.execute(sql, &Params::new(), &mut out).await?;
    out.finish()?;
    Ok(rows)
}

/// Writes a listing in the shell's format.
async fn show(listing: Listing, format: OutputFormat) -> Result<()> {
    let mut out = Destination::stdout(format)?;
    listing.write_to(&mut out).await?;
    out.finish()
}

/// A backslash command. Returns true to quit.
async fn command(
    session: &Session,
    line: &str,
    format: &mut OutputFormat,
    timing: &mut bool,
) -> Result<bool> {
    let mut parts = line.split_whitespace();
    let name = parts.next().unwrap_or_default();
    let arg = parts.next();
    match (name, arg) {
        ("\\q" | "\\quit", _) => return Ok(true),
        ("\\?" | "\\h" | "\\help", _) => print(HELP)?,
        ("\\d", None) if session.table_names().is_empty() => print(
            "no tables (give a data folder, a table or a catalog when starting, or CREATE EXTERNAL TABLE)",
        )?,
        ("\\d", None) => show(commands::tables(session).await?, *format).await?,
        ("\\d", Some(table)) => show(commands::schema(session, table).await?, *format).await?,
        ("\\f", name) => show(commands::functions(name)?, *format).await?,
        ("\\timing", _) => {
            *timing = !*timing;
            print(if *timing { "timing on" } else { "timing off" })?
        }
        ("\\format", Some(name)) => {
            let chosen: OutputFormat = name.parse()?;
            if !chosen.is_text() {
                return Err(Error::Usage(format!(
                    "{chosen} is not shown in a shell; write it with COPY ... TO 'file.parquet'"
                )));
            }
            *format = chosen;
            print(&format!("format {chosen}"))?
        }
        ("\\format", None) => print(&format!(
            "format {format}; \\format table|csv|json|ndjson to change it"
        ))?,
        (other, _) => {
            return Err(Error::Usage(format!(
                "unknown command {other}; \\? lists them"
            )));
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use rustyline::history::DefaultHistory;

    use super::*;

    #[test]
    fn completes_tables_columns_functions_and_keywords() {
        let words = ["tickets", "created_at", "csat", "channel", "SELECT"]
            .iter()
            .map(|w| w.to_string())
            .collect();
        let helper = SqlHelper { words };
        let history = DefaultHistory::new();
        let ctx = Context::new(&history);
        let (start, found) = helper.complete("SELECT cs", 9, &ctx).unwrap();
        assert_eq!(start, 7);
        assert_eq!(
            found
                .iter()
                .map(|p| p.replacement.as_str())
                .collect::<Vec<_>>(),
            ["csat"]
        );
        let (_, found) = helper.complete("SELECT c", 8, &ctx).unwrap();
        assert_eq!(found.len(), 3, "channel, created_at, csat");
        let (start, found) = helper.complete("sel", 3, &ctx).unwrap();
        assert_eq!((start, found[0].replacement.as_str()), (0, "SELECT"));
        let (_, found) = helper.complete("SELECT * FROM tic", 17, &ctx).unwrap();
        assert_eq!(found[0].replacement, "tickets");
    }
}
