//! Parameters of saved queries.

use crate::util::*;

#[test]
fn parameter_errors_name_the_parameter_and_list_the_declared_ones() {
    let unknown = cxsql(&[
        "run",
        "queries/nps_by_channel.sql",
        "--param",
        "from=2021-01-01",
    ]);
    unknown.assert_fails(2, "unknown parameter from");
    assert!(
        unknown
            .stderr
            .contains("declared parameters: since TIMESTAMP"),
        "{}",
        unknown.stderr
    );

    fails(
        &[
            "run",
            "queries/nps_by_channel.sql",
            "--param",
            "since=yesterday",
        ],
        2,
        "parameter since: cannot read 'yesterday' as TIMESTAMP",
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("q.sql");
    std::fs::write(&file, "-- name: q\n-- param: n INT\nSELECT $n + 1 AS m\n").expect("written");
    let file = file.to_string_lossy().into_owned();
    let missing = cxsql(&["run", &file]);
    missing.assert_fails(2, "missing parameter n (INT)");
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
