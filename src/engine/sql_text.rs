//! SQL text as callers send it, turned into statements: checked against the caller's limits, `?`
//! placeholders numbered, table-function names folded as identifiers are.
//!
//! - **Limits** ([`Limits`]): the most bytes of text one call runs, and, for the server, how deep one
//!   expression may nest. A chain `1 + 1 + … + 1` of n terms nests n − 1 deep; DataFusion's planning of such
//!   trees grows faster than their size (12,000 terms planned for 214 s), so a server refuses them before
//!   planning, with a message naming the limit and its flag. A long `IN (…)` list or a wide `SELECT` is
//!   shallow and is not limited by it.
//! - **`?` placeholders** (the JDBC/ODBC/DB-API "qmark" style BI tools and Flight SQL drivers send) become
//!   `$1`, `$2`, … in the order they appear in each statement, so they bind positionally like `$1`. This is
//!   done on the tokens, so a `?` inside a string or a comment is text, and the numbering follows the text,
//!   not the tree. A statement mixing `?` with numbered placeholders is an error (which `?` is `$2`?).
//! - **Table functions** resolve like other identifiers: an unquoted name is folded to lower case
//!   (`NPS_BY_CHANNEL()` calls `nps_by_channel`, as SQL Lab writes it), a quoted one matches exactly. Scalar
//!   and aggregate functions already resolve so in DataFusion; table functions are looked up by their raw
//!   text (quotes included), which this makes consistent.

use std::ops::ControlFlow;

use datafusion::error::DataFusionError;
use datafusion::execution::context::SessionState;
use datafusion::sql::parser::{CopyToSource, DFParserBuilder, Statement};
use datafusion::sql::sqlparser::ast::{
    Expr, ObjectNamePart, TableFactor, Visit, VisitMut, Visitor, VisitorMut,
};
use datafusion::sql::sqlparser::dialect::dialect_from_str;
use datafusion::sql::sqlparser::parser::ParserError;
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use crate::error::{Error, Result};

/// The most bytes of SQL text one call runs on the command line (a script, a query file, a statement):
/// machine-generated SQL of a few megabytes plans in seconds; far more is a mistake (`cxsql run /dev/zero`).
pub const MAX_SQL_BYTES: usize = 16 << 20;

/// What one call's SQL text may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes of text.
    pub bytes: usize,
    /// How deep one expression may nest (terms of a `+`/`AND`/`||` chain, nested calls); `None`: no limit.
    pub expression_terms: Option<usize>,
    /// The most bytes of one text literal: a constant is repeated over every row of a batch (8,192 rows), so
    /// a server derives this from its memory limit; `None`: no limit.
    pub literal_bytes: Option<usize>,
    /// The limits are a server's: messages name its flags.
    pub server: bool,
}

impl Limits {
    /// The command line's: 16 MB of text, expressions as deep as the stack allows.
    pub const LOCAL: Limits = Limits {
        bytes: MAX_SQL_BYTES,
        expression_terms: None,
        literal_bytes: None,
        server: false,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::LOCAL
    }
}

/// Splits SQL text into statements with DataFusion's parser (so `;` inside strings and comments is safe),
/// after checking it against `limits`. Text that is only comments is "no statement".
pub fn statements(state: &SessionState, sql: &str, limits: &Limits) -> Result<Vec<Statement>> {
    if sql.len() > limits.bytes {
        return Err(Error::Usage(if limits.server {
            format!(
                "the statement is {} bytes; this server runs statements of at most {} bytes (cxsql serve \
                 --max-statement-bytes raises the limit)",
                sql.len(),
                limits.bytes
            )
        } else {
            format!(
                "the SQL text is {} bytes; cxsql runs at most {} MB of SQL at once",
                sql.len(),
                limits.bytes >> 20
            )
        }));
    }
    let options = &state.config().options().sql_parser;
    let dialect = dialect_from_str(options.dialect)
        .ok_or_else(|| Error::Usage(format!("unknown SQL dialect {}", options.dialect)))?;
    let recursion = usize::from(options.recursion_limit);
    let tokens = tokens(dialect.as_ref(), sql, limits.literal_bytes)?;
    let mut statements = DFParserBuilder::new(tokens)
        .with_dialect(dialect.as_ref())
        .with_recursion_limit(recursion)
        .build()
        .and_then(|mut parser| parser.parse_statements())
        .map_err(|e| {
            let message = e.to_string();
            if message.contains("RecursionLimitExceeded") || message.contains("recursion limit") {
                Error::Usage(format!(
                    "query too deeply nested: it goes past the parser's limit of {recursion} levels of \
                     parentheses, subqueries or nested expressions"
                ))
            } else {
                e.into()
            }
        })?;
    if statements.is_empty() {
        return Err(Error::Usage("no SQL statement given".into()));
    }
    for statement in &mut statements {
        if let Some(limit) = limits.expression_terms {
            check_depth(statement, limit)?;
        }
        fold_table_functions(statement);
    }
    Ok(statements.into_iter().collect())
}

/// The tokens of `sql`, each statement's bare `?` placeholders numbered `$1`, `$2`, … in text order; a text
/// literal longer than `literal_bytes` is an error.
fn tokens(
    dialect: &dyn datafusion::sql::sqlparser::dialect::Dialect,
    sql: &str,
    literal_bytes: Option<usize>,
) -> Result<Vec<TokenWithSpan>> {
    let mut tokens = Vec::new();
    let mut bare = 0usize;
    let mut numbered = false;
    let mut mixed = false;
    let mut longest = 0usize;
    Tokenizer::new(dialect, sql)
        .tokenize_with_location_into_buf_with_mapper(&mut tokens, |mut token| {
            match &token.token {
                Token::SingleQuotedString(text)
                | Token::DoubleQuotedString(text)
                | Token::TripleSingleQuotedString(text)
                | Token::TripleDoubleQuotedString(text)
                | Token::EscapedStringLiteral(text)
                | Token::UnicodeStringLiteral(text)
                | Token::NationalStringLiteral(text)
                | Token::HexStringLiteral(text)
                | Token::SingleQuotedByteStringLiteral(text)
                | Token::DoubleQuotedByteStringLiteral(text) => {
                    longest = longest.max(text.len());
                }
                Token::DollarQuotedString(text) => longest = longest.max(text.value.len()),
                Token::SemiColon => {
                    (bare, numbered) = (0, false);
                }
                Token::Placeholder(p) if p == "?" => {
                    bare += 1;
                    mixed |= numbered;
                    token.token = Token::Placeholder(format!("${bare}"));
                }
                Token::Placeholder(p) => {
                    let digits = p.trim_start_matches(['$', '?']);
                    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                        numbered = true;
                        mixed |= bare > 0;
                        if p.starts_with('?') {
                            // SQLite's `?2`: the second parameter.
                            token.token = Token::Placeholder(format!("${digits}"));
                        }
                    }
                }
                _ => {}
            }
            token
        })
        .map_err(|e| DataFusionError::from(ParserError::from(e)))?;
    if let Some(limit) = literal_bytes.filter(|limit| longest > *limit) {
        return Err(Error::Usage(format!(
            "the statement has a text literal of {longest} bytes; this server takes literals of at most \
             {limit} bytes (a constant is repeated over each batch of 8,192 rows, so the limit is \
             --memory-limit / 8192; raise --memory-limit, or send large values as a table)"
        )));
    }
    if mixed {
        return Err(Error::Usage(
            "a statement mixes `?` placeholders with numbered ones ($1, ?1); use one style: `?` binds in \
             the order of appearance, `$n` the n-th value"
                .into(),
        ));
    }
    Ok(tokens)
}

/// Refuses a statement with an expression nested deeper than `limit`, or whose expressions cost more to plan
/// than one chain of `limit` terms. DataFusion's planning (type coercion asks each node for the types below
/// it) takes time in proportion to the sum of every expression node's depth: about n² for a chain of n
/// terms, so many chains just under the depth limit would plan as long as one far past it.
fn check_depth(statement: &Statement, limit: usize) -> Result<()> {
    struct Depth {
        now: usize,
        total: usize,
        limit: usize,
    }
    impl Visitor for Depth {
        type Break = &'static str;
        fn pre_visit_expr(&mut self, _: &Expr) -> ControlFlow<&'static str> {
            self.now += 1;
            self.total += self.now;
            if self.now > self.limit {
                ControlFlow::Break("deep")
            } else if self.total > self.limit * (self.limit + 1) {
                ControlFlow::Break("costly")
            } else {
                ControlFlow::Continue(())
            }
        }
        fn post_visit_expr(&mut self, _: &Expr) -> ControlFlow<&'static str> {
            self.now -= 1;
            ControlFlow::Continue(())
        }
    }
    let mut depth = Depth {
        now: 0,
        total: 0,
        limit,
    };
    let outcome = match statement {
        Statement::Statement(s) => s.visit(&mut depth),
        Statement::CopyTo(copy) => match &copy.source {
            CopyToSource::Query(query) => query.visit(&mut depth),
            CopyToSource::Relation(_) => ControlFlow::Continue(()),
        },
        Statement::Explain(explain) => return check_depth(&explain.statement, limit),
        Statement::CreateExternalTable(_) | Statement::Reset(_) => ControlFlow::Continue(()),
    };
    match outcome {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break("deep") => Err(Error::Usage(format!(
            "an expression of the statement nests more than {limit} terms deep (each term of a chain such \
             as 1 + 1 + … or a AND b AND … is one level); this server plans expressions of at most {limit} \
             (cxsql serve --max-expression-terms raises the limit)"
        ))),
        ControlFlow::Break(_) => Err(Error::Usage(format!(
            "the statement's expressions together would plan longer than one chain of {limit} terms (planning \
             time grows with each term's depth); split it, or raise cxsql serve --max-expression-terms"
        ))),
    }
}

/// Table-function names as identifiers: unquoted folded to lower case, quoted taken exactly (DataFusion
/// looks them up by their text, quotes included).
fn fold_table_functions(statement: &mut Statement) {
    struct Fold;
    impl VisitorMut for Fold {
        type Break = ();
        fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
            if let TableFactor::Table {
                name,
                args: Some(_),
                ..
            } = factor
            {
                for part in &mut name.0 {
                    if let ObjectNamePart::Identifier(ident) = part {
                        if ident.quote_style.is_none() {
                            ident.value = ident.value.to_lowercase();
                        }
                        ident.quote_style = None;
                    }
                }
            }
            ControlFlow::Continue(())
        }
    }
    let _ = match statement {
        Statement::Statement(s) => s.visit(&mut Fold),
        Statement::CopyTo(copy) => match &mut copy.source {
            CopyToSource::Query(query) => query.visit(&mut Fold),
            CopyToSource::Relation(_) => ControlFlow::Continue(()),
        },
        Statement::Explain(explain) => {
            fold_table_functions(&mut explain.statement);
            ControlFlow::Continue(())
        }
        Statement::CreateExternalTable(_) | Statement::Reset(_) => ControlFlow::Continue(()),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    fn parse(sql: &str, limits: &Limits) -> Result<Vec<String>> {
        let state = SessionContext::new().state();
        Ok(statements(&state, sql, limits)?
            .iter()
            .map(ToString::to_string)
            .collect())
    }

    #[test]
    fn question_marks_are_numbered_in_text_order_per_statement() {
        let got = parse(
            "SELECT ? AS a, '?' AS b -- ?\n FROM t WHERE x BETWEEN ? AND ? LIMIT ?; SELECT ?",
            &Limits::LOCAL,
        )
        .expect("parses");
        assert_eq!(
            got,
            [
                "SELECT $1 AS a, '?' AS b FROM t WHERE x BETWEEN $2 AND $3 LIMIT $4",
                "SELECT $1"
            ]
        );
        assert_eq!(
            parse("SELECT ?2, ?1", &Limits::LOCAL).expect("parses"),
            ["SELECT $2, $1"]
        );
        let mixed = parse("SELECT ?, $1", &Limits::LOCAL).expect_err("mixed styles");
        assert!(mixed.to_string().contains("mixes `?`"), "{mixed}");
    }

    #[test]
    fn table_function_names_fold_like_identifiers() {
        let got = parse(
            "SELECT * FROM NPS_BY_CHANNEL('2024-01-01') JOIN \"Mixed\"() ON true JOIN Range(3) ON true",
            &Limits::LOCAL,
        )
        .expect("parses");
        assert_eq!(
            got,
            [
                "SELECT * FROM nps_by_channel('2024-01-01') JOIN Mixed() ON true JOIN range(3) ON true"
            ]
        );
        // A table (no arguments) keeps its name for DataFusion's own normalisation.
        assert_eq!(
            parse("SELECT * FROM TICKETS", &Limits::LOCAL).expect("parses"),
            ["SELECT * FROM TICKETS"]
        );
    }

    #[test]
    fn server_limits_name_their_flags() {
        let server = Limits {
            bytes: 100,
            expression_terms: Some(10),
            literal_bytes: Some(20),
            server: true,
        };
        let long = format!("SELECT '{}'", "x".repeat(200));
        let e = parse(&long, &server).expect_err("too long");
        assert!(e.to_string().contains("--max-statement-bytes"), "{e}");
        let chain = |n: usize| format!("SELECT {}", vec!["1"; n].join("+"));
        // Ten terms nest nine deep (plus the select item): within the limit; twelve are not.
        assert!(parse(&chain(10), &server).is_ok());
        let e = parse(&chain(12), &server).expect_err("too deep");
        assert!(e.to_string().contains("--max-expression-terms"), "{e}");
        // A long IN list is shallow.
        let list = format!("SELECT 1 IN ({})", vec!["1"; 30].join(","));
        assert!(
            parse(
                &list,
                &Limits {
                    bytes: 1000,
                    ..server
                }
            )
            .is_ok()
        );
        assert!(parse(&chain(12), &Limits::LOCAL).is_ok());
        // Two chains of eight terms plan about as long as one of eleven: refused as a whole.
        let eight = ["1"; 8].join("+");
        let two = format!("SELECT {eight}, {eight}");
        let e = parse(&two, &server).expect_err("costly");
        assert!(e.to_string().contains("together would plan longer"), "{e}");
        assert!(parse(&format!("SELECT {eight}"), &server).is_ok());
    }
}
