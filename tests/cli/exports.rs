//! Exports as support teams have them (issue 13): the dialect and the header are sniffed from the file,
//! column names are cleaned. Every fixture is written by the test itself.

use crate::util::{Output, Row, cxsql_in};

/// Writes `files` into a fresh folder and runs `sql` over it (`--data .`), returning the JSON rows.
fn rows(files: &[(&str, &[u8])], sql: &str) -> Vec<Row> {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).expect("write");
    }
    cxsql_in(
        dir.path(),
        &["--data", ".", "query", sql, "--format", "json"],
        None,
    )
    .rows()
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
    let text = b"\xEF\xBB\xBF# exported\r\nid;score\r\n1;5\r\n2;7\r\n";
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
    out.assert_fails(1, "t.csv: line 3: 2 fields where the header has 3");
}

/// A French export, as Excel writes it: `;`, decimal commas with thousands spaces, day-first timestamps,
/// durations, accented headers.
pub const FRENCH: &str = "Référence;Date de création;Note;Durée;Montant\n\
    T1;05/01/2024 09:12;3,5;0:02:23;1 234,50\n\
    T2;31/01/2024 10:00;4;1:00:05;12\n\
    T3;;;;-3,25\n";

/// `FRENCH` in UTF-16 LE with its byte order mark (Excel's "Unicode text").
pub fn utf16le(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    bytes
}

/// `FRENCH` in Windows-1252 (its accents are all in Latin-1).
pub fn windows_1252(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("a Latin-1 character"))
        .collect()
}

#[test]
fn a_french_export_loads_with_no_options_in_every_encoding() {
    let bom: Vec<u8> = [b"\xEF\xBB\xBF".as_slice(), FRENCH.as_bytes()].concat();
    let encodings: [(&str, Vec<u8>); 4] = [
        ("utf8", FRENCH.as_bytes().to_vec()),
        ("bom", bom),
        ("latin", windows_1252(FRENCH)),
        ("wide", utf16le(FRENCH)),
    ];
    for (table, bytes) in encodings {
        let file = format!("{table}.csv");
        let files = [(file.as_str(), bytes.as_slice())];
        assert_eq!(
            schema(&files, table),
            [
                ("Référence".to_string(), "Utf8".to_string()),
                ("Date de création".to_string(), "Timestamp(µs)".to_string()),
                ("Note".to_string(), "Float64".to_string()),
                ("Durée".to_string(), "Interval(MonthDayNano)".to_string()),
                ("Montant".to_string(), "Float64".to_string()),
            ],
            "{table}"
        );
        let got = rows(
            &files,
            &format!(
                "SELECT \"Référence\" AS r, CAST(\"Date de création\" AS VARCHAR) AS created, \"Note\" AS note, \
                 CAST(date_part('second', \"Durée\") AS BIGINT) + 60 * CAST(date_part('minute', \"Durée\") AS BIGINT) \
                 + 3600 * CAST(date_part('hour', \"Durée\") AS BIGINT) AS seconds, \"Montant\" AS amount \
                 FROM {table} ORDER BY r"
            ),
        );
        assert_eq!(got.len(), 3, "{table}");
        assert_eq!(got[0]["r"], "T1", "{table}");
        // 05/01 is the 5th of January: 31/01 in the same column decides day-first.
        assert_eq!(got[0]["created"], "2024-01-05T09:12:00", "{table}");
        assert_eq!(got[0]["note"], 3.5, "{table}");
        assert_eq!(got[0]["seconds"], 143, "{table}");
        assert_eq!(got[0]["amount"], 1234.5, "{table}");
        assert_eq!(got[1]["seconds"], 3605, "{table}");
        assert_eq!(got[1]["amount"], 12.0, "{table}");
        assert_eq!(got[2]["created"], serde_json::Value::Null, "{table}");
        assert_eq!(got[2]["amount"], -3.25, "{table}");
    }
}

#[test]
fn day_first_month_first_and_ambiguous_dates() {
    let types = |text: &str| -> Vec<String> {
        schema(&[("d.csv", text.as_bytes())], "d")
            .into_iter()
            .map(|(_, t)| t)
            .collect()
    };
    assert_eq!(
        types("a;b\n31/03/2021;x\n01/04/2021;y\n"),
        ["Date32", "Utf8"]
    );
    assert_eq!(
        types("a,b\n03/31/2021,x\n04/01/2021,y\n"),
        ["Date32", "Utf8"]
    );
    // No day above 12 and nothing else to go by: text.
    assert_eq!(types("a,b\n05/01/2024,x\n06/01/2024,y\n"), ["Utf8", "Utf8"]);
    let got = rows(
        &[("m.csv", b"a,b\n03/31/2021,x\n04/01/2021,y\n".as_slice())],
        "SELECT CAST(a AS VARCHAR) AS a FROM m ORDER BY a",
    );
    assert_eq!(got[1]["a"], "2021-04-01", "month-first: April 1st");
}

#[test]
fn a_value_that_does_not_fit_its_column_names_file_line_column_and_value() {
    // The first 10,000 records decide the type; the value after them does not fit.
    let mut text = String::from("id;amount\n");
    for i in 0..10_050 {
        let amount = if i == 10_040 {
            "n/a".to_string()
        } else {
            format!("{i},5")
        };
        text.push_str(&format!("{i};{amount}\n"));
    }
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("big.csv"), text).expect("write");
    let out = cxsql_in(
        dir.path(),
        &["--data", ".", "query", "SELECT sum(amount) FROM big"],
        None,
    );
    out.assert_fails(
        1,
        "big.csv: line 10042, column amount: 'n/a' is not a number with a decimal comma (3,5)",
    );
}

#[test]
fn a_large_export_with_quoted_line_breaks_reads_every_record_exactly() {
    // About 4 MB: several of the reader's 1 MB blocks, with records and multi-byte characters cut at
    // their edges. Every value is known here, so the totals are checked against the generated rows.
    let mut text = String::from("\u{feff}id;note;amount\r\n");
    let mut chars = 0u64;
    let mut amounts = 0.0f64;
    let pieces = ["a", "é", "\n", ";", "\"", "line\r\nbreak", "€", " "];
    let n = 40_000;
    for i in 0..n {
        let mut note = String::new();
        for k in 0..(i % 13) {
            note.push_str(pieces[(i * 7 + k * 3) % pieces.len()]);
        }
        chars += note.chars().count() as u64;
        let amount = (i % 1000) as f64 / 4.0;
        amounts += amount;
        let quoted = note.replace('"', "\"\"");
        text.push_str(&format!(
            "{i};\"{quoted}\";{}\r\n",
            format!("{amount}").replace('.', ",")
        ));
    }
    let got = rows(
        &[("big.csv", text.as_bytes())],
        "SELECT count(*) AS n, sum(length(note)) AS chars, sum(amount) AS amounts, \
         count(DISTINCT id) AS ids FROM big",
    );
    assert_eq!(got[0]["n"], n);
    assert_eq!(got[0]["ids"], n);
    assert_eq!(got[0]["chars"], chars);
    assert_eq!(got[0]["amounts"].as_f64(), Some(amounts));
}

#[test]
fn sniff_says_what_was_detected_and_gives_a_catalog_entry_that_pins_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("export.csv"), windows_1252(FRENCH)).expect("write");
    let out = cxsql_in(dir.path(), &["sniff", "export.csv"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for expected in [
        "encoding   windows-1252: not UTF-8 (byte 0xE9 at offset 1)",
        "dialect    delimiter ';', quote '\"'",
        "5 fields in each of 4 records with ';'",
        "header     yes",
        "| Montant          | Float64                | every sample value is a number with a decimal comma (3,5) |",
        "| T1        | 2024-01-05T09:12:00 |",
        "[tables.export.options]\ndelimiter = \";\"\nquote = \"\\\"\"\nescape = \"\"\ncomment = \"\"\n\
         header = true\nencoding = \"windows-1252\"\ndecimal = \",\"\ndates = \"day-first\"\n",
        "[tables.export.options.columns]\n\"Référence\" = \"VARCHAR\"\n\"Date de création\" = \"TIMESTAMP(6)\"\n\
         Note = \"DOUBLE\"\n\"Durée\" = \"INTERVAL\"\nMontant = \"DOUBLE\"\n",
    ] {
        assert!(
            out.stdout.contains(expected),
            "{expected:?} in\n{}",
            out.stdout
        );
    }
    // The entry, pasted into a catalog, reads the file the same way.
    let entry = out
        .stdout
        .split("catalog entry (pins this reading)\n")
        .nth(1)
        .expect("an entry");
    std::fs::write(dir.path().join("cxsql.toml"), entry).expect("catalog");
    let out = cxsql_in(
        dir.path(),
        &[
            "query",
            "SELECT sum(\"Montant\") AS s FROM export",
            "--format",
            "csv",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "s\n1243.25\n");
    let pinned = cxsql_in(dir.path(), &["schema", "export", "--format", "json"], None);
    let plain = tempfile::tempdir().expect("temp dir");
    std::fs::write(plain.path().join("export.csv"), windows_1252(FRENCH)).expect("write");
    let sniffed = cxsql_in(
        plain.path(),
        &["--data", ".", "schema", "export", "--format", "json"],
        None,
    );
    assert_eq!(pinned.code, 0, "{}", pinned.stderr);
    assert_eq!(
        pinned.stdout, sniffed.stdout,
        "the pinned types are the detected ones"
    );
    // Not a CSV file: said so.
    std::fs::write(dir.path().join("x.json"), "{\"a\": 1}\n").expect("write");
    let out = cxsql_in(dir.path(), &["sniff", "x.json"], None);
    out.assert_fails(2, "not a CSV table");
}

/// An export of `n` records (`id;note;amount`, notes with quoted line breaks, semicolons, doubled quotes and
/// multi-byte characters), after a byte order mark and a header, with CRLF line ends.
pub fn export_rows(text: &mut String, ids: std::ops::Range<usize>) {
    let pieces = [
        "a",
        "é",
        "\n",
        ";",
        "\"",
        "line\r\nbreak",
        "€",
        " ",
        "1;2;3",
    ];
    for i in ids {
        let mut note = String::new();
        for k in 0..(i % 29) {
            note.push_str(pieces[(i * 7 + k * 3) % pieces.len()]);
        }
        let quoted = note.replace('"', "\"\"");
        let amount = format!("{}", (i % 1000) as f64 / 4.0).replace('.', ",");
        text.push_str(&format!("{i};\"{quoted}\";{amount}\r\n"));
    }
}

/// Runs `args` in `dir`, expecting success; the standard output.
fn run_in(dir: &std::path::Path, args: &[&str]) -> String {
    let out = cxsql_in(dir, args, None);
    assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
    out.stdout
}

#[test]
fn a_large_file_read_in_parallel_equals_the_serial_read_row_for_row() {
    // About 15 MB (DataFusion splits files of 10 MB and more), read by 4 partitions. In the middle of the
    // first quarter, one quoted value of 1.5 MB: longer than the window a part searches for its first
    // record, so that part's start is undecided and the part before reads on through it.
    let mut text = String::from("\u{feff}id;note;amount\r\n");
    export_rows(&mut text, 0..10_000);
    let long = "a long note, line after line\r\n".repeat(50_000);
    text.push_str(&format!("10000;\"{long}\";1,5\r\n"));
    export_rows(&mut text, 10_001..200_000);
    assert!(text.len() > 12_000_000, "{} bytes", text.len());

    let parallel = tempfile::tempdir().expect("temp dir");
    std::fs::write(parallel.path().join("big.csv"), &text).expect("write");
    let serial = tempfile::tempdir().expect("temp dir");
    std::fs::write(serial.path().join("big.csv"), &text).expect("write");
    std::fs::write(
        serial.path().join("cxsql.toml"),
        "[tables.big]\nlocation = \"big.csv\"\noptions = { parallel = false }\n",
    )
    .expect("write");

    let plan = |dir: &std::path::Path, data: &[&'static str]| {
        let mut args = data.to_vec();
        args.extend([
            "--threads",
            "4",
            "query",
            "EXPLAIN SELECT count(*) FROM big",
        ]);
        run_in(dir, &args)
    };
    assert!(
        plan(parallel.path(), &["--data", "."]).contains("big.csv:0.."),
        "the file is read in byte ranges"
    );
    assert!(
        !plan(serial.path(), &[]).contains("big.csv:0.."),
        "parallel = false reads it whole"
    );

    let sql = "SELECT id, note, amount FROM big ORDER BY id";
    let read = |dir: &std::path::Path, data: &[&'static str]| {
        let mut args = data.to_vec();
        args.extend(["--threads", "4", "query", sql, "--format", "csv"]);
        run_in(dir, &args)
    };
    let in_parts = read(parallel.path(), &["--data", "."]);
    let whole = read(serial.path(), &[]);
    assert_eq!(in_parts.lines().count(), whole.lines().count());
    assert!(
        in_parts == whole,
        "the parallel read differs from the serial read"
    );
    let counted = run_in(
        parallel.path(),
        &[
            "--data",
            ".",
            "--threads",
            "4",
            "query",
            "SELECT count(*) AS n, count(DISTINCT id) AS ids, max(length(note)) AS longest FROM big",
            "--format",
            "json",
        ],
    );
    let got: Vec<Row> = serde_json::from_str(&counted).expect("JSON");
    assert_eq!(got[0]["n"], 200_000);
    assert_eq!(got[0]["ids"], 200_000);
    assert_eq!(got[0]["longest"], long.chars().count());
}

#[test]
fn a_split_that_cannot_be_told_from_a_record_start_is_an_error_not_a_wrong_count() {
    // A quoted value made of lines that look exactly like the file's records, across the first of four
    // split points: the part after it takes a line inside the quotes for a record start. The part before
    // knows the quote is open there and the query fails, naming the fix.
    let mut head = String::from("id;note;amount\n");
    export_rows(&mut head, 0..50_000);
    let fake = "7;x;1\n".repeat(40_000);
    let middle = head.len() + fake.len() / 2;
    let mut text = format!("{head}50000;\"{fake}\";1\n");
    let mut next = 50_001;
    while text.len() < 4 * middle {
        export_rows(&mut text, next..next + 1000);
        next += 1000;
    }
    assert!(text.len() > 10 * 1024 * 1024, "{} bytes", text.len());
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("tricky.csv"), &text).expect("write");
    let out = cxsql_in(
        dir.path(),
        &[
            "--data",
            ".",
            "--threads",
            "4",
            "query",
            "SELECT count(*) AS n FROM tricky",
        ],
        None,
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stderr.contains("tricky.csv: line ")
            && out
                .stderr
                .contains("set `parallel = false` in the table's catalog options"),
        "{}",
        out.stderr
    );
    std::fs::write(
        dir.path().join("cxsql.toml"),
        "[tables.whole]\nlocation = \"tricky.csv\"\noptions = { parallel = false }\n",
    )
    .expect("write");
    let got: Vec<Row> = serde_json::from_str(&run_in(
        dir.path(),
        &[
            "--threads",
            "4",
            "query",
            "SELECT count(*) AS n FROM whole",
            "--format",
            "json",
        ],
    ))
    .expect("JSON");
    assert_eq!(got[0]["n"], next);
}

/// Writes `file` (as `name`) and a catalog whose table `t` reads it with `options`, then runs `sql`.
fn with_options(name: &str, file: &[u8], options: &str, sql: &str) -> crate::util::Output {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join(name), file).expect("write");
    std::fs::write(
        dir.path().join("cxsql.toml"),
        format!("[tables.t]\nlocation = {name:?}\noptions = {options}\n"),
    )
    .expect("write");
    cxsql_in(dir.path(), &["query", sql, "--format", "json"], None)
}

#[test]
fn every_detected_choice_can_be_overridden_in_the_catalog() {
    // decimal = ",": quoted decimal commas in a comma-separated file are numbers.
    let comma = b"id,amount\n1,\"3,5\"\n2,\"1 234,25\"\n3,7\n";
    let plain = with_options("c.csv", comma, "{}", "SELECT amount FROM t ORDER BY id");
    assert_eq!(plain.rows()[0]["amount"], "3,5", "detected: text");
    let got = Output::rows(&with_options(
        "c.csv",
        comma,
        "{ decimal = \",\" }",
        "SELECT sum(amount) AS s, arrow_typeof(min(amount)) AS ty FROM t",
    ));
    assert_eq!(got[0]["s"], 3.5 + 1234.25 + 7.0);
    assert_eq!(got[0]["ty"], "Float64");
    // decimal = ".": a semicolon file's "3,5" stays text.
    let got = Output::rows(&with_options(
        "f.csv",
        FRENCH.as_bytes(),
        "{ decimal = \".\" }",
        "SELECT arrow_typeof(\"Note\") AS ty FROM t LIMIT 1",
    ));
    assert_eq!(got[0]["ty"], "Utf8");

    // dates: an ambiguous sample (no day above 12) follows the catalog.
    let ambiguous = b"a,b\n05/01/2024,x\n06/01/2024,y\n";
    for (order, expected) in [("day-first", "2024-01-05"), ("month-first", "2024-05-01")] {
        let got = Output::rows(&with_options(
            "d.csv",
            ambiguous,
            &format!("{{ dates = \"{order}\" }}"),
            "SELECT CAST(a AS VARCHAR) AS a, arrow_typeof(a) AS ty FROM t ORDER BY b",
        ));
        assert_eq!(got[0]["a"], expected, "{order}");
        assert_eq!(got[0]["ty"], "Date32", "{order}");
    }

    // columns: durations as seconds, a decimal-comma amount as DECIMAL, a number kept as text, a
    // timestamp column as a DATE (day-first, as detected).
    let got = Output::rows(&with_options(
        "f.csv",
        FRENCH.as_bytes(),
        "{ columns = { \"Durée\" = \"DOUBLE\", \"Montant\" = \"DECIMAL(10,2)\", \"Note\" = \"VARCHAR\", \
         \"Date de création\" = \"DATE\" } }",
        "SELECT \"Référence\" AS r, \"Durée\" AS secs, CAST(\"Montant\" AS VARCHAR) AS amount, \"Note\" AS note, \
         CAST(\"Date de création\" AS VARCHAR) AS created, arrow_typeof(\"Montant\") AS ty FROM t ORDER BY r",
    ));
    assert_eq!(got[0]["secs"], 143.0);
    assert_eq!(got[1]["secs"], 3605.0);
    assert_eq!(got[0]["amount"], "1234.50");
    assert_eq!(got[2]["amount"], "-3.25");
    assert_eq!(got[0]["ty"], "Decimal128(10, 2)");
    assert_eq!(got[0]["note"], "3,5");
    assert_eq!(got[0]["created"], "2024-01-05");
    assert_eq!(got[2]["created"], serde_json::Value::Null);

    // A leading zero survives a text column; without the declaration the column is a number.
    let codes = b"zip,n\n01200,1\n75001,2\n";
    let got = Output::rows(&with_options(
        "z.csv",
        codes,
        "{ columns = { zip = \"VARCHAR\", n = \"SMALLINT\" } }",
        "SELECT zip, arrow_typeof(n) AS ty FROM t ORDER BY n",
    ));
    assert_eq!(got[0]["zip"], "01200");
    assert_eq!(got[0]["ty"], "Int16");
}

#[test]
fn overrides_that_do_not_fit_the_file_are_named() {
    // A value that is not of its declared type: file, line, column and value.
    let out = with_options(
        "n.csv",
        b"id,score\n1,4\n2,4\n3,high\n",
        "{ columns = { score = \"INT\" } }",
        "SELECT sum(score) FROM t",
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("n.csv: line 4, column score: 'high' is not a Int32")
            && out.stderr.contains("declared in the catalog"),
        "{}",
        out.stderr
    );
    // A column the file does not have.
    let out = with_options(
        "n.csv",
        b"id,score\n1,4\n",
        "{ columns = { Score = \"INT\" } }",
        "SELECT * FROM t",
    );
    out.assert_fails(
        1,
        "\"Score\", which it does not have; its columns are: id, score",
    );
    // Unknown option values are refused when the catalog is read.
    for (options, expected) in [
        (
            "{ decimal = \";\" }",
            "decimal \";\": expected \",\" or \".\"",
        ),
        (
            "{ dates = \"yearly\" }",
            "expected \"day-first\" or \"month-first\"",
        ),
        (
            "{ columns = { id = \"NUMBERISH\" } }",
            "columns: \"id\": NUMBERISH is not a SQL type",
        ),
    ] {
        let out = with_options("n.csv", b"id\n1\n", options, "SELECT * FROM t");
        out.assert_fails(2, expected);
    }
    // A delimiter given wrongly: the likely one is named.
    let out = with_options(
        "f.csv",
        FRENCH.as_bytes(),
        "{ delimiter = \",\" }",
        "SELECT * FROM t",
    );
    out.assert_fails(
        1,
        "looks like ';'-separated: 5 fields per line with ';', 1 with ','",
    );
}

#[test]
fn a_compressed_export_is_sniffed_and_decoded_like_the_plain_file() {
    let plain = windows_1252(FRENCH);
    let packed = crate::util::gzip(&plain);
    let sql = |table: &str| {
        format!(
            "SELECT \"Référence\" AS r, CAST(\"Date de création\" AS VARCHAR) AS created, \"Note\" AS note, \
             \"Montant\" AS amount, arrow_typeof(\"Durée\") AS duration FROM {table} ORDER BY r"
        )
    };
    let got = rows(&[("fr.csv.gz", packed.as_slice())], &sql("fr"));
    assert_eq!(got, rows(&[("fr.csv", plain.as_slice())], &sql("fr")));
    assert_eq!(got[0]["created"], "2024-01-05T09:12:00");
    assert_eq!(got[0]["note"], 3.5);
    assert_eq!(got[2]["amount"], -3.25);
    assert_eq!(got[0]["duration"], "Interval(MonthDayNano)");
}

/// The example export, parsed independently (the `csv` crate, Windows-1252 decoded by hand): for each channel,
/// the tickets, the CSAT (share of answered scores 4 or 5, in percent), the refunds and the handling seconds.
fn example_by_channel() -> std::collections::BTreeMap<String, (u64, f64, f64, f64)> {
    let bytes = std::fs::read(crate::util::root().join("examples/export_fr.csv")).expect("example");
    // Every character of the example is in Latin-1, where Windows-1252 and Unicode agree.
    let text: String = bytes.iter().map(|&b| char::from(b)).collect();
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(text.as_bytes());
    let mut out = std::collections::BTreeMap::new();
    let mut answers: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    for record in reader.records() {
        let r = record.expect("a record");
        let entry = out.entry(r[2].to_string()).or_insert((0, 0.0, 0.0, 0.0));
        entry.0 += 1;
        if !r[6].is_empty() {
            entry.2 += r[6]
                .replace(' ', "")
                .replace(',', ".")
                .parse::<f64>()
                .expect("amount");
        }
        let hms: Vec<f64> = r[4].split(':').map(|p| p.parse().expect("h:m:s")).collect();
        entry.3 += hms[0] * 3600.0 + hms[1] * 60.0 + hms[2];
        if !r[5].is_empty() {
            let a = answers.entry(r[2].to_string()).or_default();
            a.0 += 1;
            a.1 += u64::from(r[5].parse::<u8>().expect("score") >= 4);
        }
    }
    for (channel, (n, satisfied)) in answers {
        if let Some(e) = out.get_mut(&channel) {
            e.1 = 100.0 * satisfied as f64 / n as f64;
        }
    }
    out
}

#[test]
fn the_french_example_export_reads_with_no_options_and_with_its_catalog() {
    let expected = example_by_channel();
    assert_eq!(expected.len(), 4, "four channels in the example");
    let root = crate::util::root();
    let plain = cxsql_in(
        &root,
        &[
            "--table",
            "tickets_fr=examples/export_fr.csv",
            "query",
            "SELECT \"Canal\" AS c, count(*) AS n, csat(\"Note CSAT\") AS csat, sum(\"Montant remboursé\") AS refunded \
             FROM tickets_fr GROUP BY 1 ORDER BY 1",
            "--format",
            "json",
        ],
        None,
    );
    let pinned = cxsql_in(
        &root,
        &[
            "--catalog",
            "examples/export_fr.toml",
            "query",
            "SELECT \"Canal\" AS c, count(*) AS n, csat(\"Note CSAT\") AS csat, sum(\"Montant remboursé\") AS refunded, \
             sum(\"Durée\") AS seconds FROM tickets_fr GROUP BY 1 ORDER BY 1",
            "--format",
            "json",
        ],
        None,
    );
    for (out, with_seconds) in [(plain, false), (pinned, true)] {
        let got = out.rows();
        assert_eq!(got.len(), expected.len());
        for (row, (channel, (n, csat, refunded, seconds))) in got.iter().zip(&expected) {
            assert_eq!(row["c"], channel.as_str());
            assert_eq!(row["n"], *n, "{channel}");
            let near =
                |v: &serde_json::Value, x: f64| (v.as_f64().expect("a number") - x).abs() < 1e-9;
            assert!(
                near(&row["csat"], *csat),
                "{channel}: {} vs {csat}",
                row["csat"]
            );
            assert!(
                near(&row["refunded"], *refunded),
                "{channel}: {} vs {refunded}",
                row["refunded"]
            );
            if with_seconds {
                assert!(
                    near(&row["seconds"], *seconds),
                    "{channel}: {} vs {seconds}",
                    row["seconds"]
                );
            }
        }
    }
}
