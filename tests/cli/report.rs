//! `cxsql report`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::*;

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

    fails(
        &[
            "report",
            "--out",
            &format!("{out_arg}2"),
            "--param",
            "sincee=2024-01-01",
        ],
        2,
        "parameter sincee is declared by none",
    );
}

/// The second bundled report: churn, lifetime value, eNPS and turnover, each query's result file equal to
/// running it alone with the report's parameters.
#[test]
fn the_outcomes_report_runs_every_outcome_query_with_a_chart_each() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("outcomes");
    ok(&[
        "report",
        "--report",
        "reports/outcomes.toml",
        "--out",
        &out.to_string_lossy(),
        "--format",
        "json",
    ]);
    let m = manifest(&out);
    assert_eq!(m["title"], "Customer and team outcomes");
    let entries = m["queries"].as_array().expect("queries");
    let names: Vec<&str> = entries
        .iter()
        .map(|e| e["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "churn_by_segment",
            "churn_by_nps_category",
            "churn_by_sla_experience",
            "customer_lifetime_value",
            "enps_by_team",
            "agent_turnover_by_team"
        ]
    );
    for e in entries {
        assert_eq!(e["status"], "ok", "{e}");
        assert_eq!(e["parameters"]["since"], "2024-01-01T00:00:00Z", "{e}");
        let file = out.join(e["file"].as_str().expect("file"));
        let written: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).expect("result")).expect("JSON");
        let alone = json_rows(&[
            "run",
            &format!("queries/{}.sql", e["name"].as_str().expect("name")),
            "--param",
            "since=2024-01-01T00:00:00Z",
            "--param",
            "until=2025-01-01T00:00:00Z",
        ]);
        assert_eq!(written, serde_json::json!(alone), "{}", e["name"]);
    }
    let html = std::fs::read_to_string(out.join("index.html")).expect("page");
    assert_eq!(
        html.matches("<svg").count(),
        entries.len(),
        "a chart per query"
    );
    assert!(
        html.contains("Churn by the customer&#x27;s last NPS answer")
            || html.contains("Churn by the customer's last NPS answer")
    );
}

/// The ticket-flow report: every history query, each result equal to running it alone, each charted by the
/// columns its manifest names (per-status lines of the backlog, intervals on the rates, a bar per agent).
#[test]
fn the_ticket_flow_report_charts_every_history_query() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("flow");
    ok(&[
        "report",
        "--report",
        "reports/ticket_flow.toml",
        "--out",
        &out.to_string_lossy(),
        "--format",
        "json",
    ]);
    let m = manifest(&out);
    assert_eq!(m["title"], "Ticket flow");
    let entries = m["queries"].as_array().expect("queries");
    let names: Vec<&str> = entries
        .iter()
        .map(|e| e["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "time_in_status",
            "agent_work_time",
            "requester_wait_time",
            "sla_pausable",
            "next_reply_time_by_agent",
            "one_touch_rate",
            "reopens_and_handoffs",
            "backlog_by_status_daily"
        ]
    );
    for e in entries {
        assert_eq!(e["status"], "ok", "{e}");
        let name = e["name"].as_str().expect("name");
        let mut args = vec!["run".to_string(), format!("queries/{name}.sql")];
        for (k, v) in e["parameters"].as_object().expect("parameters") {
            args.push("--param".into());
            args.push(format!("{k}={}", v.as_str().expect("text")));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let file = out.join(e["file"].as_str().expect("file"));
        let written: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).expect("result")).expect("JSON");
        assert_eq!(written, serde_json::json!(json_rows(&args)), "{name}");
    }
    let html = std::fs::read_to_string(out.join("index.html")).expect("page");
    let section = |id: &str| -> String {
        let start = html
            .find(&format!("<section id=\"{id}\""))
            .unwrap_or_else(|| panic!("section {id}"));
        let len = html[start..].find("</section>").expect("section end");
        html[start..start + len].to_string()
    };
    let backlog = section("backlog_by_status_daily");
    assert_eq!(backlog.matches("<polyline").count(), 4, "a line per status");
    for status in ["new", "open", "pending", "hold"] {
        assert!(
            backlog.contains(&format!("<title>{status}</title>")),
            "{status}"
        );
    }
    for id in ["one_touch_rate", "reopens_and_handoffs", "sla_pausable"] {
        assert!(section(id).contains("class=\"whisker\""), "{id}: intervals");
    }
    let status = section("time_in_status");
    for s in ["new_hours", "open_hours", "pending_hours", "hold_hours"] {
        assert!(status.contains(&format!("email · {s}")), "{s}");
    }
    assert!(status.contains("hours (hours)"), "axis of hours");
    // The agents' bars are labelled by agent id and team.
    let agents = section("next_reply_time_by_agent");
    assert!(agents.contains("<svg") && agents.contains(" · p90_hours"));
}

/// A chart column the result lacks fails that query, naming the column and the result's columns.
#[test]
fn a_chart_column_the_result_lacks_fails_the_query() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = root().join("queries/nps_by_channel.sql");
    std::fs::write(
        dir.path().join("r.toml"),
        format!(
            "[[query]]\nfile = {:?}\nchart = [\"nps\", \"nps_pct\"]\n",
            good.to_string_lossy()
        ),
    )
    .expect("r.toml");
    let out = dir.path().join("out");
    let report = dir.path().join("r.toml").to_string_lossy().into_owned();
    fails(
        &[
            "report",
            "--report",
            &report,
            "--out",
            &out.to_string_lossy(),
        ],
        1,
        "some queries of the report failed",
    );
    let error = manifest(&out)["queries"][0]["error"]
        .as_str()
        .expect("error")
        .to_string();
    assert!(
        error.contains("nps_by_channel.sql: chart column 'nps_pct' is not in the result; its columns: channel, nps"),
        "{error}"
    );
}

/// `--compare previous`: each query with since/until runs again for the year before, and the changes the page
/// marks significant are those an independent pooled two-proportion z-test finds on the two `cxsql run`s.
#[test]
fn compare_previous_runs_the_year_before_and_tests_the_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("r");
    ok(&[
        "report",
        "--report",
        "reports/kpi_review.toml",
        "--out",
        &out.to_string_lossy(),
        "--compare",
        "previous",
    ]);
    let m = manifest(&out);
    let entry = |name: &str| {
        m["queries"]
            .as_array()
            .expect("queries")
            .iter()
            .find(|e| e["name"] == name)
            .expect("entry")
            .clone()
    };
    let fcr = entry("fcr_by_channel_priority");
    assert_eq!(fcr["compare"]["since"], "2023-01-01T00:00:00Z", "{fcr}");
    assert_eq!(fcr["compare"]["until"], "2024-01-01T00:00:00Z");
    assert_eq!(fcr["compare"]["test"], "pooled two-proportion z-test");
    assert!(
        out.join("fcr_by_channel_priority.previous.parquet")
            .is_file()
    );
    assert!(
        entry("nps_by_channel")["compare"]["test"]
            .as_str()
            .expect("a test")
            .starts_with("two-sample NPS z-test")
    );
    assert!(
        entry("tickets_past_sla")["compare"].is_null(),
        "no since/until, no comparison"
    );

    // The same changes by hand: FCR of 2024 against 2023, per channel and priority.
    let year = |since: &str, until: &str| {
        json_rows(&[
            "run",
            "queries/fcr_by_channel_priority.sql",
            "-p",
            &format!("since={since}"),
            "-p",
            &format!("until={until}"),
        ])
    };
    let now = year("2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z");
    let before = year("2023-01-01T00:00:00Z", "2024-01-01T00:00:00Z");
    let z = 1.959_963_984_540_054;
    let mut significant = 0;
    for r in &now {
        let b = before
            .iter()
            .find(|b| b["channel"] == r["channel"] && b["priority"] == r["priority"])
            .expect("the same groups");
        let counts = |row: &Row| {
            let n = row["resolved_tickets"].num();
            (n, (row["fcr"].num() / 100.0 * n).round())
        };
        let ((n1, x1), (n2, x2)) = (counts(b), counts(r));
        let pooled = (x1 + x2) / (n1 + n2);
        let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
        if se > 0.0 && ((x2 / n2 - x1 / n1) / se).abs() > z {
            significant += 1;
        }
    }
    assert_eq!(fcr["compare"]["significant"].as_u64(), Some(significant));
    let html = std::fs::read_to_string(out.join("index.html")).expect("page");
    assert!(html.contains(
        "Change from the previous period (2023-01-01T00:00:00Z to 2024-01-01T00:00:00Z)"
    ));
    assert!(html.contains(
        "Test: pooled two-proportion z-test; significant at 95% confidence (p &lt; 0.05)."
    ));
    let marked = html.matches("▲ significant").count() + html.matches("▼ significant").count();
    assert!(
        marked >= significant as usize,
        "{marked} marks, {significant} significant FCR changes"
    );

    // The manifest's [compare] does the same without the flag; a bad confidence is refused.
    let manifest_file = dir.path().join("m.toml");
    let query = root().join("queries/nps_by_channel.sql");
    std::fs::write(
        &manifest_file,
        format!(
            "confidence = 0.9\n[params]\nsince = \"2024-01-01T00:00:00Z\"\nuntil = \"2025-01-01T00:00:00Z\"\n\
             [compare]\nagainst = \"previous\"\n[[query]]\nfile = {:?}\n",
            query.to_string_lossy()
        ),
    )
    .expect("manifest");
    let out2 = dir.path().join("r2");
    ok(&[
        "report",
        "--report",
        &manifest_file.to_string_lossy(),
        "--out",
        &out2.to_string_lossy(),
    ]);
    let html = std::fs::read_to_string(out2.join("index.html")).expect("page");
    assert!(
        html.contains("significant at 90% confidence (p &lt; 0.1)"),
        "{html}"
    );
    std::fs::write(
        &manifest_file,
        "confidence = 1.5\n[[query]]\nfile = \"x.sql\"\n",
    )
    .expect("manifest");
    let bad = cxsql(&[
        "report",
        "--report",
        &manifest_file.to_string_lossy(),
        "--out",
        &dir.path().join("r3").to_string_lossy(),
    ]);
    bad.assert_fails(2, "confidence 1.5 is outside (0, 1)");
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
    fails(
        &[
            "report",
            "--report",
            &report,
            "--out",
            &out.to_string_lossy(),
        ],
        1,
        "some queries of the report failed",
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
    // An earlier report (it has a manifest.json), with a file of the user's added.
    std::fs::write(out.join("manifest.json"), "{}").expect("manifest");
    std::fs::write(out.join("keep.txt"), "mine").expect("keep");
    let out_arg = out.to_string_lossy().into_owned();
    fails(&["report", "--out", &out_arg], 2, "use --force");
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
        loud.stderr
            .contains("[1/32] queries/agent_turnover_by_team.sql: ok")
            && loud
                .stderr
                .contains("[2/32] queries/agent_work_time.sql: ok"),
        "{}",
        loud.stderr
    );
    assert_eq!(loud.stderr.lines().count(), 32);
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
        (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    // With logging on, every console message of the page is a CONSOLE line on stderr.
    let (dom, log) = browser(&["--enable-logging=stderr", "--v=0", "--dump-dom"]);
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:?}");
    assert!(
        dom.contains("<h1>Support KPI review</h1>"),
        "the page loaded"
    );
    assert!(
        dom.matches("<svg").count() >= 8,
        "every chart is in the DOM"
    );
    assert!(dom.matches("<polyline").count() >= 5, "lines are drawn");
    // The uncertainty: whiskers on bars, bands around lines, hollow marks on few answers.
    assert!(dom.contains("class=\"whisker\""), "interval whiskers");
    assert!(dom.contains("class=\"band\""), "interval bands");
    assert!(
        dom.contains("class=\"small\"") && dom.contains("<span class=\"small-n\">n = "),
        "small samples marked"
    );
    assert!(
        dom.contains("<td>2024-07</td>"),
        "month starts print as months"
    );

    // The screenshot stays in the test output folder, for a person to look at.
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-screenshot.png");
    browser(&[
        "--window-size=1000,3400",
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
