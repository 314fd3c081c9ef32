//! The engine API in-process, as a front end uses it: no binary spawned, no command-line words.

use std::collections::BTreeMap;

use cxsql::engine::catalog::Catalog;
use cxsql::engine::session::compose;
use cxsql::{
    Collect, Error, Input, ParamValue, Params, SavedQuery, Session, SessionSpec, TableSource,
};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::common::ScalarValue;

use crate::util::root;

/// The single result set of a sink, as (channel, value) pairs of its first two columns.
fn pairs(sink: &Collect) -> BTreeMap<String, f64> {
    assert_eq!(sink.results.len(), 1, "one result set");
    let mut out = BTreeMap::new();
    for batch in &sink.results[0].1 {
        let names = cast(batch.column(0), &DataType::Utf8).expect("text");
        let values = cast(batch.column(1), &DataType::Float64).expect("numbers");
        for row in 0..batch.num_rows() {
            out.insert(
                names.as_string::<i32>().value(row).to_string(),
                values.as_primitive::<Float64Type>().value(row),
            );
        }
    }
    out
}

#[tokio::test]
async fn a_saved_query_binds_typed_and_text_parameters_alike() {
    let session = Session::open(&SessionSpec::with_data(root().join("data")))
        .await
        .expect("session");
    let query = SavedQuery::load(&root().join("queries/nps_by_channel.sql")).expect("query");
    let mut text = Params::new();
    text.insert("since".into(), "2024-01-01T00:00:00Z".into());
    let mut typed = Params::new();
    // 2024-01-01T00:00:00Z in seconds; cast to the declared TIMESTAMP.
    typed.insert(
        "since".into(),
        ParamValue::Value(ScalarValue::TimestampSecond(
            Some(1_704_067_200),
            Some("UTC".into()),
        )),
    );
    let (mut a, mut b) = (Collect::default(), Collect::default());
    let rows = session
        .run_saved(&query, &text, &mut a)
        .await
        .expect("text");
    session
        .run_saved(&query, &typed, &mut b)
        .await
        .expect("typed");
    assert_eq!(rows, 5);
    assert_eq!(pairs(&a), pairs(&b));

    // The same numbers as the formula in plain SQL, through the same execution path.
    let mut plain = Collect::default();
    session
        .execute(
            "SELECT channel, 100.0 * (count(*) FILTER (WHERE nps_score >= 9) - count(*) FILTER (WHERE nps_score <= 6)) \
             / count(nps_score) FROM surveys WHERE submitted_at >= TIMESTAMP '2024-01-01T00:00:00Z' \
             AND submitted_at < TIMESTAMP '2025-01-01T00:00:00Z' AND nps_score IS NOT NULL GROUP BY channel",
            &Params::new(),
            &mut plain,
        )
        .await
        .expect("plain SQL");
    let (ours, theirs) = (pairs(&a), pairs(&plain));
    assert_eq!(ours.len(), theirs.len());
    for (channel, nps) in &ours {
        assert!(
            (nps - theirs[channel]).abs() < 1e-9,
            "{channel}: {nps} vs {}",
            theirs[channel]
        );
    }

    let mut unknown = Params::new();
    unknown.insert("from".into(), "2024-01-01".into());
    let err = session
        .run_saved(&query, &unknown, &mut Collect::default())
        .await
        .expect_err("unknown parameter");
    assert!(matches!(err, Error::SavedQuery { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("unknown parameter from; declared parameters: since TIMESTAMP"),
        "{err}"
    );
    assert!(
        !err.to_string().contains("--"),
        "no command-line words: {err}"
    );
}

#[tokio::test]
async fn tables_compose_data_folder_then_tables_then_catalog() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::create_dir(d.join("data")).expect("data");
    std::fs::write(d.join("data/t.csv"), "x\n1\n").expect("folder's t");
    std::fs::write(d.join("data/only_folder.csv"), "x\n5\n").expect("folder only");
    std::fs::write(d.join("given.csv"), "x\n2\n").expect("given t");
    std::fs::write(d.join("catalog.csv"), "x\n3\n").expect("catalog's t");
    std::fs::write(
        d.join("cxsql.toml"),
        "[tables.t]\nlocation = \"catalog.csv\"\n\n[[views]]\nname = \"v\"\nsql = \"SELECT x * 10 AS y FROM t\"\n",
    )
    .expect("catalog");
    let value = |session: Session, sql: &'static str| async move {
        let mut sink = Collect::default();
        session
            .execute(sql, &Params::new(), &mut sink)
            .await
            .expect("runs");
        let batch = &sink.results[0].1[0];
        batch.column(0).as_primitive::<Int64Type>().value(0)
    };
    let data_only = SessionSpec {
        data: Some(Input::Given(d.join("data"))),
        ..SessionSpec::default()
    };
    assert_eq!(
        value(
            Session::open(&data_only).await.expect("open"),
            "SELECT x FROM t"
        )
        .await,
        1
    );
    let mut with_table = data_only.clone();
    with_table
        .tables
        .push(TableSource::new("t", d.join("given.csv").to_string_lossy()));
    assert_eq!(
        value(
            Session::open(&with_table).await.expect("open"),
            "SELECT x FROM t"
        )
        .await,
        2
    );
    let mut with_catalog = with_table.clone();
    with_catalog.catalog = Some(Input::Given(d.join("cxsql.toml")));
    let session = Session::open(&with_catalog).await.expect("open");
    let tables = session.tables().await;
    let kinds: Vec<(&str, &str)> = tables
        .iter()
        .map(|t| (t.name.as_str(), t.kind.as_str()))
        .collect();
    assert_eq!(kinds, [("only_folder", "csv"), ("t", "csv"), ("v", "view")]);
    assert!(
        tables[1]
            .location
            .as_deref()
            .is_some_and(|l| l.ends_with("catalog.csv"))
    );
    assert_eq!(value(session, "SELECT y FROM v").await, 30);

    // The composition alone, without opening a session: one entry per name, the last source winning.
    let sources = compose(&with_catalog).await.expect("compose");
    let names: Vec<&str> = sources.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["only_folder", "t"]);
    assert_eq!(sources.views.len(), 1);
    // Loading a catalog describes it; nothing is registered anywhere.
    let catalog = Catalog::load(&d.join("cxsql.toml")).await.expect("catalog");
    assert_eq!(catalog.tables[0].name, "t");

    // A default that is not there is no error; a given one is.
    let defaults = SessionSpec {
        data: Some(Input::IfPresent(d.join("nowhere"))),
        catalog: Some(Input::IfPresent(d.join("nowhere.toml"))),
        ..SessionSpec::default()
    };
    assert!(
        Session::open(&defaults)
            .await
            .expect("open")
            .table_names()
            .is_empty()
    );
    let given = SessionSpec {
        catalog: Some(Input::Given(d.join("nowhere.toml"))),
        ..SessionSpec::default()
    };
    let err = Session::open(&given)
        .await
        .err()
        .expect("a missing catalog");
    assert!(err.to_string().contains("nowhere.toml"), "{err}");
    assert_eq!(err.exit_code(), 2);
}

#[tokio::test]
async fn statements_run_in_order_and_errors_name_the_statement() {
    let session = Session::open(&SessionSpec::default())
        .await
        .expect("session");
    let mut sink = Collect::default();
    let rows = session
        .execute(
            "CREATE VIEW one AS SELECT 1 AS a; SELECT a FROM one; SELECT a + $b AS c FROM one",
            &BTreeMap::from([(
                "b".to_string(),
                ParamValue::Value(ScalarValue::Int64(Some(41))),
            )]),
            &mut sink,
        )
        .await
        .expect("runs");
    assert_eq!(rows, 2);
    assert_eq!(sink.results.len(), 2, "DDL has no result set");
    let c = sink.results[1].1[0].column(0);
    assert_eq!(c.as_primitive::<Int64Type>().value(0), 42);
    assert!(!c.is_null(0));

    let err = session
        .execute(
            "SELECT 1; SELECT * FROM nowhere",
            &Params::new(),
            &mut Collect::default(),
        )
        .await
        .expect_err("unknown table");
    let message = err.to_string();
    assert!(message.starts_with("statement 2: "), "{message}");
    assert!(message.contains("registered tables: one"), "{message}");
    assert_eq!(err.exit_code(), 1);
    let err = session.schema("nowhere").await.expect_err("unknown table");
    assert!(err.to_string().contains("registered tables: one"), "{err}");
}

#[tokio::test(flavor = "current_thread")]
async fn saved_queries_are_table_functions_of_the_session_with_bound_parameters() {
    let spec = SessionSpec {
        queries: Some(Input::Given(root().join("queries"))),
        ..SessionSpec::with_data(root().join("data"))
    };
    let session = Session::open(&spec).await.expect("session");
    assert!(session.library().names().any(|n| n == "nps_by_channel"));
    let query = SavedQuery::load(&root().join("queries/nps_by_channel.sql")).expect("query");
    let mut given = Params::new();
    given.insert("since".into(), "2024-01-01T00:00:00Z".into());
    let (mut ran, mut called, mut placeholder) =
        (Collect::default(), Collect::default(), Collect::default());
    session
        .run_saved(&query, &given, &mut ran)
        .await
        .expect("run");
    session
        .execute(
            "SELECT channel, nps FROM nps_by_channel('2024-01-01T00:00:00Z')",
            &Params::new(),
            &mut called,
        )
        .await
        .expect("called");
    // A placeholder of the calling statement, bound like any other parameter (prepared statements).
    let mut outer = Params::new();
    outer.insert(
        "from".into(),
        ParamValue::Value(ScalarValue::Utf8(Some("2024-01-01T00:00:00Z".into()))),
    );
    session
        .execute(
            "SELECT channel, nps FROM nps_by_channel($from)",
            &outer,
            &mut placeholder,
        )
        .await
        .expect("placeholder");
    assert_eq!(pairs(&called), pairs(&ran));
    assert_eq!(pairs(&placeholder), pairs(&ran));
    // Without the execution path that prepares it, DataFusion's own planning says why it cannot call it.
    let err = session
        .context()
        .sql("SELECT * FROM nps_by_channel()")
        .await
        .expect_err("not prepared");
    assert!(
        err.to_string()
            .contains("can be called only in SQL that cxsql runs"),
        "{err}"
    );
}
