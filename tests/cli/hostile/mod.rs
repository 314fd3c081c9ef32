//! Hostile but realistic input and faults (issue 12): corrupt files, machine-generated SQL, signals, odd
//! paths, secrets in URLs, odd entries in a data folder. Each test reproduces what a user did and asserts the
//! outcome: a clear error and exit code, never a panic or an abort, nothing written outside where it was
//! asked, no temporary file left, no secret printed.

mod corrupt;
mod csv;
mod deep_sql;
mod isolation;
mod paths;
mod secrets;
mod signals;
mod writes;

use std::path::Path;

/// Every `.cxsql-*` temporary file or folder under `dir`.
pub fn temporaries(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with(".cxsql-") {
                found.push(path.display().to_string());
            }
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    found
}
