//! Where results are written: report result files always inside --out with distinct names, --out that is a
//! file or the current folder refused, --output to a device written as it is.

use crate::util::{cxsql_in, root};

#[test]
fn a_query_name_cannot_write_outside_the_report_and_duplicates_get_distinct_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let victim = dir.path().join("victim");
    std::fs::create_dir(&victim).expect("mkdir");
    std::fs::write(victim.join("target.parquet"), "precious").expect("write");
    std::fs::create_dir(dir.path().join("q")).expect("mkdir");
    std::fs::write(
        dir.path().join("q/evil.sql"),
        "-- name: ../../victim/target\n-- description: escapes\nSELECT 1 AS a\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("q/by_param.sql"),
        "-- name: by_param\n-- param: k INT = 1\nSELECT $k AS k\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("report.toml"),
        "[[query]]\nfile = \"q/evil.sql\"\n\n[[query]]\nfile = \"q/by_param.sql\"\nparams = { k = \"1\" }\n\n\
         [[query]]\nfile = \"q/by_param.sql\"\nparams = { k = \"2\" }\n",
    )
    .expect("write");
    let data = root().join("data");
    let out = cxsql_in(
        dir.path(),
        &[
            "--data",
            data.to_str().expect("utf-8"),
            "report",
            "--report",
            "report.toml",
            "--out",
            "r",
            "--format",
            "csv",
            "-q",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(victim.join("target.parquet")).expect("kept"),
        "precious"
    );
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("r/manifest.json")).expect("manifest"),
    )
    .expect("json");
    let files: Vec<&str> = manifest["queries"]
        .as_array()
        .expect("queries")
        .iter()
        .map(|q| q["file"].as_str().expect("file"))
        .collect();
    assert_eq!(
        files,
        ["______victim_target.csv", "by_param.csv", "by_param-2.csv"]
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("r/by_param.csv")).expect("1"),
        "k\n1\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("r/by_param-2.csv")).expect("2"),
        "k\n2\n"
    );
    let page = std::fs::read_to_string(dir.path().join("r/index.html")).expect("page");
    assert_eq!(page.matches("id=\"by_param\"").count(), 1, "ids are unique");
    assert_eq!(
        page.matches("id=\"by_param-2\"").count(),
        1,
        "ids are unique"
    );
}

#[test]
fn report_out_must_be_a_report_folder_of_its_own() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("notes.txt"), "mine").expect("write");
    let queries = root().join("queries");
    let data = root().join("data");
    let args = |out: &'static str| -> Vec<String> {
        [
            "--data",
            data.to_str().expect("utf-8"),
            "report",
            "--queries",
            queries.to_str().expect("utf-8"),
            "--out",
            out,
            "--force",
            "-q",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    for (out, expected) in [
        ("notes.txt", "is not a folder"),
        (".", "is the current folder"),
        ("..", "is the current folder or one above it"),
    ] {
        let a = args(out);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let result = cxsql_in(dir.path(), &a, None);
        result.assert_fails(2, expected);
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("notes.txt")).expect("kept"),
        "mine"
    );
    std::fs::create_dir(dir.path().join("src")).expect("mkdir");
    std::fs::write(dir.path().join("src/main.rs"), "fn main() {}").expect("write");
    let a = args("src");
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let result = cxsql_in(dir.path(), &a, None);
    result.assert_fails(2, "not a cxsql report");
    assert!(dir.path().join("src/main.rs").exists());
    assert!(crate::hostile::temporaries(dir.path()).is_empty());
}

#[test]
fn output_to_a_device_writes_to_it_and_regular_files_need_force() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = cxsql_in(
        dir.path(),
        &[
            "query",
            "SELECT 1 AS a",
            "--format",
            "csv",
            "--output",
            "/dev/null",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let meta = std::fs::metadata("/dev/null").expect("/dev/null");
    assert!(
        std::os::unix::fs::FileTypeExt::is_char_device(&meta.file_type()),
        "still a device"
    );
    let out = cxsql_in(
        dir.path(),
        &[
            "query",
            "SELECT 1 AS a",
            "--format",
            "csv",
            "--output",
            "/dev/stdout",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "a\n1\n");
    // Through a symbolic link, the file it points to is replaced and the link stays.
    std::fs::write(dir.path().join("real.csv"), "old").expect("write");
    std::os::unix::fs::symlink("real.csv", dir.path().join("link.csv")).expect("symlink");
    let out = cxsql_in(
        dir.path(),
        &[
            "query",
            "SELECT 2 AS b",
            "--format",
            "csv",
            "--output",
            "link.csv",
        ],
        None,
    );
    assert_eq!(out.code, 2);
    let out = cxsql_in(
        dir.path(),
        &[
            "query",
            "SELECT 2 AS b",
            "--format",
            "csv",
            "--output",
            "link.csv",
            "--force",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        std::fs::symlink_metadata(dir.path().join("link.csv"))
            .expect("link")
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("real.csv")).expect("real"),
        "b\n2\n"
    );
}
