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

/// Fivetran's Zendesk tables (examples/zendesk_fivetran/, in the connector's names and types) through
/// examples/zendesk_fivetran.toml: the canonical history and tickets, and the history functions and saved
/// queries on them, every number worked out by hand from the fixture.
#[test]
fn the_fivetran_catalog_maps_zendesk_tables_onto_the_history() {
    let with = |args: &[&str]| {
        let mut all = vec!["--catalog", "examples/zendesk_fivetran.toml"];
        all.extend(args);
        json_rows(&all)
    };
    let rows = |args: &[&str]| serde_json::Value::from(with(args));
    // tickets: first response = first public agent message (ticket 4's agent wrote first, on the phone);
    // resolved = last solve of a solved or closed ticket; reopened = two solves; team = the group's name;
    // voice is phone; a cleared assignee is no agent.
    assert_eq!(
        rows(&[
            "query",
            "SELECT ticket_id, channel, priority, team, agent_id, first_response_at, resolved_at, reopened \
             FROM tickets ORDER BY ticket_id",
        ]),
        serde_json::json!([
            {"ticket_id": 1, "channel": "email", "priority": "normal", "team": "Billing", "agent_id": 2002,
             "first_response_at": "2024-03-04T09:45:00", "resolved_at": "2024-03-06T12:00:00", "reopened": true},
            {"ticket_id": 2, "channel": "chat", "priority": "urgent", "team": "Tier 1", "agent_id": 2002,
             "first_response_at": "2024-03-04T14:15:00", "resolved_at": "2024-03-04T14:20:00", "reopened": false},
            {"ticket_id": 3, "channel": "web", "priority": "low", "team": "Tier 1", "agent_id": null,
             "first_response_at": "2024-03-07T16:45:00", "resolved_at": null, "reopened": false},
            {"ticket_id": 4, "channel": "phone", "priority": "normal", "team": "Tier 1", "agent_id": 2003,
             "first_response_at": "2024-03-09T10:00:00", "resolved_at": "2024-03-09T10:20:00", "reopened": false},
        ])
    );
    // ticket_events: group_id is team by name, an empty value is NULL, the customer's changes have no actor.
    assert_eq!(
        rows(&[
            "query",
            "SELECT field, value, actor_id FROM ticket_events \
             WHERE ticket_id = 3 AND field <> 'status' ORDER BY at, field",
        ]),
        serde_json::json!([
            {"field": "priority", "value": "low", "actor_id": null},
            {"field": "team", "value": "Tier 1", "actor_id": null},
            {"field": "assignee_id", "value": "2001", "actor_id": 2001},
            {"field": "assignee_id", "value": null, "actor_id": 2003},
        ])
    );
    // Agent work time (new + open) and a 2-hour pausable SLA, per ticket:
    // 1: new 09:00-09:30, open -10:00, pending until the customer's answer at 08:00 next day, open -11:00,
    //    solved, reopened 10:00-12:00 two days later: 1800 + 1800 + 10800 + 7200 s; 2 h reached at 09:00 on
    //    the 5th (one more hour after 08:00).
    // 2: new 14:00-14:05, open -14:20: 1200 s, never 2 h, ends closed: no breach instant.
    // 3: new 16:00-16:30, open -17:00, pending, open again at the last event: 3600 s; still open, so the
    //    breach is predicted an hour after that last event, after `until`: not breached.
    // 4: new and open at the same instant (open is in force), solved 20 minutes later: 1200 s.
    assert_eq!(
        rows(&[
            "query",
            "SELECT ticket_id, status_seconds(at, value, ['new', 'open']) AS work, \
                    sla_clock(at, value, ['new', 'open'], INTERVAL '2 hours') AS sla, \
                    status_at(at, value, TIMESTAMP '2024-03-08 00:00:00') AS on_the_8th \
             FROM ticket_events WHERE field = 'status' GROUP BY ticket_id ORDER BY ticket_id",
        ]),
        serde_json::json!([
            {"ticket_id": 1, "work": 21600.0, "on_the_8th": "solved",
             "sla": {"elapsed_seconds": 21600.0, "breach_at": "2024-03-05T09:00:00", "breached": true}},
            {"ticket_id": 2, "work": 1200.0, "on_the_8th": "solved",
             "sla": {"elapsed_seconds": 1200.0, "breach_at": null, "breached": false}},
            {"ticket_id": 3, "work": 3600.0, "on_the_8th": "pending",
             "sla": {"elapsed_seconds": 3600.0, "breach_at": "2024-03-08T10:00:00", "breached": false}},
            {"ticket_id": 4, "work": 1200.0, "on_the_8th": null,
             "sla": {"elapsed_seconds": 1200.0, "breach_at": null, "breached": false}},
        ])
    );
    // Reply waits: the customer's second message (08:30) does not start a wait, private notes do not end one,
    // the deleted comment (10:30 on the 6th) is gone and the system's public message (Zendesk user -1, not in
    // `user`) does not answer: the admin's reply at 12:00 does. Ticket 4 has no customer message: no wait.
    let wait = |asked: &str, replied: &str, seconds: f64, replier: i64| serde_json::json!({"asked_at": asked, "replied_at": replied, "seconds": seconds, "replier_id": replier});
    assert_eq!(
        rows(&[
            "query",
            "SELECT ticket_id, reply_waits(sent_at, author_role, public, author_id) AS waits \
             FROM messages GROUP BY ticket_id ORDER BY ticket_id",
        ]),
        serde_json::json!([
            {"ticket_id": 1, "waits": [
                wait("2024-03-04T09:00:00", "2024-03-04T09:45:00", 2700.0, 2001),
                wait("2024-03-05T08:00:00", "2024-03-05T10:30:00", 9000.0, 2002),
                wait("2024-03-06T10:00:00", "2024-03-06T12:00:00", 7200.0, 2003)]},
            {"ticket_id": 2, "waits": [wait("2024-03-04T14:00:00", "2024-03-04T14:15:00", 900.0, 2002)]},
            {"ticket_id": 3, "waits": [
                wait("2024-03-07T16:00:00", "2024-03-07T16:45:00", 2700.0, 2001),
                {"asked_at": "2024-03-08T09:00:00", "replied_at": null, "seconds": null, "replier_id": null}]},
            {"ticket_id": 4, "waits": []},
        ])
    );
    // Saved queries, unchanged, on the mapped tables.
    let march = [
        "--param",
        "since=2024-03-01T00:00:00Z",
        "--param",
        "until=2024-04-01T00:00:00Z",
    ];
    let mut args = vec!["run", "queries/one_touch_rate.sql"];
    args.extend(march);
    let touch: Vec<(String, f64, f64)> = with(&args)
        .iter()
        .map(|r| {
            (
                r["channel"].text().to_string(),
                r["one_touch_pct"].num(),
                r["avg_replies"].num(),
            )
        })
        .collect();
    assert_eq!(
        touch,
        [
            ("chat".to_string(), 100.0, 1.0),
            ("email".to_string(), 0.0, 3.0),
            ("phone".to_string(), 100.0, 1.0)
        ]
    );
    // Business hours (default calendar, Mon-Fri 09-17 UTC): ticket 1 has 0.5 + 0.5 + 2 + 2 h, ticket 4 was
    // worked on a Saturday.
    let mut args = vec!["run", "queries/agent_work_time.sql"];
    args.extend(march);
    let work: Vec<(String, f64, f64)> = with(&args)
        .iter()
        .map(|r| {
            (
                r["channel"].text().to_string(),
                r["median_hours"].num(),
                r["median_business_hours"].num(),
            )
        })
        .collect();
    assert_eq!(
        work,
        [
            ("chat".to_string(), 1200.0 / 3600.0, 1200.0 / 3600.0),
            ("email".to_string(), 6.0, 5.0),
            ("phone".to_string(), 1200.0 / 3600.0, 0.0)
        ]
    );
    let mut args = vec!["run", "queries/reopens_and_handoffs.sql"];
    args.extend(march);
    let teams: Vec<(String, f64, f64, f64)> = with(&args)
        .iter()
        .map(|r| {
            (
                r["team"].text().to_string(),
                r["solves_per_ticket"].num(),
                r["reassignments_per_ticket"].num(),
                r["handoffs_per_ticket"].num(),
            )
        })
        .collect();
    assert_eq!(
        teams,
        [
            ("Billing".to_string(), 2.0, 1.0, 1.0),
            ("Tier 1".to_string(), 2.0 / 3.0, 1.0 / 3.0, 0.0)
        ]
    );
    let backlog: Vec<(f64, f64)> = with(&[
        "run",
        "queries/backlog_by_status_daily.sql",
        "--param",
        "start=2024-03-07T00:00:00Z",
        "--param",
        "stop=2024-03-09T00:00:00Z",
    ])
    .iter()
    .map(|r| (r["open"].num(), r["pending"].num()))
    .collect();
    assert_eq!(backlog, [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0)]);
}
