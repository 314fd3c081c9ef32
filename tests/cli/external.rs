//! The external export, as it is.

use crate::util::*;

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
    let schema = ok(&["--table", &table, "schema", "ext", "--format", "csv"]);
    assert!(
        schema.contains("\nFirst Response Time,Timestamp("),
        "{schema}"
    );
}
