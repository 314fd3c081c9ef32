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

use crate::engine::params::Params;
use crate::engine::session::Session;
use crate::error::{Error, Result};
use crate::front::listings::{self, Listing};
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

/// Where the shell's lines come from: the line editor at a terminal, or standard input read as it is (a
/// piped script), bounded so that endless input without line breaks cannot fill the memory.
enum Lines {
    Editor(Box<Editor<SqlHelper, DefaultHistory>>),
    Piped(std::io::StdinLock<'static>, u64),
}

/// One line of input.
enum Line {
    Text(String),
    /// Ctrl-C at the prompt.
    Interrupted,
    End,
}

impl Lines {
    /// The next line; `pending` bytes of a statement are already waiting for it.
    fn next(&mut self, prompt: &str, pending: usize) -> Result<Line> {
        match self {
            Lines::Editor(editor) => {
                match tokio::task::block_in_place(|| editor.readline(prompt)) {
                    Ok(line) => Ok(Line::Text(line)),
                    Err(ReadlineError::Interrupted) => Ok(Line::Interrupted),
                    Err(ReadlineError::Eof) => Ok(Line::End),
                    Err(e) => Err(Error::Usage(format!("shell input: {e}"))),
                }
            }
            Lines::Piped(stdin, number) => {
                use std::io::{BufRead as _, Read as _};

                *number += 1;
                let room =
                    crate::engine::sql_text::MAX_SQL_BYTES.saturating_sub(pending) as u64 + 1;
                let mut bytes = Vec::new();
                tokio::task::block_in_place(|| {
                    stdin.by_ref().take(room).read_until(b'\n', &mut bytes)
                })
                .map_err(|e| Error::io("<stdin>", e))?;
                if bytes.is_empty() {
                    return Ok(Line::End);
                }
                if bytes.len() as u64 >= room && bytes.last() != Some(&b'\n') {
                    return Err(Error::Usage(format!(
                        "<stdin>: line {number}: a statement longer than {} MB; cxsql reads at most that much \
                         SQL text at once",
                        crate::engine::sql_text::MAX_SQL_BYTES >> 20
                    )));
                }
                let mut text = String::from_utf8(bytes).map_err(|_| {
                    Error::Usage(format!(
                        "<stdin>: line {number}: not UTF-8 text; SQL scripts are read as UTF-8"
                    ))
                })?;
                if *number == 1 && text.starts_with('\u{feff}') {
                    text.remove(0);
                }
                let trimmed = text.trim_end_matches(['\n', '\r']).len();
                text.truncate(trimmed);
                Ok(Line::Text(text))
            }
        }
    }
}

/// Whether the statement text gathered so far is ready to run.
#[derive(Debug, PartialEq, Eq)]
enum Gathered {
    /// It ends with a `;` that is not inside a string or comment.
    Complete,
    /// More lines are needed.
    Incomplete,
    /// Only comments and blanks: nothing to run.
    Nothing,
}

/// Looks at `sql` with the SQL tokenizer, so that `;` inside a string or a comment does not end a statement.
fn gathered(sql: &str) -> Gathered {
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, sql).tokenize() else {
        // An open string or comment.
        return Gathered::Incomplete;
    };
    match tokens
        .iter()
        .rev()
        .find(|t| !matches!(t, Token::Whitespace(_)))
    {
        None => Gathered::Nothing,
        Some(Token::SemiColon) => Gathered::Complete,
        Some(_) => Gathered::Incomplete,
    }
}

/// Runs the shell until `\q` or end of input. At a terminal, errors are printed and the shell goes on, and
/// Ctrl-C cancels the running statement. A piped script (`cxsql < script.sql`) runs every statement and
/// fails (exit 1) if any failed; with `bail` it stops at the first failure.
pub async fn run(session: &Session, bail: bool) -> Result<()> {
    let interactive = std::io::stdin().is_terminal();
    let history = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cxsql_history"));
    let mut lines = if interactive {
        let mut editor: Editor<SqlHelper, DefaultHistory> =
            Editor::new().map_err(|e| Error::Usage(format!("cannot start the shell: {e}")))?;
        editor.set_helper(Some(SqlHelper {
            words: completion_words(session).await,
        }));
        if let Some(h) = &history {
            let _ = editor.load_history(h);
        }
        print(&format!(
            "cxsql {} — SQL with customer-service KPIs. \\? for help, \\q to quit; Ctrl-C cancels a statement.",
            env!("CARGO_PKG_VERSION")
        ))?;
        crate::guard::interrupts_cancel_statements(true);
        Lines::Editor(Box::new(editor))
    } else {
        Lines::Piped(std::io::stdin().lock(), 0)
    };
    let mut format = OutputFormat::Table;
    let mut timing = false;
    let mut buffer = String::new();
    let (mut ran, mut failed) = (0usize, 0usize);
    let report = |e: &Error, failed: &mut usize| {
        *failed += 1;
        eprintln!("Error: {}", crate::guard::redact(&e.to_string()));
    };
    loop {
        let prompt = if buffer.is_empty() {
            "cxsql> "
        } else {
            "   ...> "
        };
        let line = match lines.next(prompt, buffer.len()) {
            Ok(Line::Text(line)) => line,
            Ok(Line::Interrupted) => {
                buffer.clear();
                continue;
            }
            Ok(Line::End) => break,
            Err(e) => {
                report(&e, &mut failed);
                break;
            }
        };
        let trimmed = line.trim();
        if buffer.is_empty() && trimmed.starts_with('\\') {
            if let Lines::Editor(editor) = &mut lines {
                let _ = editor.add_history_entry(trimmed);
            }
            ran += 1;
            match command(session, trimmed, &mut format, &mut timing).await {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => {
                    report(&e, &mut failed);
                    if bail && !interactive {
                        break;
                    }
                }
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
        match gathered(&buffer) {
            Gathered::Incomplete => continue,
            Gathered::Nothing => {
                buffer.clear();
                continue;
            }
            Gathered::Complete => {}
        }
        let sql = std::mem::take(&mut buffer);
        if let Lines::Editor(editor) = &mut lines {
            let _ = editor.add_history_entry(sql.trim());
        }
        ran += 1;
        let started = Instant::now();
        match crate::guard::cancellable(execute(session, &sql, format)).await {
            Ok(rows) => {
                if timing {
                    print(&format!(
                        "{rows} row{} in {:.3} s",
                        if rows == 1 { "" } else { "s" },
                        started.elapsed().as_secs_f64()
                    ))?;
                }
            }
            Err(Error::Interrupted { .. }) if interactive => eprintln!("cancelled"),
            Err(e) => {
                report(&e, &mut failed);
                if bail && !interactive {
                    break;
                }
            }
        }
        // Tables and views may have been created: refresh completion.
        if let Lines::Editor(editor) = &mut lines
            && let Some(helper) = editor.helper_mut()
        {
            helper.words = completion_words(session).await;
        }
    }
    if !(buffer.trim().is_empty() || gathered(&buffer) == Gathered::Nothing || (bail && failed > 0))
    {
        // A last statement without `;` at the end of input still runs.
        ran += 1;
        if let Err(e) = execute(session, &buffer, format).await {
            report(&e, &mut failed);
        }
    }
    crate::guard::interrupts_cancel_statements(false);
    if let (Lines::Editor(editor), Some(h)) = (&mut lines, &history) {
        let _ = editor.save_history(h);
    }
    if failed > 0 && !interactive {
        return Err(Error::QueriesFailed(format!(
            "{failed} of {ran} statements of the script failed{}",
            if bail {
                "; stopped at the first (--bail)"
            } else {
                ""
            }
        )));
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
        ("\\d", None) => show(listings::tables(session).await?, *format).await?,
        ("\\d", Some(table)) => show(listings::schema(session, table).await?, *format).await?,
        ("\\f", name) => show(listings::functions(name, session.library())?, *format).await?,
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
