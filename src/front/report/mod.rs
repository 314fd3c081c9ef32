//! Reports: run a set of saved queries and writes, into one folder, a result file per query, a
//! `manifest.json` and a self-contained `index.html` with a chart and a table per query.
//!
//! The folder appears whole or not at all: everything is written into a temporary folder beside it, which is
//! renamed at the end. A failing query is recorded (manifest and page) and the others still run. Each result
//! streams to its file through the writer; the page keeps the first rows for its chart and table.

mod chart;
mod compare;

use std::collections::BTreeMap;
use std::io::{BufWriter, IsTerminal};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};

use datafusion::arrow::datatypes::DataType;

use crate::engine::params::{ParamValue, Params};
use crate::engine::saved::SavedQuery;
use crate::engine::session::Session;
use crate::error::{Error, Result};
use crate::front::report::chart::{
    ChartOptions, chart, count_column, date_labels, escape, small_rows,
};
use crate::writer::{BatchWriter, OutputFormat, ResultSink};

/// Rows shown in a query's table on the page (the result file has them all).
const PAGE_ROWS: usize = 200;
/// Rows kept for a query's chart (the result file has them all): a chart of more points is not readable.
const CHART_ROWS: usize = 10_000;

/// Which queries a report runs.
#[derive(Debug, Clone)]
pub enum Queries {
    /// Every `.sql` file of a folder, in name order.
    Folder(PathBuf),
    /// A report manifest (TOML): title, shared params, and `[[query]]` entries.
    Manifest(PathBuf),
}

/// How a report shows its progress on standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A bar when standard error is a terminal, nothing otherwise.
    Auto,
    /// A bar on a terminal, one line per query otherwise.
    Always,
    /// Nothing.
    Quiet,
}

/// What a report runs and where it writes.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub queries: Queries,
    /// The folder to write; it appears only when complete.
    pub out: PathBuf,
    /// Format of the result files (any but `table`).
    pub format: OutputFormat,
    /// Parameters for every query that declares them; they override the manifest's.
    pub params: Params,
    /// The page title (default: the manifest's, else a generic one).
    pub title: Option<String>,
    /// Replace an existing `out` folder.
    pub replace: bool,
    pub progress: Progress,
    /// Also run each query for the preceding period and show the changes (`--compare previous`); the
    /// manifest's `[compare]` applies when `None`.
    pub compare: Option<Compare>,
}

/// What a report compares each query's period with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compare {
    /// The preceding period of the same length (`since`/`until` shifted back by their distance).
    Previous,
}

/// The manifest's `[compare]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareSpec {
    /// `previous`.
    pub against: Compare,
}

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
    /// A bar or point resting on fewer answers than this is drawn hollow and marked `n = N` (default 30).
    pub min_answers: Option<u64>,
    /// The confidence level of the report's tests (default 0.95).
    pub confidence: Option<f64>,
    /// Period over period.
    pub compare: Option<CompareSpec>,
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
    /// This query's `min_answers` (default: the report's).
    pub min_answers: Option<u64>,
    /// The column holding each row's number of answers, when it is not `n`, `responses`, `answers`,
    /// `*_answers` or `*_responses`.
    pub count: Option<String>,
}

/// One query's entry in `manifest.json`.
#[derive(Debug, Serialize)]
struct Entry {
    /// Unique in the report: the result file's stem and the page section's id.
    id: String,
    /// The first rows of the result, for the comparison with the previous period (not in the manifest).
    #[serde(skip)]
    preview: Option<RecordBatch>,
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
    /// The run for the previous period, when the report compares.
    #[serde(skip_serializing_if = "Option::is_none")]
    compare: Option<CompareEntry>,
}

/// The previous period's run of one query, in `manifest.json`.
#[derive(Debug, Serialize)]
struct CompareEntry {
    since: String,
    until: String,
    file: Option<String>,
    status: &'static str,
    error: Option<String>,
    /// The test the changes were given, and how many of them are significant.
    test: Option<&'static str>,
    significant: usize,
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
pub async fn run(session: &Session, options: &ReportOptions) -> Result<bool> {
    if options.format == OutputFormat::Table {
        return Err(Error::Usage(
            "a report's result files are parquet, csv, json or ndjson, not table".into(),
        ));
    }
    let (spec, base) = load_spec(&options.queries)?;
    let compare = options.compare.or(spec.compare.as_ref().map(|c| c.against));
    let confidence = spec.confidence.unwrap_or(0.95);
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(Error::Usage(format!(
            "the report's confidence {confidence} is outside (0, 1); expected a level such as 0.95"
        )));
    }
    check_out(&options.out, options.replace)?;
    let mut shared: Params = spec
        .params
        .iter()
        .map(|(k, v)| (k.clone(), ParamValue::Text(v.clone())))
        .collect();
    shared.extend(options.params.clone());
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
    let _registered = crate::guard::Temporary::register(temp.path());
    // Result file names, one per entry: the query's name in [A-Za-z0-9_-], made distinct.
    let mut taken = std::collections::BTreeSet::new();

    let total = loaded.len();
    let bar = progress_bar(options, total);
    // --progress on something that is not a terminal: one plain line per query instead of a bar.
    let lines = options.progress == Progress::Always && bar.is_hidden();
    let started = Instant::now();
    let mut entries = Vec::new();
    let mut sections = Vec::new();
    for (i, (spec_q, saved)) in loaded.into_iter().enumerate() {
        let label = spec_q.file.display().to_string();
        bar.set_message(label.clone());
        let t0 = Instant::now();
        let stem = match &saved {
            Ok(q) => q.name.clone(),
            Err(_) => spec_q
                .file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        let id = distinct(&safe_name(&stem), &mut taken);
        let outcome = match saved {
            Ok(q) => {
                run_one(
                    session,
                    &q,
                    &spec_q,
                    &shared,
                    temp.path(),
                    options.format,
                    &id,
                )
                .await
            }
            Err(e) => Err((e, BTreeMap::new())),
        };
        let duration = t0.elapsed();
        let chart_options = ChartOptions {
            min_answers: spec_q
                .min_answers
                .or(spec.min_answers)
                .unwrap_or(ChartOptions::default().min_answers),
            count: spec_q.count.clone(),
        };
        // Period over period: the same query for the preceding period, when it has one.
        let previous = match (&outcome, compare) {
            (Ok(done), Some(Compare::Previous)) => {
                match (done.params.get("since"), done.params.get("until")) {
                    (Some(since), Some(until)) => {
                        match crate::front::report::compare::previous_period(since, until) {
                            Some((ps, pu)) => {
                                let mut params = spec_q.params.clone();
                                params.insert("since".into(), ps.clone());
                                params.insert("until".into(), pu.clone());
                                let spec_prev = QuerySpec {
                                    file: spec_q.file.clone(),
                                    title: None,
                                    params,
                                    min_answers: None,
                                    count: None,
                                };
                                let run = run_one(
                                    session,
                                    &done.query,
                                    &spec_prev,
                                    &shared,
                                    temp.path(),
                                    options.format,
                                    &format!("{id}.previous"),
                                )
                                .await;
                                Some((ps, pu, run))
                            }
                            None => None,
                        }
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        let (mut entry, mut section) =
            describe(&spec_q, outcome, duration, &base, &id, &chart_options);
        if let Some((ps, pu, run)) = previous {
            let mut compared = CompareEntry {
                since: ps.clone(),
                until: pu.clone(),
                file: None,
                status: "ok",
                error: None,
                test: None,
                significant: 0,
            };
            let fragment = match (run, &entry.preview) {
                (Ok(prev), Some(now)) => {
                    compared.file = Some(prev.file.clone());
                    match crate::front::report::compare::compare(
                        now,
                        &prev.preview.batch,
                        &chart_options,
                        confidence,
                    ) {
                        Some(c) => {
                            compared.test = Some(c.test.name());
                            compared.significant =
                                c.changes.iter().filter(|c| c.significant).count();
                            crate::front::report::compare::html(&c, &ps, &pu, confidence)
                        }
                        None => format!(
                            "<p class=\"note\">The previous period ({} to {}) ran; its rows have no category to \
                             match this result's by, so no change is shown.</p>",
                            escape(&ps),
                            escape(&pu)
                        ),
                    }
                }
                (Err((e, _)), _) => {
                    compared.status = "failed";
                    let message = crate::guard::redact(&e.to_string()).into_owned();
                    let fragment = format!(
                        "<p class=\"error\">The previous period ({} to {}) failed: {}</p>",
                        escape(&ps),
                        escape(&pu),
                        escape(&message)
                    );
                    compared.error = Some(message);
                    fragment
                }
                (Ok(_), None) => String::new(),
            };
            // Before the section's closing tag.
            if let Some(at) = section.rfind("</section>") {
                section.insert_str(at, &fragment);
            }
            entry.compare = Some(compared);
        }
        entry.preview = None;
        let (entry, section) = (entry, section);
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
        format: options.format.name(),
        queries: entries,
    };
    let ok = manifest.queries.iter().all(|e| e.status == "ok");
    let json = serde_json::to_string_pretty(&manifest)
        .map_err(|e| Error::Internal(format!("manifest.json: {e}")))?;
    write_file(&temp.path().join("manifest.json"), json.as_bytes())?;
    let html = page(&manifest, &sections, started.elapsed());
    write_file(&temp.path().join("index.html"), html.as_bytes())?;
    publish(temp, &options.out)?;
    Ok(ok)
}

/// The queries: from a manifest, or every `.sql` file of a folder in name order.
fn load_spec(queries: &Queries) -> Result<(ReportSpec, PathBuf)> {
    match queries {
        Queries::Manifest(file) => {
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
        Queries::Folder(dir) => {
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
                    min_answers: None,
                    count: None,
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

/// What one query produced: the query, the page's preview of its result, the result file's name, the rows
/// written and the parameters it ran with.
struct Done {
    query: SavedQuery,
    preview: Preview,
    file: String,
    rows: u64,
    params: BTreeMap<String, String>,
}

type Outcome = std::result::Result<Done, (Error, BTreeMap<String, String>)>;

/// The first rows of a result, for the page's chart and table.
struct Preview {
    batch: RecordBatch,
    /// Whether the result had more rows than the preview keeps.
    cut: bool,
}

/// Streams each result to the query's file (a later result replaces an earlier one: the last result with
/// columns is the query's) and keeps the first [`CHART_ROWS`] rows.
struct ReportSink {
    path: PathBuf,
    format: OutputFormat,
    preview: Option<Preview>,
}

#[async_trait]
impl ResultSink for ReportSink {
    async fn write(&mut self, mut stream: SendableRecordBatchStream) -> Result<u64> {
        let schema = stream.schema();
        let file = std::fs::File::create(&self.path).map_err(|e| Error::io(&self.path, e))?;
        let out = BufWriter::new(file);
        let mut writer = BatchWriter::new(out, self.format, schema.clone(), &self.path)?;
        let mut kept = Vec::new();
        let (mut kept_rows, mut cut) = (0, false);
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            writer.write(&batch)?;
            let room = CHART_ROWS - kept_rows;
            if batch.num_rows() > room {
                cut = true;
            }
            if room > 0 {
                let part = batch.slice(0, batch.num_rows().min(room));
                kept_rows += part.num_rows();
                kept.push(part);
            }
        }
        let rows = writer.rows();
        writer.finish()?;
        self.preview = Some(Preview {
            batch: concat_batches(&schema, &kept)?,
            cut,
        });
        Ok(rows)
    }
}

async fn run_one(
    session: &Session,
    query: &SavedQuery,
    spec: &QuerySpec,
    shared: &Params,
    dir: &Path,
    format: OutputFormat,
    id: &str,
) -> Outcome {
    // Shared parameters apply where declared; the query's own win.
    let mut params: Params = shared
        .iter()
        .filter(|(k, _)| query.params.iter().any(|p| &p.name == *k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    params.extend(
        spec.params
            .iter()
            .map(|(k, v)| (k.clone(), ParamValue::Text(v.clone()))),
    );
    // The manifest shows every parameter, defaults too.
    let mut shown: BTreeMap<String, String> = params
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect();
    for p in &query.params {
        if let (false, Some(d)) = (shown.contains_key(&p.name), &p.default) {
            shown.insert(p.name.clone(), d.clone());
        }
    }
    let file = format!("{id}.{}", format.extension());
    let mut sink = ReportSink {
        path: dir.join(&file),
        format,
        preview: None,
    };
    let rows = match session.run_saved(query, &params, &mut sink).await {
        Ok(rows) => rows,
        Err(e) => return Err((e, shown)),
    };
    let Some(preview) = sink.preview else {
        let e = Error::Usage(format!(
            "{}: the query returns no rows or columns",
            query.path.display()
        ));
        return Err((e, shown));
    };
    Ok(Done {
        query: query.clone(),
        preview,
        file,
        rows,
        params: shown,
    })
}

/// The manifest entry and the page section of one query.
fn describe(
    spec: &QuerySpec,
    outcome: Outcome,
    duration: Duration,
    base: &Path,
    id: &str,
    chart_options: &ChartOptions,
) -> (Entry, String) {
    let query_path = base.join(&spec.file).display().to_string();
    match outcome {
        Ok(Done {
            query: q,
            preview,
            file,
            rows,
            params,
        }) => {
            let batch = &preview.batch;
            let title = spec.title.clone().unwrap_or_else(|| humanize(&q.name));
            let mut section = format!(
                "<section id=\"{}\"><h2>{}</h2><p class=\"description\">{}</p>",
                escape(id),
                escape(&title),
                escape(&q.description)
            );
            section.push_str(&params_line(&params));
            match chart(batch, chart_options) {
                Some(svg) => section.push_str(&format!("<figure>{svg}</figure>")),
                None => section.push_str("<p class=\"note\">No chart for this result's shape.</p>"),
            }
            let small = small_rows(batch, chart_options);
            if let Some(count) =
                count_column(batch, chart_options).filter(|_| small.iter().any(Option::is_some))
            {
                section.push_str(&format!(
                    "<p class=\"note small-note\">Hollow bars and points, and the rows marked n = …, rest on \
                     fewer than {} answers ({}): too few to read much into.</p>",
                    chart_options.min_answers,
                    escape(batch.schema().field(count).name())
                ));
            }
            if preview.cut {
                section.push_str(&format!(
                    "<p class=\"note\">The chart shows the first {CHART_ROWS} of {rows} rows.</p>"
                ));
            }
            section.push_str(&html_table(batch, rows, &small));
            section.push_str(&format!(
                "<p class=\"note\">{rows} row{} · <a href=\"{}\">{}</a> · {:.2} s</p></section>",
                if rows == 1 { "" } else { "s" },
                escape(&file),
                escape(&file),
                duration.as_secs_f64()
            ));
            let entry = Entry {
                id: id.to_string(),
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
                preview: Some(batch.clone()),
                compare: None,
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
            let message = crate::guard::redact(&error.to_string()).into_owned();
            let section = format!(
                "<section id=\"{}\" class=\"failed\"><h2>{}</h2><p class=\"error\">This query failed: {}</p></section>",
                escape(id),
                escape(&title),
                escape(&message)
            );
            let entry = Entry {
                id: id.to_string(),
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
                preview: None,
                compare: None,
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

/// The page's table of a result: at most [`PAGE_ROWS`] rows; `small[row]` marks a row resting on few answers;
/// dates and timestamps that are all midnights print as months (`2024-07`) or days (`2024-07-14`).
fn html_table(batch: &RecordBatch, rows: u64, small: &[Option<u64>]) -> String {
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
    let shown = batch.num_rows().min(PAGE_ROWS);
    let dates: Vec<Option<Vec<String>>> = schema
        .fields()
        .iter()
        .zip(&formatters)
        .map(|(field, f)| {
            let f = f.as_ref()?;
            matches!(
                field.data_type(),
                DataType::Timestamp(..) | DataType::Date32 | DataType::Date64
            )
            .then(|| {
                (0..shown)
                    .map(|r| f.value(r).to_string())
                    .collect::<Vec<_>>()
            })
            .and_then(|texts| date_labels(&texts))
        })
        .collect();
    for row in 0..shown {
        let few = small.get(row).copied().flatten();
        html.push_str(if few.is_some() {
            "<tr class=\"small\">"
        } else {
            "<tr>"
        });
        for (col, f) in formatters.iter().enumerate() {
            let text = match &dates[col] {
                Some(labels) => labels[row].clone(),
                None => f
                    .as_ref()
                    .map(|f| f.value(row).to_string())
                    .unwrap_or_default(),
            };
            let text = match (float[col], text.parse::<f64>()) {
                (true, Ok(v)) => format!("{v:.2}"),
                _ => text,
            };
            let class = if numeric[col] { " class=\"num\"" } else { "" };
            let mark = match (col, few) {
                (0, Some(n)) => format!(" <span class=\"small-n\">n = {n}</span>"),
                _ => String::new(),
            };
            html.push_str(&format!("<td{class}>{}{mark}</td>", escape(&text)));
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table></div>");
    if rows > PAGE_ROWS as u64 {
        html.push_str(&format!(
            "<p class=\"note\">First {PAGE_ROWS} of {rows} rows; the result file has them all.</p>"
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
border-bottom:1px solid #e8eaee;text-align:left}th{position:sticky;top:0;background:#fff}tr.small td{color:#8a8f98}.up{color:#15803d;font-weight:600}.down{color:#b91c1c;font-weight:600}h3{font-size:15px;margin:14px 0 6px}.small-n{color:#b45309;font-size:12px}td.num{text-align:right;\
font-variant-numeric:tabular-nums}.failed{border-left:4px solid #d62728}.error{color:#b01d1d;white-space:pre-wrap}\
nav ol{columns:2;font-size:14px}";

/// The period of the report, from the shared `since`/`until` parameters.
fn period(shared: &Params) -> String {
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

/// A query name made safe as a file name: letters, digits, `_` and `-` kept, anything else (`/`, `.`, spaces)
/// becomes `_`; never empty. The result file always lands inside the report folder.
fn safe_name(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    if safe.trim_matches('_').is_empty() {
        "result".to_string()
    } else {
        safe
    }
}

/// `name`, or `name-2`, `name-3`, ... when an earlier entry took it (case-insensitively: some file systems
/// are).
fn distinct(name: &str, taken: &mut std::collections::BTreeSet<String>) -> String {
    let mut candidate = name.to_string();
    let mut n = 1;
    while !taken.insert(candidate.to_lowercase()) {
        n += 1;
        candidate = format!("{name}-{n}");
    }
    candidate
}

/// Checks `--out` before anything runs: a new folder, or (with `replace`) an empty folder or an earlier
/// report (it has a manifest.json). Never a file, the current folder or one above it, or a folder of other
/// things: replacing it would lose them.
fn check_out(out: &Path, replace: bool) -> Result<()> {
    let Ok(meta) = std::fs::metadata(out) else {
        return Ok(());
    };
    if !meta.is_dir() {
        return Err(Error::Usage(format!(
            "{}: exists and is not a folder; a report is written as a folder",
            out.display()
        )));
    }
    if !replace {
        return Err(Error::Exists {
            path: out.to_path_buf(),
            what: "folder",
        });
    }
    let real = std::fs::canonicalize(out).map_err(|e| Error::io(out, e))?;
    if std::env::current_dir()
        .and_then(std::fs::canonicalize)
        .is_ok_and(|cwd| cwd.starts_with(&real))
    {
        return Err(Error::Usage(format!(
            "{}: is the current folder or one above it; write the report to a folder of its own",
            out.display()
        )));
    }
    let empty = std::fs::read_dir(out).is_ok_and(|mut e| e.next().is_none());
    if !empty && !out.join("manifest.json").is_file() {
        return Err(Error::Usage(format!(
            "{}: holds files that are not a cxsql report (no manifest.json); cxsql replaces only an earlier \
             report or an empty folder",
            out.display()
        )));
    }
    Ok(())
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
    if options.progress != Progress::Quiet && std::io::stderr().is_terminal() {
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
