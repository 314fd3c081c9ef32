//! Saved queries, one test each, against data/.

use crate::util::*;

/// Runs a saved query and checks its columns and that it returns rows.
fn saved(file: &str, columns: &[&str]) -> Vec<Row> {
    let rows = json_rows(&["run", &format!("queries/{file}")]);
    assert!(!rows.is_empty(), "{file} returned no rows");
    let got: Vec<&String> = rows[0].keys().collect();
    let mut want: Vec<&str> = columns.to_vec();
    want.sort();
    assert_eq!(got, want, "{file} columns");
    rows
}

fn in_range(rows: &[Row], column: &str, lo: f64, hi: f64) {
    for row in rows {
        if let Some(v @ serde_json::Value::Number(_)) = row.get(column) {
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
    let rows = saved(
        "nps_by_channel.sql",
        &[
            "channel",
            "nps",
            "nps_low",
            "nps_high",
            "responses",
            "promoters_pct",
            "detractors_pct",
        ],
    );
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
    let total = |rows: &[Row]| rows.iter().map(|r| r["responses"].num()).sum::<f64>();
    assert!(total(&one_year) > 0.0 && total(&one_year) < total(&rows) / 2.0);
}

#[test]
fn saved_nps_monthly_trend() {
    let rows = saved(
        "nps_monthly_trend.sql",
        &[
            "month",
            "nps",
            "nps_low",
            "nps_high",
            "responses",
            "promoters_pct",
            "detractors_pct",
        ],
    );
    assert_eq!(rows.len(), 48, "four years of months");
    for row in &rows {
        assert!(
            row["nps_low"].num() < row["nps"].num() && row["nps"].num() < row["nps_high"].num(),
            "{row:?}"
        );
    }
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
        &[
            "month",
            "channel",
            "csat",
            "csat_low",
            "csat_high",
            "responses",
        ],
    );
    in_range(&rows, "csat", 0.0, 100.0);
    assert_eq!(rows.len(), 48 * 5);
}

#[test]
fn saved_fcr_by_channel_priority() {
    let rows = saved(
        "fcr_by_channel_priority.sql",
        &[
            "channel",
            "priority",
            "fcr",
            "fcr_low",
            "fcr_high",
            "resolved_tickets",
        ],
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
    let sum = |rows: &[Row]| rows.iter().map(|r| r["past_sla"].num()).sum::<f64>();
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
    fails(
        &[
            "run",
            "queries/nps_confidence.sql",
            "--param",
            "confidence=95",
        ],
        1,
        "confidence 95 is outside (0, 1)",
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
            .is_none_or(|z| matches!(z, serde_json::Value::Null)),
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
    fails(
        &[
            "run",
            "queries/first_response_business_hours.sql",
            "--param",
            "calendar=emea",
        ],
        1,
        "unknown calendar 'emea'",
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

/// Each row's `{column}_low` and `{column}_high` are the 95% Wilson interval of `{column}` (a percentage
/// of the row's `customers`/`agents`), computed here from the counts.
fn assert_interval(rows: &[Row], column: &str) {
    let z: f64 = 1.959_963_984_540_054;
    for r in rows {
        let n = r
            .get("customers")
            .or_else(|| r.get("agents"))
            .expect("a count")
            .num();
        let p = r[column].num() / 100.0;
        let scale = 1.0 + z * z / n;
        let centre = (p + z * z / (2.0 * n)) / scale;
        let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / scale;
        assert_close(
            r[&format!("{column}_low")].num(),
            100.0 * (centre - half).max(0.0),
            "low",
        );
        assert_close(
            r[&format!("{column}_high")].num(),
            100.0 * (centre + half).min(1.0),
            "high",
        );
    }
}

/// The plain-SQL churn of a table with `start`/`end` columns over (since, until], grouped by `key`: the
/// rows active at since, those of them ended by until, and 100 x the ratio.
fn plain_churn(from: &str, key: &str, start: &str, end: &str) -> Vec<Row> {
    let (since, until) = (
        "TIMESTAMP '2024-01-01T00:00:00Z'",
        "TIMESTAMP '2025-01-01T00:00:00Z'",
    );
    let active = format!("{start} <= {since} AND ({end} IS NULL OR {end} > {since})");
    json_rows(&[
        "query",
        &format!(
            "SELECT {key} AS k, count(*) FILTER (WHERE {active}) AS active, \
             count(*) FILTER (WHERE {active} AND {end} <= {until}) AS gone, \
             100.0 * count(*) FILTER (WHERE {active} AND {end} <= {until}) \
               / nullif(count(*) FILTER (WHERE {active}), 0) AS pct \
             FROM {from} GROUP BY {key}"
        ),
    ])
}

/// Each row of a saved churn query (`key`, `count`, `gone`, `pct` columns) equals the plain-SQL row of the
/// same key; returns the churn percentage per key.
fn assert_churn_rows(
    rows: &[Row],
    expected: &[Row],
    [key, count, gone, pct]: [&str; 4],
) -> std::collections::HashMap<String, f64> {
    assert_eq!(rows.len(), expected.len(), "groups");
    let mut by_key = std::collections::HashMap::new();
    for r in rows {
        let e = expected
            .iter()
            .find(|e| e["k"] == r[key])
            .unwrap_or_else(|| panic!("no plain-SQL row for {r:?}"));
        assert_eq!(r[count], e["active"], "{key} {}", r[key]);
        assert_eq!(r[gone], e["gone"], "{key} {}", r[key]);
        assert_close(r[pct].num(), e["pct"].num(), pct);
        by_key.insert(r[key].text().to_string(), r[pct].num());
    }
    by_key
}

/// A saved customer-churn query (`key`, customers, churned, churn_pct and its interval) against the plain-SQL
/// churn of `from` grouped by `key_sql`, its rows in `order`; its rows and the churn per key.
fn customer_churn(
    file: &str,
    key: &str,
    from: &str,
    key_sql: &str,
    order: &[&str],
) -> (Vec<Row>, std::collections::HashMap<String, f64>) {
    let rows = saved(
        file,
        &[
            key,
            "customers",
            "churned",
            "churn_pct",
            "churn_pct_low",
            "churn_pct_high",
        ],
    );
    assert_interval(&rows, "churn_pct");
    let expected = plain_churn(from, key_sql, "signed_up_at", "churned_at");
    let churn = assert_churn_rows(&rows, &expected, [key, "customers", "churned", "churn_pct"]);
    let got: Vec<&str> = rows.iter().map(|r| r[key].text()).collect();
    assert_eq!(got, order, "{file} row order");
    (rows, churn)
}

#[test]
fn saved_churn_by_segment_matches_plain_sql() {
    let (_, churn) = customer_churn(
        "churn_by_segment.sql",
        "segment",
        "customers",
        "segment",
        &["smb", "mid_market", "enterprise"],
    );
    // The sample's story: small customers churn most.
    assert!(churn["smb"] > churn["enterprise"], "{churn:?}");
}

#[test]
fn saved_churn_by_nps_category_matches_plain_sql() {
    // The last answer by a window (row_number) rather than last_value.
    let from = "(SELECT c.signed_up_at, c.churned_at, CASE WHEN r.nps_score IS NULL THEN 'none' \
                WHEN r.nps_score >= 9 THEN 'promoter' WHEN r.nps_score >= 7 THEN 'passive' ELSE 'detractor' END AS cat \
                FROM customers c LEFT JOIN (SELECT customer_id, nps_score, row_number() OVER (PARTITION BY customer_id \
                ORDER BY submitted_at DESC, survey_id DESC) AS n FROM surveys \
                WHERE submitted_at < TIMESTAMP '2024-01-01T00:00:00Z' AND nps_score IS NOT NULL) r \
                ON r.customer_id = c.customer_id AND r.n = 1)";
    let (_, churn) = customer_churn(
        "churn_by_nps_category.sql",
        "nps_category",
        from,
        "cat",
        &["promoter", "passive", "detractor", "none"],
    );
    // The sample's story: detractors churn more than promoters.
    assert!(churn["detractor"] > churn["promoter"], "{churn:?}");
}

#[test]
fn saved_churn_by_sla_experience_matches_plain_sql() {
    // Past the resolution target by 2024-01-01: clock time on calendar policies, business time otherwise.
    let since = "TIMESTAMP '2024-01-01T00:00:00Z'";
    let from = format!(
        "(SELECT c.signed_up_at, c.churned_at, CASE WHEN b.hits > 0 THEN 'past_sla' ELSE 'none' END AS k2 \
         FROM customers c LEFT JOIN (SELECT t.customer_id, count(*) AS hits FROM tickets t \
         JOIN sla_policies p ON p.channel = t.channel AND p.priority = t.priority \
         WHERE t.created_at >= {since} - INTERVAL '90 days' AND t.created_at < {since} \
         AND CASE WHEN p.clock = 'calendar' \
           THEN date_part('epoch', CASE WHEN t.resolved_at IS NULL OR t.resolved_at > {since} THEN {since} ELSE t.resolved_at END) \
                - date_part('epoch', t.created_at) \
           ELSE business_seconds(t.created_at, CASE WHEN t.resolved_at IS NULL OR t.resolved_at > {since} THEN {since} ELSE t.resolved_at END) END \
         > p.resolution_hours * 3600 GROUP BY t.customer_id) b ON b.customer_id = c.customer_id)"
    );
    let (rows, churn) = customer_churn(
        "churn_by_sla_experience.sql",
        "sla_experience",
        &from,
        "k2",
        &["past_sla", "none"],
    );
    // The sample's story: customers who waited past the SLA churn more.
    assert!(churn["past_sla"] > churn["none"], "{churn:?}");
    // A longer lookback finds more customers past the SLA.
    let year = json_rows(&[
        "run",
        "queries/churn_by_sla_experience.sql",
        "--param",
        "lookback=365 days",
    ]);
    let past = |rows: &[Row]| {
        rows.iter()
            .find(|r| r["sla_experience"].text() == "past_sla")
            .map(|r| r["customers"].num())
            .expect("a past_sla row")
    };
    assert!(past(&year) > past(&rows), "{year:?}");
}

#[test]
fn saved_customer_lifetime_value_is_revenue_times_margin_over_monthly_churn() {
    let rows = saved(
        "customer_lifetime_value.sql",
        &[
            "segment",
            "customers",
            "avg_monthly_revenue",
            "period_churn_pct",
            "monthly_churn_pct",
            "expected_lifetime_months",
            "lifetime_value",
        ],
    );
    let churn = plain_churn("customers", "segment", "signed_up_at", "churned_at");
    let revenue = json_rows(&[
        "query",
        "SELECT segment, avg(monthly_revenue) AS r FROM customers WHERE signed_up_at <= TIMESTAMP '2024-01-01T00:00:00Z' \
         AND (churned_at IS NULL OR churned_at > TIMESTAMP '2024-01-01T00:00:00Z') GROUP BY segment",
    ]);
    // 2024 has 366 days: 366 / 30.436875 months.
    let months = 366.0 / 30.436875;
    for r in &rows {
        let segment = &r["segment"];
        let p = churn.iter().find(|e| &e["k"] == segment).expect("churn")["pct"].num() / 100.0;
        let avg = revenue
            .iter()
            .find(|e| &e["segment"] == segment)
            .expect("revenue")["r"]
            .num();
        let monthly = 1.0 - (1.0 - p).powf(1.0 / months);
        assert_close(r["period_churn_pct"].num(), 100.0 * p, "period churn");
        assert_close(
            r["monthly_churn_pct"].num(),
            100.0 * monthly,
            "monthly churn",
        );
        assert_close(r["avg_monthly_revenue"].num(), avg, "revenue");
        assert_close(
            r["expected_lifetime_months"].num(),
            1.0 / monthly,
            "lifetime",
        );
        assert_close(r["lifetime_value"].num(), avg * 0.7 / monthly, "clv");
        // Twelve monthly churns compound to the period's.
        assert!((1.0 - (1.0 - monthly).powf(months) - p).abs() < 1e-9);
    }
    let half = json_rows(&[
        "run",
        "queries/customer_lifetime_value.sql",
        "--param",
        "margin=0.35",
    ]);
    for (a, b) in rows.iter().zip(&half) {
        assert_close(
            b["lifetime_value"].num(),
            a["lifetime_value"].num() / 2.0,
            "margin",
        );
    }
}

#[test]
fn saved_enps_by_team_matches_plain_sql() {
    let rows = saved(
        "enps_by_team.sql",
        &[
            "team",
            "enps",
            "enps_low",
            "enps_high",
            "pulse_answers",
            "csat",
            "csat_answers",
        ],
    );
    let expected = json_rows(&[
        "query",
        "SELECT p.team, p.enps, p.n, s.csat, s.m FROM (SELECT team, 100.0 * (count(enps_score) FILTER (WHERE enps_score >= 9) \
         - count(enps_score) FILTER (WHERE enps_score <= 6)) / count(enps_score) AS enps, count(enps_score) AS n \
         FROM employee_pulse GROUP BY team) p JOIN (SELECT a.team, 100.0 * count(s.csat_score) FILTER (WHERE s.csat_score >= 4) \
         / count(s.csat_score) AS csat, count(s.csat_score) AS m FROM surveys s, tickets t, agents a \
         WHERE s.ticket_id = t.ticket_id AND t.agent_id = a.agent_id GROUP BY a.team) s ON s.team = p.team",
    ]);
    assert_eq!(rows.len(), 4, "four teams");
    assert_eq!(expected.len(), 4);
    for r in &rows {
        let e = expected
            .iter()
            .find(|e| e["team"] == r["team"])
            .expect("same teams");
        assert_close(r["enps"].num(), e["enps"].num(), "enps");
        assert_eq!(r["pulse_answers"], e["n"]);
        assert_close(r["csat"].num(), e["csat"].num(), "csat");
        assert_eq!(r["csat_answers"], e["m"]);
        assert!(r["enps_low"].num() < r["enps"].num() && r["enps"].num() < r["enps_high"].num());
    }
    // The sample's story: the team with the lowest eNPS has the lowest CSAT.
    let lowest = |column: &str| {
        rows.iter()
            .min_by(|a, b| a[column].num().total_cmp(&b[column].num()))
            .map(|r| r["team"].text().to_string())
    };
    assert_eq!(lowest("enps"), lowest("csat"), "{rows:?}");
}

#[test]
fn saved_agent_turnover_by_team_matches_plain_sql() {
    let rows = saved(
        "agent_turnover_by_team.sql",
        &[
            "team",
            "agents",
            "left_team",
            "turnover_pct",
            "turnover_pct_low",
            "turnover_pct_high",
            "hired",
        ],
    );
    assert_interval(&rows, "turnover_pct");
    let expected = plain_churn("agents", "team", "hired_at", "left_at");
    assert_churn_rows(
        &rows,
        &expected,
        ["team", "agents", "left_team", "turnover_pct"],
    );
    let hired = json_rows(&[
        "query",
        "SELECT team, count(*) AS n FROM agents WHERE hired_at > TIMESTAMP '2024-01-01T00:00:00Z' \
         AND hired_at <= TIMESTAMP '2025-01-01T00:00:00Z' GROUP BY team",
    ]);
    for r in &rows {
        let n = hired
            .iter()
            .find(|h| h["team"] == r["team"])
            .map_or(0.0, |h| h["n"].num());
        assert_eq!(r["hired"].num(), n, "{r:?}");
    }
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
    fails(
        &["--catalog", &bad, "query", "SELECT 1"],
        2,
        "bad.toml: calendar x: unknown time zone 'Nowhere/Land'",
    );
}

#[test]
fn every_saved_query_has_a_test_and_a_documented_header() {
    let source = include_str!("saved_queries.rs");
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

/// The status order at one instant, as the history functions break ties, for the window SQL below.
const TIE: &str = "CASE value WHEN 'new' THEN 0 WHEN 'open' THEN 1 WHEN 'pending' THEN 2 WHEN 'hold' THEN 3 \
                   WHEN 'solved' THEN 4 WHEN 'closed' THEN 5 ELSE 6 END";

/// time_in_status equals the same averages written with `lead()` over the status history.
#[test]
fn saved_time_in_status_equals_window_sql() {
    let rows = saved(
        "time_in_status.sql",
        &[
            "channel",
            "tickets",
            "new_hours",
            "open_hours",
            "pending_hours",
            "hold_hours",
            "new_business_hours",
            "open_business_hours",
            "pending_business_hours",
            "hold_business_hours",
        ],
    );
    let as_of = "TIMESTAMP '2025-01-01T00:00:00Z'";
    let sql = format!(
        "WITH spans AS (SELECT ticket_id, value, at, \
           coalesce(lead(at) OVER (PARTITION BY ticket_id ORDER BY at, {TIE}), {as_of}) AS next_at \
           FROM ticket_events WHERE field = 'status' AND at <= {as_of}), \
         per_ticket AS (SELECT ticket_id, \
           sum(CASE WHEN value = 'pending' THEN date_part('epoch', next_at) - date_part('epoch', at) ELSE 0 END) AS pending_s, \
           sum(CASE WHEN value = 'open' THEN date_part('epoch', next_at) - date_part('epoch', at) ELSE 0 END) AS open_s \
           FROM spans GROUP BY ticket_id) \
         SELECT t.channel, count(*) AS tickets, avg(p.pending_s) / 3600 AS pending_hours, avg(p.open_s) / 3600 AS open_hours \
         FROM per_ticket p JOIN tickets t ON t.ticket_id = p.ticket_id \
         WHERE t.created_at >= TIMESTAMP '2024-01-01T00:00:00Z' AND t.created_at < TIMESTAMP '2025-01-01T00:00:00Z' \
         GROUP BY t.channel ORDER BY t.channel"
    );
    let expected = json_rows(&["query", &sql]);
    assert_eq!(rows.len(), expected.len());
    for (got, want) in rows.iter().zip(&expected) {
        assert_eq!(got["channel"], want["channel"]);
        assert_eq!(got["tickets"].num(), want["tickets"].num());
        for column in ["pending_hours", "open_hours"] {
            assert!(
                (got[column].num() - want[column].num()).abs() < 1e-6,
                "{column}: {got:?} vs {want:?}"
            );
        }
        // Business hours are a part of the clock hours.
        assert!(got["pending_business_hours"].num() <= got["pending_hours"].num());
        assert!(got["pending_business_hours"].num() > 0.0, "{got:?}");
    }
}

/// backlog_by_status_daily equals counting, per day, the status spans (from `lead()`) that contain it.
#[test]
fn saved_backlog_by_status_daily_equals_window_sql() {
    let rows = saved(
        "backlog_by_status_daily.sql",
        &["day", "new", "open", "pending", "hold", "backlog"],
    );
    assert_eq!(rows.len(), 31);
    for day in ["2024-12-01T00:00:00", "2024-12-17T00:00:00"] {
        let sql = format!(
            "WITH spans AS (SELECT ticket_id, value, at, \
               lead(at) OVER (PARTITION BY ticket_id ORDER BY at, {TIE}) AS next_at \
               FROM ticket_events WHERE field = 'status') \
             SELECT count(*) FILTER (WHERE value = 'pending') AS pending, \
                    count(*) FILTER (WHERE value IN ('new', 'open', 'pending', 'hold')) AS backlog \
             FROM spans WHERE at <= TIMESTAMP '{day}' AND (next_at IS NULL OR next_at > TIMESTAMP '{day}')"
        );
        let want = &json_rows(&["query", &sql])[0];
        let got = rows
            .iter()
            .find(|r| r["day"].text() == day)
            .unwrap_or_else(|| panic!("{day} in {rows:?}"));
        assert_eq!(got["pending"].num(), want["pending"].num(), "{day}");
        assert_eq!(got["backlog"].num(), want["backlog"].num(), "{day}");
        assert!(want["backlog"].num() > 100.0, "{want:?}");
    }
}

/// one_touch_rate and reopens_and_handoffs equal plain counts over the messages and the field history.
#[test]
fn saved_one_touch_and_reopens_equal_plain_counts() {
    let rows = saved(
        "one_touch_rate.sql",
        &[
            "channel",
            "solved",
            "one_touch",
            "one_touch_pct",
            "one_touch_pct_low",
            "one_touch_pct_high",
            "avg_replies",
        ],
    );
    let sql = "SELECT t.channel, count(*) AS one_touch FROM tickets t \
               WHERE t.resolved_at IS NOT NULL AND t.created_at >= TIMESTAMP '2024-01-01T00:00:00Z' \
                 AND t.created_at < TIMESTAMP '2025-01-01T00:00:00Z' \
                 AND (SELECT count(*) FROM messages m WHERE m.ticket_id = t.ticket_id AND m.author_role = 'agent' AND m.public) = 1 \
               GROUP BY t.channel ORDER BY t.channel";
    let want = json_rows(&["query", sql]);
    for (got, want) in rows.iter().zip(&want) {
        assert_eq!(got["one_touch"].num(), want["one_touch"].num(), "{got:?}");
        let pct = got["one_touch_pct"].num();
        assert!((pct - 100.0 * got["one_touch"].num() / got["solved"].num()).abs() < 1e-9);
        assert!(
            got["one_touch_pct_low"].num() < pct && pct < got["one_touch_pct_high"].num(),
            "{got:?}"
        );
    }
    let rows = saved(
        "reopens_and_handoffs.sql",
        &[
            "team",
            "tickets",
            "solves_per_ticket",
            "reopened_pct",
            "reopened_pct_low",
            "reopened_pct_high",
            "reassignments_per_ticket",
            "handoffs_per_ticket",
            "handed_off_pct",
            "handed_off_pct_low",
            "handed_off_pct_high",
        ],
    );
    // The generator marks a ticket reopened exactly when it has two solves.
    let sql = "SELECT team, 100.0 * avg(CASE WHEN reopened THEN 1.0 ELSE 0.0 END) AS reopened_pct FROM tickets \
               WHERE created_at >= TIMESTAMP '2024-01-01T00:00:00Z' AND created_at < TIMESTAMP '2025-01-01T00:00:00Z' \
               GROUP BY team ORDER BY team";
    let want = json_rows(&["query", sql]);
    for (got, want) in rows.iter().zip(&want) {
        assert_eq!(got["team"], want["team"]);
        assert!((got["reopened_pct"].num() - want["reopened_pct"].num()).abs() < 1e-9);
    }
    let tier2 = rows
        .iter()
        .find(|r| r["team"].text() == "tier2")
        .expect("tier2");
    assert!(tier2["handed_off_pct"].num() > 20.0, "{tier2:?}");
}

/// The SLA and wait queries: rates within their intervals, requester wait at least agent work time (it counts
/// one more status), p90 at least the median.
#[test]
fn saved_history_sla_and_wait_queries() {
    let rows = saved(
        "sla_pausable.sql",
        &[
            "channel",
            "priority",
            "tickets",
            "clock",
            "agent_work_breached_pct",
            "agent_work_breached_pct_low",
            "agent_work_breached_pct_high",
            "requester_wait_breached_pct",
            "requester_wait_breached_pct_low",
            "requester_wait_breached_pct_high",
            "median_agent_work_hours",
        ],
    );
    assert_eq!(rows.len(), 20);
    for row in &rows {
        let (work, wait) = (
            row["agent_work_breached_pct"].num(),
            row["requester_wait_breached_pct"].num(),
        );
        assert!(wait >= work, "{row:?}");
        assert!(
            row["agent_work_breached_pct_low"].num() <= work
                && work <= row["agent_work_breached_pct_high"].num(),
            "{row:?}"
        );
    }
    let columns = [
        "channel",
        "priority",
        "solved",
        "median_hours",
        "p90_hours",
        "median_business_hours",
        "p90_business_hours",
    ];
    let work = saved("agent_work_time.sql", &columns);
    let wait = saved("requester_wait_time.sql", &columns);
    for (w, r) in work.iter().zip(&wait) {
        assert_eq!(
            (&w["channel"], &w["priority"]),
            (&r["channel"], &r["priority"])
        );
        assert!(
            r["median_hours"].num() >= w["median_hours"].num(),
            "{w:?} {r:?}"
        );
        assert!(w["p90_hours"].num() >= w["median_hours"].num(), "{w:?}");
        assert!(
            w["median_business_hours"].num() <= w["median_hours"].num(),
            "{w:?}"
        );
    }
    let agents = saved(
        "next_reply_time_by_agent.sql",
        &[
            "agent_id",
            "team",
            "replies",
            "median_hours",
            "p90_hours",
            "median_business_hours",
            "p90_business_hours",
        ],
    );
    assert_eq!(agents.len(), 20);
    for a in &agents {
        assert!(a["p90_hours"].num() >= a["median_hours"].num(), "{a:?}");
        assert!(a["replies"].num() >= agents[agents.len() - 1]["replies"].num());
    }
}
