//! The `cxsql` binary, run as a user runs it: spawned processes, real files in temporary folders, exit codes,
//! standard output and standard error.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The project root: `data/` and `queries/` are found from here, as in a fresh clone.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn cxsql_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cxsql"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cxsql starts");
    {
        let mut input = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).expect("stdin written");
        }
    }
    let out = child.wait_with_output().expect("cxsql ends");
    let result = Output {
        code: out.status.code().expect("exited, not killed"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !result.stderr.contains("panicked"),
        "cxsql {args:?} panicked: {}",
        result.stderr
    );
    result
}

fn cxsql(args: &[&str]) -> Output {
    cxsql_in(&root(), args, None)
}

/// Runs and expects success; returns standard output.
fn ok(args: &[&str]) -> String {
    let out = cxsql(args);
    assert_eq!(out.code, 0, "cxsql {args:?} failed: {}", out.stderr);
    out.stdout
}

/// The JSON array output of a command as rows of column → value.
fn json_rows(args: &[&str]) -> Vec<BTreeMap<String, serde_json_lite::Value>> {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    serde_json_lite::parse_rows(&ok(&all))
}

/// A minimal reader for the flat JSON objects cxsql writes (strings, numbers, booleans, null), so that the
/// tests check the output without trusting the code that wrote it.
mod serde_json_lite {
    use std::collections::BTreeMap;

    #[derive(Debug, Clone, PartialEq)]
    pub enum Value {
        Null,
        Bool(bool),
        Number(f64),
        Text(String),
    }

    impl Value {
        pub fn num(&self) -> f64 {
            match self {
                Value::Number(n) => *n,
                other => panic!("not a number: {other:?}"),
            }
        }

        pub fn text(&self) -> &str {
            match self {
                Value::Text(s) => s,
                other => panic!("not a string: {other:?}"),
            }
        }
    }

    pub fn parse_rows(text: &str) -> Vec<BTreeMap<String, Value>> {
        let mut rows = Vec::new();
        let mut chars = text.trim().chars().peekable();
        assert_eq!(chars.next(), Some('['), "a JSON array: {text}");
        loop {
            skip_ws(&mut chars);
            match chars.next() {
                Some(']') => break,
                Some(',') => continue,
                Some('{') => {
                    let mut row = BTreeMap::new();
                    loop {
                        skip_ws(&mut chars);
                        match chars.next() {
                            Some('}') => break,
                            Some(',') => continue,
                            Some('"') => {
                                let key = string(&mut chars);
                                skip_ws(&mut chars);
                                assert_eq!(chars.next(), Some(':'));
                                skip_ws(&mut chars);
                                row.insert(key, value(&mut chars));
                            }
                            other => panic!("unexpected {other:?} in {text}"),
                        }
                    }
                    rows.push(row);
                }
                other => panic!("unexpected {other:?} in {text}"),
            }
        }
        rows
    }

    type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

    fn skip_ws(chars: &mut Chars) {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
    }

    fn string(chars: &mut Chars) -> String {
        let mut s = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => return s,
                '\\' => s.push(chars.next().expect("escaped char")),
                c => s.push(c),
            }
        }
        panic!("unterminated string")
    }

    fn value(chars: &mut Chars) -> Value {
        if chars.peek() == Some(&'"') {
            chars.next();
            return Value::Text(string(chars));
        }
        let mut token = String::new();
        while chars
            .peek()
            .is_some_and(|c| !matches!(c, ',' | '}' | ']') && !c.is_whitespace())
        {
            token.push(chars.next().expect("peeked"));
        }
        match token.as_str() {
            "null" => Value::Null,
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            n => Value::Number(n.parse().unwrap_or_else(|_| panic!("not a number: {n}"))),
        }
    }
}

fn assert_close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-9 * b.abs().max(1.0),
        "{what}: {a} != {b}"
    );
}

// ---- saved queries, one test each, against data/ ----

/// Runs a saved query and checks its columns and that it returns rows.
fn saved(file: &str, columns: &[&str]) -> Vec<BTreeMap<String, serde_json_lite::Value>> {
    let rows = json_rows(&["run", &format!("queries/{file}")]);
    assert!(!rows.is_empty(), "{file} returned no rows");
    let got: Vec<&String> = rows[0].keys().collect();
    let mut want: Vec<&str> = columns.to_vec();
    want.sort();
    assert_eq!(got, want, "{file} columns");
    rows
}

fn in_range(rows: &[BTreeMap<String, serde_json_lite::Value>], column: &str, lo: f64, hi: f64) {
    for row in rows {
        if let Some(v @ serde_json_lite::Value::Number(_)) = row.get(column) {
            let v = v.num();
            assert!(
                (lo..=hi).contains(&v),
                "{column} = {v} outside [{lo}, {hi}]"
            );
        }
    }
}

#[test]
fn saved_nps_by_channel_equals_the_plain_sql_formula() {
    let rows = saved("nps_by_channel.sql", &["channel", "nps", "responses"]);
    let expected = json_rows(&[
        "query",
        "SELECT channel, 100.0 * (count(nps_score) FILTER (WHERE nps_score >= 9) - count(nps_score) FILTER (WHERE nps_score <= 6)) / count(nps_score) AS nps, count(nps_score) AS responses \
         FROM surveys WHERE submitted_at >= TIMESTAMP '2021-01-01T00:00:00Z' AND submitted_at < TIMESTAMP '2025-01-01T00:00:00Z' GROUP BY channel ORDER BY channel",
    ]);
    assert_eq!(rows.len(), 5, "five channels");
    for (r, e) in rows.iter().zip(&expected) {
        assert_eq!(r["channel"], e["channel"]);
        assert_close(r["nps"].num(), e["nps"].num(), "nps");
        assert_eq!(r["responses"], e["responses"]);
    }
    // Parameters narrow the period.
    let one_year = json_rows(&[
        "run",
        "queries/nps_by_channel.sql",
        "--param",
        "since=2024-01-01T00:00:00Z",
        "--param",
        "until=2025-01-01T00:00:00Z",
    ]);
    let total = |rows: &[BTreeMap<String, serde_json_lite::Value>]| {
        rows.iter().map(|r| r["responses"].num()).sum::<f64>()
    };
    assert!(total(&one_year) > 0.0 && total(&one_year) < total(&rows) / 2.0);
}

#[test]
fn saved_nps_monthly_trend() {
    let rows = saved(
        "nps_monthly_trend.sql",
        &[
            "month",
            "nps",
            "responses",
            "promoters_pct",
            "detractors_pct",
        ],
    );
    assert_eq!(rows.len(), 48, "four years of months");
    for row in &rows {
        assert_close(
            row["nps"].num(),
            row["promoters_pct"].num() - row["detractors_pct"].num(),
            "nps = promoters - detractors",
        );
    }
}

#[test]
fn saved_csat_by_channel_month() {
    let rows = saved(
        "csat_by_channel_month.sql",
        &["month", "channel", "csat", "responses"],
    );
    in_range(&rows, "csat", 0.0, 100.0);
    assert_eq!(rows.len(), 48 * 5);
}

#[test]
fn saved_fcr_by_channel_priority() {
    let rows = saved(
        "fcr_by_channel_priority.sql",
        &["channel", "priority", "fcr", "resolved_tickets"],
    );
    assert_eq!(rows.len(), 5 * 4);
    in_range(&rows, "fcr", 0.0, 100.0);
}

#[test]
fn saved_servqual_gaps() {
    let rows = saved(
        "servqual_gaps.sql",
        &["dimension", "gap", "expectation", "perception", "responses"],
    );
    assert_eq!(rows.len(), 5);
    for row in &rows {
        assert_close(
            row["gap"].num(),
            row["perception"].num() - row["expectation"].num(),
            "gap = perception - expectation",
        );
    }
    let gaps: Vec<f64> = rows.iter().map(|r| r["gap"].num()).collect();
    assert!(gaps.windows(2).all(|w| w[0] <= w[1]), "worst first");
}

#[test]
fn saved_backlog_month_end() {
    let rows = saved(
        "backlog_month_end.sql",
        &["month_end", "channel", "open_tickets"],
    );
    assert_eq!(rows.len(), 48 * 5);
    // The last month's backlog equals the tickets still open at the end of the history.
    let last: f64 = rows
        .iter()
        .filter(|r| r["month_end"].text().starts_with("2024-12-31"))
        .map(|r| r["open_tickets"].num())
        .sum();
    let open = json_rows(&[
        "query",
        "SELECT count(*) AS n FROM tickets WHERE resolved_at IS NULL",
    ]);
    assert_eq!(last, open[0]["n"].num());
}

#[test]
fn saved_tickets_past_sla() {
    let rows = saved(
        "tickets_past_sla.sql",
        &[
            "channel",
            "priority",
            "open_tickets",
            "past_sla",
            "past_sla_pct",
        ],
    );
    for row in &rows {
        assert!(row["past_sla"].num() <= row["open_tickets"].num());
    }
    let week = json_rows(&[
        "run",
        "queries/tickets_past_sla.sql",
        "--param",
        "sla=7 days",
    ]);
    let sum = |rows: &[BTreeMap<String, serde_json_lite::Value>]| {
        rows.iter().map(|r| r["past_sla"].num()).sum::<f64>()
    };
    assert!(
        sum(&week) < sum(&rows),
        "a longer SLA leaves fewer tickets past it"
    );
}

#[test]
fn saved_first_response_time() {
    let rows = saved(
        "first_response_time.sql",
        &[
            "channel",
            "mean_hours",
            "median_hours",
            "p90_hours",
            "tickets",
        ],
    );
    for row in &rows {
        assert!(row["median_hours"].num() <= row["p90_hours"].num());
    }
    in_range(&rows, "mean_hours", 0.0, 1e4);
}

#[test]
fn saved_resolution_time() {
    let rows = saved(
        "resolution_time.sql",
        &[
            "channel",
            "priority",
            "mean_hours",
            "median_hours",
            "resolved_tickets",
        ],
    );
    in_range(&rows, "median_hours", 0.0, 1e5);
}

#[test]
fn saved_handle_time() {
    let rows = saved(
        "handle_time.sql",
        &[
            "channel",
            "team",
            "mean_minutes",
            "median_minutes",
            "tickets",
        ],
    );
    in_range(&rows, "mean_minutes", 0.0, 1e4);
}

#[test]
fn saved_wait_time() {
    let rows = saved(
        "wait_time.sql",
        &["channel", "mean_seconds", "p90_seconds", "tickets"],
    );
    let channels: Vec<&str> = rows.iter().map(|r| r["channel"].text()).collect();
    assert_eq!(channels, ["chat", "phone"], "only channels with a queue");
}

#[test]
fn saved_goal_completion_rate() {
    let rows = saved(
        "goal_completion_rate.sql",
        &["channel", "goal_completion_pct", "tickets"],
    );
    in_range(&rows, "goal_completion_pct", 0.0, 100.0);
}

#[test]
fn saved_reopen_rate() {
    let rows = saved(
        "reopen_rate.sql",
        &["channel", "reopen_pct", "resolved_tickets"],
    );
    in_range(&rows, "reopen_pct", 0.0, 100.0);
}

#[test]
fn saved_backlog_daily_equals_backlog_counted_by_plain_sql() {
    let rows = saved(
        "backlog_daily.sql",
        &["channel", "at", "open_tickets", "past_sla"],
    );
    assert_eq!(rows.len(), 366 * 5, "every day of 2024 for five channels");
    for day in [
        "2024-01-01T00:00:00Z",
        "2024-06-15T00:00:00Z",
        "2024-12-31T00:00:00Z",
    ] {
        let expected = json_rows(&[
            "query",
            &format!(
                "SELECT channel, count(*) FILTER (WHERE created_at <= TIMESTAMP '{day}' AND (resolved_at IS NULL \
                 OR resolved_at > TIMESTAMP '{day}')) AS open, count(*) FILTER (WHERE created_at <= TIMESTAMP '{day}' \
                 AND (resolved_at IS NULL OR resolved_at > TIMESTAMP '{day}') AND created_at < TIMESTAMP '{day}' - \
                 INTERVAL '3 days') AS late FROM tickets GROUP BY channel ORDER BY channel"
            ),
        ]);
        let got: Vec<_> = rows
            .iter()
            .filter(|r| r["at"].text().starts_with(&day[..10]))
            .collect();
        assert_eq!(got.len(), 5, "{day}");
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!(g["channel"], e["channel"]);
            assert_eq!(g["open_tickets"].num(), e["open"].num(), "{day}");
            assert_eq!(g["past_sla"].num(), e["late"].num(), "{day}");
        }
    }
}

/// NPS counts per channel from plain SQL: (channel, responses, promoters, detractors).
fn nps_counts(filter: &str) -> Vec<(String, f64, f64, f64)> {
    json_rows(&[
        "query",
        &format!(
            "SELECT channel, count(nps_score) AS n, count(*) FILTER (WHERE nps_score >= 9) AS p, \
             count(*) FILTER (WHERE nps_score <= 6) AS d FROM surveys WHERE {filter} GROUP BY channel ORDER BY channel"
        ),
    ])
    .iter()
    .map(|r| (r["channel"].text().to_string(), r["n"].num(), r["p"].num(), r["d"].num()))
    .collect()
}

#[test]
fn saved_nps_confidence_is_the_adjusted_wald_interval() {
    let rows = saved(
        "nps_confidence.sql",
        &["channel", "nps", "margin", "ci_low", "ci_high", "responses"],
    );
    let counts = nps_counts("submitted_at >= TIMESTAMP '2021-01-01T00:00:00Z'");
    assert_eq!(rows.len(), counts.len());
    for (r, (channel, n, p, d)) in rows.iter().zip(&counts) {
        assert_eq!(r["channel"].text(), channel);
        // Rocks (2016): add 3 answers, 3/4 promoter and 3/4 detractor.
        let (n2, p2, d2) = (n + 3.0, (p + 0.75) / (n + 3.0), (d + 0.75) / (n + 3.0));
        let se = ((p2 + d2 - (p2 - d2).powi(2)) / n2).sqrt();
        let margin = 100.0 * 1.959_963_984_540_054 * se;
        assert_close(r["nps"].num(), 100.0 * (p - d) / n, "nps");
        assert_close(r["margin"].num(), margin, "margin");
        assert_close(r["ci_low"].num(), 100.0 * (p2 - d2) - margin, "low");
        assert_close(r["ci_high"].num(), 100.0 * (p2 - d2) + margin, "high");
    }
    let wider = json_rows(&[
        "run",
        "queries/nps_confidence.sql",
        "--param",
        "confidence=0.99",
    ]);
    assert!(wider[0]["margin"].num() > rows[0]["margin"].num());
    let bad = cxsql(&[
        "run",
        "queries/nps_confidence.sql",
        "--param",
        "confidence=95",
    ]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("confidence 95 is outside (0, 1)"),
        "{}",
        bad.stderr
    );
}

#[test]
fn saved_nps_segment_test_matches_the_two_sample_formula() {
    let rows = saved(
        "nps_segment_test.sql",
        &[
            "segment_a",
            "segment_b",
            "nps_a",
            "nps_b",
            "diff",
            "z",
            "p_value",
        ],
    );
    let counts = nps_counts("channel IN ('email', 'chat')");
    let share = |name: &str| {
        let (_, n, p, d) = counts
            .iter()
            .find(|c| c.0 == name)
            .expect("channel")
            .clone();
        let (p, d) = (p / n, d / n);
        (p - d, (p + d - (p - d).powi(2)) / n)
    };
    let ((a, va), (b, vb)) = (share("email"), share("chat"));
    let r = &rows[0];
    assert_eq!(
        (r["segment_a"].text(), r["segment_b"].text()),
        ("email", "chat")
    );
    assert_close(r["nps_a"].num(), 100.0 * a, "nps_a");
    assert_close(r["nps_b"].num(), 100.0 * b, "nps_b");
    assert_close(r["diff"].num(), 100.0 * (b - a), "diff");
    assert_close(r["z"].num(), (b - a) / (va + vb).sqrt(), "z");
    assert!(
        r["p_value"].num() < 1e-6,
        "chat and email differ clearly in the sample"
    );
    // The same channel on both sides cannot differ: segment A is empty, so the test is NULL.
    let same = json_rows(&[
        "run",
        "queries/nps_segment_test.sql",
        "--param",
        "a=web",
        "--param",
        "b=web",
    ]);
    assert!(
        same[0]
            .get("z")
            .is_none_or(|z| matches!(z, serde_json_lite::Value::Null)),
        "{:?}",
        same[0]
    );
}

#[test]
fn saved_first_response_business_hours_is_clock_time_on_a_round_the_clock_calendar() {
    let rows = saved(
        "first_response_business_hours.sql",
        &[
            "channel",
            "avg_business_hours",
            "median_business_hours",
            "avg_clock_hours",
            "responded",
        ],
    );
    for r in &rows {
        assert!(
            r["avg_business_hours"].num() <= r["avg_clock_hours"].num() + 1e-9,
            "{r:?}"
        );
    }
    let all_day = json_rows(&[
        "run",
        "queries/first_response_business_hours.sql",
        "--param",
        "calendar=time_zone=UTC; hours=Mon-Sun 00:00-24:00",
    ]);
    for r in &all_day {
        assert_close(
            r["avg_business_hours"].num(),
            r["avg_clock_hours"].num(),
            "24/7 is clock time",
        );
    }
    let unknown = cxsql(&[
        "run",
        "queries/first_response_business_hours.sql",
        "--param",
        "calendar=emea",
    ]);
    assert_eq!(unknown.code, 1);
    assert!(
        unknown.stderr.contains("unknown calendar 'emea'"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn saved_sla_compliance_matches_plain_sql_on_clock_policies() {
    let rows = saved(
        "sla_compliance.sql",
        &[
            "channel",
            "priority",
            "tickets",
            "first_reply_breached_pct",
            "resolution_breached_pct",
            "clock",
        ],
    );
    assert_eq!(rows.len(), 20, "five channels, four priorities");
    let expected = json_rows(&[
        "query",
        "SELECT t.channel, t.priority, 100.0 * avg(CASE WHEN date_part('epoch', coalesce(t.first_response_at, \
         TIMESTAMP '2025-01-01T00:00:00Z') - t.created_at) > p.first_reply_hours * 3600 THEN 1 ELSE 0 END) AS first, \
         100.0 * avg(CASE WHEN date_part('epoch', coalesce(t.resolved_at, TIMESTAMP '2025-01-01T00:00:00Z') - \
         t.created_at) > p.resolution_hours * 3600 THEN 1 ELSE 0 END) AS resolution \
         FROM tickets t JOIN sla_policies p ON p.channel = t.channel AND p.priority = t.priority \
         WHERE t.created_at >= TIMESTAMP '2024-01-01T00:00:00Z' AND t.created_at < TIMESTAMP '2025-01-01T00:00:00Z' \
         GROUP BY 1, 2",
    ]);
    let mut business_rows = 0;
    for r in &rows {
        let e = expected
            .iter()
            .find(|e| e["channel"] == r["channel"] && e["priority"] == r["priority"])
            .expect("same groups");
        if r["clock"].text() == "calendar" {
            assert_close(
                r["first_reply_breached_pct"].num(),
                e["first"].num(),
                "first reply",
            );
            assert_close(
                r["resolution_breached_pct"].num(),
                e["resolution"].num(),
                "resolution",
            );
        } else {
            // Business time never exceeds clock time: never more breaches than on the clock.
            business_rows += 1;
            assert!(
                r["first_reply_breached_pct"].num() <= e["first"].num() + 1e-9,
                "{r:?}"
            );
            assert!(
                r["resolution_breached_pct"].num() <= e["resolution"].num() + 1e-9,
                "{r:?}"
            );
        }
    }
    assert_eq!(business_rows, 8, "email and web use business hours");
}

#[test]
fn a_catalog_calendar_is_usable_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let catalog = dir.path().join("cxsql.toml");
    std::fs::write(
        &catalog,
        "[calendars.paris]\ntime_zone = \"Europe/Paris\"\nhours = [\"Mon-Fri 09:00-17:00\"]\nholidays = [\"2024-01-08\"]\n",
    )
    .expect("catalog");
    let catalog = catalog.to_string_lossy().into_owned();
    // Friday 16:00 UTC is 17:00 in Paris (closed); Monday is a holiday; Tuesday opens 08:00 UTC: 2 h.
    let rows = json_rows(&[
        "--catalog",
        &catalog,
        "query",
        "SELECT business_seconds(TIMESTAMP '2024-01-05T16:00:00Z', TIMESTAMP '2024-01-09T10:00:00Z', 'paris') AS s",
    ]);
    assert_eq!(rows[0]["s"].num(), 7200.0);
    std::fs::write(
        dir.path().join("bad.toml"),
        "[calendars.x]\ntime_zone = \"Nowhere/Land\"\n",
    )
    .expect("catalog");
    let bad = dir.path().join("bad.toml").to_string_lossy().into_owned();
    let out = cxsql(&["--catalog", &bad, "query", "SELECT 1"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("bad.toml: calendar x: unknown time zone 'Nowhere/Land'"),
        "{}",
        out.stderr
    );
}

#[test]
fn every_saved_query_has_a_test_and_a_documented_header() {
    let source = include_str!("cli.rs");
    for entry in std::fs::read_dir(root().join("queries")).expect("queries/") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&path).expect("readable");
        assert!(text.starts_with("-- name: "), "{name} opens with -- name:");
        assert!(
            text.contains("-- description: "),
            "{name} has a description"
        );
        assert!(
            source.contains(&format!("\"{name}\"")),
            "{name} has no test here"
        );
    }
}

// ---- parameters ----

#[test]
fn parameter_errors_name_the_parameter_and_list_the_declared_ones() {
    let unknown = cxsql(&[
        "run",
        "queries/nps_by_channel.sql",
        "--param",
        "from=2021-01-01",
    ]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("unknown parameter from"),
        "{}",
        unknown.stderr
    );
    assert!(
        unknown
            .stderr
            .contains("declared parameters: since TIMESTAMP"),
        "{}",
        unknown.stderr
    );

    let bad = cxsql(&[
        "run",
        "queries/nps_by_channel.sql",
        "--param",
        "since=yesterday",
    ]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr
            .contains("parameter since: cannot read 'yesterday' as TIMESTAMP"),
        "{}",
        bad.stderr
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("q.sql");
    std::fs::write(&file, "-- name: q\n-- param: n INT\nSELECT $n + 1 AS m\n").expect("written");
    let file = file.to_string_lossy().into_owned();
    let missing = cxsql(&["run", &file]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("missing parameter n (INT)"),
        "{}",
        missing.stderr
    );
    assert!(
        missing.stderr.contains("declared parameters: n INT"),
        "{}",
        missing.stderr
    );
    let rows = json_rows(&["run", &file, "--param", "n=41"]);
    assert_eq!(rows[0]["m"].num(), 42.0);
}

#[test]
fn parameters_are_bound_not_spliced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("q.sql");
    std::fs::write(
        &file,
        "-- param: who VARCHAR\nSELECT $who AS who, length($who) AS n\n",
    )
    .expect("written");
    let file = file.to_string_lossy().into_owned();
    let evil = "x'; DROP TABLE tickets; --";
    let rows = json_rows(&["run", &file, "--param", &format!("who={evil}")]);
    assert_eq!(rows[0]["who"].text(), evil);
    assert_eq!(rows[0]["n"].num(), evil.chars().count() as f64);
}

// ---- the external export ----

/// Per channel of the export: (satisfied, rated, tickets), counted with the csv crate's reader and the
/// top-two-box rule (rating >= 4) by hand, independently of cxsql.
fn independent_csat_per_channel(fixture: &Path) -> BTreeMap<String, (f64, f64, f64)> {
    let mut expected: BTreeMap<String, (f64, f64, f64)> = BTreeMap::new();
    let mut reader = csv::Reader::from_path(fixture).expect("fixture");
    let headers = reader.headers().expect("header").clone();
    let col = |name: &str| headers.iter().position(|h| h == name).expect(name);
    let (channel, rating) = (col("Ticket Channel"), col("Customer Satisfaction Rating"));
    for record in reader.records() {
        let record = record.expect("record");
        let e = expected.entry(record[channel].to_string()).or_default();
        e.2 += 1.0;
        if !record[rating].is_empty() {
            let r: f64 = record[rating].parse().expect("rating");
            e.1 += 1.0;
            e.0 += f64::from(u8::from(r >= 4.0));
        }
    }
    expected
}

#[test]
fn external_export_loads_as_it_is_and_csat_per_channel_matches_an_independent_count() {
    let fixture = root().join("tests/fixtures/customer_support_tickets.csv");
    let table = format!("ext={}", fixture.display());
    let rows = json_rows(&[
        "--table",
        &table,
        "query",
        "SELECT \"Ticket Channel\" AS channel, csat(\"Customer Satisfaction Rating\") AS csat, \
         count(\"Customer Satisfaction Rating\") AS rated, count(*) AS tickets FROM ext GROUP BY 1 ORDER BY 1",
    ]);
    let expected = independent_csat_per_channel(&fixture);
    assert_eq!(rows.len(), expected.len());
    let mut total = 0.0;
    for row in &rows {
        let (satisfied, rated, tickets) = expected[row["channel"].text()];
        assert_close(row["csat"].num(), 100.0 * satisfied / rated, "csat");
        assert_eq!(row["rated"].num(), rated);
        assert_eq!(row["tickets"].num(), tickets);
        total += tickets;
    }
    assert_eq!(total, 8469.0, "every ticket of the export");
    // Column names with spaces, timestamps recognised, empty fields NULL.
    let schema = ok(&["--table", &table, "schema", "ext"]);
    assert!(
        schema.contains("First Response Time\tTimestamp"),
        "{schema}"
    );
}

// ---- commands, formats, outputs ----

#[test]
fn query_reads_sql_from_argument_file_and_stdin_with_several_statements() {
    let sql = "CREATE VIEW v AS SELECT channel, nps_score FROM surveys; SELECT count(*) AS n FROM v WHERE channel = 'chat';";
    let from_arg = ok(&["query", sql, "--format", "csv"]);
    let stdin = cxsql_in(&root(), &["query", "--format", "csv"], Some(sql));
    assert_eq!(stdin.code, 0, "{}", stdin.stderr);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("q.sql");
    std::fs::write(&file, sql).expect("written");
    let from_file = ok(&["query", "-f", &file.to_string_lossy(), "--format", "csv"]);
    assert!(from_arg.starts_with("n\n"), "{from_arg}");
    assert_eq!(from_arg, stdin.stdout);
    assert_eq!(from_arg, from_file);
}

#[test]
fn every_output_format_carries_the_same_rows() {
    let sql =
        "SELECT channel, nps(nps_score) AS nps FROM surveys GROUP BY channel ORDER BY channel";
    let csv_out = ok(&["query", sql, "--format", "csv"]);
    assert_eq!(
        csv_out.lines().count(),
        6,
        "header and five channels: {csv_out}"
    );
    let ndjson = ok(&["query", sql, "--format", "ndjson"]);
    assert_eq!(ndjson.lines().count(), 5);
    assert!(ndjson.starts_with("{\"channel\":\"chat\""), "{ndjson}");
    let table = ok(&["query", sql]);
    assert!(table.contains("| channel |"), "{table}");
    let json = json_rows(&["query", sql]);
    assert_eq!(json.len(), 5);

    let dir = tempfile::tempdir().expect("tempdir");
    let parquet = dir.path().join("nps.parquet");
    let parquet_arg = parquet.to_string_lossy().into_owned();
    ok(&[
        "query",
        sql,
        "--format",
        "parquet",
        "--output",
        &parquet_arg,
    ]);
    let back = json_rows(&[
        "--table",
        &format!("p={parquet_arg}"),
        "query",
        "SELECT channel, nps FROM p ORDER BY channel",
    ]);
    assert_eq!(back, json);
}

#[test]
fn an_existing_output_is_kept_unless_forced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("result.csv");
    std::fs::write(&out, "precious\n").expect("written");
    let out_arg = out.to_string_lossy().into_owned();
    let refused = cxsql(&["query", "SELECT 1 AS x", "--format", "csv", "-o", &out_arg]);
    assert_eq!(refused.code, 2);
    assert!(
        refused.stderr.contains("the file exists; use --force"),
        "{}",
        refused.stderr
    );
    assert_eq!(std::fs::read_to_string(&out).expect("kept"), "precious\n");

    // A failing query leaves the old file too, even with --force.
    let failed = cxsql(&[
        "query",
        "SELECT nps(11) AS x",
        "--format",
        "csv",
        "-o",
        &out_arg,
        "--force",
    ]);
    assert_eq!(failed.code, 1);
    assert_eq!(std::fs::read_to_string(&out).expect("kept"), "precious\n");

    ok(&[
        "query",
        "SELECT 1 AS x",
        "--format",
        "csv",
        "-o",
        &out_arg,
        "--force",
    ]);
    assert_eq!(std::fs::read_to_string(&out).expect("replaced"), "x\n1\n");
    let leftovers = std::fs::read_dir(dir.path()).expect("dir").count();
    assert_eq!(leftovers, 1, "no temporary files left behind");
}

#[test]
fn functions_tables_and_schema_describe_the_session() {
    let list = ok(&["functions"]);
    for name in ["nps", "csat", "fcr_rate", "servqual_gap", "backlog_at"] {
        assert!(
            list.lines().any(|l| l.starts_with(name)),
            "{name} in {list}"
        );
    }
    let nps = ok(&["functions", "nps"]);
    assert!(
        nps.contains("### `nps(score)`") && nps.contains("```sql"),
        "{nps}"
    );

    let tables = ok(&["tables"]);
    let names: Vec<&str> = tables
        .lines()
        .map(|l| l.split('\t').next().unwrap_or_default())
        .collect();
    assert_eq!(
        names,
        ["servqual", "sla_policies", "surveys", "tickets"],
        "{tables}"
    );
    let schema = ok(&["schema", "tickets"]);
    assert!(
        schema.contains("created_at\tTimestamp(µs, \"UTC\")")
            || schema.contains("created_at\tTimestamp(Microsecond"),
        "{schema}"
    );
    assert!(schema.contains("resolved_at"));
}

#[test]
fn data_folders_and_globs_become_tables() {
    let dir = tempfile::tempdir().expect("tempdir");
    let parts = dir.path().join("scores");
    std::fs::create_dir(&parts).expect("dir");
    std::fs::write(parts.join("a.csv"), "channel,score\nchat,10\nchat,0\n").expect("a");
    std::fs::write(parts.join("b.csv"), "channel,score\nemail,9\n").expect("b");
    std::fs::write(dir.path().join("extra.json"), "{\"x\": 1}\n{\"x\": 2}\n").expect("json");
    let data = dir.path().to_string_lossy().into_owned();
    let rows = json_rows(&[
        "--data",
        &data,
        "query",
        "SELECT nps(score) AS nps, count(*) AS n, (SELECT sum(x) FROM extra) AS x FROM scores",
    ]);
    assert_eq!(rows[0]["n"].num(), 3.0);
    assert_close(rows[0]["nps"].num(), 100.0 / 3.0, "nps");
    assert_eq!(rows[0]["x"].num(), 3.0);
    let glob = format!("s={}/scores/*.csv", data);
    let rows = json_rows(&["--table", &glob, "query", "SELECT count(*) AS n FROM s"]);
    assert_eq!(rows[0]["n"].num(), 3.0);
}

#[test]
fn a_table_is_read_only_when_a_statement_uses_it() {
    // `broken.parquet` is not Parquet: commands that do not touch it work, the ones that do name it.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("good.csv"), "x\n1\n2\n").expect("good");
    let broken = dir.path().join("broken.parquet");
    std::fs::write(&broken, "not parquet at all").expect("broken");
    let data = dir.path().to_string_lossy().into_owned();
    let rows = json_rows(&["--data", &data, "query", "SELECT sum(x) AS s FROM good"]);
    assert_eq!(rows[0]["s"].num(), 3.0);
    let tables = ok(&["--data", &data, "tables"]);
    assert!(
        tables.contains("broken") && tables.contains("good"),
        "{tables}"
    );
    for args in [
        vec!["--data", &data, "query", "SELECT count(*) FROM broken"],
        vec!["--data", &data, "schema", "broken"],
    ] {
        let out = cxsql(&args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("table broken (") && out.stderr.contains("broken.parquet"),
            "{args:?}: {}",
            out.stderr
        );
    }
    // Replaced before use: the replacement is what is read.
    let rows = json_rows(&[
        "--data",
        &data,
        "query",
        "CREATE OR REPLACE VIEW broken AS SELECT 7 AS y; SELECT y FROM broken",
    ]);
    assert_eq!(rows[0]["y"].num(), 7.0);
}

// ---- errors and exit codes ----

#[test]
fn errors_have_clear_messages_and_exit_codes() {
    let cases: &[(&[&str], i32, &str)] = &[
        (&["query", "SELEC 1"], 1, "SQL error"),
        (
            &["query", "SELECT * FROM nowhere"],
            1,
            "registered tables: servqual, sla_policies, surveys, tickets",
        ),
        (
            &["query", "SELECT nps(11)"],
            1,
            "nps: score 11 is outside the 0..10 scale",
        ),
        (
            &["query", "SELECT csat(csat_score, 1) FROM surveys"],
            1,
            "csat: scale_max must be an integer >= 2",
        ),
        (
            &["--table", "t=does/not/exist.csv", "tables"],
            2,
            "does/not/exist.csv: no such file or folder",
        ),
        (&["--table", "nameless", "tables"], 2, "expected NAME=PATH"),
        (
            &["--data", "no_such_dir", "tables"],
            2,
            "--data no_such_dir: no such folder",
        ),
        (
            &["run", "queries/none.sql"],
            2,
            "queries/none.sql: No such file",
        ),
        (&["query", "-f", "none.sql"], 2, "none.sql: No such file"),
        (
            &["query", "SELECT 1", "--format", "parquet"],
            2,
            "--format parquet needs --output",
        ),
        (&["functions", "nope"], 2, "unknown function nope"),
        (&["schema", "nope"], 2, "registered tables"),
        (&["frobnicate"], 2, "unrecognized subcommand"),
        (
            &["query", "--format", "xml", "SELECT 1"],
            2,
            "invalid value 'xml'",
        ),
        (&["query", ""], 2, "no SQL statement given"),
    ];
    for (args, code, message) in cases {
        let out = cxsql(args);
        assert_eq!(out.code, *code, "cxsql {args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains(message),
            "cxsql {args:?}: expected {message:?} in {}",
            out.stderr
        );
    }
}

#[test]
fn bad_inputs_never_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(d.join("empty.csv"), "").expect("empty");
    std::fs::write(d.join("ragged.csv"), "a,b\n1,2\n3\n").expect("ragged");
    std::fs::write(d.join("junk.parquet"), "not parquet").expect("junk");
    std::fs::write(d.join("bad.sql"), "-- param: broken\nSELECT 1").expect("bad");
    std::fs::write(d.join("empty.sql"), "-- name: nothing\n").expect("empty sql");
    let inputs: &[&[&str]] = &[
        &["--table", "e=empty.csv", "query", "SELECT * FROM e"],
        &["--table", "r=ragged.csv", "query", "SELECT * FROM r"],
        &["--table", "j=junk.parquet", "query", "SELECT * FROM j"],
        &["run", "bad.sql"],
        &["run", "empty.sql"],
        &["query", "SELECT backlog_at(1, 2, 3)"],
        &["query", "SELECT nps(score) FROM (VALUES ('x')) t(score)"],
        &["query", "SELECT 1/0"],
        &["query", ";;;"],
        &["gen", "--out", "empty.csv"],
    ];
    for args in inputs {
        let out = cxsql_in(d, args, None);
        assert!(
            matches!(out.code, 0..=2),
            "cxsql {args:?} exited {}: {}",
            out.code,
            out.stderr
        );
        if out.code != 0 {
            assert!(
                out.stderr.starts_with("cxsql: ") || out.stderr.starts_with("error: "),
                "{}",
                out.stderr
            );
        }
    }
}

// ---- gen ----

#[test]
fn gen_is_deterministic_and_csv_gives_the_same_kpis() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    for (out, format) in [(&a, "parquet"), (&b, "parquet"), (&c, "csv")] {
        ok(&[
            "gen",
            "--out",
            &out.to_string_lossy(),
            "--tickets",
            "3000",
            "--seed",
            "7",
            "--format",
            format,
        ]);
    }
    for name in ["tickets.parquet", "surveys.parquet", "servqual.parquet"] {
        assert_eq!(
            std::fs::read(a.join(name)).expect("a"),
            std::fs::read(b.join(name)).expect("b"),
            "{name} differs between two runs with the same seed"
        );
    }
    let sql = "SELECT channel, nps(nps_score) AS nps, csat(csat_score) AS csat, count(*) AS n FROM surveys GROUP BY channel ORDER BY channel";
    let from_parquet = json_rows(&["--data", &a.to_string_lossy(), "query", sql]);
    let from_csv = json_rows(&["--data", &c.to_string_lossy(), "query", sql]);
    assert_eq!(from_parquet, from_csv);
    let counts = json_rows(&[
        "--data",
        &a.to_string_lossy(),
        "query",
        "SELECT count(*) AS n, count(resolved_at) AS resolved FROM tickets",
    ]);
    assert_eq!(counts[0]["n"].num(), 3000.0);
    assert!(
        counts[0]["resolved"].num() < 3000.0,
        "some tickets are still open"
    );

    let again = cxsql(&["gen", "--out", &a.to_string_lossy(), "--tickets", "10"]);
    assert_eq!(
        again.code, 2,
        "existing files are not replaced without --force"
    );
    assert!(again.stderr.contains("use --force"), "{}", again.stderr);
}

// ---- report ----

fn manifest(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("manifest.json")).expect("manifest.json");
    serde_json::from_str(&text).expect("valid JSON")
}

#[test]
fn report_writes_a_result_file_per_query_a_manifest_and_a_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("report");
    let out_arg = out.to_string_lossy().into_owned();
    ok(&[
        "report",
        "--queries",
        "queries",
        "--out",
        &out_arg,
        "--format",
        "csv",
    ]);
    let m = manifest(&out);
    let entries = m["queries"].as_array().expect("queries");
    let query_files = std::fs::read_dir(root().join("queries"))
        .expect("queries/")
        .count();
    assert_eq!(entries.len(), query_files);
    for e in entries {
        assert_eq!(e["status"], "ok", "{e}");
        let file = e["file"].as_str().expect("file");
        let text = std::fs::read_to_string(out.join(file)).expect("result file");
        assert_eq!(
            text.lines().count() as u64,
            e["rows"].as_u64().expect("rows") + 1,
            "{file}"
        );
        assert!(e["duration_ms"].is_u64() && e["parameters"].is_object());
    }
    let html = std::fs::read_to_string(out.join("index.html")).expect("index.html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        !html.contains("http://")
            || html.matches("http://").count()
                == html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count(),
        "self-contained: no links out but the SVG namespace"
    );
    assert!(
        html.matches("<svg").count() >= entries.len() - 1,
        "a chart per query"
    );
    assert!(
        html.contains("<polyline") && html.contains("class=\"bar\""),
        "line and bar charts"
    );
}

#[test]
fn report_manifest_titles_shared_params_and_per_query_params() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("r");
    let out_arg = out.to_string_lossy().into_owned();
    ok(&[
        "report",
        "--report",
        "reports/kpi_review.toml",
        "--out",
        &out_arg,
        "--param",
        "since=2024-06-01T00:00:00Z",
    ]);
    let m = manifest(&out);
    assert_eq!(m["title"], "Support KPI review");
    assert_eq!(m["period"], "2024-06-01T00:00:00Z to 2025-01-01T00:00:00Z");
    let entries = m["queries"].as_array().expect("queries");
    assert_eq!(entries[0]["title"], "Net Promoter Score by channel");
    assert_eq!(
        entries[0]["parameters"]["since"], "2024-06-01T00:00:00Z",
        "the command line wins"
    );
    let sla = entries
        .iter()
        .find(|e| e["name"] == "tickets_past_sla")
        .expect("sla query");
    assert_eq!(sla["parameters"]["sla"], "2 days");
    assert!(
        out.join("nps_by_channel.parquet").is_file(),
        "Parquet by default"
    );

    let typo = cxsql(&[
        "report",
        "--out",
        &format!("{out_arg}2"),
        "--param",
        "sincee=2024-01-01",
    ]);
    assert_eq!(typo.code, 2);
    assert!(
        typo.stderr.contains("parameter sincee is declared by none"),
        "{}",
        typo.stderr
    );
}

#[test]
fn a_failing_query_is_recorded_and_the_others_still_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("bad.sql"),
        "-- name: bad\n-- description: scores shifted out of range\nSELECT nps(nps_score + 5) AS nps FROM surveys\n",
    )
    .expect("bad.sql");
    let good = root().join("queries/nps_by_channel.sql");
    std::fs::write(
        dir.path().join("r.toml"),
        format!(
            "[[query]]\nfile = \"bad.sql\"\n\n[[query]]\nfile = {:?}\n",
            good.to_string_lossy()
        ),
    )
    .expect("r.toml");
    let out = dir.path().join("out");
    let report = dir.path().join("r.toml").to_string_lossy().into_owned();
    let run = cxsql(&[
        "report",
        "--report",
        &report,
        "--out",
        &out.to_string_lossy(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("some queries of the report failed"),
        "{}",
        run.stderr
    );
    let m = manifest(&out);
    assert_eq!(m["queries"][0]["status"], "failed");
    assert!(
        m["queries"][0]["error"]
            .as_str()
            .expect("error")
            .contains("is outside the 0..10 scale")
    );
    assert_eq!(m["queries"][1]["status"], "ok");
    assert!(out.join("nps_by_channel.parquet").is_file());
    let html = std::fs::read_to_string(out.join("index.html")).expect("page");
    assert!(html.contains("class=\"failed\"") && html.contains("This query failed"));
}

#[test]
fn report_output_appears_whole_and_is_replaced_only_with_force() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("out");
    std::fs::write(out.join("keep.txt"), "mine").expect("keep");
    let out_arg = out.to_string_lossy().into_owned();
    let refused = cxsql(&["report", "--out", &out_arg]);
    assert_eq!(refused.code, 2);
    assert!(refused.stderr.contains("use --force"), "{}", refused.stderr);
    assert_eq!(
        std::fs::read_to_string(out.join("keep.txt")).expect("kept"),
        "mine"
    );

    ok(&["report", "--out", &out_arg, "--force", "--format", "json"]);
    assert!(!out.join("keep.txt").exists(), "replaced whole");
    assert!(out.join("manifest.json").is_file() && out.join("nps_by_channel.json").is_file());
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["out"], "no temporary folders left behind");
}

#[test]
fn report_progress_is_silent_off_a_terminal_unless_asked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let quiet = cxsql(&["report", "--out", &out("a")]);
    assert_eq!(quiet.code, 0);
    assert_eq!(quiet.stderr, "", "nothing on a non-terminal by default");
    let loud = cxsql(&["report", "--out", &out("b"), "--progress"]);
    assert_eq!(loud.code, 0);
    assert!(
        loud.stderr.contains("[1/18] queries/backlog_daily.sql: ok"),
        "{}",
        loud.stderr
    );
    assert_eq!(loud.stderr.lines().count(), 18);
    let q = cxsql(&["report", "--out", &out("c"), "--quiet"]);
    assert_eq!(q.stderr, "");
}

/// Renders a generated report in headless Chromium: the page loads and the charts are drawn (the DOM has the
/// SVG elements, and a screenshot has the charts' colours). `.ci/run` installs Chromium; elsewhere the test
/// says so and passes only when CI is unset.
#[test]
fn report_renders_in_a_real_browser() {
    let Some(chromium) = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install chromium (see .ci/run)"
        );
        eprintln!("SKIPPED: chromium is not installed (apt-get install chromium)");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("report");
    ok(&[
        "report",
        "--report",
        "reports/kpi_review.toml",
        "--out",
        &out.to_string_lossy(),
    ]);
    let url = format!("file://{}", out.join("index.html").display());
    let profile = dir.path().join("profile");
    let browser = |extra: &[&str]| {
        let output = Command::new(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                &format!("--user-data-dir={}", profile.display()),
            ])
            .args(extra)
            .arg(&url)
            .output()
            .expect("chromium runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let dom = browser(&["--dump-dom"]);
    assert!(
        dom.contains("<h1>Support KPI review</h1>"),
        "the page loaded"
    );
    assert!(
        dom.matches("<svg").count() >= 8,
        "every chart is in the DOM"
    );
    assert!(dom.matches("<polyline").count() >= 5, "lines are drawn");

    let shot = dir.path().join("shot.png");
    browser(&[
        "--window-size=1000,2400",
        &format!("--screenshot={}", shot.display()),
    ]);
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&shot).expect("screenshot"),
    ));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut pixels).expect("a frame");
    let channels = info.color_type.samples();
    let near = |px: &[u8], rgb: [u8; 3]| px.iter().zip(rgb).all(|(a, b)| a.abs_diff(b) < 12);
    let (mut blue, mut orange, mut plain) = (0usize, 0usize, 0usize);
    for px in pixels[..info.buffer_size()].chunks(channels) {
        if near(px, [0x1f, 0x77, 0xb4]) {
            blue += 1;
        } else if near(px, [0xff, 0x7f, 0x0e]) {
            orange += 1;
        } else if px[..3].iter().all(|&c| c > 240) {
            plain += 1;
        }
    }
    let total = pixels[..info.buffer_size()].len() / channels;
    assert!(blue > 2_000, "blue bars and lines drawn: {blue} pixels");
    assert!(orange > 200, "a second series drawn: {orange} pixels");
    assert!(plain < total * 95 / 100, "the page is not blank");
}

// ---- shell ----

#[test]
fn shell_runs_statements_and_commands_from_its_input() {
    let script = "SELECT channel,\n  nps(nps_score) AS nps\nFROM surveys GROUP BY channel ORDER BY 1;\n\
                  \\timing\n\\format csv\nSELECT nps(12);\nSELECT 41 + 1 AS answer;\n\\d\n\\d servqual\n\\f fcr_rate\n\
                  \\nonsense\nCREATE VIEW chat AS SELECT * FROM surveys WHERE channel = 'chat';\n\\d\n\\q\nSELECT 'after quit';\n";
    let out = cxsql_in(&root(), &["shell"], Some(script));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("| channel | nps"),
        "multi-line statement as a table: {}",
        out.stdout
    );
    assert!(out.stdout.contains("timing on") && out.stdout.contains("format csv"));
    assert!(
        out.stderr
            .contains("Error: Execution error: nps: score 12 is outside"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains("answer\n42\n1 row in "),
        "csv and timing after an error: {}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("servqual\nsla_policies\nsurveys\ntickets"),
        "\\d lists tables"
    );
    assert!(out.stdout.contains("dimension\t"), "\\d NAME shows columns");
    assert!(
        out.stdout.contains("### `fcr_rate(x)`"),
        "\\f shows documentation"
    );
    assert!(
        out.stderr.contains("unknown command \\nonsense"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout
            .contains("chat\nservqual\nsla_policies\nsurveys\ntickets"),
        "a created view is listed"
    );
    assert!(!out.stdout.contains("after quit"), "\\q quits");

    // No command at all starts the shell too.
    let bare = cxsql_in(&root(), &[], Some("SELECT 7 AS seven;\n"));
    assert_eq!(bare.code, 0, "{}", bare.stderr);
    assert!(bare.stdout.contains("| seven |"), "{}", bare.stdout);
}

// ---- memory limits ----

#[test]
fn a_high_cardinality_group_by_spills_under_a_memory_limit_and_gives_the_same_result() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data").to_string_lossy().into_owned();
    ok(&["gen", "--out", &data, "--tickets", "300000"]);
    let sql = "SELECT customer_id, fcr_rate(contacts) AS fcr, \
               backlog_at(created_at, resolved_at, TIMESTAMP '2024-06-30T00:00:00Z') AS open, count(*) AS n \
               FROM tickets GROUP BY customer_id ORDER BY customer_id";
    let unlimited = ok(&["--data", &data, "query", sql, "--format", "csv"]);
    assert!(
        unlimited.lines().count() > 90_000,
        "about 100,000 customers"
    );
    let spill = dir.path().join("spill").to_string_lossy().into_owned();
    let limited_args = [
        "--data",
        &data,
        "--memory-limit",
        "8M",
        "--temp-dir",
        &spill,
        "--threads",
        "2",
    ];
    let mut args = limited_args.to_vec();
    args.extend(["query", sql, "--format", "csv"]);
    assert_eq!(ok(&args), unlimited, "the same rows under 8 MB");

    let explain = format!("EXPLAIN ANALYZE {sql}");
    let mut args = limited_args.to_vec();
    args.extend(["query", &explain, "--format", "csv"]);
    let plan = ok(&args);
    let spills: u64 = plan
        .split("spill_count=")
        .skip(1)
        .filter_map(|s| {
            s.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum();
    assert!(
        spills > 0,
        "the query spilled to disk under the limit: {plan}"
    );

    let starved = cxsql(&[
        "--data",
        &data,
        "--memory-limit",
        "1M",
        "query",
        sql,
        "--format",
        "csv",
    ]);
    assert_eq!(starved.code, 1, "{}", starved.stderr);
    assert!(
        starved.stderr.contains("Resources exhausted"),
        "{}",
        starved.stderr
    );

    let bad = cxsql(&["--memory-limit", "lots", "tables"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr
            .contains("invalid value 'lots' for '--memory-limit"),
        "{}",
        bad.stderr
    );
    let zero = cxsql(&["--threads", "0", "tables"]);
    assert_eq!(zero.code, 2, "{}", zero.stderr);
}

// ---- Hive partitions ----

#[test]
fn hive_partition_columns_are_usable_and_filters_on_them_skip_folders() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = format!("{}/tickets/", dir.path().display());
    ok(&[
        "query",
        &format!(
            "COPY (SELECT *, CAST(date_part('year', created_at) AS INT) AS year, \
             CAST(date_part('month', created_at) AS INT) AS month FROM tickets) \
             TO '{lake}' STORED AS PARQUET PARTITIONED BY (year, month)"
        ),
    ]);
    let table = format!("t={lake}");
    let by_year = json_rows(&[
        "--table",
        &table,
        "query",
        "SELECT year, count(*) AS n, fcr_rate(contacts) AS fcr FROM t GROUP BY year ORDER BY year",
    ]);
    let expected = json_rows(&[
        "query",
        "SELECT CAST(date_part('year', created_at) AS INT) AS year, count(*) AS n, fcr_rate(contacts) AS fcr \
         FROM tickets GROUP BY 1 ORDER BY 1",
    ]);
    assert_eq!(by_year, expected);

    let files_scanned = |filter: &str| -> Vec<String> {
        let plan = ok(&[
            "--table",
            &table,
            "--threads",
            "1",
            "query",
            &format!("EXPLAIN SELECT sum(handle_time_s) FROM t WHERE {filter}"),
            "--format",
            "csv",
        ]);
        let groups = plan
            .split("file_groups={")
            .nth(1)
            .expect("a file scan in the plan");
        let groups = groups.split('}').next().unwrap_or_default();
        groups
            .split(['[', ']', ',', ' '])
            .filter(|s| s.ends_with(".parquet"))
            .map(str::to_string)
            .collect()
    };
    let march = files_scanned("year = 2024 AND month = 3");
    assert_eq!(march.len(), 1, "{march:?}");
    assert!(march[0].contains("year=2024/month=3/"), "{march:?}");
    // The plan lists the first files of a long group only: every one listed is of 2024.
    let year = files_scanned("year = 2024");
    assert!(
        !year.is_empty() && year.iter().all(|f| f.contains("year=2024/")),
        "{year:?}"
    );
    let all = files_scanned("month = 3");
    assert!(all.iter().any(|f| f.contains("year=2021/")), "{all:?}");
}

// ---- catalogs ----

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

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("in memory");
    encoder.finish().expect("in memory")
}

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

    // Without formats: compressed or not, the same text columns.
    let expected_text = "id,opened,t1,closed_on,t2,len\n\
        1,31/01/2024 09:05,Utf8,01/02/2024,Utf8,5\n\
        2,01/02/2024 17:30,Utf8,,Utf8,45\n\
        3,29/02/2024 23:59,Utf8,04/03/2024,Utf8,\n";
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
    let sql = "SELECT (SELECT count(*) FROM tickets) AS tickets, (SELECT sum(ticket_id) FROM tickets) AS ids, \
               (SELECT nps(nps_score) FROM surveys) AS nps, (SELECT servqual_gap(perception, expectation) FROM servqual) AS gap";
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

// ---- object storage ----

/// A moto S3 server on a free loopback port, stopped when dropped.
struct Moto {
    child: std::process::Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python_has_moto() -> bool {
    Command::new("python3")
        .args(["-c", "import moto, boto3"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn start_moto() -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("address")
        .port();
    let child = Command::new("python3")
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto starts");
    let moto = Moto { child, port };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return moto;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("moto did not start on port {port}");
}

/// Uploads a partitioned data set to a real S3-compatible server (moto, on loopback), queries it through a
/// catalog, and compares with the same query on the local files. `.ci/run` installs moto from PyPI.
#[test]
fn s3_tables_give_the_same_results_as_local_files_and_keep_secrets_out_of_messages() {
    if !python_has_moto() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install moto[server] (see .ci/run)"
        );
        eprintln!("SKIPPED: python3 -m pip install 'moto[server]'");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = dir.path().join("lake");
    ok(&[
        "query",
        &format!(
            "COPY (SELECT *, CAST(date_part('year', created_at) AS INT) AS year, \
             CAST(date_part('month', created_at) AS INT) AS month FROM tickets) \
             TO '{}/' STORED AS PARQUET PARTITIONED BY (year, month)",
            lake.display()
        ),
    ]);
    let moto = start_moto();
    let endpoint = format!("http://127.0.0.1:{}", moto.port);
    let secret = "s3cr3t-must-never-be-printed";
    // The partitioned lake under tickets/, and the external export, gzip'ed, under exports/.
    let exports = dir.path().join("exports");
    std::fs::create_dir_all(&exports).expect("exports");
    let export =
        std::fs::read(root().join("tests/fixtures/customer_support_tickets.csv")).expect("fixture");
    std::fs::write(exports.join("kaggle.csv.gz"), gzip(&export)).expect("gz");
    for (folder, prefix) in [(&lake, "tickets/"), (&exports, "exports/")] {
        let upload = Command::new("python3")
            .args([
                "-c",
                "import boto3, os, sys\n\
                 endpoint, secret, root, prefix = sys.argv[1:5]\n\
                 s3 = boto3.client('s3', endpoint_url=endpoint, aws_access_key_id='cxsql', \
                                   aws_secret_access_key=secret, region_name='us-east-1')\n\
                 if 'lake' not in [b['Name'] for b in s3.list_buckets()['Buckets']]:\n\
                 \x20   s3.create_bucket(Bucket='lake')\n\
                 for d, _, files in os.walk(root):\n\
                 \x20   for f in files:\n\
                 \x20       p = os.path.join(d, f)\n\
                 \x20       s3.upload_file(p, 'lake', prefix + os.path.relpath(p, root))\n",
                &endpoint,
                secret,
                &folder.to_string_lossy(),
                prefix,
            ])
            .output()
            .expect("python3 runs");
        assert!(
            upload.status.success(),
            "{}",
            String::from_utf8_lossy(&upload.stderr)
        );
    }

    let catalog = |bucket: &str| {
        let path = dir.path().join(format!("{bucket}.toml"));
        std::fs::write(
            &path,
            format!(
                "[tables.t]\nlocation = \"s3://{bucket}/tickets/\"\nformat = \"parquet\"\n\
                 partitions = [\"year INT\", \"month INT\"]\n\
                 s3 = {{ endpoint = \"{endpoint}\", region = \"us-east-1\", access_key_id = \"cxsql\", \
                 secret_access_key = \"{secret}\" }}\n"
            ),
        )
        .expect("catalog");
        path.to_string_lossy().into_owned()
    };
    let sql = "SELECT year, count(*) AS n, fcr_rate(contacts) AS fcr, \
               backlog_at(created_at, resolved_at, TIMESTAMP '2023-06-30T00:00:00Z') AS open \
               FROM t GROUP BY year ORDER BY year";
    let remote = json_rows(&["--catalog", &catalog("lake"), "query", sql]);
    let local = json_rows(&["--table", &format!("t={}/", lake.display()), "query", sql]);
    assert_eq!(remote.len(), 4);
    assert_eq!(remote, local);
    let pruned = json_rows(&[
        "--catalog",
        &catalog("lake"),
        "query",
        "SELECT count(*) AS n FROM t WHERE year = 2024 AND month = 2",
    ]);
    assert!(pruned[0]["n"].num() > 0.0);

    // A compressed CSV export on S3: its schema is inferred by cxsql (quotes with `\"` inside), and every
    // row reads as from the local file.
    let csv_catalog = dir.path().join("csv.toml");
    std::fs::write(
        &csv_catalog,
        format!(
            "[tables.k]\nlocation = \"s3://lake/exports/kaggle.csv.gz\"\n\
             s3 = {{ endpoint = \"{endpoint}\", region = \"us-east-1\", access_key_id = \"cxsql\", \
             secret_access_key = \"{secret}\" }}\n"
        ),
    )
    .expect("catalog");
    let sql = "SELECT \"Ticket Channel\" AS channel, count(*) AS n, csat(\"Customer Satisfaction Rating\") AS csat, \
               sum(length(\"Ticket Description\")) AS text FROM k GROUP BY 1 ORDER BY 1";
    let remote = json_rows(&["--catalog", &csv_catalog.to_string_lossy(), "query", sql]);
    let local = json_rows(&[
        "--table",
        &format!("k={}", exports.join("kaggle.csv.gz").display()),
        "query",
        sql,
    ]);
    assert_eq!(remote.len(), 4);
    assert_eq!(remote, local);
    let total: f64 = remote.iter().map(|r| r["n"].num()).sum();
    assert_eq!(total, 8469.0);

    let missing = cxsql(&[
        "--catalog",
        &catalog("nolake"),
        "query",
        "SELECT count(*) FROM t",
    ]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("s3://nolake/tickets/"),
        "{}",
        missing.stderr
    );
    assert!(!missing.stderr.contains(secret) && !missing.stdout.contains(secret));
    drop(moto);
}
