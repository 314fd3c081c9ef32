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
