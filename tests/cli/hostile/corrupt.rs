//! Corrupt Parquet and CSV files: an error naming the file, exit 1, never a panic (exit 101) or a signal.

use std::path::Path;

use crate::util::{cxsql_in, root};

/// The parquet footer that lies about its length: the panic inside parquet's footer decoding, guarded.
#[test]
fn a_footer_longer_than_the_file_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut bytes = std::fs::read(root().join("data/tickets.parquet")).expect("bundled tickets");
    let n = bytes.len();
    bytes[n - 8..n - 4].copy_from_slice(&(3 * n as u32).to_le_bytes());
    std::fs::write(dir.path().join("tickets.parquet"), &bytes).expect("write");
    std::fs::copy(
        root().join("data/surveys.parquet"),
        dir.path().join("surveys.parquet"),
    )
    .expect("copy");
    let data = ["--data", "."];
    let out = cxsql_in(
        dir.path(),
        &[&data[..], &["query", "SELECT count(*) FROM tickets"]].concat(),
        None,
    );
    out.assert_fails(1, "tickets.parquet: corrupt Parquet footer");
    // The same file is named by `schema`, and fails only what reads it: other tables still work, in a shell too.
    let out = cxsql_in(
        dir.path(),
        &[&data[..], &["schema", "tickets"]].concat(),
        None,
    );
    out.assert_fails(1, "corrupt Parquet footer");
    let out = cxsql_in(
        dir.path(),
        &data,
        Some(
            "SELECT count(*) AS n FROM surveys;\nSELECT count(*) FROM tickets;\nSELECT 7 AS seven;\n",
        ),
    );
    assert_eq!(out.code, 1, "one statement failed: {}", out.stderr);
    assert!(
        out.stdout.contains("| 7 "),
        "the shell went on: {}",
        out.stdout
    );
    assert!(
        out.stderr.contains("corrupt Parquet footer"),
        "{}",
        out.stderr
    );
}

/// A deterministic mutation of `bytes`: truncations, flipped bytes in the footer and in the pages, lying
/// lengths.
fn mutate(bytes: &[u8], i: u64) -> Vec<u8> {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let n = bytes.len();
    let mut out = bytes.to_vec();
    match i % 5 {
        // Truncated anywhere.
        0 => out.truncate((next() % n as u64) as usize),
        // A few bytes flipped in the last 4 KB (footer, metadata, the end of CSV text).
        1 => {
            for _ in 0..1 + next() % 4 {
                let at = n - 1 - (next() % (n.min(4096) as u64)) as usize;
                out[at] ^= 1 << (next() % 8);
            }
        }
        // Bytes flipped anywhere (pages, values).
        2 => {
            for _ in 0..1 + next() % 8 {
                let at = (next() % n as u64) as usize;
                out[at] = next() as u8;
            }
        }
        // The footer length replaced by a lie.
        3 if n > 8 => {
            let lie = (next() % (4 * n as u64)) as u32;
            out[n - 8..n - 4].copy_from_slice(&lie.to_le_bytes());
        }
        // A block of the file zeroed.
        _ => {
            let start = (next() % n as u64) as usize;
            let end = (start + 1 + (next() % 2048) as usize).min(n);
            out[start..end].fill(0);
        }
    }
    out
}

fn run_mutations(file: &Path, name: &str, count: u64, sql: &str) {
    let original = std::fs::read(file).expect("bundled file");
    let dir = tempfile::tempdir().expect("temp dir");
    // One shell per batch of files: each statement reads one mutated table.
    let mut script = String::new();
    for i in 0..count {
        std::fs::write(
            dir.path().join(format!("{name}_{i}.{}", ext(file))),
            mutate(&original, i),
        )
        .expect("write");
        script.push_str(&sql.replace("TABLE", &format!("{name}_{i}")));
        script.push_str(";\n");
    }
    let out = cxsql_in(dir.path(), &["--data", "."], Some(&script));
    // 0 when every mutation still read, 1 when some failed with a message; never 101, 134 or a signal
    // (cxsql_in fails the test on a signal and on "panicked").
    assert!(
        out.code == 0 || out.code == 1,
        "exit {}: {}",
        out.code,
        out.stderr
    );
    for line in out.stderr.lines().filter(|l| l.starts_with("Error:")) {
        assert!(line.len() > 20, "a message says something: {line}");
    }
}

fn ext(file: &Path) -> String {
    file.extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[test]
fn two_hundred_corrupted_parquet_files_never_crash() {
    run_mutations(
        &root().join("data/servqual.parquet"),
        "pq",
        150,
        "SELECT count(*), sum(expectation), max(dimension) FROM TABLE",
    );
}

#[test]
fn corrupted_csv_files_never_crash() {
    run_mutations(
        &root().join("data/sla_policies.csv"),
        "csv",
        60,
        "SELECT * FROM TABLE",
    );
}
