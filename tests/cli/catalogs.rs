//! Catalogs.

use std::collections::BTreeMap;

use crate::util::*;

#[test]
fn the_example_catalog_maps_the_external_export_onto_the_canonical_schema() {
    let catalog = ["--catalog", "examples/kaggle_catalog.toml"];
    let mut args = catalog.to_vec();
    args.extend([
        "query",
        "SELECT channel, csat(csat_score) AS csat, count(*) AS rated FROM surveys GROUP BY channel ORDER BY channel",
    ]);
    let rows = json_rows(&args);
    let expected =
        independent_csat_per_channel(&root().join("tests/fixtures/customer_support_tickets.csv"));
    let names: BTreeMap<&str, &str> = [
        ("chat", "Chat"),
        ("email", "Email"),
        ("phone", "Phone"),
        ("social", "Social media"),
    ]
    .into();
    assert_eq!(rows.len(), 4);
    for row in &rows {
        let (satisfied, rated, _) = expected[names[row["channel"].text()]];
        assert_close(row["csat"].num(), 100.0 * satisfied / rated, "csat");
        assert_eq!(row["rated"].num(), rated);
    }
    // The catalog's views replace data/'s tables of the same name, and saved queries run on them unchanged.
    let mut args = catalog.to_vec();
    args.extend([
        "run",
        "queries/tickets_past_sla.sql",
        "--param",
        "at=2023-06-01T00:00:00Z",
    ]);
    let sla = json_rows(&args);
    assert!(
        sla.iter()
            .all(|r| ["chat", "email", "phone", "social"].contains(&r["channel"].text()))
    );
    let mut args = catalog.to_vec();
    args.extend(["query", "SELECT count(*) AS n FROM tickets"]);
    assert_eq!(json_rows(&args)[0]["n"].num(), 8469.0);
}

#[test]
fn a_catalog_declares_partitions_options_and_is_found_in_the_working_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    for (year, rows) in [(2023, "a;2\nb;3\n"), (2024, "a;5\n")] {
        let part = d.join(format!("scores/year={year}"));
        std::fs::create_dir_all(&part).expect("partition");
        std::fs::write(part.join("part-0.txt"), format!("name;score\n{rows}")).expect("file");
    }
    std::fs::write(
        d.join("cxsql.toml"),
        "[tables.scores]\nlocation = \"scores/\"\nformat = \"csv\"\npartitions = [\"year SMALLINT\"]\n\
         options = { delimiter = \";\" }\n\n[[views]]\nname = \"recent\"\nsql = \"SELECT * FROM scores WHERE year >= 2024\"\n",
    )
    .expect("catalog");
    let out = cxsql_in(
        d,
        &[
            "query",
            "SELECT year, arrow_typeof(year) AS t, sum(score) AS s FROM scores GROUP BY year ORDER BY year",
            "--format",
            "csv",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "year,t,s\n2023,Int16,5\n2024,Int16,5\n");
    let recent = cxsql_in(
        d,
        &[
            "query",
            "SELECT count(*) AS n FROM recent",
            "--format",
            "csv",
        ],
        None,
    );
    assert_eq!(recent.stdout, "n\n1\n", "{}", recent.stderr);

    std::fs::write(d.join("bad.toml"), "[tables.x]\nlocaton = \"typo\"\n").expect("bad");
    let bad = cxsql_in(d, &["--catalog", "bad.toml", "tables"], None);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("bad.toml") && bad.stderr.contains("locaton"),
        "{}",
        bad.stderr
    );
}

/// A CSV export as help desks write them: day-first dates, quoted newlines, `\"` inside quoted text.
const EXPORT_CSV: &str = "id,opened,closed_on,note\n\
    1,31/01/2024 09:05,01/02/2024,\"plain\"\n\
    2,01/02/2024 17:30,,\"<div style=\\\"\"x\\\"\">two\nlines, and a comma</div>\"\n\
    3,29/02/2024 23:59,04/03/2024,\n";

#[test]
fn compressed_csv_and_text_timestamps_are_read_as_the_catalog_says() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::create_dir_all(d.join("exports")).expect("folder");
    std::fs::write(
        d.join("exports/tickets.csv.gz"),
        gzip(EXPORT_CSV.as_bytes()),
    )
    .expect("gz");
    std::fs::write(d.join("exports/tickets.dat"), gzip(EXPORT_CSV.as_bytes())).expect("dat");
    std::fs::write(d.join("exports/plain.csv"), EXPORT_CSV).expect("csv");
    let sql = "SELECT id, opened, arrow_typeof(opened) AS t1, closed_on, arrow_typeof(closed_on) AS t2, \
               length(note) AS len FROM t ORDER BY id";
    let run = |toml: &str, sql: &str| {
        std::fs::write(d.join("cxsql.toml"), toml).expect("catalog");
        cxsql_in(d, &["query", sql, "--format", "csv"], None)
    };

    // Without formats: compressed or not, the day-first columns are recognised (31/01, 29/02 decide the
    // order; issue 13).
    let expected_text = "id,opened,t1,closed_on,t2,len\n\
        1,2024-01-31T09:05:00,Timestamp(µs),2024-02-01,Date32,5\n\
        2,2024-02-01T17:30:00,Timestamp(µs),,Date32,45\n\
        3,2024-02-29T23:59:00,Timestamp(µs),2024-03-04,Date32,\n";
    for location in ["exports/tickets.csv.gz", "exports/plain.csv"] {
        let out = run(&format!("[tables.t]\nlocation = \"{location}\"\n"), sql);
        assert_eq!(out.code, 0, "{location}: {}", out.stderr);
        assert_eq!(out.stdout, expected_text, "{location}");
    }
    // A compression the extension does not tell is named in the catalog.
    let out = run(
        "[tables.t]\nlocation = \"exports/tickets.dat\"\nformat = \"csv\"\noptions = { compression = \"gzip\" }\n",
        sql,
    );
    assert_eq!(out.stdout, expected_text, "{}", out.stderr);

    // With formats: the columns whose every value parses become timestamps and dates.
    let formats =
        "options = { timestamp_format = \"%d/%m/%Y %H:%M\", date_format = \"%d/%m/%Y\" }\n";
    let out = run(
        &format!("[tables.t]\nlocation = \"exports/tickets.csv.gz\"\n{formats}"),
        sql,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "id,opened,t1,closed_on,t2,len\n\
         1,2024-01-31T09:05:00,Timestamp(µs),2024-02-01,Date32,5\n\
         2,2024-02-01T17:30:00,Timestamp(µs),,Date32,45\n\
         3,2024-02-29T23:59:00,Timestamp(µs),2024-03-04,Date32,\n"
    );
    let filtered = run(
        &format!("[tables.t]\nlocation = \"exports/tickets.csv.gz\"\n{formats}"),
        "SELECT count(*) AS n, sum(closed_on - CAST(opened AS DATE)) AS days FROM t \
         WHERE opened >= TIMESTAMP '2024-02-01 00:00:00'",
    );
    assert_eq!(filtered.stdout, "n,days\n2,4\n", "{}", filtered.stderr);
    // An offset in the format gives UTC instants.
    std::fs::write(
        d.join("exports/zoned.csv"),
        "id,at\n1,2024-03-10 08:00 +0100\n2,2024-03-10 08:00 -0500\n",
    )
    .expect("zoned");
    let zoned = run(
        "[tables.t]\nlocation = \"exports/zoned.csv\"\noptions = { timestamp_format = \"%Y-%m-%d %H:%M %z\" }\n",
        "SELECT id, at, arrow_typeof(at) AS t FROM t ORDER BY id",
    );
    assert_eq!(
        zoned.stdout,
        "id,at,t\n1,2024-03-10T07:00:00Z,\"Timestamp(µs, \"\"UTC\"\")\"\n2,2024-03-10T13:00:00Z,\"Timestamp(µs, \"\"UTC\"\")\"\n",
        "{}",
        zoned.stderr
    );

    // A first record longer than the 8 MB sample: cxsql reads on until it has one.
    let long = "x\n".repeat(5 << 20);
    std::fs::write(
        d.join("exports/long.csv"),
        format!("id,text,n\n1,\"{long}\",7\n2,short,8\n"),
    )
    .expect("long");
    let out = run(
        "[tables.t]\nlocation = \"exports/long.csv\"\n",
        "SELECT id, length(text) AS len, arrow_typeof(n) AS t FROM t ORDER BY id",
    );
    assert_eq!(
        out.stdout,
        format!("id,len,t\n1,{},Int64\n2,5,Int64\n", 10 << 20),
        "{}",
        out.stderr
    );

    // A data folder: `t.csv.gz` is table t.
    let data = d.join("data");
    std::fs::create_dir_all(&data).expect("data");
    std::fs::write(data.join("t.csv.gz"), gzip(EXPORT_CSV.as_bytes())).expect("gz");
    std::fs::remove_file(d.join("cxsql.toml")).expect("no catalog");
    let out = cxsql_in(d, &["query", sql, "--format", "csv"], None);
    assert_eq!(out.stdout, expected_text, "{}", out.stderr);

    // Mistakes are named.
    for (toml, words) in [
        (
            "[tables.t]\nlocation = \"exports/plain.csv\"\noptions = { compression = \"rar\" }\n",
            &["table t", "\"rar\"", "gzip"][..],
        ),
        (
            "[tables.t]\nlocation = \"exports/plain.csv\"\noptions = { timestamp_format = \"dd/mm/yyyy\" }\n",
            &["timestamp_format", "dd/mm/yyyy", "chrono"][..],
        ),
        (
            "[tables.t]\nlocation = \"exports/plain.csv\"\noptions = { date_format = \"%Q\" }\n",
            &["date_format", "%Q"][..],
        ),
    ] {
        let out = run(toml, "SELECT 1");
        assert_eq!(out.code, 2, "{toml}");
        for word in words {
            assert!(out.stderr.contains(word), "{word} not in {}", out.stderr);
        }
    }
    // A damaged file fails the queries that read it, naming it.
    std::fs::write(
        d.join("exports/broken.csv.gz"),
        &gzip(EXPORT_CSV.as_bytes())[..30],
    )
    .expect("broken");
    let out = run(
        "[tables.t]\nlocation = \"exports/broken.csv.gz\"\n",
        "SELECT count(*) FROM t",
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("broken.csv.gz") && out.stderr.contains("decompress"),
        "{}",
        out.stderr
    );
}

#[test]
fn partitioned_gen_writes_the_same_rows_into_hive_folders() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (flat, lake) = (dir.path().join("flat"), dir.path().join("lake"));
    ok(&["gen", "--out", &flat.to_string_lossy(), "--tickets", "5000"]);
    ok(&[
        "gen",
        "--out",
        &lake.to_string_lossy(),
        "--tickets",
        "5000",
        "--partitioned",
    ]);
    assert!(
        lake.join("tickets/year=2024/month=12/part-0.parquet")
            .is_file()
    );
    assert!(lake.join("surveys/part-47.parquet").is_file());
    assert!(lake.join("employee_pulse/part-47.parquet").is_file());
    assert!(lake.join("ticket_events/part-47.parquet").is_file());
    assert!(lake.join("messages/part-00.parquet").is_file());
    assert!(
        lake.join("customers/part-00.parquet").is_file()
            && lake.join("agents/part-0.parquet").is_file()
    );
    let sql = "SELECT (SELECT count(*) FROM tickets) AS tickets, (SELECT sum(ticket_id) FROM tickets) AS ids, \
               (SELECT nps(nps_score) FROM surveys) AS nps, (SELECT servqual_gap(perception, expectation) FROM servqual) AS gap, \
               (SELECT sum(customer_id) FROM customers WHERE churned_at IS NULL) AS customers, \
               (SELECT sum(monthly_revenue) FROM customers) AS revenue, \
               (SELECT count(*) FROM agents WHERE left_at IS NULL) AS agents, \
               (SELECT nps(enps_score) FROM employee_pulse) AS enps, \
               (SELECT count(*) FROM ticket_events) AS events, (SELECT sum(CAST(s * 1000000 AS BIGINT)) FROM \
                 (SELECT status_seconds(at, value, 'pending') AS s FROM ticket_events WHERE field = 'status' GROUP BY ticket_id)) AS pending, \
               (SELECT count(*) FROM messages WHERE public) AS messages";
    let a = json_rows(&["--data", &flat.to_string_lossy(), "query", sql]);
    let b = json_rows(&["--data", &lake.to_string_lossy(), "query", sql]);
    assert_eq!(a, b);
    let per_year = json_rows(&[
        "--data",
        &lake.to_string_lossy(),
        "query",
        "SELECT year, count(*) AS n, min(date_part('year', created_at)) AS lo, max(date_part('year', created_at)) AS hi \
         FROM tickets GROUP BY year ORDER BY year",
    ]);
    assert_eq!(per_year.len(), 4);
    for row in &per_year {
        assert_eq!(
            row["lo"].num(),
            row["year"].num(),
            "partition matches creation year"
        );
        assert_eq!(row["hi"].num(), row["year"].num());
    }
}
