//! The session: a DataFusion context with the KPI functions, opened from a plain [`SessionSpec`] (data folder,
//! table sources, catalog, memory limit, threads, spill folder). Tables are DataFusion listing tables built
//! when a statement first uses them; SQL runs through the one execution path ([`crate::engine::exec`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::SchemaProvider as _;
use datafusion::datasource::TableType;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::engine::catalog::{Catalog, View};
use crate::engine::exec;
use crate::engine::params::Params;
use crate::engine::saved::SavedQuery;
use crate::engine::source::{self, FileFormat, TableSource, Unreadable};
use crate::engine::table_functions::Library;
use crate::engine::tables::LazySchema;
use crate::error::{Error, Result};
use crate::writer::ResultSink;

/// Levels of nesting a statement may have (parentheses, subqueries).
pub const MAX_NESTING: usize = 1000;

/// A file or folder a session reads: one that must exist, or a default used only when it is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Asked for: missing is an error.
    Given(PathBuf),
    /// A default (`./data`, `./cxsql.toml`): missing means none.
    IfPresent(PathBuf),
}

impl Input {
    /// The path, when it is to be read: a given one always, a default one when it exists (`is_there`).
    fn wanted(&self, is_there: impl Fn(&Path) -> bool) -> Option<&Path> {
        match self {
            Input::Given(path) => Some(path),
            Input::IfPresent(path) => is_there(path).then_some(path.as_path()),
        }
    }
}

/// What a session is opened from. Tables come from the data folder, then `tables`, then the catalog: a later
/// source replaces an earlier table of the same name (see [`compose`]).
#[derive(Debug, Clone, Default)]
pub struct SessionSpec {
    /// A folder whose NAME.parquet|csv|json files and NAME/ folders become tables NAME.
    pub data: Option<Input>,
    /// Tables from files, folders, globs or `s3://` locations.
    pub tables: Vec<TableSource>,
    /// A catalog file: tables with options, views and calendars.
    pub catalog: Option<Input>,
    /// A folder of saved queries, each callable as a table function by its name.
    pub queries: Option<Input>,
    /// Memory budget for execution, in bytes; sorts and aggregations spill to disk beyond it.
    pub memory_limit: Option<usize>,
    /// Partitions queries run in parallel (default: the number of cores).
    pub threads: Option<usize>,
    /// Folder for spill files (default: the system's temporary folder).
    pub temp_dir: Option<PathBuf>,
    /// No statement writes files (`COPY`, `INSERT`); reports run so.
    pub read_only: bool,
    /// `COPY ... TO` may replace an existing file or write into a non-empty folder.
    pub replace_files: bool,
    /// Statements that create, change or drop anything (DDL, DML, `COPY`, `SET`) are refused: a session
    /// shared by clients (`cxsql serve` without `--allow-writes`).
    pub refuse_changes: bool,
    /// Run plans on this Ballista cluster's scheduler instead of in this process.
    pub cluster: Option<crate::engine::cluster::ClusterUrl>,
}

impl SessionSpec {
    /// A session over the tables of a data folder.
    pub fn with_data(folder: impl Into<PathBuf>) -> Self {
        Self {
            data: Some(Input::Given(folder.into())),
            ..Self::default()
        }
    }
}

/// Everything a session registers, in the order it does: tables (one per name, the last source winning),
/// then calendars, then views.
#[derive(Debug, Default)]
pub struct Sources {
    pub tables: Vec<TableSource>,
    /// Entries of the data folder that cannot be tables: each fails only the statements that use it.
    pub unreadable: Vec<Unreadable>,
    /// The names of `tables` that come from the data folder.
    pub from_folder: Vec<String>,
    pub views: Vec<View>,
    pub calendars: Vec<(String, cxsql_udfs::Calendar)>,
    /// The catalog file the views come from, for messages.
    pub catalog: Option<PathBuf>,
}

/// Composes a spec's table sources: the data folder's tables, then `spec.tables`, then the catalog's; a later
/// one replaces an earlier table of the same name. The catalog's views and calendars come last.
pub async fn compose(spec: &SessionSpec) -> Result<Sources> {
    let mut sources = Sources::default();
    if let Some(folder) = spec.data.as_ref().and_then(|d| d.wanted(Path::is_dir)) {
        if !folder.is_dir() {
            return Err(Error::Usage(format!(
                "data folder {}: no such folder",
                folder.display()
            )));
        }
        let found = source::folder_tables(folder)?;
        sources.from_folder = found.tables.iter().map(|t| t.name.clone()).collect();
        sources.tables = found.tables;
        sources.unreadable = found.unreadable;
    }
    // A name given twice on the command line (or by the API) is a mistake, not an override.
    for (i, table) in spec.tables.iter().enumerate() {
        if let Some(first) = spec.tables[..i].iter().find(|t| t.name == table.name) {
            return Err(Error::Usage(format!(
                "two tables are named {}: {} and {}; give each table its own name",
                table.name, first.location, table.location
            )));
        }
    }
    let catalog = match spec.catalog.as_ref().and_then(|c| c.wanted(Path::is_file)) {
        Some(path) => Some(Catalog::load(path).await?),
        None => None,
    };
    let later = spec
        .tables
        .iter()
        .cloned()
        .chain(catalog.iter().flat_map(|c| c.tables.iter().cloned()));
    for table in later {
        sources.tables.retain(|t| t.name != table.name);
        sources.unreadable.retain(|u| u.name != table.name);
        sources.from_folder.retain(|n| n != &table.name);
        sources.tables.push(table);
    }
    if let Some(catalog) = catalog {
        sources.views = catalog.views;
        sources.calendars = catalog.calendars;
        sources.catalog = Some(catalog.path);
    }
    Ok(sources)
}

/// A table the session knows, as listings show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    pub name: String,
    /// `parquet`, `csv` or `json` for tables from files; `view` or `table` otherwise.
    pub kind: String,
    /// Where the files are (tables from files only).
    pub location: Option<String>,
}

/// A SQL session with the KPI functions and the spec's tables.
pub struct Session {
    ctx: SessionContext,
    /// What statements may write.
    read_only: bool,
    replace_files: bool,
    refuse_changes: bool,
    /// The folder spill files go to, removed with the session (and by a signal handler, registered).
    _spill: Option<(tempfile::TempDir, crate::guard::Temporary)>,
    /// The tables registered from files, with their format.
    files: Vec<(TableSource, FileFormat)>,
    /// The default schema, where file tables wait to be read until first used.
    lazy: Arc<LazySchema>,
    /// The saved queries callable as table functions.
    library: Library,
    /// What the SQL text of one call may be.
    limits: crate::engine::sql_text::Limits,
    /// The most memory one call's statements may hold (a server's share per query); `None`: the whole limit.
    query_share: Option<usize>,
}

impl Session {
    /// Opens a session: functions, then the composed tables, calendars and views.
    pub async fn open(spec: &SessionSpec) -> Result<Self> {
        // Nesting (parentheses, subqueries) the parser accepts; DataFusion's recursive passes grow their stack
        // on the heap, so the limit is about what is sensible, not what fits: 2,000 levels is an error.
        let mut config = SessionConfig::new()
            .with_information_schema(true)
            .set_usize("datafusion.sql_parser.recursion_limit", MAX_NESTING);
        if let Some(n) = spec.threads {
            config = config.with_target_partitions(n.max(1));
        }
        let mut runtime = RuntimeEnvBuilder::new();
        if let Some(bytes) = spec.memory_limit {
            // Shared fairly between the operators that can spill (sorts, aggregations). Each sort keeps a
            // reserve for merging its spill files (10 MB by default): under a small budget, a smaller one.
            runtime = runtime.with_memory_pool(Arc::new(FairSpillPool::new(bytes)));
            let options = config.options_mut();
            options.execution.sort_spill_reservation_bytes = options
                .execution
                .sort_spill_reservation_bytes
                .min(bytes / 16);
        }
        // Spill files go to a folder of this session's own, registered so that a signal removes it.
        let spill_parent = spec.temp_dir.clone().unwrap_or_else(std::env::temp_dir);
        if spec.temp_dir.is_some() {
            std::fs::create_dir_all(&spill_parent).map_err(|e| Error::io(&spill_parent, e))?;
        }
        let spill = tempfile::Builder::new()
            .prefix(".cxsql-spill-")
            .tempdir_in(&spill_parent)
            .map_err(|e| Error::io(&spill_parent, e))?;
        runtime = runtime.with_temp_file_path(spill.path());
        let registered = crate::guard::Temporary::register(spill.path());
        let runtime = runtime.build_arc().map_err(Error::from)?;
        // Two string keys grouped on their Parquet dictionary codes (not on a cluster: see group_codes);
        // CXSQL_GROUP_CODES=off leaves them to DataFusion, for comparisons.
        let group_codes = std::env::var_os("CXSQL_GROUP_CODES").is_none_or(|v| v != "off");
        let mut ctx = if spec.cluster.is_none() && group_codes {
            let codes = crate::engine::group_codes::GroupOnDictionaryCodes::new(
                runtime.cache_manager.get_file_metadata_cache(),
            );
            SessionContext::new_with_state(
                datafusion::execution::SessionStateBuilder::new()
                    .with_config(config)
                    .with_runtime_env(runtime)
                    .with_default_features()
                    .with_physical_optimizer_rule(Arc::new(codes))
                    .build(),
            )
        } else {
            SessionContext::new_with_config_rt(config, runtime)
        };
        cxsql_udfs::register_all(&ctx);
        ctx.register_udf(cxsql_udfs::UtcDateTrunc::udf());
        // What functions build is bounded by the memory limit (local plans only: executors have their own
        // registry).
        if spec.cluster.is_none() {
            crate::engine::bounded::register(&mut ctx)?;
        }
        // On a cluster, before anything holds the state: the lazy schema below refers to it.
        let ctx = match &spec.cluster {
            Some(url) => {
                SessionContext::new_with_state(crate::engine::cluster::connect(ctx.state(), url)?)
            }
            None => ctx,
        };
        let lazy = Arc::new(LazySchema::new(ctx.state_weak_ref()));
        let defaults = ctx.copied_config().options().catalog.clone();
        ctx.catalog(&defaults.default_catalog)
            .ok_or_else(|| Error::Internal("the session has no default catalog".into()))?
            .register_schema(&defaults.default_schema, Arc::clone(&lazy) as _)?;
        let mut session = Session {
            ctx,
            read_only: spec.read_only,
            replace_files: spec.replace_files,
            refuse_changes: false,
            _spill: Some((spill, registered)),
            files: Vec::new(),
            lazy,
            library: Library::default(),
            limits: crate::engine::sql_text::Limits::LOCAL,
            query_share: None,
        };
        // Saved queries before the views, which may call them.
        if let Some(folder) = spec.queries.as_ref().and_then(|q| q.wanted(Path::is_dir)) {
            session.library = Library::load_folder(folder)?;
        }
        // DataFusion's and our own table functions (`range`, `backlog_series`), before the saved queries join
        // them.
        let table_functions: Vec<String> = session
            .ctx
            .state()
            .table_functions()
            .keys()
            .cloned()
            .collect();
        session.library.register(&session.ctx);
        let sources = compose(spec).await?;
        for table in &sources.tables {
            match session.register_table(table) {
                Ok(()) => {}
                // An entry of the data folder that cannot be a table fails only the statements using it.
                Err(e) if sources.from_folder.contains(&table.name) => {
                    session
                        .lazy
                        .register_broken(&table.name, &table.location, &e.to_string());
                }
                Err(e) => return Err(e),
            }
        }
        for entry in &sources.unreadable {
            session
                .lazy
                .register_broken(&entry.name, &entry.location, &entry.reason);
        }
        let file = sources.catalog.unwrap_or_default();
        for (name, calendar) in sources.calendars {
            cxsql_udfs::register_calendar(&session.ctx, &name, calendar).map_err(|e| {
                Error::Usage(format!(
                    "{}: calendar {name}: {}",
                    file.display(),
                    cxsql_udfs::calendar::message(&e)
                ))
            })?;
        }
        // Views last: they may read the tables above, and the views before them.
        for view in &sources.views {
            let sql = format!(
                "CREATE OR REPLACE VIEW \"{}\" AS {}",
                view.name.replace('"', "\"\""),
                view.sql
            );
            session
                .execute(&sql, &Params::new(), &mut crate::writer::Collect::default())
                .await
                .map_err(|e| e.within(&format!("{}: view {}: ", file.display(), view.name)))?;
        }
        session.check_saved_names(&table_functions).await?;
        // The catalog's views are in place: from here on, what the spec refuses is refused.
        session.refuse_changes = spec.refuse_changes;
        Ok(session)
    }

    /// A saved query named like a table, a view or a function would make SQL ambiguous: an error naming
    /// both.
    async fn check_saved_names(&self, table_functions: &[String]) -> Result<()> {
        if self.library.names().next().is_none() {
            return Ok(());
        }
        let tables = self.tables().await;
        let state = self.ctx.state();
        for name in self.library.names() {
            let file = self
                .library
                .file(name)
                .map(|f| f.display().to_string())
                .unwrap_or_default();
            let other = if let Some(table) = tables.iter().find(|t| t.name == name) {
                match &table.location {
                    Some(location) => format!("table {name} ({location})"),
                    None => format!("{} {name}", table.kind),
                }
            } else if state.scalar_functions().contains_key(name) {
                format!("function {name}()")
            } else if state.aggregate_functions().contains_key(name) {
                format!("aggregate function {name}()")
            } else if state.window_functions().contains_key(name) {
                format!("window function {name}()")
            } else if table_functions.iter().any(|f| f == name) {
                format!("table function {name}()")
            } else {
                continue;
            };
            return Err(Error::Usage(format!(
                "saved query {name} ({file}) has the name of {other}; rename the query (its `-- name:`) or \
                 the other"
            )));
        }
        Ok(())
    }

    /// Forgets the file listings the session keeps (DataFusion's list-files cache), so that the next query of
    /// a table sees the files added to or removed from its folders since. Parquet footers stay cached: each
    /// is checked against its file's size and modification time before use.
    pub fn refresh(&self) {
        if let Some(listings) = self.ctx.runtime_env().cache_manager.get_list_files_cache() {
            listings.clear();
        }
    }

    /// Sets what the SQL text of one call may be (a server's `--max-statement-bytes`,
    /// `--max-expression-terms`).
    pub fn set_limits(&mut self, limits: crate::engine::sql_text::Limits) {
        self.limits = limits;
    }

    /// Gives each call of [`Self::execute`] at most `bytes` of the memory limit (see `query_pool`); a server
    /// gives each query the limit divided by the queries it runs at once.
    pub fn set_query_share(&mut self, bytes: usize) {
        self.query_share = Some(bytes);
    }

    /// Whether statements that create, change or write anything are refused.
    pub fn refuses_changes(&self) -> bool {
        self.refuse_changes
    }

    /// The names of the catalog and schema unqualified tables live in (`datafusion`, `public`).
    pub fn default_schema(&self) -> (String, String) {
        let options = self.ctx.copied_config().options().catalog.clone();
        (options.default_catalog, options.default_schema)
    }

    /// The saved queries statements may call as table functions.
    pub fn library(&self) -> &Library {
        &self.library
    }

    /// The DataFusion context, for what this API does not cover (DataFrames, registering more functions).
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Registers (or replaces) a table read from files; its files are read when a statement first uses it.
    pub fn register_table(&mut self, table: &TableSource) -> Result<()> {
        let (recipe, format) = source::recipe(&self.ctx, table)?;
        self.lazy.register_recipe(&table.name, recipe);
        self.files.retain(|(t, _)| t.name != table.name);
        self.files.push((table.clone(), format));
        Ok(())
    }

    /// The names of the tables the session knows (from files, catalogs, or created with SQL), sorted.
    pub fn table_names(&self) -> Vec<String> {
        exec::table_names(&self.ctx)
    }

    /// Every table with its kind and location, sorted by name. Reads no file.
    pub async fn tables(&self) -> Vec<TableInfo> {
        let mut tables = Vec::new();
        for name in self.table_names() {
            let info = match self.files.iter().find(|(t, _)| t.name == name) {
                Some((table, format)) => TableInfo {
                    name,
                    kind: format.name().to_string(),
                    location: Some(table.location.clone()),
                },
                None if self.lazy.broken(&name).is_some() => TableInfo {
                    location: self.lazy.broken_location(&name),
                    name,
                    kind: "unreadable".to_string(),
                },
                None => {
                    let kind = match self.lazy.table_type(&name).await {
                        Ok(Some(TableType::View)) => "view",
                        _ => "table",
                    };
                    TableInfo {
                        name,
                        kind: kind.to_string(),
                        location: None,
                    }
                }
            };
            tables.push(info);
        }
        tables
    }

    /// A table's schema (this reads the table's files the first time). An unknown name lists the known ones.
    pub async fn schema(&self, table: &str) -> Result<SchemaRef> {
        let provider = crate::guard::catch(&format!("table {table}"), async {
            Ok(self.ctx.table_provider(table).await)
        })
        .await?;
        match provider {
            Ok(provider) => Ok(provider.schema()),
            Err(e) => {
                let names = self.table_names();
                if names.iter().any(|n| n == table) {
                    // It is there but cannot be read.
                    return Err(e.into());
                }
                let names = names.join(", ");
                Err(Error::Usage(format!(
                    "{}; registered tables: {}",
                    e.strip_backtrace(),
                    if names.is_empty() { "none" } else { &names }
                )))
            }
        }
    }

    /// What sniffing found in CSV table `table` (read now if it was not yet).
    pub async fn sniff(&self, table: &str) -> Result<cxsql_csv::SniffReport> {
        self.schema(table).await?;
        self.lazy.sniffed(table).ok_or_else(|| {
            Error::Usage(format!(
                "{table}: not a CSV table read from files; cxsql sniff reads CSV files"
            ))
        })
    }

    /// Runs SQL (one or more statements separated by `;`), `$name` placeholders bound from `params` (typed or
    /// text values, taken as given), writing every result that has columns to `sink`. Returns the rows
    /// written.
    pub async fn execute(
        &self,
        sql: &str,
        params: &Params,
        sink: &mut dyn ResultSink,
    ) -> Result<u64> {
        let bound: exec::Bound = params
            .iter()
            .map(|(name, value)| (name.clone(), value.to_scalar()))
            .collect();
        exec::run(&self.ctx, sql, &bound, &self.scope(), sink).await
    }

    /// What statements may write (nothing over the files of the tables registered when a statement runs)
    /// and the saved queries they may call.
    fn scope(&self) -> exec::Scope<'_> {
        exec::Scope {
            read_only: self.read_only,
            replace: self.replace_files,
            tables: &self.lazy,
            library: &self.library,
            refuse_changes: self.refuse_changes,
            limits: self.limits,
            query_share: self.query_share,
        }
    }

    /// What `sql` (one statement) would return, without running it: the result's schema and the types of its
    /// `$name` / `$1` parameters (`None` where the statement does not tell). The statement is checked as
    /// [`Self::execute`] checks it (what it may write or change).
    pub async fn describe(&self, sql: &str) -> Result<exec::Described> {
        exec::describe(&self.ctx, sql, &self.scope()).await
    }

    /// Runs a saved query with `params` converted to the types its header declares (defaults for the rest),
    /// writing its results to `sink`. Errors name the query's file.
    pub async fn run_saved(
        &self,
        query: &SavedQuery,
        params: &Params,
        sink: &mut dyn ResultSink,
    ) -> Result<u64> {
        let bound = query.bind(&self.ctx.state(), params).await?;
        let file = query.path.display().to_string();
        exec::run(&self.ctx, &query.body, &bound, &self.scope(), sink)
            .await
            .map_err(|e| e.within(&format!("{file}: ")))
    }
}
