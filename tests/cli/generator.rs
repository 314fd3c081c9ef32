//! `cxsql gen`.

use crate::util::*;

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

/// The people behind the tickets: a ticket's customer is a customer at its creation, its agent is of its team
/// and employed then, pulse answers carry the agent's team, and the same seed gives the same files.
#[test]
fn gen_ties_customers_agents_and_pulse_to_the_tickets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for out in [&a, &b] {
        ok(&[
            "gen",
            "--out",
            &out.to_string_lossy(),
            "--tickets",
            "6000",
            "--seed",
            "3",
        ]);
    }
    for name in [
        "customers.parquet",
        "agents.parquet",
        "employee_pulse.parquet",
    ] {
        assert_eq!(
            std::fs::read(a.join(name)).expect("a"),
            std::fs::read(b.join(name)).expect("b"),
            "{name} differs between two runs with the same seed"
        );
    }
    let data = a.to_string_lossy().into_owned();
    let check = json_rows(&[
        "--data",
        &data,
        "query",
        "SELECT \
           (SELECT count(*) FROM customers) AS customers, \
           (SELECT count(*) FROM tickets t JOIN customers c ON c.customer_id = t.customer_id \
              WHERE c.signed_up_at <= t.created_at AND (c.churned_at IS NULL OR c.churned_at > t.created_at)) AS active_customer, \
           (SELECT count(*) FROM tickets WHERE agent_id IS NOT NULL) AS assigned, \
           (SELECT count(*) FROM tickets t JOIN agents a ON a.agent_id = t.agent_id WHERE a.team = t.team \
              AND a.hired_at <= t.created_at AND (a.left_at IS NULL OR a.left_at > t.created_at)) AS employed_agent, \
           (SELECT count(*) FROM employee_pulse) AS answers, \
           (SELECT count(*) FROM employee_pulse p JOIN agents a ON a.agent_id = p.agent_id WHERE a.team = p.team \
              AND a.hired_at <= p.submitted_at AND (a.left_at IS NULL OR a.left_at > p.submitted_at)) AS employed_answer, \
           (SELECT count(*) FROM employee_pulse WHERE enps_score < 0 OR enps_score > 10) AS out_of_scale, \
           (SELECT count(DISTINCT segment) FROM customers) AS segments, \
           (SELECT count(*) FROM customers WHERE churned_at <= signed_up_at OR monthly_revenue <= 0) AS impossible, \
           (SELECT count(DISTINCT team) FROM agents) AS teams",
    ]);
    let row = &check[0];
    assert_eq!(row["customers"].num(), 2000.0, "a customer per 3 tickets");
    assert_eq!(
        row["active_customer"].num(),
        6000.0,
        "every ticket's customer is active then"
    );
    assert!(row["assigned"].num() > 5000.0, "{row:?}");
    assert_eq!(
        row["employed_agent"], row["assigned"],
        "agents of the ticket's team, employed then"
    );
    assert!(row["answers"].num() > 1000.0, "{row:?}");
    assert_eq!(row["employed_answer"], row["answers"]);
    assert_eq!(row["out_of_scale"].num(), 0.0);
    assert_eq!(row["segments"].num(), 3.0);
    assert_eq!(row["impossible"].num(), 0.0);
    assert_eq!(row["teams"].num(), 4.0);
}

/// The history agrees with the tickets: the first public agent message is `first_response_at`, the last
/// solve is `resolved_at` when the ticket ends solved or closed, two solves are `reopened`, the last assignee,
/// team and priority are the row's; every ticket starts `new` at its creation; the files are sorted by
/// (ticket_id, time) and DataFusion aggregates them as such.
#[test]
fn gen_history_agrees_with_the_tickets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("d");
    ok(&[
        "gen",
        "--out",
        &out.to_string_lossy(),
        "--tickets",
        "4000",
        "--seed",
        "3",
    ]);
    let last = "TIMESTAMP '2100-01-01T00:00:00Z'";
    let sql = format!(
        "WITH fr AS (SELECT ticket_id, min(sent_at) AS first FROM messages WHERE author_role = 'agent' AND public GROUP BY ticket_id), \
         st AS (SELECT ticket_id, status_at(at, value, {last}) AS final, min(at) AS first_at, \
                  min(CASE WHEN value = 'new' THEN at END) AS new_at, \
                  max(CASE WHEN value = 'solved' THEN at END) AS last_solved, \
                  sum(CASE WHEN value = 'solved' THEN 1 ELSE 0 END) AS solves \
                FROM ticket_events WHERE field = 'status' GROUP BY ticket_id), \
         f AS (SELECT ticket_id, \
                  status_at(CASE WHEN field = 'assignee_id' THEN at END, value, {last}) AS agent, \
                  status_at(CASE WHEN field = 'team' THEN at END, value, {last}) AS team, \
                  status_at(CASE WHEN field = 'priority' THEN at END, value, {last}) AS priority \
                FROM ticket_events GROUP BY ticket_id) \
         SELECT count(*) AS tickets, \
           sum(CASE WHEN t.first_response_at IS NOT DISTINCT FROM fr.first THEN 0 ELSE 1 END) AS first_response, \
           sum(CASE WHEN t.resolved_at IS NOT DISTINCT FROM (CASE WHEN st.final IN ('solved', 'closed') THEN st.last_solved END) THEN 0 ELSE 1 END) AS resolved, \
           sum(CASE WHEN t.reopened = (st.solves > 1) THEN 0 ELSE 1 END) AS reopened, \
           sum(CASE WHEN CAST(t.agent_id AS VARCHAR) IS NOT DISTINCT FROM f.agent THEN 0 ELSE 1 END) AS agent, \
           sum(CASE WHEN t.team = f.team AND t.priority = f.priority THEN 0 ELSE 1 END) AS team_priority, \
           sum(CASE WHEN st.new_at = t.created_at AND st.first_at = t.created_at THEN 0 ELSE 1 END) AS starts_new, \
           sum(CASE WHEN t.reopened THEN 1 ELSE 0 END) AS reopened_tickets, \
           sum(CASE WHEN st.final = 'pending' OR st.solves > 0 THEN 1 ELSE 0 END) AS varied \
         FROM tickets t LEFT JOIN fr ON fr.ticket_id = t.ticket_id LEFT JOIN st ON st.ticket_id = t.ticket_id \
           LEFT JOIN f ON f.ticket_id = t.ticket_id"
    );
    let rows = json_rows(&["--data", &out.to_string_lossy(), "query", &sql]);
    let r = &rows[0];
    assert_eq!(r["tickets"].num(), 4000.0);
    for check in [
        "first_response",
        "resolved",
        "reopened",
        "agent",
        "team_priority",
        "starts_new",
    ] {
        assert_eq!(r[check].num(), 0.0, "{check} disagrees: {r:?}");
    }
    assert!(r["reopened_tickets"].num() > 50.0, "{r:?}");
    assert!(r["varied"].num() > 3000.0, "{r:?}");
    // Sorted by (ticket_id, time), and read as such: the aggregate runs on ordered input.
    let unsorted = json_rows(&[
        "--data",
        &out.to_string_lossy(),
        "query",
        "SELECT (SELECT count(*) FROM (SELECT ticket_id, at, lag(ticket_id) OVER () AS t0, lag(at) OVER () AS a0 \
                 FROM ticket_events) WHERE ticket_id < t0 OR (ticket_id = t0 AND at < a0)) AS events, \
                (SELECT count(*) FROM (SELECT ticket_id, sent_at, lag(ticket_id) OVER () AS t0, lag(sent_at) OVER () AS a0 \
                 FROM messages) WHERE ticket_id < t0 OR (ticket_id = t0 AND sent_at < a0)) AS messages",
    ]);
    assert_eq!(unsorted[0]["events"].num(), 0.0);
    assert_eq!(unsorted[0]["messages"].num(), 0.0);
    let plan = cxsql(&[
        "--data",
        &out.to_string_lossy(),
        "query",
        "EXPLAIN SELECT ticket_id, status_seconds(at, value, 'open') FROM ticket_events GROUP BY ticket_id",
    ]);
    assert!(
        plan.stdout.contains("ordering_mode=Sorted"),
        "{}",
        plan.stdout
    );
}
