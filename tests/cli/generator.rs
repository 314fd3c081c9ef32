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
