//! The external export, as it is.

use std::collections::BTreeMap;
use std::path::Path;

use crate::util::*;

/// Per channel of the export: (satisfied, rated, tickets), counted with the csv crate's reader and the
/// top-two-box rule (rating >= 4) by hand, independently of cxsql.
pub(crate) fn independent_csat_per_channel(fixture: &Path) -> BTreeMap<String, (f64, f64, f64)> {
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
    let schema = ok(&["--table", &table, "schema", "ext", "--format", "csv"]);
    assert!(
        schema.contains("\nFirst Response Time,Timestamp("),
        "{schema}"
    );
}
