//! Exports as support teams have them (issue 13): the dialect and the header are sniffed from the file,
//! column names are cleaned. Every fixture is written by the test itself.

use crate::util::{Row, cxsql_in};

/// Writes `files` into a fresh folder and runs `sql` over it (`--data .`), returning the JSON rows.
fn rows(files: &[(&str, &[u8])], sql: &str) -> Vec<Row> {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).expect("write");
    }
    let out = cxsql_in(
        dir.path(),
        &["--data", ".", "query", sql, "--format", "json"],
        None,
    );
    assert_eq!(out.code, 0, "{sql}: {}", out.stderr);
    serde_json::from_str(&out.stdout).expect("a JSON array")
}

/// The column names and types of `table`, as `schema` prints them.
fn schema(files: &[(&str, &[u8])], table: &str) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).expect("write");
    }
    let out = cxsql_in(
        dir.path(),
        &["--data", ".", "schema", table, "--format", "json"],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows: Vec<Row> = serde_json::from_str(&out.stdout).expect("a JSON array");
    rows.iter()
        .map(|r| {
            (
                r["column_name"].as_str().expect("name").to_string(),
                r["data_type"].as_str().expect("type").to_string(),
            )
        })
        .collect()
}

#[test]
fn the_delimiter_is_sniffed() {
    for (delimiter, name) in [(";", "semi.csv"), ("\t", "tabs.csv"), ("|", "pipes.csv")] {
        let text = format!(
            "id{d}channel{d}note\n1{d}email{d}a, b\n2{d}chat{d}\"x{d}y\"\n",
            d = delimiter
        );
        let table = name.trim_end_matches(".csv");
        let got = rows(
            &[(name, text.as_bytes())],
            &format!("SELECT id, channel, note FROM {table} ORDER BY id"),
        );
        assert_eq!(got.len(), 2, "{name}");
        assert_eq!(got[0]["channel"], "email", "{name}");
        assert_eq!(got[0]["note"], "a, b", "{name}");
        assert_eq!(got[1]["note"], format!("x{delimiter}y"), "{name}");
    }
}

#[test]
fn empty_and_repeated_header_names_are_made_usable() {
    let text = b" Ticket ID ,Satisfaction rating,Column1,,,Ticket ID\nT1,4,,,,x\nT2,5,,,,y\n";
    let names: Vec<String> = schema(&[("calls.csv", text)], "calls")
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(
        names,
        [
            "Ticket ID",
            "Satisfaction rating",
            "Column1",
            "column4",
            "column5",
            "Ticket ID_1"
        ]
    );
    let got = rows(
        &[("calls.csv", text)],
        "SELECT \"Ticket ID\", \"Ticket ID_1\", \"Satisfaction rating\" + 0 AS r, column4 FROM calls ORDER BY 1",
    );
    assert_eq!(got[1]["Ticket ID"], "T2");
    assert_eq!(got[1]["Ticket ID_1"], "y");
    assert_eq!(got[1]["r"], 5);
    assert_eq!(
        got[1]["column4"],
        serde_json::Value::Null,
        "an empty column is text, all NULL"
    );
}

#[test]
fn a_file_without_a_header_is_recognised() {
    let text = b"1,email,4.5\n2,chat,3\n3,phone,5\n";
    assert_eq!(
        schema(&[("raw.csv", text)], "raw"),
        [
            ("column1".to_string(), "Int64".to_string()),
            ("column2".to_string(), "Utf8".to_string()),
            ("column3".to_string(), "Float64".to_string())
        ]
    );
    let got = rows(
        &[("raw.csv", text)],
        "SELECT count(*) AS n, sum(column3) AS s FROM raw",
    );
    assert_eq!(got[0]["n"], 3, "the first record is a row, not a header");
    assert_eq!(got[0]["s"], 12.5);
}

#[test]
fn comment_lines_a_bom_and_crlf_are_read() {
    let text = b"# exported by the helpdesk\r\n# 2 tickets\r\nid;score\r\n1;5\r\n2;7\r\n";
    let got = rows(
        &[("c.csv", text)],
        "SELECT sum(score) AS s, count(*) AS n FROM c",
    );
    assert_eq!(got[0]["s"], 12);
    assert_eq!(got[0]["n"], 2);
    let text = b"\xEF\xBB\xBFid;score\r\n1;5\r\n2;7\r\n";
    let got = rows(&[("b.csv", text)], "SELECT sum(score) AS s FROM b");
    assert_eq!(
        got[0]["s"], 12,
        "the byte order mark is not part of the first name"
    );
}

#[test]
fn a_ragged_row_in_a_sniffed_file_names_file_line_and_header() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("t.csv"), "a;b;c\n1;2;3\n4;5\n").expect("write");
    let out = cxsql_in(
        dir.path(),
        &["--data", ".", "query", "SELECT count(*) FROM t"],
        None,
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stderr
            .contains("t.csv: line 3: 2 fields where the header has 3"),
        "{}",
        out.stderr
    );
}
