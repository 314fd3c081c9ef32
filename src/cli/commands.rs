//! One function per command: each turns its arguments into the library's plain specs and calls the library.

use std::path::{Path, PathBuf};

use cxsql::engine::saved;
use cxsql::front::listings::{self, Listing};
use cxsql::front::report::{self, Compare, Progress, Queries, ReportOptions};
use cxsql::front::serve::{self, ServeOptions};
use cxsql::front::{executor, scheduler, shell};
use cxsql::generate::{self, GenOptions};
use cxsql::writer::Destination;
use cxsql::{Error, Limits, OutputFormat, Params, Result, SavedQuery, Session, TableSource};

use crate::cli::args::{
    ExecutorArgs, GenArgs, GlobalArgs, OutputArgs, ReportArgs, SchedulerArgs, ServeArgs, params,
    serve_token,
};
use crate::cli::runtime::runtime;

/// `cxsql` without a command: the interactive shell.
pub async fn shell(global: &GlobalArgs) -> Result<()> {
    shell::run(&global.open().await?, global.bail).await
}

/// `cxsql gen`: the synthetic population's tables.
pub fn generate(args: GenArgs) -> Result<()> {
    generate::generate(&GenOptions {
        out: args.out,
        tickets: args.tickets,
        seed: args.seed,
        format: args.format,
        replace: args.force,
        partitioned: args.partitioned,
    })
}

/// `cxsql functions [NAME]`.
pub async fn functions(global: &GlobalArgs, name: Option<&str>, output: &OutputArgs) -> Result<()> {
    let mut out = output.destination()?;
    listings::functions(name, &global.library()?)?
        .write_to(&mut out)
        .await?;
    out.finish()
}

/// `cxsql tables`.
pub async fn tables(global: &GlobalArgs, output: &OutputArgs) -> Result<()> {
    let mut out = output.destination()?;
    let session = global.open().await?;
    listings::tables(&session).await?.write_to(&mut out).await?;
    out.finish()
}

/// `cxsql schema TABLE`.
pub async fn schema(global: &GlobalArgs, table: &str, output: &OutputArgs) -> Result<()> {
    let mut out = output.destination()?;
    let session = global.open().await?;
    let listing: Listing = listings::schema(&session, table).await?;
    listing.write_to(&mut out).await?;
    out.finish()
}

/// `cxsql sniff FILE`: how cxsql reads one file, its first rows, and the catalog entry that pins the reading.
pub async fn sniff(global: &GlobalArgs, file: &str) -> Result<()> {
    // Only this file: no data folder, no catalog.
    let source = TableSource::for_file(file);
    let name = source.name.clone();
    let mut spec = global.session_spec()?;
    spec.data = None;
    spec.catalog = None;
    spec.read_only = true;
    spec.tables = vec![source];
    let session = Session::open(&spec).await?;
    let sniffed = listings::sniff(&session, &name).await?;
    let mut out = Destination::stdout(OutputFormat::Table)?;
    out.write_text(&sniffed.summary)?;
    out.write_text("\ncolumns\n")?;
    sniffed.columns.write_to(&mut out).await?;
    out.write_text("\nfirst rows\n")?;
    session
        .execute(
            &format!("SELECT * FROM \"{name}\" LIMIT 5"),
            &Params::new(),
            &mut out,
        )
        .await?;
    out.write_text(&format!(
        "\ncatalog entry (pins this reading)\n{}",
        sniffed.catalog_entry
    ))?;
    out.finish()
}

/// `cxsql report`: a folder of results, a manifest and a page.
pub async fn report(global: &GlobalArgs, args: ReportArgs) -> Result<()> {
    let options = ReportOptions {
        queries: match args.report {
            Some(file) => Queries::Manifest(file),
            None => Queries::Folder(global.queries_folder()),
        },
        out: args.out,
        format: args.format,
        params: params(&args.params)?,
        title: args.title,
        replace: args.force,
        progress: match (args.progress, args.quiet) {
            (_, true) => Progress::Quiet,
            (true, false) => Progress::Always,
            (false, false) => Progress::Auto,
        },
        compare: args.compare.as_deref().map(|_| Compare::Previous),
    };
    // Reports read: no statement of a report writes files.
    let mut spec = global.session_spec()?;
    spec.read_only = true;
    let session = Session::open(&spec).await?;
    if report::run(&session, &options).await? {
        Ok(())
    } else {
        Err(Error::QueriesFailed(format!(
            "some queries of the report failed; see {}/manifest.json",
            options.out.display()
        )))
    }
}

/// `cxsql serve`: the Flight SQL server.
pub async fn serve(global: &GlobalArgs, args: ServeArgs) -> Result<()> {
    let token = serve_token(&args)?;
    let mut spec = global.session_spec()?;
    spec.read_only = !args.allow_writes;
    spec.refuse_changes = !args.allow_writes;
    // A server shared by clients always has a memory budget: it bounds what any one query may build (see
    // the engine's `bounded`).
    if spec.memory_limit.is_none() {
        spec.memory_limit = Some(serve::default_memory_limit());
    }
    let mut session = Session::open(&spec).await?;
    session.set_limits(Limits {
        bytes: args.max_statement_bytes,
        expression_terms: Some(args.max_expression_terms as usize),
        literal_bytes: spec.memory_limit.map(|bytes| bytes / 8192),
        server: true,
    });
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let max_concurrent = args.max_concurrent_queries.map_or(cores, usize::from);
    if let Some(limit) = spec.memory_limit {
        session.set_query_share(limit / max_concurrent.max(1));
    }
    serve::serve(
        session,
        ServeOptions {
            listen: args.listen,
            token,
            tls: args.tls_cert.zip(args.tls_key),
            max_concurrent,
            query_timeout: args.query_timeout,
            grace: args.grace,
            refresh: args.refresh,
            log: args.log_format,
            view_types: args.arrow_view_types,
        },
        // The same threads, stacks and blocking pool as the main runtime.
        runtime(global.threads)
            .map_err(|e| Error::Internal(format!("cannot start the query runtime: {e}")))?,
    )
    .await
}

/// `cxsql scheduler`: a Ballista scheduler with cxsql's functions.
pub async fn scheduler(global: &GlobalArgs, args: SchedulerArgs) -> Result<()> {
    let session = global.open().await?;
    scheduler::run(
        session,
        scheduler::SchedulerOptions {
            bind: args.bind,
            executor_timeout: args.executor_timeout,
        },
    )
    .await
}

/// `cxsql executor`: a Ballista executor with cxsql's functions.
pub async fn executor(global: &GlobalArgs, args: ExecutorArgs) -> Result<()> {
    let session = global.open().await?;
    executor::run(
        session,
        executor::ExecutorOptions {
            scheduler: args.scheduler,
            bind: args.bind,
            concurrency: args.concurrency.map(usize::from),
            work_dir: args.work_dir,
            memory_limit: global.memory_limit,
            heartbeat_seconds: args.heartbeat.as_secs().max(1),
            without_cxsql_functions: args.without_cxsql_functions,
        },
    )
    .await
}

/// `cxsql query`: SQL from the argument, a file or standard input.
pub async fn query(
    global: &GlobalArgs,
    sql: Option<String>,
    file: Option<PathBuf>,
    output: &OutputArgs,
) -> Result<()> {
    let sql = match (sql, file) {
        (Some(sql), _) => sql,
        (None, Some(path)) => saved::read_sql_file(&path)?,
        (None, None) => read_stdin()?,
    };
    let mut out = output.destination()?;
    let session = global.open_writing(output).await?;
    session.execute(&sql, &Params::new(), &mut out).await?;
    out.finish()
}

/// `cxsql run FILE --param NAME=VALUE`: a saved query with its parameters.
pub async fn run_saved(
    global: &GlobalArgs,
    file: &Path,
    given: &[String],
    output: &OutputArgs,
) -> Result<()> {
    let query = SavedQuery::load(file)?;
    let given = params(given)?;
    let mut out = output.destination()?;
    let session = global.open_writing(output).await?;
    session.run_saved(&query, &given, &mut out).await?;
    out.finish()
}

fn read_stdin() -> Result<String> {
    let sql = saved::read_sql(std::io::stdin().lock(), "<stdin>")?;
    if sql.trim().is_empty() {
        return Err(Error::Usage(
            "no SQL given: pass it as an argument, with --file, or on standard input".into(),
        ));
    }
    Ok(sql)
}
