//! The command line's clap derive structs and their conversion into the library's plain specs. The only
//! module besides `commands` that names flags.

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use cxsql::engine::cluster::ClusterUrl;
use cxsql::engine::table_functions::Library;
use cxsql::front::serve::LogFormat;
use cxsql::writer::Destination;
use cxsql::{
    Error, Input, OutputFormat, ParamValue, Params, Result, Session, SessionSpec, TableSource,
};

/// SQL analytics for customer-service data: DataFusion plus the support KPIs (nps, csat, fcr_rate,
/// servqual_gap, backlog_at) over Parquet, CSV and JSON files.
#[derive(Debug, Parser)]
#[command(name = "cxsql", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    /// Without a command, cxsql starts the interactive shell.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Where tables come from, and how queries run.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Folder whose NAME.parquet, NAME.csv, NAME.json (newline-delimited) files and NAME/ folders of such files
    /// become tables NAME. A missing default ./data is not an error.
    #[arg(long, global = true, value_name = "DIR")]
    pub data: Option<PathBuf>,

    /// A table from a file, a folder or a glob, e.g. --table tickets=exports/tickets-*.csv (repeatable).
    /// The format comes from the extension or the folder's files.
    #[arg(long = "table", global = true, value_name = "NAME=PATH")]
    pub tables: Vec<String>,

    /// A catalog of tables (location, format, options, partitions) and views; default ./cxsql.toml when
    /// present.
    #[arg(long, global = true, value_name = "FILE.toml")]
    pub catalog: Option<PathBuf>,

    /// Folder of saved queries: each is callable in SQL as a table function by its name, e.g.
    /// SELECT * FROM nps_by_channel('2024-01-01T00:00:00Z'), and `report` runs them all; default ./queries
    /// when present.
    #[arg(long, global = true, value_name = "DIR")]
    pub queries: Option<PathBuf>,

    /// Run the plans on a Ballista cluster, e.g. df://127.0.0.1:50050 (see `cxsql scheduler` and
    /// `cxsql executor`); results, messages and exit codes are those of a local run.
    #[arg(long, global = true, value_name = "df://HOST:PORT", value_parser = parse_cluster)]
    pub cluster: Option<ClusterUrl>,

    /// With --cluster: stop waiting for the cluster after this long, e.g. 30s, 10m (default: no limit).
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration, requires = "cluster")]
    pub cluster_timeout: Option<std::time::Duration>,

    /// Memory budget for query execution, e.g. 2G or 512M; large sorts and aggregations spill to disk
    /// instead of exceeding it.
    #[arg(long, global = true, value_name = "SIZE", value_parser = parse_size)]
    pub memory_limit: Option<usize>,

    /// Folder for spill files (default: the system's temporary folder).
    #[arg(long, global = true, value_name = "DIR")]
    pub temp_dir: Option<PathBuf>,

    /// Number of partitions queries run in parallel (default: the number of cores).
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,

    /// No statement writes files (COPY ... TO, INSERT). Reports always run so.
    #[arg(long, global = true)]
    pub read_only: bool,

    /// A script on standard input (cxsql < script.sql) stops at the first statement that fails; without it
    /// the others still run, and the exit code is 1 if any failed.
    #[arg(long, global = true)]
    pub bail: bool,
}

/// `2G`, `512M`, `64k`, `1.5GB` or a number of bytes.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim().to_ascii_uppercase();
    let t = t
        .strip_suffix("IB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(&t);
    let (number, unit) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&t[..i], &t[i..]),
        None => (t, ""),
    };
    let factor: f64 = match unit {
        "" => 1.0,
        "K" => 1024.0,
        "M" => 1024.0 * 1024.0,
        "G" => 1024.0 * 1024.0 * 1024.0,
        "T" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => {
            return Err(format!(
                "unknown unit in {text:?}; use K, M, G or T (e.g. 2G)"
            ));
        }
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a size; expected e.g. 2G, 512M or 1048576"))?;
    if !(value.is_finite() && value > 0.0) {
        return Err(format!("{text:?}: the size must be positive"));
    }
    Ok((value * factor) as usize)
}

/// How results are written.
#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_parser = formats(&OutputFormat::ALL), default_value = "table")]
    pub format: OutputFormat,

    /// Write to this file instead of standard output (required for parquet).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Overwrite the output file if it exists; also lets COPY ... TO replace an existing file.
    #[arg(long)]
    pub force: bool,
}

/// The formats a report's result files can have.
const REPORT_FORMATS: [OutputFormat; 4] = [
    OutputFormat::Parquet,
    OutputFormat::Csv,
    OutputFormat::Json,
    OutputFormat::Ndjson,
];

/// The formats `gen` writes (those read back as tables).
const GEN_FORMATS: [OutputFormat; 2] = [OutputFormat::Parquet, OutputFormat::Csv];

/// A `--format` value among `allowed`, by the writer's own names (as the shell's `\format` parses them).
fn formats(allowed: &[OutputFormat]) -> impl TypedValueParser<Value = OutputFormat> {
    let values: Vec<PossibleValue> = allowed
        .iter()
        .map(|f| PossibleValue::new(f.name()).help(f.description()))
        .collect();
    PossibleValuesParser::new(values).try_map(|name: String| name.parse::<OutputFormat>())
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run ad hoc SQL: one or more statements separated by `;`, from the argument, a file or standard input.
    Query {
        /// The SQL; read from --file or standard input when absent.
        sql: Option<String>,
        /// Read the SQL from this file.
        #[arg(long, short, value_name = "FILE", conflicts_with = "sql")]
        file: Option<PathBuf>,
        #[command(flatten)]
        output: OutputArgs,
    },

    /// Run a saved query (a .sql file with a documented header), binding its parameters.
    Run {
        /// The saved query, e.g. queries/nps_by_channel.sql.
        file: PathBuf,
        /// A parameter value, NAME=VALUE (repeatable); parsed to the type its header declares.
        #[arg(long = "param", short, value_name = "NAME=VALUE")]
        params: Vec<String>,
        #[command(flatten)]
        output: OutputArgs,
    },

    /// An interactive SQL shell (also what `cxsql` with no command starts): line editing, history, `;`-ended
    /// multi-line statements, tab completion, \d, \d NAME, \f, \timing, \format, \q.
    Shell,

    /// List the KPI functions, or show one's documentation.
    Functions {
        /// A function name.
        name: Option<String>,
        #[command(flatten)]
        output: OutputArgs,
    },

    /// List the tables: name, kind (file format, view or table) and location.
    Tables {
        #[command(flatten)]
        output: OutputArgs,
    },

    /// Show a table's columns: name, type and nullability.
    Schema {
        /// The table name.
        table: String,
        #[command(flatten)]
        output: OutputArgs,
    },

    /// Show how a CSV file is read: its encoding, delimiter, quote, header, each column's type and why, its
    /// first rows, and a catalog entry that pins that reading (paste it into cxsql.toml).
    Sniff {
        /// The CSV file (or folder of CSV files, or s3:// location).
        file: String,
    },

    /// Run a set of saved queries into one folder: a result file per query, manifest.json and index.html
    /// (charts and tables). Exits 1 if any query failed; the others still run.
    Report(ReportArgs),

    /// Write deterministic synthetic tickets, surveys, SERVQUAL responses, customers, agents and their pulse
    /// survey in the canonical schema.
    Gen(GenArgs),

    /// Serve the tables, KPI functions and saved queries to Arrow Flight SQL clients (ADBC drivers, Apache
    /// Superset and SQLAlchemy through flightsql-dbapi, notebooks) from one long-lived session, until SIGINT
    /// or SIGTERM.
    Serve(ServeArgs),

    /// Start a Ballista scheduler for `--cluster` clients: it plans their queries with cxsql's functions,
    /// calendars, tables and views, and hands the tasks to executors; until SIGINT or SIGTERM.
    Scheduler(SchedulerArgs),

    /// Start a Ballista executor that runs a scheduler's tasks with cxsql's functions; until SIGINT or
    /// SIGTERM.
    Executor(ExecutorArgs),
}

/// How `cxsql scheduler` listens.
#[derive(Debug, Clone, Args)]
pub struct SchedulerArgs {
    /// The address clients and executors reach it at (port 0: any free port, printed on start).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50050")]
    pub bind: std::net::SocketAddr,
    /// An executor silent for this long is taken as lost, and its tasks run again on the others.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
    pub executor_timeout: std::time::Duration,
}

/// How `cxsql executor` joins a cluster.
#[derive(Debug, Clone, Args)]
pub struct ExecutorArgs {
    /// The scheduler to register with, HOST:PORT or df://HOST:PORT.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_scheduler)]
    pub scheduler: ClusterUrl,
    /// Where other processes reach it: shuffle data on PORT, tasks on PORT + 1 (port 0: two free ports).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:0")]
    pub bind: std::net::SocketAddr,
    /// Tasks run at once (default: the number of cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: Option<u16>,
    /// Folder for shuffle files (default: a temporary folder, removed on exit).
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// How often it tells the scheduler it is alive.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5s")]
    pub heartbeat: std::time::Duration,
    /// Leave cxsql's functions out of the registry (for tests of what an executor without them does).
    #[arg(long, hide = true)]
    pub without_cxsql_functions: bool,
}

/// `df://HOST:PORT`.
fn parse_cluster(text: &str) -> Result<ClusterUrl, String> {
    text.parse()
}

/// `HOST:PORT` or `df://HOST:PORT`.
fn parse_scheduler(text: &str) -> Result<ClusterUrl, String> {
    if text.trim().starts_with("df://") {
        text.parse()
    } else {
        format!("df://{}", text.trim()).parse()
    }
}

/// How `cxsql serve` listens and shares the machine.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The address to listen on (port 0: any free port, printed on start).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50051")]
    pub listen: std::net::SocketAddr,
    /// A file holding the bearer token clients must send (`authorization: Bearer <token>`); the CXSQL_TOKEN
    /// environment variable is the other way to set it. Without a token the server listens on loopback
    /// addresses only.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// TLS certificate chain (PEM); with --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM); with --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Allow statements that create, change or write anything (DDL, INSERT, COPY ... TO, SET); refused by
    /// default.
    #[arg(long)]
    pub allow_writes: bool,
    /// Queries running at once; the others wait their turn (default: the number of cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub max_concurrent_queries: Option<u16>,
    /// Stop a query that runs longer than this, e.g. 30s, 5m, 1h (default: no limit).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub query_timeout: Option<std::time::Duration>,
    /// After SIGINT or SIGTERM, how long running queries may take to finish.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "10s")]
    pub grace: std::time::Duration,
    /// Read the tables' file listings again this often (new files in a lake), e.g. 5m; a client's `REFRESH`
    /// statement does it at once. Without it, listings are read once and kept.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub refresh: Option<std::time::Duration>,
    /// The per-query log line on standard error: text or json.
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = log_format())]
    pub log_format: LogFormat,
    /// Send text, binary and list columns in DataFusion's view layouts (Arrow Utf8View, BinaryView,
    /// ListView) instead of the plain Utf8, Binary and List most clients read.
    #[arg(long)]
    pub arrow_view_types: bool,
    /// The longest statement a client may send, e.g. 1M or 64K.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "1M")]
    pub max_statement_bytes: usize,
    /// How deep one expression may nest: each term of a chain such as `1 + 1 + ...` or `a AND b AND ...`,
    /// and each nested call, is one level. DataFusion's planning time grows faster than the depth (12,000
    /// terms: minutes), so deeper statements are refused before planning. A long IN list is not deep.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_expression_terms: u32,
}

/// `30s`, `5m`, `1h`, `250ms` or a number of seconds.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let (number, unit) = match t.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(at) => t.split_at(at),
        None => (t, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 30s, 5m, 1h)"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "s" | "" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("{text:?}: unknown unit {other:?} (ms, s, m or h)")),
    };
    std::time::Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))
}

/// What `cxsql report` runs and where it writes.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// A report manifest: title, shared params, and [[query]] entries (file, title, params).
    #[arg(long, value_name = "FILE.toml")]
    pub report: Option<PathBuf>,
    /// The folder to write; it appears only when complete.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Format of the result files.
    #[arg(long, value_parser = formats(&REPORT_FORMATS), default_value = "parquet")]
    pub format: OutputFormat,
    /// A parameter for every query that declares it, NAME=VALUE (repeatable).
    #[arg(long = "param", short, value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// The page title.
    #[arg(long)]
    pub title: Option<String>,
    /// Replace an existing --out folder.
    #[arg(long)]
    pub force: bool,
    /// Report progress even when standard error is not a terminal (one line per query).
    #[arg(long, conflicts_with = "quiet")]
    pub progress: bool,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
    /// Also run each query that has since/until for the preceding period of the same length, and show each
    /// KPI's change with its significance (overrides the manifest's [compare]).
    #[arg(long, value_name = "PERIOD", value_parser = ["previous"])]
    pub compare: Option<String>,
}

/// What `cxsql gen` writes.
#[derive(Debug, Clone, Args)]
pub struct GenArgs {
    /// The folder to write the tables into (created if needed): tickets, their history (ticket_events,
    /// messages), surveys, servqual, customers, agents, employee_pulse, and sla_policies.csv.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Number of tickets.
    #[arg(long, default_value_t = 20_000)]
    pub tickets: u64,
    /// Random seed: the same seed gives the same files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// File format.
    #[arg(long, value_parser = formats(&GEN_FORMATS), default_value = "parquet")]
    pub format: OutputFormat,
    /// Replace existing files.
    #[arg(long)]
    pub force: bool,
    /// Write tickets as a Hive-partitioned folder (tickets/year=Y/month=M/), surveys, servqual,
    /// employee_pulse, ticket_events and messages as folders of one file per month, customers in files of a million, generated in
    /// parallel.
    #[arg(long)]
    pub partitioned: bool,
}

impl GlobalArgs {
    /// The session these arguments describe: `--data` (default `./data` when present), each `--table`, then
    /// `--catalog` (default `./cxsql.toml` when present).
    pub fn session_spec(&self) -> Result<SessionSpec> {
        let tables = self
            .tables
            .iter()
            .map(|spec| match spec.split_once('=') {
                Some((name, path)) if !name.trim().is_empty() => {
                    Ok(TableSource::new(name.trim(), path.trim()))
                }
                _ => Err(Error::Usage(format!(
                    "--table {spec}: expected NAME=PATH (a file, a folder or a glob)"
                ))),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(SessionSpec {
            data: Some(match &self.data {
                Some(dir) => Input::Given(dir.clone()),
                None => Input::IfPresent(PathBuf::from("data")),
            }),
            tables,
            catalog: Some(match &self.catalog {
                Some(file) => Input::Given(file.clone()),
                None => Input::IfPresent(PathBuf::from("cxsql.toml")),
            }),
            queries: Some(self.queries_input()),
            memory_limit: self.memory_limit,
            threads: self.threads.map(usize::from),
            temp_dir: self.temp_dir.clone(),
            read_only: self.read_only,
            replace_files: false,
            refuse_changes: false,
            cluster: self.cluster.clone(),
        })
    }

    /// `--queries`, or `./queries` when present.
    fn queries_input(&self) -> Input {
        match &self.queries {
            Some(dir) => Input::Given(dir.clone()),
            None => Input::IfPresent(PathBuf::from("queries")),
        }
    }

    /// The folder `report` runs when it has no manifest: `--queries`, default `./queries`.
    pub fn queries_folder(&self) -> PathBuf {
        self.queries
            .clone()
            .unwrap_or_else(|| PathBuf::from("queries"))
    }

    /// The saved queries of `--queries` (none when the default folder is absent), without opening a
    /// session.
    pub fn library(&self) -> Result<Library> {
        match self.queries_input() {
            Input::Given(dir) => Library::load_folder(&dir),
            Input::IfPresent(dir) if dir.is_dir() => Library::load(&dir),
            Input::IfPresent(_) => Ok(Library::default()),
        }
    }

    pub async fn open(&self) -> Result<Session> {
        Session::open(&self.session_spec()?).await
    }

    /// A session whose `COPY ... TO` may replace files when `--force` was given.
    pub async fn open_writing(&self, output: &OutputArgs) -> Result<Session> {
        let mut spec = self.session_spec()?;
        spec.replace_files = output.force;
        Session::open(&spec).await
    }
}

impl OutputArgs {
    /// Where results go, checked before anything runs.
    pub fn destination(&self) -> Result<Destination> {
        match &self.output {
            Some(path) => Destination::file(path, self.format, self.force),
            None if !self.format.is_text() => Err(Error::Usage(format!(
                "--format {} needs --output FILE (it is not written to a terminal)",
                self.format
            ))),
            None => Destination::stdout(self.format),
        }
    }
}

/// `--param NAME=VALUE` arguments as text values; a name given twice is an error.
pub fn params(args: &[String]) -> Result<Params> {
    let mut params = Params::new();
    for arg in args {
        let Some((name, value)) = arg.split_once('=') else {
            return Err(Error::Usage(format!("--param {arg}: expected NAME=VALUE")));
        };
        let name = name.trim().to_string();
        if params.contains_key(&name) {
            return Err(Error::Usage(format!("--param {name} is given twice")));
        }
        params.insert(name, ParamValue::Text(value.to_string()));
    }
    Ok(params)
}

/// `--log-format`: the server's log line format, by name.
fn log_format() -> impl TypedValueParser<Value = LogFormat> {
    PossibleValuesParser::new(["text", "json"]).map(|name| match name.as_str() {
        "json" => LogFormat::Json,
        _ => LogFormat::Text,
    })
}

/// `cxsql serve`'s bearer token: the first line of `--token-file`, else `CXSQL_TOKEN`; `None` without either.
/// An empty token is an error (it would let every client in while looking like a protected server).
pub fn serve_token(args: &ServeArgs) -> Result<Option<String>> {
    let token = match (&args.token_file, std::env::var("CXSQL_TOKEN")) {
        (Some(file), _) => {
            let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
            Some(text.trim().to_string())
        }
        (None, Ok(token)) => Some(token.trim().to_string()),
        (None, Err(_)) => None,
    };
    if token.as_deref() == Some("") {
        return Err(Error::Usage(
            "serve: the token is empty (CXSQL_TOKEN or --token-file)".into(),
        ));
    }
    Ok(token)
}
