//! The one path that executes SQL, whatever its origin (argument, file, standard input, shell, saved query,
//! report, a catalog's views): split into statements, plan each (DDL takes effect), bind parameters, and hand
//! every result that has columns to a [`ResultSink`]. Errors have one shape: [`Error::Query`] naming the
//! statement when there are several, with a hint where DataFusion's message is not enough.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::common::ScalarValue;
use datafusion::dataframe::DataFrame;
use datafusion::datasource::listing::ListingTable;
use datafusion::datasource::source_as_provider;
use datafusion::error::DataFusionError;
use datafusion::execution::context::SQLOptions;
use datafusion::logical_expr::{LogicalPlan, WriteOp};
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::Statement;

use crate::engine::sql_text::Limits;
use crate::engine::tables::LazySchema;
use crate::error::{Error, Result};
use crate::guard;
use crate::writer::ResultSink;

/// Parameter values bound to `$name` placeholders.
pub type Bound = HashMap<String, ScalarValue>;

/// What statements see of the session beyond its context: what they may write (`COPY ... TO` and
/// `INSERT INTO` follow the rule of an output file) and the saved queries they may call.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// No statement writes files.
    pub read_only: bool,
    /// An existing file may be replaced (`--force`).
    pub replace: bool,
    /// The session's tables: the files and folders they read are never written (looked up only for a
    /// statement that writes).
    pub tables: &'a LazySchema,
    /// The saved queries statements may call as table functions.
    pub library: &'a crate::engine::table_functions::Library,
    /// Statements that create, change or drop anything are refused (see `SessionSpec::refuse_changes`).
    pub refuse_changes: bool,
    /// What the SQL text of one call may be.
    pub limits: Limits,
    /// The most memory one call's statements may hold while they run (see `query_pool`); `None`: all of the
    /// session's limit.
    pub query_share: Option<usize>,
}

impl Scope<'_> {
    /// The local files and folders the tables read, absolute, with the table's name.
    fn protected(&self) -> Vec<(String, PathBuf)> {
        self.tables
            .file_locations()
            .into_iter()
            .filter(|(_, url)| url.scheme() == "file")
            .filter_map(|(name, url)| {
                let path = url.get_url().to_file_path().ok()?;
                Some((name, absolute(&path)))
            })
            .collect()
    }
}

/// Runs `sql` (one or more statements separated by `;`) in order, writing every result that has columns to
/// `sink`, with `params` bound to the `$name` placeholders. Stops at the first failure. Returns the number of
/// rows written.
pub async fn run(
    ctx: &SessionContext,
    sql: &str,
    params: &Bound,
    scope: &Scope<'_>,
    sink: &mut dyn ResultSink,
) -> Result<u64> {
    let statements = guard::catch("the SQL text", async {
        crate::engine::sql_text::statements(&ctx.state(), sql, &scope.limits)
    })
    .await?;
    let many = statements.len() > 1;
    let mut rows = 0;
    for (i, statement) in statements.into_iter().enumerate() {
        let context = if many {
            format!("statement {}: ", i + 1)
        } else {
            String::new()
        };
        let what = if many {
            format!("statement {}", i + 1)
        } else {
            "the statement".to_string()
        };
        let sink = &mut *sink;
        rows += guard::catch(&what, async {
            let wrap = |e: DataFusionError| Error::Query {
                context: context.clone(),
                hint: hint(ctx, &e),
                source: e,
            };
            let (df, copy_to, staged) = dataframe(ctx, statement, params, scope)
                .await
                .map_err(|e| match e {
                    Error::Query { source, .. } => wrap(source),
                    other => other.within(&context),
                })?;
            // On a cluster, an executor's refusal is explained with the plan's functions.
            let plan = df.logical_plan().clone();
            let wrap = |e: DataFusionError| wrap(crate::engine::cluster::explain_rejection(&plan, e));
            // DataFusion reports a failed COPY write (a full disk) as an internal error, "a bug in
            // DataFusion": say what it is.
            let wrap = |e: DataFusionError| match (&copy_to, e) {
                (Some(url), DataFusionError::Internal(message)) => wrap(DataFusionError::Execution(format!(
                    "COPY ... TO '{url}': writing failed (is the disk full, or the target not writable?): \
                     {}",
                    message.lines().next().unwrap_or_default()
                ))),
                (_, other) => wrap(other),
            };
            if df.schema().fields().is_empty() {
                // DDL and SET: run for their effect.
                df.collect().await.map_err(wrap)?;
                return Ok(0);
            }
            if let Some(staged) = staged {
                // COPY to a local file or folder: written beside it, then moved into place.
                let stream = df.execute_stream().await.map_err(wrap)?;
                let rows = sink.write(stream).await.map_err(|e| match e {
                    Error::Query { source, .. } => wrap(source),
                    other => other,
                })?;
                staged.publish()?;
                return Ok(rows);
            }
            let stream = df.execute_stream().await.map_err(wrap)?;
            sink.write(stream).await.map_err(|e| match e {
                // A failure while the result streamed (a KPI's range error): the statement's failure.
                Error::Query { source, .. } => wrap(source),
                other => other,
            })
        })
        .await?;
    }
    Ok(rows)
}

/// Plans one statement (DDL takes effect here), checks what it would write, and binds `params` to its
/// placeholders. A `COPY` to a local path is redirected to a staging folder beside it (see [`Staged`]).
async fn dataframe(
    ctx: &SessionContext,
    statement: Statement,
    params: &Bound,
    scope: &Scope<'_>,
) -> Result<(DataFrame, Option<String>, Option<Staged>)> {
    let mut state = ctx.state();
    // The saved queries it calls, planned first (see `table_functions`).
    crate::engine::table_functions::prepare(&mut state, &statement, scope.library).await?;
    let mut plan = state.statement_to_plan(statement).await?;
    check_changes(&plan, scope)?;
    check_writes(&plan, scope)?;
    let copy_to = match &plan {
        LogicalPlan::Copy(copy) => Some(copy.output_url.clone()),
        _ => None,
    };
    let mut staged = None;
    if let LogicalPlan::Copy(copy) = &plan
        && let Some(stage) = Staged::new(&copy.output_url)?
    {
        let mut copy = copy.clone();
        copy.output_url = stage.staging_url();
        plan = LogicalPlan::Copy(copy);
        staged = Some(stage);
    }
    let df = ctx.execute_logical_plan(plan).await?;
    // Planned (and SET, DDL applied) on the session itself; run over a pool of the call's own.
    let df = match scope.query_share {
        Some(share) => {
            let (state, plan) = df.into_parts();
            DataFrame::new(crate::engine::query_pool::with_share(state, share), plan)
        }
        None => df,
    };
    if params.is_empty() {
        Ok((df, copy_to, staged))
    } else {
        Ok((df.with_param_values(params.clone())?, copy_to, staged))
    }
}

/// A `COPY ... TO` a local file or folder, written first inside a hidden staging folder beside the target
/// (`.cxsql-copy-XXXXXX/<target's name>`: the same last path segment, so DataFusion decides file or folder
/// output exactly as for the target) and moved into place only when the statement succeeded. A failed or
/// interrupted COPY (full disk, Ctrl-C) leaves the target as it was and nothing partial: the staging folder
/// is removed when this is dropped, and on a signal. Character devices and FIFOs are written directly.
struct Staged {
    /// The URL the user wrote (for messages).
    url: String,
    target: PathBuf,
    staging: Option<tempfile::TempDir>,
    _registered: guard::Temporary,
    /// The target ended with `/` (folder output).
    collection: bool,
}

impl Staged {
    /// `None` for object-store URLs and for targets that are neither missing, a file nor a folder.
    fn new(url: &str) -> Result<Option<Self>> {
        let Some(target) = local_path(url) else {
            return Ok(None);
        };
        match std::fs::metadata(&target) {
            Ok(m) if !m.is_file() && !m.is_dir() => return Ok(None),
            _ => {}
        }
        let (Some(parent), Some(_)) = (target.parent(), target.file_name()) else {
            return Ok(None);
        };
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        let staging = tempfile::Builder::new()
            .prefix(".cxsql-copy-")
            .tempdir_in(parent)
            .map_err(|e| Error::io(parent, e))?;
        let registered = guard::Temporary::register(staging.path());
        Ok(Some(Self {
            url: url.to_string(),
            collection: url.ends_with('/'),
            target,
            staging: Some(staging),
            _registered: registered,
        }))
    }

    /// Where the COPY writes instead of the target.
    fn staged_path(&self) -> PathBuf {
        let staging = self
            .staging
            .as_ref()
            .expect("staging folder until published");
        staging
            .path()
            .join(self.target.file_name().expect("checked in new"))
    }

    fn staging_url(&self) -> String {
        let mut url = self.staged_path().to_string_lossy().into_owned();
        if self.collection {
            url.push('/');
        }
        url
    }

    /// Moves what the COPY wrote to the target. A file replaces a file in one rename (`check_writes` allowed
    /// it); a folder's files go into the target folder, next to what is already there (DataFusion names them
    /// uniquely), so that nothing in an existing folder is lost.
    fn publish(mut self) -> Result<()> {
        let written = self.staged_path();
        let Some(staging) = self.staging.take() else {
            return Ok(());
        };
        let target = &self.target;
        match (
            std::fs::symlink_metadata(&written),
            std::fs::metadata(target),
        ) {
            // Nothing written (DataFusion writes no folder for zero rows): the target stays as it was.
            (Err(_), _) => {}
            (Ok(new), Ok(old)) if new.is_dir() && old.is_dir() => merge(&written, target)?,
            (Ok(new), Ok(old)) if new.is_dir() != old.is_dir() => {
                let (new, old) = if new.is_dir() {
                    ("a folder", "a file")
                } else {
                    ("a file", "a folder")
                };
                return Err(Error::Usage(format!(
                    "COPY ... TO '{}': the statement writes {new} and {} is {old}; nothing was written",
                    self.url,
                    target.display()
                )));
            }
            _ => std::fs::rename(&written, target).map_err(|e| Error::io(target, e))?,
        }
        drop(staging);
        Ok(())
    }
}

/// Moves everything in folder `from` into folder `into`, merging sub-folders (partitions) that exist in both.
fn merge(from: &Path, into: &Path) -> Result<()> {
    for entry in std::fs::read_dir(from).map_err(|e| Error::io(from, e))? {
        let entry = entry.map_err(|e| Error::io(from, e))?;
        let there = into.join(entry.file_name());
        if entry.path().is_dir() && there.is_dir() {
            merge(&entry.path(), &there)?;
        } else {
            std::fs::rename(entry.path(), &there).map_err(|e| Error::io(&there, e))?;
        }
    }
    Ok(())
}

/// What a statement would return: see `Session::describe`.
#[derive(Debug, Clone)]
pub struct Described {
    pub schema: datafusion::arrow::datatypes::SchemaRef,
    /// Each placeholder (`since` for `$since`, `1` for `$1`) and its type, in name order.
    pub parameters: Vec<(String, Option<datafusion::arrow::datatypes::DataType>)>,
}

/// Plans `sql` (exactly one statement) as [`run`] would, without running it.
pub async fn describe(ctx: &SessionContext, sql: &str, scope: &Scope<'_>) -> Result<Described> {
    let statements = guard::catch("the SQL text", async {
        crate::engine::sql_text::statements(&ctx.state(), sql, &scope.limits)
    })
    .await?;
    let [statement] = <[Statement; 1]>::try_from(statements).map_err(|all| {
        Error::Usage(format!(
            "{} statements given; one statement is described (or run) at a time here",
            all.len()
        ))
    })?;
    guard::catch("the statement", async {
        let mut state = ctx.state();
        crate::engine::table_functions::prepare(&mut state, &statement, scope.library).await?;
        let plan = state
            .statement_to_plan(statement)
            .await
            .map_err(|e| Error::Query {
                context: String::new(),
                hint: hint(ctx, &e),
                source: e,
            })?;
        check_changes(&plan, scope)?;
        check_writes(&plan, scope)?;
        let mut parameters: Vec<_> = plan
            .get_parameter_types()?
            .into_iter()
            .map(|(id, data_type)| (id.trim_start_matches('$').to_string(), data_type))
            .collect();
        parameters.sort_by(|a, b| natural(&a.0).cmp(&natural(&b.0)));
        // DDL and SET run for their effect and return nothing (their plan's schema is their input's).
        let schema = match &plan {
            LogicalPlan::Ddl(_) | LogicalPlan::Statement(_) => {
                Arc::new(datafusion::arrow::datatypes::Schema::empty())
            }
            _ => Arc::new(plan.schema().as_arrow().clone()),
        };
        Ok(Described { schema, parameters })
    })
    .await
}

/// Sorts `2` before `10` (positional parameters), names after numbers.
fn natural(name: &str) -> (u8, u64, &str) {
    match name.parse::<u64>() {
        Ok(n) => (0, n, ""),
        Err(_) => (1, 0, name),
    }
}

/// Refuses a statement that creates, changes or drops anything in a session that refuses changes.
fn check_changes(plan: &LogicalPlan, scope: &Scope<'_>) -> Result<()> {
    if !scope.refuse_changes {
        return Ok(());
    }
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
        .verify_plan(plan)
        .map_err(|e| {
            Error::Usage(format!(
                "{}: this session is read-only; statements that create, change, drop or write anything \
                 are refused (cxsql serve --allow-writes allows them)",
                e.strip_backtrace()
            ))
        })
}

/// Refuses a `COPY ... TO` or `INSERT INTO` that would write where it must not: anything in a read-only
/// session, a table's own files always, an existing file or non-empty folder unless replacing is allowed.
/// Character devices and FIFOs are written as they are. Object-store targets are not checked.
fn check_writes(plan: &LogicalPlan, writes: &Scope<'_>) -> Result<()> {
    match plan {
        LogicalPlan::Copy(copy) => {
            if writes.read_only {
                return Err(Error::Usage(format!(
                    "COPY ... TO '{}': this session is read-only (reports run read-only)",
                    copy.output_url
                )));
            }
            let Some(target) = local_path(&copy.output_url) else {
                return Ok(());
            };
            let protected = writes.protected();
            if let Some((table, location)) = overlapping(&target, &protected) {
                return Err(Error::Usage(format!(
                    "COPY ... TO '{}': {} holds the files of table {table}; cxsql never writes over a \
                     table's own files",
                    copy.output_url,
                    location.display()
                )));
            }
            match std::fs::metadata(&target) {
                Ok(m) if m.is_file() && !writes.replace => Err(Error::Exists {
                    path: target,
                    what: "file",
                }),
                Ok(m) if m.is_dir() && !writes.replace && !is_empty_dir(&target) => {
                    Err(Error::Exists {
                        path: target,
                        what: "folder",
                    })
                }
                _ => Ok(()),
            }
        }
        LogicalPlan::Dml(dml) => {
            let verb = match dml.op {
                WriteOp::Insert(_) => "INSERT INTO",
                WriteOp::Delete => "DELETE FROM",
                WriteOp::Update => "UPDATE",
                WriteOp::Truncate => "TRUNCATE",
                _ => "writing to",
            };
            let files = source_as_provider(&dml.target)
                .ok()
                .is_some_and(|provider| provider.is::<ListingTable>());
            if files {
                return Err(Error::Usage(format!(
                    "{verb} {}: the table reads files, and cxsql never writes over a table's own files; \
                     write a new file with COPY (SELECT ...) TO 'file'",
                    dml.table_name
                )));
            }
            if writes.read_only {
                return Err(Error::Usage(format!(
                    "{verb} {}: this session is read-only (reports run read-only)",
                    dml.table_name
                )));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The local path a `COPY` writes, absolute; `None` for object-store URLs.
fn local_path(url: &str) -> Option<PathBuf> {
    let path = match url.split_once("://") {
        Some(("file", rest)) => PathBuf::from(rest),
        Some(_) => return None,
        None => PathBuf::from(url),
    };
    Some(absolute(&path))
}

/// `path` made absolute with symbolic links resolved as far as it exists.
fn absolute(path: &Path) -> PathBuf {
    if let Ok(real) = std::fs::canonicalize(path) {
        return real;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) if !parent.as_os_str().is_empty() => absolute(parent).join(name),
        (_, Some(name)) => std::env::current_dir()
            .map(|d| absolute(&d).join(name))
            .unwrap_or_else(|_| path.to_path_buf()),
        _ => path.to_path_buf(),
    }
}

/// The protected location that `target` is, lies in, or contains.
fn overlapping<'a>(
    target: &Path,
    protected: &'a [(String, PathBuf)],
) -> Option<&'a (String, PathBuf)> {
    protected
        .iter()
        .find(|(_, location)| target.starts_with(location) || location.starts_with(target))
}

fn is_empty_dir(path: &Path) -> bool {
    std::fs::read_dir(path).is_ok_and(|mut entries| entries.next().is_none())
}

/// What the user needs beyond DataFusion's message: an unknown table lists the known ones.
fn hint(ctx: &SessionContext, e: &DataFusionError) -> String {
    let message = e.to_string();
    if message.contains("error sending request") || message.contains("operation timed out") {
        // object_store's HTTP client says the same for a refused connection and for no answer in time.
        return "; the endpoint could not be reached, or did not answer within the table's timeout_seconds \
                (30 by default; S3_TIMEOUT_SECONDS sets it for every table)"
            .into();
    }
    if message.contains("table '") && message.contains("not found") {
        let names = table_names(ctx);
        if names.is_empty() {
            return "; no tables are registered".into();
        }
        return format!("; registered tables: {}", names.join(", "));
    }
    String::new()
}

/// The names of the tables `ctx` knows (from files, catalogs, or created with SQL), sorted.
pub fn table_names(ctx: &SessionContext) -> Vec<String> {
    let mut names = Vec::new();
    for catalog_name in ctx.catalog_names() {
        let Some(catalog) = ctx.catalog(&catalog_name) else {
            continue;
        };
        for schema_name in catalog.schema_names() {
            if schema_name == "information_schema" {
                continue;
            }
            if let Some(schema) = catalog.schema(&schema_name) {
                names.extend(schema.table_names());
            }
        }
    }
    names.sort();
    names
}
