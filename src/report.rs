//! `cxsql report`: runs a set of saved queries and writes, into one folder, a result file per query, a
//! `manifest.json` and a self-contained `index.html` with a chart and a table per query.
//!
//! The folder appears whole or not at all: everything is written into a temporary folder beside it, which is
//! renamed at the end. A failing query is recorded (manifest and page) and the others still run.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::chart::{chart, escape};
use crate::cli::{Format, ReportFormat};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::exec;
use crate::format::write_stream;
use crate::saved::SavedQuery;

/// Rows shown in a query's table on the page (the result file has them all).
const PAGE_ROWS: usize = 200;

/// A report manifest (`--report FILE.toml`).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ReportSpec {
    /// The page title.
    pub title: Option<String>,
    /// Parameters shared by every query that declares them.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// The queries, in page order.
    #[serde(default, rename = "query")]
    pub queries: Vec<QuerySpec>,
}

/// One query of a report manifest.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuerySpec {
    /// The saved query, relative to the manifest's folder.
    pub file: PathBuf,
    /// The section title (default: the query's name).
    pub title: Option<String>,
    /// Parameters for this query only.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

/// What `cxsql report` was asked: the command line's arguments.
pub use crate::cli::ReportArgs as ReportOptions;

/// One query's entry in `manifest.json`.
#[derive(Debug, Serialize)]
struct Entry {
    name: String,
    title: String,
    description: String,
    query: String,
    file: Option<String>,
    parameters: BTreeMap<String, String>,
    rows: u64,
    duration_ms: u128,
    status: &'static str,
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct Manifest {
    title: String,
    generated_at: String,
    period: String,
    format: &'static str,
    queries: Vec<Entry>,
}

/// Runs the report. Returns whether every query succeeded (the caller exits 1 otherwise).
pub async fn run(engine: &Engine, options: &ReportOptions) -> Result<bool> {
    let (spec, base) = load_spec(options)?;
    if options.out.exists() && !options.force {
        return Err(Error::Usage(format!(
            "{}: the folder exists; use --force to replace it",
            options.out.display()
        )));
    }
    let shared = shared_params(&spec, &options.params)?;
    let loaded: Vec<(QuerySpec, Result<SavedQuery>)> = spec
        .queries
        .into_iter()
        .map(|q| {
            let path = base.join(&q.file);
            let saved = SavedQuery::load(&path);
            (q, saved)
        })
        .collect();
    let declared_anywhere = |name: &str| {
        loaded.iter().any(|(_, q)| {
            q.as_ref()
                .is_ok_and(|q| q.params.iter().any(|p| p.name == name))
        })
    };
    if let Some(unused) = shared.keys().find(|k| !declared_anywhere(k)) {
        return Err(Error::Usage(format!(
            "parameter {unused} is declared by none of the report's queries"
        )));
    }

    let parent = match options.out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
    let temp = tempfile::Builder::new()
        .prefix(".cxsql-report-")
        .tempdir_in(&parent)
        .map_err(|e| Error::io(&parent, e))?;

    let total = loaded.len();
    let bar = progress_bar(options, total);
    // --progress on something that is not a terminal: one plain line per query instead of a bar.
    let lines = options.progress && !options.quiet && bar.is_hidden();
    let started = Instant::now();
    let mut entries = Vec::new();
    let mut sections = Vec::new();
    for (i, (spec_q, saved)) in loaded.into_iter().enumerate() {
        let label = spec_q.file.display().to_string();
        bar.set_message(label.clone());
        let t0 = Instant::now();
        let outcome = match saved {
            Ok(q) => run_one(engine, &q, &spec_q, &shared, temp.path(), options.format).await,
            Err(e) => Err((e, BTreeMap::new())),
        };
        let duration = t0.elapsed();
        let (entry, section) = describe(&spec_q, outcome, duration, &base);
        if lines {
            eprintln!(
                "[{}/{total}] {label}: {} ({:.2} s)",
                i + 1,
                entry.status,
                duration.as_secs_f64()
            );
        }
        bar.inc(1);
        entries.push(entry);
        sections.push(section);
    }
    bar.finish_and_clear();

    let title = options
        .title
        .clone()
        .or(spec.title)
        .unwrap_or_else(|| "Customer-service KPI report".to_string());
    let period = period(&shared);
    let manifest = Manifest {
        title: title.clone(),
        generated_at: now_utc(),
        period: period.clone(),
        format: options.format.extension(),
        queries: entries,
    };
    let ok = manifest.queries.iter().all(|e| e.status == "ok");
    let json = serde_json::to_string_pretty(&manifest)
        .map_err(|e| Error::Usage(format!("manifest: {e}")))?;
    write_file(&temp.path().join("manifest.json"), json.as_bytes())?;
    let html = page(&manifest, &sections, started.elapsed());
    write_file(&temp.path().join("index.html"), html.as_bytes())?;
    publish(temp, &options.out)?;
    Ok(ok)
}

/// The queries: from a manifest, or every `.sql` file of a folder in name order.
fn load_spec(options: &ReportOptions) -> Result<(ReportSpec, PathBuf)> {
    match (&options.report, &options.queries) {
        (Some(file), _) => {
            let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
            let spec: ReportSpec = toml::from_str(&text)
                .map_err(|e| Error::Usage(format!("{}: {e}", file.display())))?;
            if spec.queries.is_empty() {
                return Err(Error::Usage(format!(
                    "{}: no [[query]] entries",
                    file.display()
                )));
            }
            let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
            Ok((spec, base))
        }
        (None, dir) => {
            let files = SavedQuery::files_in(dir)?;
            if files.is_empty() {
                return Err(Error::Usage(format!("{}: no .sql files", dir.display())));
            }
            let queries = files
                .into_iter()
                .map(|file| QuerySpec {
                    file,
                    title: None,
                    params: BTreeMap::new(),
                })
                .collect();
            Ok((
                ReportSpec {
                    queries,
                    ..ReportSpec::default()
                },
                PathBuf::new(),
            ))
        }
    }
}

/// The manifest's shared parameters, overridden by the command line's.
fn shared_params(spec: &ReportSpec, args: &[String]) -> Result<BTreeMap<String, String>> {
    let mut shared = spec.params.clone();
    for arg in args {
        let Some((name, value)) = arg.split_once('=') else {
            return Err(Error::Usage(format!("--param {arg}: expected NAME=VALUE")));
        };
        shared.insert(name.trim().to_string(), value.to_string());
    }
    Ok(shared)
}

type Outcome = std::result::Result<
    (
        SavedQuery,
        RecordBatch,
        String,
        u64,
        BTreeMap<String, String>,
    ),
    (Error, BTreeMap<String, String>),
>;

async fn run_one(
    engine: &Engine,
    query: &SavedQuery,
    spec: &QuerySpec,
    shared: &BTreeMap<String, String>,
    dir: &Path,
    format: ReportFormat,
) -> Outcome {
    // Shared parameters apply where declared; the query's own win.
    let mut params: BTreeMap<String, String> = shared
        .iter()
        .filter(|(k, _)| query.params.iter().any(|p| &p.name == *k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    params.extend(spec.params.clone());
    let args: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let fail = |e: Error| (e, params.clone());
    let values = query.bind(engine, &args).await.map_err(&fail)?;
    // Defaults are shown in the manifest too.
    let mut shown = params.clone();
    for p in &query.params {
        if let (false, Some(d)) = (shown.contains_key(&p.name), &p.default) {
            shown.insert(p.name.clone(), d.clone());
        }
    }
    let batch = exec::collect_last(engine, &query.body, &values)
        .await
        .map_err(&fail)?;
    let file_name = format!("{}.{}", query.name, format.extension());
    let path = dir.join(&file_name);
    let mut file = std::fs::File::create(&path).map_err(|e| fail(Error::io(&path, e)))?;
    let stream = RecordBatchStreamAdapter::new(
        batch.schema(),
        futures::stream::iter(vec![Ok(batch.clone())]),
    );
    let rows = write_stream(Box::pin(stream), format.into(), &mut file, false)
        .await
        .map_err(&fail)?;
    file.flush().map_err(|e| fail(Error::io(&path, e)))?;
    Ok((query.clone(), batch, file_name, rows, shown))
}

/// The manifest entry and the page section of one query.
fn describe(
    spec: &QuerySpec,
    outcome: Outcome,
    duration: Duration,
    base: &Path,
) -> (Entry, String) {
    let query_path = base.join(&spec.file).display().to_string();
    match outcome {
        Ok((q, batch, file, rows, params)) => {
            let title = spec.title.clone().unwrap_or_else(|| humanize(&q.name));
            let mut section = format!(
                "<section id=\"{}\"><h2>{}</h2><p class=\"description\">{}</p>",
                escape(&q.name),
                escape(&title),
                escape(&q.description)
            );
            section.push_str(&params_line(&params));
            match chart(&batch) {
                Some(svg) => section.push_str(&format!("<figure>{svg}</figure>")),
                None => section.push_str("<p class=\"note\">No chart for this result's shape.</p>"),
            }
            section.push_str(&html_table(&batch));
            section.push_str(&format!(
                "<p class=\"note\">{rows} row{} · <a href=\"{}\">{}</a> · {:.2} s</p></section>",
                if rows == 1 { "" } else { "s" },
                escape(&file),
                escape(&file),
                duration.as_secs_f64()
            ));
            let entry = Entry {
                name: q.name.clone(),
                title,
                description: q.description.clone(),
                query: query_path,
                file: Some(file),
                parameters: params,
                rows,
                duration_ms: duration.as_millis(),
                status: "ok",
                error: None,
            };
            (entry, section)
        }
        Err((error, params)) => {
            let name = spec
                .file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let title = spec.title.clone().unwrap_or_else(|| humanize(&name));
            let message = error.to_string();
            let section = format!(
                "<section id=\"{}\" class=\"failed\"><h2>{}</h2><p class=\"error\">This query failed: {}</p></section>",
                escape(&name),
                escape(&title),
                escape(&message)
            );
            let entry = Entry {
                name,
                title,
                description: String::new(),
                query: query_path,
                file: None,
                parameters: params,
                rows: 0,
                duration_ms: duration.as_millis(),
                status: "failed",
                error: Some(message),
            };
            (entry, section)
        }
    }
}

/// `nps_by_channel` → `NPS by channel`.
fn humanize(name: &str) -> String {
    let words: Vec<String> = name
        .split('_')
        .filter(|w| !w.is_empty())
        .map(|w| match w {
            "nps" | "csat" | "fcr" | "sla" | "servqual" | "kpi" => w.to_uppercase(),
            _ => w.to_string(),
        })
        .collect();
    let text = words.join(" ");
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => text,
    }
}

fn params_line(params: &BTreeMap<String, String>) -> String {
    if params.is_empty() {
        return String::new();
    }
    let list: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("<code>{}</code> = {}", escape(k), escape(v)))
        .collect();
    format!("<p class=\"params\">Parameters: {}</p>", list.join(", "))
}

fn html_table(batch: &RecordBatch) -> String {
    let schema = batch.schema();
    let mut html = String::from("<div class=\"table\"><table><thead><tr>");
    for f in schema.fields() {
        html.push_str(&format!("<th>{}</th>", escape(f.name())));
    }
    html.push_str("</tr></thead><tbody>");
    let options = FormatOptions::default().with_null("NULL");
    let formatters: Vec<Option<ArrayFormatter>> = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).ok())
        .collect();
    let float: Vec<bool> = schema
        .fields()
        .iter()
        .map(|f| f.data_type().is_floating())
        .collect();
    let numeric: Vec<bool> = schema
        .fields()
        .iter()
        .map(|f| f.data_type().is_numeric())
        .collect();
    for row in 0..batch.num_rows().min(PAGE_ROWS) {
        html.push_str("<tr>");
        for (col, f) in formatters.iter().enumerate() {
            let text = f
                .as_ref()
                .map(|f| f.value(row).to_string())
                .unwrap_or_default();
            let text = match (float[col], text.parse::<f64>()) {
                (true, Ok(v)) => format!("{v:.2}"),
                _ => text,
            };
            let class = if numeric[col] { " class=\"num\"" } else { "" };
            html.push_str(&format!("<td{class}>{}</td>", escape(&text)));
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table></div>");
    if batch.num_rows() > PAGE_ROWS {
        html.push_str(&format!(
            "<p class=\"note\">First {PAGE_ROWS} of {} rows; the result file has them all.</p>",
            batch.num_rows()
        ));
    }
    html
}

fn page(manifest: &Manifest, sections: &[String], elapsed: Duration) -> String {
    let failed = manifest.queries.iter().filter(|e| e.status != "ok").count();
    let toc: Vec<String> = manifest
        .queries
        .iter()
        .map(|e| {
            let mark = if e.status == "ok" { "" } else { " (failed)" };
            format!(
                "<li><a href=\"#{}\">{}</a>{mark}</li>",
                escape(&e.name),
                escape(&e.title)
            )
        })
        .collect();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{CSS}</style></head><body><main>\
         <header><h1>{title}</h1><p class=\"period\">Period: {period}</p>\
         <p class=\"note\">Generated {generated} by cxsql · {n} queries · {failed_text} · {secs:.1} s</p></header>\
         <nav><ol>{toc}</ol></nav>{body}</main></body></html>\n",
        title = escape(&manifest.title),
        period = escape(&manifest.period),
        generated = escape(&manifest.generated_at),
        n = manifest.queries.len(),
        failed_text = if failed == 0 {
            "all succeeded".to_string()
        } else {
            format!("{failed} failed")
        },
        secs = elapsed.as_secs_f64(),
        toc = toc.join(""),
        body = sections.join("\n"),
    )
}

const CSS: &str = "body{margin:0;background:#f6f7f9;color:#1d2330;font:15px/1.5 system-ui,-apple-system,\
Segoe UI,Roboto,sans-serif}main{max-width:960px;margin:0 auto;padding:24px}header{border-bottom:3px solid #1f77b4;\
margin-bottom:16px}h1{margin:0 0 4px;font-size:28px}h2{margin:0 0 4px;font-size:20px}section{background:#fff;\
border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:16px 20px;margin:20px 0}.period{font-size:17px;\
margin:0}.note,.params{color:#5b6475;font-size:13px}.description{margin:4px 0 8px}figure{margin:8px 0}\
.table{max-height:420px;overflow:auto}table{border-collapse:collapse;width:100%;font-size:13px}th,td{padding:4px 8px;\
border-bottom:1px solid #e8eaee;text-align:left}th{position:sticky;top:0;background:#fff}td.num{text-align:right;\
font-variant-numeric:tabular-nums}.failed{border-left:4px solid #d62728}.error{color:#b01d1d;white-space:pre-wrap}\
nav ol{columns:2;font-size:14px}";

/// The period of the report, from the shared `since`/`until` parameters.
fn period(shared: &BTreeMap<String, String>) -> String {
    match (shared.get("since"), shared.get("until")) {
        (Some(s), Some(u)) => format!("{s} to {u}"),
        (Some(s), None) => format!("from {s}"),
        (None, Some(u)) => format!("until {u}"),
        (None, None) => "each query's default period (see its parameters)".to_string(),
    }
}

fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    datafusion::arrow::temporal_conversions::timestamp_s_to_datetime(secs)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

/// Moves the finished temporary folder to `out`, replacing an existing one (checked for --force before).
fn publish(temp: tempfile::TempDir, out: &Path) -> Result<()> {
    let staged = temp.keep();
    if out.exists() {
        let old = staged.with_extension("old");
        std::fs::rename(out, &old).map_err(|e| Error::io(out, e))?;
        std::fs::rename(&staged, out).map_err(|e| Error::io(out, e))?;
        std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
    } else {
        std::fs::rename(&staged, out).map_err(|e| Error::io(out, e))?;
    }
    Ok(())
}

fn progress_bar(options: &ReportOptions, total: usize) -> ProgressBar {
    let bar = ProgressBar::new(total as u64);
    if !options.quiet && std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} queries · {wide_msg}",
        ) {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(120));
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar
}

impl From<ReportFormat> for Format {
    fn from(f: ReportFormat) -> Self {
        match f {
            ReportFormat::Parquet => Format::Parquet,
            ReportFormat::Csv => Format::Csv,
            ReportFormat::Json => Format::Json,
        }
    }
}

impl ReportFormat {
    /// The result files' extension.
    pub fn extension(self) -> &'static str {
        match self {
            ReportFormat::Parquet => "parquet",
            ReportFormat::Csv => "csv",
            ReportFormat::Json => "json",
        }
    }
}
