//! SIGINT, SIGTERM and SIGHUP cancel the work, remove every temporary file and folder, and exit 128 + the
//! signal's number; a second SIGINT exits at once.

use std::time::Duration;

use super::temporaries;
use crate::util::{Spawned, wait_until};

/// Waits for the exit, at most 30 s; returns the code and standard error.
fn exit_of(mut child: Spawned) -> (i32, String) {
    child.wait_exit(Duration::from_secs(30))
}

const ENDLESS: &str =
    "SELECT value, value * 2 AS twice FROM generate_series(1, 2000000000) AS t(value)";

#[test]
fn each_signal_removes_the_output_being_written_and_exits_with_its_code() {
    for (name, code) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
        let dir = tempfile::tempdir().expect("temp dir");
        let child = Spawned::cxsql(
            dir.path(),
            &["query", ENDLESS, "--format", "csv", "--output", "out.csv"],
        );
        wait_until("a temporary output file", || {
            !temporaries(dir.path()).is_empty()
        });
        child.signal(name);
        let (exit, err) = exit_of(child);
        assert_eq!(exit, code, "SIG{name}: {err}");
        assert!(err.contains(&format!("interrupted by SIG{name}")), "{err}");
        assert_eq!(temporaries(dir.path()), Vec::<String>::new(), "SIG{name}");
        assert!(!dir.path().join("out.csv").exists());
    }
}

#[test]
fn a_second_interrupt_exits_at_once_and_still_cleans_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    let child = Spawned::cxsql(
        dir.path(),
        &["query", ENDLESS, "--format", "csv", "--output", "out.csv"],
    );
    wait_until("a temporary output file", || {
        !temporaries(dir.path()).is_empty()
    });
    child.signal("INT");
    child.signal("INT");
    let (exit, _) = exit_of(child);
    assert_eq!(exit, 130);
    assert_eq!(temporaries(dir.path()), Vec::<String>::new());
}

#[test]
fn gen_and_report_clean_up_on_a_signal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let child = Spawned::cxsql(dir.path(), &["gen", "--out", "g", "--tickets", "20000000"]);
    wait_until("generated files being written", || {
        !temporaries(&dir.path().join("g")).is_empty()
    });
    child.signal("INT");
    let (exit, err) = exit_of(child);
    assert_eq!(exit, 130, "{err}");
    assert_eq!(temporaries(dir.path()), Vec::<String>::new());

    std::fs::create_dir(dir.path().join("q")).expect("mkdir");
    std::fs::write(
        dir.path().join("q/slow.sql"),
        format!("-- name: slow\nSELECT count(*) AS n FROM ({ENDLESS}) WHERE value % 7 = 1\n"),
    )
    .expect("write");
    let child = Spawned::cxsql(
        dir.path(),
        &["report", "--queries", "q", "--out", "r", "-q"],
    );
    wait_until("the report's staging folder", || {
        !temporaries(dir.path()).is_empty()
    });
    std::thread::sleep(Duration::from_millis(300));
    child.signal("TERM");
    let (exit, err) = exit_of(child);
    assert_eq!(exit, 143, "{err}");
    assert_eq!(temporaries(dir.path()), Vec::<String>::new());
    assert!(!dir.path().join("r").exists());
}

#[test]
fn an_interrupted_copy_leaves_neither_a_partial_file_nor_its_staging_folder() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("out.csv"), "earlier").expect("write");
    let copy = format!("COPY ({ENDLESS}) TO 'out.csv' STORED AS CSV");
    let child = Spawned::cxsql(dir.path(), &["query", &copy, "--force"]);
    wait_until("the COPY's staging folder", || {
        !temporaries(dir.path()).is_empty()
    });
    std::thread::sleep(Duration::from_millis(300));
    child.signal("INT");
    let (exit, err) = exit_of(child);
    assert_eq!(exit, 130, "{err}");
    assert_eq!(temporaries(dir.path()), Vec::<String>::new());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.csv")).expect("kept"),
        "earlier",
        "the file the COPY would have replaced is untouched"
    );
}
