//! Saved queries: `.sql` files that open with a comment header documenting them,
//!
//! ```sql
//! -- name: nps_by_channel
//! -- description: Net Promoter Score per channel over a period.
//! -- param: since TIMESTAMP = '2021-01-01T00:00:00Z'
//! -- param: until TIMESTAMP
//! SELECT channel, nps(nps_score) AS nps FROM surveys WHERE submitted_at >= $since AND submitted_at < $until
//! GROUP BY channel
//! ```
//!
//! Parameter values (typed, or text parsed to their declared SQL type) are bound to DataFusion's `$name`
//! placeholders, never spliced into the SQL text.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::execution::context::SessionState;

use crate::engine::params::{ParamValue, Params, convert, sql_type};
use crate::error::{Error, Result};

/// One declared parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    /// The SQL type as written in the header.
    pub sql_type: String,
    /// The default value as written (without quotes), if any.
    pub default: Option<String>,
}

/// A parsed saved query.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedQuery {
    pub path: PathBuf,
    pub name: String,
    pub description: String,
    pub params: Vec<Param>,
    /// The SQL after the header.
    pub body: String,
}

impl SavedQuery {
    /// The `.sql` files of `dir`, in name order.
    pub fn files_in(dir: &Path) -> Result<Vec<PathBuf>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "sql"))
            .collect();
        files.sort();
        Ok(files)
    }

    /// Reads and parses a saved query file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = read_sql_file(path)?;
        Self::parse(path, &text)
    }

    /// Parses the header: `-- name:`, `-- description:` (continued by further `--` lines), `-- param:`.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let fail = |message: String| Error::SavedQuery {
            file: path.to_path_buf(),
            message,
        };
        let mut name = None;
        let mut description = String::new();
        let mut params: Vec<Param> = Vec::new();
        let mut last_key = "";
        let mut body_start = text.len();
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let trimmed = line.trim();
            let Some(comment) = trimmed.strip_prefix("--") else {
                if trimmed.is_empty() {
                    offset += line.len();
                    continue;
                }
                body_start = offset;
                break;
            };
            offset += line.len();
            let comment = comment.trim();
            match comment.split_once(':') {
                Some(("name", v)) => {
                    name = Some(v.trim().to_string());
                    last_key = "name";
                }
                Some(("description", v)) => {
                    description = v.trim().to_string();
                    last_key = "description";
                }
                Some(("param", v)) => {
                    let param = parse_param(v.trim())
                        .map_err(|m| fail(format!("{m} in `-- param: {}`", v.trim())))?;
                    if params.iter().any(|p| p.name == param.name) {
                        return Err(fail(format!("parameter {} is declared twice", param.name)));
                    }
                    params.push(param);
                    last_key = "param";
                }
                _ if last_key == "description" && !comment.is_empty() => {
                    description.push(' ');
                    description.push_str(comment);
                }
                _ => last_key = "",
            }
        }
        let body = text[body_start..].trim().to_string();
        if body.is_empty() {
            return Err(fail("no SQL after the header".into()));
        }
        let name = name.unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        Ok(SavedQuery {
            path: path.to_path_buf(),
            name,
            description,
            params,
            body,
        })
    }

    /// The declared parameters, for messages: `since TIMESTAMP = '2021-01-01', until TIMESTAMP`.
    pub fn declared(&self) -> String {
        if self.params.is_empty() {
            return "none".into();
        }
        self.params
            .iter()
            .map(|p| match &p.default {
                Some(d) => format!("{} {} = '{d}'", p.name, p.sql_type),
                None => format!("{} {}", p.name, p.sql_type),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Typed values for every declared parameter: the given ones converted to their declared type, the
    /// others from their defaults. An unknown, missing or unconvertible parameter is an error naming it and
    /// listing the declared ones.
    pub async fn bind(
        &self,
        state: &SessionState,
        given: &Params,
    ) -> Result<HashMap<String, ScalarValue>> {
        self.check_names(given)?;
        let mut types = Vec::with_capacity(self.params.len());
        for param in &self.params {
            let data_type = sql_type(state, &param.sql_type)
                .await
                .map_err(|m| self.fail(format!("parameter {}: {m}", param.name)))?;
            types.push(data_type);
        }
        self.bind_typed(&types, given, &[])
    }

    /// [`Self::bind`] with the declared types known (`types[i]` is parameter `i`'s); the parameters named in
    /// `later` are bound by the caller, not here.
    pub fn bind_typed(
        &self,
        types: &[DataType],
        given: &Params,
        later: &[&str],
    ) -> Result<HashMap<String, ScalarValue>> {
        self.check_names(given)?;
        let mut values = HashMap::new();
        for (param, data_type) in self.params.iter().zip(types) {
            if later.contains(&param.name.as_str()) {
                continue;
            }
            let default = param.default.clone().map(ParamValue::Text);
            let Some(value) = given.get(&param.name).or(default.as_ref()) else {
                return Err(self.fail(format!(
                    "missing parameter {} ({})",
                    param.name, param.sql_type
                )));
            };
            let value = convert(value, data_type).map_err(|m| {
                self.fail(format!(
                    "parameter {}: cannot read '{value}' as {}: {m}",
                    param.name, param.sql_type
                ))
            })?;
            values.insert(param.name.clone(), value);
        }
        Ok(values)
    }

    /// A parameter given that the header does not declare is an error.
    fn check_names(&self, given: &Params) -> Result<()> {
        match given
            .keys()
            .find(|name| !self.params.iter().any(|p| &p.name == *name))
        {
            Some(unknown) => Err(self.fail(format!("unknown parameter {unknown}"))),
            None => Ok(()),
        }
    }

    /// An error about this query's parameters, listing the declared ones.
    fn fail(&self, message: String) -> Error {
        Error::SavedQuery {
            file: self.path.clone(),
            message: format!("{message}; declared parameters: {}", self.declared()),
        }
    }
}

/// A Markdown table of the saved queries in `dir` (file, description, parameters), for the README.
pub fn markdown_table(dir: &Path) -> Result<String> {
    let mut out =
        String::from("| query | what it computes | parameters (defaults) |\n|---|---|---|\n");
    for file in SavedQuery::files_in(dir)? {
        let q = SavedQuery::load(&file)?;
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push_str(&format!(
            "| `queries/{name}` | {} | {} |\n",
            q.description.replace('|', "\\|"),
            q.declared().replace('|', "\\|")
        ));
    }
    Ok(out)
}

/// `NAME TYPE [= DEFAULT]`, the default optionally in single quotes.
fn parse_param(spec: &str) -> std::result::Result<Param, String> {
    let (decl, default) = match spec.split_once('=') {
        Some((d, v)) => (d.trim(), Some(unquote(v.trim()))),
        None => (spec, None),
    };
    let Some((name, sql_type)) = decl.split_once(char::is_whitespace) else {
        return Err("expected NAME TYPE [= DEFAULT]".into());
    };
    let valid_name = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !valid_name {
        return Err(format!("invalid parameter name {name:?}"));
    }
    Ok(Param {
        name: name.to_string(),
        sql_type: sql_type.trim().to_string(),
        default,
    })
}

fn unquote(v: &str) -> String {
    v.strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .map(|v| v.replace("''", "'"))
        .unwrap_or_else(|| v.to_string())
}

/// Reads SQL text from `path`: at most [`crate::engine::sql_text::MAX_SQL_BYTES`] (a device or a huge file is refused
/// without reading it all), UTF-8, without a leading byte-order mark.
pub fn read_sql_file(path: &Path) -> Result<String> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(Error::Usage(format!(
            "{}: is a folder, not a SQL file",
            path.display()
        )));
    }
    read_sql(file, &path.display().to_string())
}

/// Reads SQL text from `reader` (named `label` in errors), as [`read_sql_file`] does.
pub fn read_sql(reader: impl std::io::Read, label: &str) -> Result<String> {
    use std::io::Read as _;

    let limit = crate::engine::sql_text::MAX_SQL_BYTES;
    let mut bytes = Vec::new();
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(label, e))?;
    if bytes.len() > limit {
        return Err(Error::Usage(format!(
            "{label}: more than {} MB of SQL; cxsql reads at most that much SQL text at once",
            limit >> 20
        )));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        Error::Usage(format!(
            "{label}: line {line}: not UTF-8 text (byte {:02X}); SQL files are read as UTF-8",
            e.as_bytes()[at]
        ))
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_documents_the_query() {
        let text = "-- name: nps_by_channel\n-- description: NPS per channel\n--   over a period.\n\
                    -- param: since TIMESTAMP = '2021-01-01T00:00:00Z'\n-- param: until TIMESTAMP\n\n\
                    SELECT 1 -- trailing\n";
        let q = SavedQuery::parse(Path::new("q.sql"), text).unwrap();
        assert_eq!(q.name, "nps_by_channel");
        assert_eq!(q.description, "NPS per channel over a period.");
        assert_eq!(
            q.params,
            vec![
                Param {
                    name: "since".into(),
                    sql_type: "TIMESTAMP".into(),
                    default: Some("2021-01-01T00:00:00Z".into())
                },
                Param {
                    name: "until".into(),
                    sql_type: "TIMESTAMP".into(),
                    default: None
                },
            ]
        );
        assert_eq!(q.body, "SELECT 1 -- trailing");
    }

    #[test]
    fn bad_headers_name_the_problem() {
        let err = SavedQuery::parse(Path::new("q.sql"), "-- param: x\nSELECT 1").unwrap_err();
        assert!(err.to_string().contains("expected NAME TYPE"), "{err}");
        let err = SavedQuery::parse(Path::new("q.sql"), "-- name: x\n").unwrap_err();
        assert!(err.to_string().contains("no SQL after the header"), "{err}");
        let err = SavedQuery::parse(
            Path::new("q.sql"),
            "-- param: a INT\n-- param: a INT\nSELECT 1",
        )
        .unwrap_err();
        assert!(err.to_string().contains("declared twice"), "{err}");
    }
}
