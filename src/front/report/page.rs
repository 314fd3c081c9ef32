//! The report's page: a self-contained `index.html` with a chart and a table per query, and the manifest
//! entry of each query.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::engine::params::Params;
use crate::engine::saved::SavedQuery;
use crate::error::Error;
use crate::front::report::chart::{
    ChartOptions, chart, count_column, date_labels, escape, small_rows,
};
use crate::front::report::manifest::{Entry, Manifest, QuerySpec};

/// Rows shown in a query's table on the page (the result file has them all).
pub(super) const PAGE_ROWS: usize = 200;
/// Rows kept for a query's chart (the result file has them all): a chart of more points is not readable.
pub(super) const CHART_ROWS: usize = 10_000;

/// What one query produced: the query, the page's preview of its result, the result file's name, the rows
/// written and the parameters it ran with.
pub(super) struct Done {
    pub(super) query: SavedQuery,
    pub(super) preview: Preview,
    pub(super) file: String,
    pub(super) rows: u64,
    pub(super) params: BTreeMap<String, String>,
}

pub(super) type Outcome = std::result::Result<Done, (Error, BTreeMap<String, String>)>;

/// The first rows of a result, for the page's chart and table.
pub(super) struct Preview {
    pub(super) batch: RecordBatch,
    /// Whether the result had more rows than the preview keeps.
    pub(super) cut: bool,
}

/// The manifest entry and the page section of one query.
pub(super) fn describe(
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

pub(super) fn page(manifest: &Manifest, sections: &[String], elapsed: Duration) -> String {
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
pub(super) fn period(shared: &Params) -> String {
    match (shared.get("since"), shared.get("until")) {
        (Some(s), Some(u)) => format!("{s} to {u}"),
        (Some(s), None) => format!("from {s}"),
        (None, Some(u)) => format!("until {u}"),
        (None, None) => "each query's default period (see its parameters)".to_string(),
    }
}

pub(super) fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    datafusion::arrow::temporal_conversions::timestamp_s_to_datetime(secs)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}
