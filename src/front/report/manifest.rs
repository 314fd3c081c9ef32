//! A report's manifest: the TOML a user writes (`--report FILE.toml`) or the queries of a folder, and the
//! `manifest.json` written beside the results.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::RecordBatch;
use serde::{Deserialize, Serialize};

use crate::engine::saved::SavedQuery;
use crate::error::{Error, Result};

/// Which queries a report runs.
#[derive(Debug, Clone)]
pub enum Queries {
    /// Every `.sql` file of a folder, in name order.
    Folder(PathBuf),
    /// A report manifest (TOML): title, shared params, and `[[query]]` entries.
    Manifest(PathBuf),
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
    /// The charted column, or several (one series or group of bars each); default: the first numeric column
    /// after the first column.
    pub chart: Option<ChartColumns>,
}

/// `chart = "p90_hours"` or `chart = ["new", "open"]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ChartColumns {
    One(String),
    Several(Vec<String>),
}

impl ChartColumns {
    /// The column names, in order.
    pub fn names(&self) -> Vec<String> {
        match self {
            ChartColumns::One(name) => vec![name.clone()],
            ChartColumns::Several(names) => names.clone(),
        }
    }
}

/// One query's entry in `manifest.json`.
#[derive(Debug, Serialize)]
pub(super) struct Entry {
    /// Unique in the report: the result file's stem and the page section's id.
    pub(super) id: String,
    /// The first rows of the result, for the comparison with the previous period (not in the manifest).
    #[serde(skip)]
    pub(super) preview: Option<RecordBatch>,
    pub(super) name: String,
    pub(super) title: String,
    pub(super) description: String,
    pub(super) query: String,
    pub(super) file: Option<String>,
    pub(super) parameters: BTreeMap<String, String>,
    pub(super) rows: u64,
    pub(super) duration_ms: u128,
    pub(super) status: &'static str,
    pub(super) error: Option<String>,
    /// The run for the previous period, when the report compares.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) compare: Option<CompareEntry>,
}

/// The previous period's run of one query, in `manifest.json`.
#[derive(Debug, Serialize)]
pub(super) struct CompareEntry {
    pub(super) since: String,
    pub(super) until: String,
    pub(super) file: Option<String>,
    pub(super) status: &'static str,
    pub(super) error: Option<String>,
    /// The test the changes were given, and how many of them are significant.
    pub(super) test: Option<&'static str>,
    pub(super) significant: usize,
}

#[derive(Debug, Serialize)]
pub(super) struct Manifest {
    pub(super) title: String,
    pub(super) generated_at: String,
    pub(super) period: String,
    pub(super) format: &'static str,
    pub(super) queries: Vec<Entry>,
}

/// The queries: from a manifest, or every `.sql` file of a folder in name order.
pub(super) fn load_spec(queries: &Queries) -> Result<(ReportSpec, PathBuf)> {
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
                    chart: None,
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
