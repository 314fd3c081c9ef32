//! CSV damage that used to lose rows silently or name no file: an error with the file and the line.

use crate::util::cxsql_in;

fn count(files: &[(&str, &[u8])], table: &str) -> crate::util::Output {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).expect("write");
    }
    cxsql_in(
        dir.path(),
        &[
            "--data",
            ".",
            "query",
            &format!("SELECT count(*) AS n FROM {table}"),
            "--format",
            "csv",
        ],
        None,
    )
}

#[test]
fn an_unterminated_quote_is_an_error_not_one_row() {
    let out = count(&[("t.csv", b"id,txt\n1,\"abc\n2,x\n3,y\n")], "t");
    out.assert_fails(1, "t.csv: line 2: unterminated quote");
}

#[test]
fn a_ragged_row_and_invalid_utf8_name_file_and_line() {
    let out = count(&[("r.csv", b"a,b\n1,2\n3,4\n5,6,7\n")], "r");
    out.assert_fails(1, "r.csv: line 4: 3 fields where the header has 2");
    // Not UTF-8 in the sample: read as Windows-1252 (issue 13). Declared UTF-8: an error naming the line.
    let out = count(&[("l.csv", b"a,b\n1,ok\n2,caf\xe9\n")], "l");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("l.csv"), b"a,b\n1,ok\n2,caf\xe9\n").expect("write");
    std::fs::write(
        dir.path().join("cxsql.toml"),
        "[tables.l]\nlocation = \"l.csv\"\noptions = { encoding = \"utf-8\" }\n",
    )
    .expect("write");
    let out = cxsql_in(dir.path(), &["query", "SELECT count(*) FROM l"], None);
    out.assert_fails(1, "l.csv: line 3: invalid UTF-8");
    // In a folder, the damaged file among good ones is the one named.
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("f")).expect("mkdir");
    std::fs::write(dir.path().join("f/a.csv"), "a,b\n1,2\n").expect("write");
    std::fs::write(dir.path().join("f/b.csv"), "a,b\n1,2,3\n").expect("write");
    let out = cxsql_in(
        dir.path(),
        &["--data", ".", "query", "SELECT count(*) FROM f"],
        None,
    );
    out.assert_fails(1, "f/b.csv: line 2: 3 fields");
}

#[test]
fn what_exports_do_is_read() {
    let out = count(
        &[("ok.csv", b"\xEF\xBB\xBFid,txt\r\n1,\"multi\nline, \"\"quoted\"\"\"\r\n\r\n2,5\" screen\r\n3,last")],
        "ok",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "n\n3\n");
}

#[test]
fn empty_files_have_clear_messages() {
    let out = count(&[("e.csv", b"")], "e");
    out.assert_fails(1, "every file of the table is empty");
    let out = count(&[("z.csv.gz", b"")], "z");
    out.assert_fails(1, "every file of the table is empty");
    assert!(!out.stderr.contains("Requested range"), "{}", out.stderr);
}

#[test]
fn files_of_a_folder_that_disagree_on_a_type_name_the_file_column_and_value() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("t")).expect("mkdir");
    std::fs::write(dir.path().join("t/a.csv"), "id,score\n1,5\n2,7\n").expect("write");
    std::fs::write(dir.path().join("t/b.csv"), "id,score\n3,9\n4,high\n").expect("write");
    let out = cxsql_in(
        dir.path(),
        &["--data", ".", "query", "SELECT sum(score) AS s FROM t"],
        None,
    );
    out.assert_fails(1, "t/b.csv: line 3, column score: 'high' is not a Int64");
}
