#!/usr/bin/env python3
"""BI-tool clients against a running `cxsql serve`: PyPI's `flightsql-dbapi` (the SQLAlchemy dialect Apache
Superset uses for Flight SQL) with SQLAlchemy and pandas, ADBC with polars, and the Superset engine spec's
time grains (contrib/superset).

Run by tests/cli/serve.rs:

    python3 tests/flight/sqlalchemy_check.py grpc://HOST:PORT TOKEN CXSQL_BINARY CHECK...

Each CHECK is a function below; any failure raises (non-zero exit). Expected results come from the cxsql
command line over the same data folder.
"""

import os
import sys

import flightsql.sqlalchemy  # noqa: F401 (registers the datafusion+flightsql dialect)
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa

import bi_common

GRPC, TOKEN, CXSQL = sys.argv[1], sys.argv[2], sys.argv[3]
HOST, PORT = GRPC.removeprefix("grpc://").rsplit(":", 1)
ROOT = bi_common.ROOT
URI = bi_common.dialect_uri(GRPC, TOKEN)


def cli(sql):
    return bi_common.cli(CXSQL, sql)


def close(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(b)))
    return a == b


def same_rows(got, expected, what):
    """Rows (lists of values) equal to the command line's objects, in order."""
    expected = [list(row.values()) for row in expected]
    assert len(got) == len(expected), f"{what}: {len(got)} rows, expected {len(expected)}"
    for g, e in zip(got, expected):
        assert len(g) == len(e) and all(close(x, y) for x, y in zip(g, e)), f"{what}: {g} != {e}"


def reflection():
    """Tables and columns reflect with real types: text columns are strings, not BLOB."""
    engine = sa.create_engine(URI)
    inspector = sa.inspect(engine)
    tables = inspector.get_table_names()
    assert {"tickets", "surveys"} <= set(tables), tables
    columns = {c["name"]: c["type"] for c in inspector.get_columns("tickets")}
    assert isinstance(columns["channel"], sa.types.String), columns["channel"]
    assert isinstance(columns["created_at"], sa.types.TIMESTAMP), columns["created_at"]
    assert isinstance(columns["ticket_id"], sa.types.BigInteger), columns["ticket_id"]
    print(f"reflection: {len(tables)} tables; tickets.channel {columns['channel']!r}")


def core_select():
    """A Core select on a reflected table: grouped counts equal the command line's."""
    engine = sa.create_engine(URI)
    tickets = sa.Table("tickets", sa.MetaData(), autoload_with=engine)
    query = (sa.select(tickets.c.channel, sa.func.count().label("n"))
             .group_by(tickets.c.channel).order_by(tickets.c.channel))
    with engine.connect() as conn:
        got = [list(r) for r in conn.execute(query)]
    same_rows(got, cli("SELECT channel, count(*) AS n FROM tickets GROUP BY channel ORDER BY channel"),
              "core select")
    assert all(isinstance(r[0], str) for r in got), got
    print(f"core select: {len(got)} channels")


def read_sql():
    """pandas.read_sql of a KPI query, and of a saved query called upper-case as SQL Lab writes it."""
    engine = sa.create_engine(URI)
    sql = "SELECT channel, nps(nps_score) AS nps FROM surveys GROUP BY channel ORDER BY channel"
    frame = pd.read_sql(sql, engine)
    assert frame["channel"].map(type).eq(str).all(), frame.dtypes
    same_rows(frame.values.tolist(), cli(sql), "read_sql")
    upper = pd.read_sql("SELECT * FROM NPS_BY_CHANNEL() ORDER BY CHANNEL", engine)
    same_rows(upper.values.tolist(), cli("SELECT * FROM nps_by_channel() ORDER BY channel"),
              "NPS_BY_CHANNEL()")
    print(f"read_sql: {len(frame)} rows; NPS_BY_CHANNEL(): {len(upper)} rows")


def parameters():
    """`?` parameters bound by the driver: a text, a number, a timestamp given as text; then Core's bound
    parameters through prepared statements (the dialect's prepared-statement feature)."""
    engine = sa.create_engine(URI)
    with engine.connect() as conn:
        n = conn.exec_driver_sql("SELECT count(*) FROM tickets WHERE channel = ? AND contacts >= ?",
                                 ("email", 2)).scalar()
        since = conn.exec_driver_sql("SELECT count(*) FROM tickets WHERE created_at >= ?",
                                     ("2024-06-01T00:00:00",)).scalar()
    assert n == cli("SELECT count(*) AS n FROM tickets WHERE channel = 'email' AND contacts >= 2")[0]["n"], n
    assert since == cli("SELECT count(*) AS n FROM tickets WHERE created_at >= TIMESTAMP '2024-06-01'")[0]["n"]
    frame = pd.read_sql("SELECT channel, count(*) AS n FROM tickets WHERE priority = ? GROUP BY channel "
                        "ORDER BY channel", engine, params=("high",))
    same_rows(frame.values.tolist(),
              cli("SELECT channel, count(*) AS n FROM tickets WHERE priority = 'high' GROUP BY channel "
                  "ORDER BY channel"), "read_sql params")
    prepared = sa.create_engine(URI + "&feature-sqlalchemy-prepared-statements=on")
    tickets = sa.Table("tickets", sa.MetaData(), autoload_with=prepared)
    with prepared.connect() as conn:
        m = conn.execute(sa.select(sa.func.count()).select_from(tickets)
                         .where(tickets.c.channel == "chat")).scalar()
    assert m == cli("SELECT count(*) AS n FROM tickets WHERE channel = 'chat'")[0]["n"], m
    print(f"parameters: email & contacts>=2: {n}; since June: {since}; chat (prepared): {m}")


def plain_types():
    """Results arrive as plain Arrow types that pyarrow's CSV writer takes."""
    engine = sa.create_engine(URI)
    with engine.connect() as conn:
        client = conn.connection.dbapi_connection.client
        info = client.execute("SELECT channel, priority, created_at FROM tickets LIMIT 5")
        table = client.do_get(info.endpoints[0].ticket).read_all()
        info = client.get_xdbc_type_info(None)
        types = client.do_get(info.endpoints[0].ticket).read_all().to_pylist()
    assert table.schema.field("channel").type == pa.string(), table.schema
    names = {f.name: (f.metadata or {}).get(b"ARROW:FLIGHT:SQL:TYPE_NAME") for f in table.schema}
    assert names == {"channel": b"VARCHAR", "priority": b"VARCHAR", "created_at": b"TIMESTAMP WITH TIME ZONE"}, names
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink)
    assert sink.getvalue().size > 0
    listed = {t["type_name"] for t in types}
    assert {"VARCHAR", "BIGINT", "DOUBLE", "TIMESTAMP", "BOOLEAN", "DATE"} <= listed, listed
    print(f"plain types: {table.schema.field('channel').type}; CSV written; type names in the schema; "
          f"{len(types)} XDBC types")


def polars_adbc():
    """ADBC + polars: read_database with upper-case saved queries and a `?` parameter."""
    import adbc_driver_flightsql.dbapi as flight_sql
    import polars as pl

    conn = flight_sql.connect(f"grpc://{HOST}:{PORT}", autocommit=True,
                              db_kwargs={"adbc.flight.sql.authorization_header": f"Bearer {TOKEN}"})
    frame = pl.read_database("SELECT * FROM NPS_BY_CHANNEL() ORDER BY channel", conn)
    assert frame.schema["channel"] == pl.String, frame.schema
    cur = conn.cursor()
    cur.execute("SELECT count(*) AS n FROM tickets WHERE channel = ?", parameters=("phone",))
    n = cur.fetchone()[0]
    assert n == cli("SELECT count(*) AS n FROM tickets WHERE channel = 'phone'")[0]["n"], n
    cur.close()
    conn.close()
    print(f"polars + ADBC: {frame.height} rows; phone: {n}")


def grains():
    """Each time grain of the Superset engine spec runs on cxsql and truncates as its name says."""
    sys.path.insert(0, os.path.join(ROOT, "contrib", "superset"))
    from cxsql_superset.grains import TIME_GRAIN_EXPRESSIONS

    engine = sa.create_engine(URI)
    checks = {
        "PT1S": lambda t: t.microsecond == 0,
        "PT1M": lambda t: t.second == 0 and t.microsecond == 0,
        "PT1H": lambda t: t.minute == 0 and t.second == 0,
        "P1D": lambda t: t.hour == 0 and t.minute == 0,
        "P1W": lambda t: t.weekday() == 0 and t.hour == 0,
        "P1M": lambda t: t.day == 1 and t.hour == 0,
        "P3M": lambda t: t.day == 1 and t.month in (1, 4, 7, 10) and t.hour == 0,
        "P1Y": lambda t: t.month == 1 and t.day == 1 and t.hour == 0,
    }
    with engine.connect() as conn:
        for grain, template in TIME_GRAIN_EXPRESSIONS.items():
            expr = template.format(col="created_at")
            rows = conn.exec_driver_sql(
                f"SELECT {expr} AS t, count(*) AS n FROM tickets GROUP BY 1 ORDER BY 1").fetchall()
            assert rows, grain
            if grain in checks:
                bad = [r[0] for r in rows if not checks[grain](r[0])]
                assert not bad, f"{grain}: {bad[:3]}"
            assert sum(r[1] for r in rows) == cli("SELECT count(*) AS n FROM tickets")[0]["n"], grain
    print(f"grains: {len(TIME_GRAIN_EXPRESSIONS)} time grains ran and truncate")


if __name__ == "__main__":
    for check in sys.argv[4:]:
        globals()[check]()
