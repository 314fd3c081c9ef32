//! Reports: run a set of saved queries and writes, into one folder, a result file per query, a
//! `manifest.json` and a self-contained `index.html` with a chart and a table per query.
//!
//! The folder appears whole or not at all: everything is written into a temporary folder beside it, which is
//! renamed at the end. A failing query is recorded (manifest and page) and the others still run. Each result
//! streams to its file through the writer; the page keeps the first rows for its chart and table.
//!
//! Here: the options and the run (queries, result files, progress). `manifest` reads the TOML and shapes
//! `manifest.json`, `page` writes `index.html` (with `chart`'s SVG and `compare`'s tests), `publish` writes
//! the folder atomically.

mod chart;
mod compare;
mod manifest;
mod page;
mod publish;

pub use manifest::{ChartColumns, Compare, CompareSpec, Queries, QuerySpec, ReportSpec};

use std::collections::BTreeMap;
use std::io::{BufWriter, IsTerminal};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use datafusion::arrow::compute::concat_batches;
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::params::{ParamValue, Params};
use crate::engine::saved::SavedQuery;
use crate::engine::session::Session;
use crate::error::{Error, Result};
use crate::front::report::chart::{ChartOptions, escape, value_columns};
use crate::front::report::manifest::{CompareEntry, Manifest, load_spec};
use crate::front::report::page::{
    CHART_ROWS, Done, Outcome, Preview, describe, now_utc, page, period,
};
use crate::front::report::publish::{check_out, distinct, publish, safe_name, write_file};
use crate::writer::{BatchWriter, OutputFormat, ResultSink};

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
            values: spec_q
                .chart
                .as_ref()
                .map(ChartColumns::names)
                .unwrap_or_default(),
        };
        // Columns the manifest names for the chart must be in the result: a typo fails the query.
        let outcome = match outcome {
            Ok(done) if !chart_options.values.is_empty() => {
                match value_columns(&done.preview.batch, &chart_options) {
                    Ok(_) => Ok(done),
                    Err(why) => Err((
                        Error::Usage(format!("{}: {why}", base.join(&spec_q.file).display())),
                        done.params,
                    )),
                }
            }
            other => other,
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
                                    chart: None,
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
