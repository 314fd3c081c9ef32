//! Writing the report's folder: files written into a temporary folder beside `--out`, which is renamed into
//! place at the end, so the folder appears whole or not at all.

use std::path::Path;

use crate::error::{Error, Result};

pub(super) fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

/// A query name made safe as a file name: letters, digits, `_` and `-` kept, anything else (`/`, `.`, spaces)
/// becomes `_`; never empty. The result file always lands inside the report folder.
pub(super) fn safe_name(name: &str) -> String {
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
pub(super) fn distinct(name: &str, taken: &mut std::collections::BTreeSet<String>) -> String {
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
pub(super) fn check_out(out: &Path, replace: bool) -> Result<()> {
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
pub(super) fn publish(temp: tempfile::TempDir, out: &Path) -> Result<()> {
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
