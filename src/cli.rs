//! The command line, as clap derive structs. Parsing only: `lib.rs` runs what was asked.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// SQL analytics for customer-service data: DataFusion plus the support KPIs (nps, csat, fcr_rate,
/// servqual_gap, backlog_at) over Parquet, CSV and JSON files.
#[derive(Debug, Parser)]
#[command(name = "cxsql", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub tables: TableArgs,

    /// Without a command, cxsql starts the interactive shell.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Where tables come from.
#[derive(Debug, Args)]
pub struct TableArgs {
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
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Write to this file instead of standard output (required for parquet).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Result formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// An aligned text table.
    Table,
    /// CSV with a header row.
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Apache Parquet (needs --output).
    Parquet,
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
    },

    /// List the registered tables.
    Tables,

    /// Show a table's columns and types.
    Schema {
        /// The table name.
        table: String,
    },

    /// Run a set of saved queries into one folder: a result file per query, manifest.json and index.html
    /// (charts and tables). Exits 1 if any query failed; the others still run.
    Report(ReportArgs),

    /// Write deterministic synthetic tickets, surveys and SERVQUAL responses in the canonical schema.
    Gen(GenArgs),
}

/// What `cxsql report` runs and where it writes.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// A folder of saved queries, run in name order.
    #[arg(
        long,
        value_name = "DIR",
        conflicts_with = "report",
        default_value = "queries"
    )]
    pub queries: PathBuf,
    /// A report manifest: title, shared params, and [[query]] entries (file, title, params).
    #[arg(long, value_name = "FILE.toml")]
    pub report: Option<PathBuf>,
    /// The folder to write; it appears only when complete.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Format of the result files.
    #[arg(long, value_enum, default_value_t = ReportFormat::Parquet)]
    pub format: ReportFormat,
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
}

/// What `cxsql gen` writes.
#[derive(Debug, Clone, Args)]
pub struct GenArgs {
    /// The folder to write tickets, surveys and servqual into (created if needed).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Number of tickets.
    #[arg(long, default_value_t = 20_000)]
    pub tickets: u64,
    /// Random seed: the same seed gives the same files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// File format.
    #[arg(long, value_enum, default_value_t = GenFormat::Parquet)]
    pub format: GenFormat,
    /// Replace existing files.
    #[arg(long)]
    pub force: bool,
    /// Write tickets as a Hive-partitioned folder (tickets/year=Y/month=M/), and surveys and servqual as
    /// folders of one file per month, generated in parallel.
    #[arg(long)]
    pub partitioned: bool,
}

/// Formats of a report's result files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Parquet,
    Csv,
    Json,
}

/// Formats `cxsql gen` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GenFormat {
    Parquet,
    Csv,
}

#[cfg(test)]
mod tests {
    use super::*;

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
