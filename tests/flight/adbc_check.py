#!/usr/bin/env python3
"""A real Flight SQL client (PyPI's ADBC driver) against a running `cxsql serve`.

Run by tests/cli/serve.rs:

    python3 tests/flight/adbc_check.py URI TOKEN CXSQL_BINARY CHECK...

Each CHECK is a function below; any failure raises (non-zero exit). The expected results come from the
cxsql command line itself (`cxsql run`, `cxsql query --format json`), run over the same data folder.
"""

import datetime
import json
import tempfile
import math
import os
import shutil
import subprocess
import sys
import threading
import time

import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager
import pyarrow.parquet as pq

URI, TOKEN, CXSQL = sys.argv[1], sys.argv[2], sys.argv[3]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def connect(token=TOKEN):
    kwargs = {}
    if token is not None:
        kwargs["adbc.flight.sql.authorization_header"] = f"Bearer {token}"
    if os.environ.get("CXSQL_TLS_ROOT"):
        with open(os.environ["CXSQL_TLS_ROOT"]) as pem:
            kwargs["adbc.flight.sql.client_option.tls_root_certs"] = pem.read()
    return flight_sql.connect(URI, db_kwargs=kwargs, autocommit=True)


def query(conn, sql, parameters=None):
    cur = conn.cursor()
    try:
        cur.execute(sql, parameters=parameters)
        return cur.fetch_arrow_table().to_pylist()
    finally:
        cur.close()


def cli(*args):
    """The command line's result, written as Parquet and read back with pyarrow: the same Python values as
    a Flight result (datetimes, dicts), for an exact comparison."""
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "result.parquet")
        subprocess.run([CXSQL, *args, "--format", "parquet", "--output", out], cwd=ROOT, check=True,
                       capture_output=True)
        return pq.read_table(out).to_pylist()


def canonical(rows):
    """Rows in a fixed order (by their values' text)."""
    return sorted(rows, key=lambda row: repr(sorted((k, repr(v) if not isinstance(v, float) else round(v, 6))
                                                    for k, v in row.items())))


def same(got, expected, what):
    g, e = canonical(got), canonical(expected)
    assert len(g) == len(e), f"{what}: {len(g)} rows, expected {len(e)}"
    for a, b in zip(g, e):
        assert list(a) == list(b), f"{what}: columns {list(a)} vs {list(b)}"
        for k in a:
            x, y = a[k], b[k]
            if isinstance(x, float) and isinstance(y, float):
                assert math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9) or (math.isnan(x) and math.isnan(y)), \
                    f"{what}: {k} {x} != {y}"
            else:
                assert x == y, f"{what}: {k} {x!r} != {y!r}"


def saved_queries():
    """Every saved query, called as a table function over Flight SQL, equals `cxsql run` of its file."""
    conn = connect()
    files = sorted(f for f in os.listdir(os.path.join(ROOT, "queries")) if f.endswith(".sql"))
    assert len(files) >= 10, files
    for file in files:
        name = file[:-4]
        got = query(conn, f"SELECT * FROM {name}()")
        expected = cli("run", f"queries/{file}")
        assert got, f"{name} returned no rows"
        same(got, expected, name)
    print(f"saved queries: {len(files)} equal to cxsql run")


def ad_hoc():
    """KPI SQL typed by an analyst equals the command line's answer."""
    conn = connect()
    for sql in [
        "SELECT channel, nps(nps_score) AS nps, count(*) AS n FROM surveys GROUP BY channel",
        "SELECT channel, priority, fcr_rate(contacts) AS fcr FROM tickets GROUP BY 1, 2",
        "SELECT channel, csat(csat_score) AS csat FROM surveys GROUP BY channel",
        "SELECT count(*) AS n FROM nps_by_channel('2024-01-01T00:00:00Z') WHERE responses > 100",
    ]:
        same(query(conn, sql), cli("query", sql), sql)
    print("ad hoc KPI SQL: equal to cxsql query")


def history():
    """The ticket-history benchmark's queries (benches/history/*.sql: status_durations, status_seconds joined to
    the SLA policies, reply_waits' p90) equal the command line's answer."""
    conn = connect()
    folder = os.path.join(ROOT, "benches", "history")
    files = sorted(f for f in os.listdir(folder) if f.endswith(".sql") and not f.endswith(".duckdb.sql"))
    assert len(files) == 3, files
    for file in files:
        with open(os.path.join(folder, file)) as f:
            sql = "".join(line for line in f if not line.startswith("--"))
        got = query(conn, sql)
        assert got, f"{file} returned no rows"
        same(got, cli("query", sql), file)
    print(f"history benchmark queries: {len(files)} equal to cxsql query")


def prepared():
    """A prepared statement binds a timestamp parameter (and a saved query's argument)."""
    conn = connect()
    at = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    got = query(conn, "SELECT count(*) AS n FROM tickets WHERE created_at >= $1", parameters=(at,))
    expected = cli("query", "SELECT count(*) AS n FROM tickets WHERE created_at >= TIMESTAMP '2024-01-01T00:00:00Z'")
    same(got, expected, "timestamp parameter")
    assert 0 < got[0]["n"], got
    got = query(conn, "SELECT * FROM nps_by_channel($1)", parameters=(at,))
    expected = cli("run", "queries/nps_by_channel.sql", "--param", "since=2024-01-01T00:00:00Z")
    same(got, expected, "saved query with a bound argument")
    # The same prepared statement, bound again with another value.
    cur = conn.cursor()
    counts = []
    for year in (2022, 2024):
        cur.execute("SELECT count(*) AS n FROM tickets WHERE created_at >= $1",
                    parameters=(datetime.datetime(year, 1, 1, tzinfo=datetime.timezone.utc),))
        counts.append(cur.fetch_arrow_table().to_pylist()[0]["n"])
    cur.close()
    assert counts[0] > counts[1], counts
    print("prepared statements: timestamp parameters bound")


def refusals():
    """No token or a wrong one is refused; writes are refused on a read-only server."""
    for token, what in [(None, "no token"), ("wrong-" + TOKEN, "a wrong token")]:
        try:
            query(connect(token), "SELECT 1 AS one")
        except adbc_driver_manager.Error as e:
            assert "UNAUTHENTICATED" in str(e).upper() or "Unauthenticated" in str(e), f"{what}: {e}"
        else:
            raise AssertionError(f"{what} was accepted")
    conn = connect()
    for sql in ["COPY (SELECT 1 AS one) TO '/tmp/cxsql-serve-refused.csv'", "CREATE VIEW v AS SELECT 1 AS one",
                "SET datafusion.execution.batch_size = 10"]:
        try:
            query(conn, sql)
        except adbc_driver_manager.Error as e:
            assert "read-only" in str(e), f"{sql}: {e}"
        else:
            raise AssertionError(f"{sql} was accepted")
    assert not os.path.exists("/tmp/cxsql-serve-refused.csv")
    print("refused: missing and wrong tokens, COPY, CREATE VIEW, SET")


def metadata():
    """What BI tools call to list tables and columns."""
    conn = connect()
    objects = conn.adbc_get_objects(depth="all").read_all().to_pylist()
    tables = {t["table_name"]: t for c in objects for s in c["catalog_db_schemas"] for t in s["db_schema_tables"]}
    for name in ["tickets", "surveys", "servqual"]:
        assert name in tables, sorted(tables)
    schema = conn.adbc_get_table_schema("tickets")
    assert "created_at" in schema.names and "channel" in schema.names, schema
    assert "TABLE" in conn.adbc_get_table_types()
    print(f"metadata: {len(tables)} tables listed with their columns")


def load():
    """16 clients x 25 queries at once: none fails."""
    errors, done = [], []
    sqls = ["SELECT channel, nps(nps_score) FROM surveys GROUP BY channel",
            "SELECT * FROM fcr_by_channel_priority()",
            "SELECT channel, backlog_at(created_at, resolved_at, TIMESTAMP '2024-06-01T00:00:00Z') FROM tickets GROUP BY 1",
            "SELECT * FROM nps_by_channel('2023-01-01T00:00:00Z')"]

    def client(k):
        try:
            conn = connect()
            for i in range(25):
                rows = query(conn, sqls[(k + i) % len(sqls)])
                assert rows, "no rows"
                done.append(1)
            conn.close()
        except Exception as e:  # noqa: BLE001 (every failure is reported)
            errors.append(f"client {k}: {e}")

    started = time.time()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    took = time.time() - started
    assert not errors, errors[:3]
    assert len(done) == 16 * 25, len(done)
    assert took < 60, f"{took:.1f}s"
    print(f"load: 400 queries from 16 clients in {took:.1f}s ({400 / took:.0f} queries/s)")


# Queries that used to take the server down or hold it for minutes, with what their error must say. Each must
# end in that error within the server's --query-timeout (10 s in the test) plus a margin.
HOSTILE = [
    ("repeat x 9 rows", "SELECT max(length(s)) AS m FROM (SELECT repeat('x', 1000000000) AS s FROM range(1, 10)) t",
     "exceeds the memory limit"),
    ("repeat per row", "SELECT max(length(repeat(channel, 100000000))) AS m FROM tickets", "exceeds the memory limit"),
    ("lpad", "SELECT length(lpad('x', 2000000000)) AS m", "exceeds the memory limit"),
    ("rpad per row", "SELECT max(length(rpad(channel, 1000000))) AS m FROM tickets", "exceeds the memory limit"),
    ("|| doubling", "WITH a AS (SELECT repeat(channel, 2000) AS s FROM tickets), b AS (SELECT s || s AS s FROM a), "
     "c AS (SELECT s || s AS s FROM b), d AS (SELECT s || s AS s FROM c), e AS (SELECT s || s AS s FROM d), "
     "f AS (SELECT s || s AS s FROM e) SELECT max(length(s)) AS m FROM f", "exceeds the memory limit"),
    ("concat chain", "SELECT max(length(concat(repeat(channel, 20000), repeat(channel, 20000), "
     "repeat(channel, 20000), repeat(channel, 20000)))) AS m FROM tickets", "exceeds the memory limit"),
    ("array_repeat", "SELECT cardinality(array_repeat(1, 1000000000)) AS m", "exceeds the memory limit"),
    ("range list", "SELECT cardinality(range(1, 10000000000)) AS m", "exceeds the memory limit"),
    ("generate_series", "SELECT cardinality(generate_series(TIMESTAMP '2000-01-01', TIMESTAMP '2100-01-01', "
     "INTERVAL '1 second')) AS m", "exceeds the memory limit"),
    # Aggregates: DataFusion accounts their state; whichever is first, the state or a batch's values, says
    # the limit is reached.
    ("string_agg", "SELECT length(string_agg(repeat(CAST(value AS VARCHAR), 1000), ',')) AS m FROM range(1, 3000000)",
     ("Resources exhausted", "exceeds the memory limit")),
    ("array_agg", "SELECT cardinality(array_agg(repeat(CAST(value AS VARCHAR), 2000))) AS m FROM range(1, 3000000)",
     ("Resources exhausted", "exceeds the memory limit")),
    ("12,000 terms", "SELECT " + "+".join(["1"] * 12000) + " AS m", "--max-expression-terms"),
    ("5 chains of 900 terms", "SELECT " + ", ".join(["+".join(["1"] * 900)] * 5),
     "together would plan longer"),
    ("2 MB statement", "SELECT '" + "x" * 2_000_000 + "' AS m", "--max-statement-bytes"),
    ("200 KB literal", "SELECT length('" + "x" * 200_000 + "') AS m", "literal of 200000 bytes"),
    ("endless", "SELECT count(*) AS m FROM range(1, 1000000000000)", "query-timeout"),
]


def hostile():
    """16 clients: 12 run dashboard queries while 4 send the hostile set. No dashboard query fails; every
    hostile query ends in its error within the timeout; the server answers afterwards."""
    timeout_s = float(os.environ.get("CXSQL_QUERY_TIMEOUT", "10"))
    dashboard = ["SELECT channel, nps(nps_score) AS nps FROM surveys GROUP BY channel",
                 "SELECT * FROM NPS_BY_CHANNEL()",
                 "SELECT * FROM fcr_by_channel_priority()",
                 "SELECT channel, csat(csat_score) AS csat FROM surveys GROUP BY channel",
                 "SELECT date_trunc('month', created_at) AS month, count(*) AS n FROM tickets GROUP BY 1 ORDER BY 1"]
    stop = threading.Event()
    errors, normal, outcomes = [], [], []

    def dashboard_client(k):
        try:
            conn = connect()
            i = 0
            while not stop.is_set():
                rows = query(conn, dashboard[(k + i) % len(dashboard)])
                assert rows, "no rows"
                normal.append(1)
                i += 1
            conn.close()
        except Exception as e:  # noqa: BLE001 (every failure is reported)
            errors.append(f"dashboard client {k}: {e}")

    def hostile_client(k):
        conn = connect()
        for j, (name, sql, expected) in enumerate(HOSTILE):
            if j % 4 != k:
                continue
            started = time.time()
            try:
                query(conn, sql)
                outcomes.append((name, time.time() - started, "FINISHED", expected))
            except adbc_driver_manager.Error as e:
                outcomes.append((name, time.time() - started, str(e), expected))
                if "connection" in str(e).lower() and "unavailable" in str(e).lower():
                    conn = connect()
        conn.close()

    threads = [threading.Thread(target=dashboard_client, args=(k,)) for k in range(12)]
    hostiles = [threading.Thread(target=hostile_client, args=(k,)) for k in range(4)]
    for t in threads + hostiles:
        t.start()
    for t in hostiles:
        t.join(timeout=600)
    stop.set()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:3]
    assert len(outcomes) == len(HOSTILE), outcomes
    for name, took, message, expected in sorted(outcomes):
        first = message.splitlines()[0][:160] if message else ""
        print(f"hostile: {name}: {took:.2f}s: {first}")
        expected = (expected,) if isinstance(expected, str) else expected
        assert any(e in message for e in expected), f"{name}: expected {expected!r} in {message[:500]!r}"
        assert took < timeout_s + 15, f"{name}: {took:.1f}s"
    assert query(connect(), "SELECT 1 AS one") == [{"one": 1}]
    print(f"hostile: {len(HOSTILE)} hostile queries refused; {len(normal)} dashboard queries, none failed")


def arrow_types(expected):
    cur = connect().cursor()
    cur.execute("SELECT channel, [channel] AS channels FROM tickets LIMIT 1")
    schema = cur.fetch_arrow_table().schema
    got = (str(schema.field("channel").type), str(schema.field("channels").type))
    assert got == expected, got
    return got


def plain_types():
    """Text and lists arrive as the plain Arrow types by default; pyarrow's CSV writer takes the text."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    cur = connect().cursor()
    cur.execute("SELECT channel, priority FROM tickets LIMIT 3")
    sink = pa.BufferOutputStream()
    pacsv.write_csv(cur.fetch_arrow_table(), sink)
    assert sink.getvalue().to_pybytes().startswith(b'"channel","priority"'), sink.getvalue()
    print(f"types: {arrow_types(('string', 'list<item: string>'))}")


def view_types():
    """With --arrow-view-types, as DataFusion's views."""
    print(f"types: {arrow_types(('string_view', 'list<item: string_view>'))}")


def planning():
    """Statements that plan for seconds (990 terms, within the limit) keep every query thread busy; a new
    client still connects and lists the tables at once (planning runs beside the calls, not on them)."""
    deep = "SELECT " + "+".join(["1"] * 990) + " AS m"
    results = []
    threads = [threading.Thread(target=lambda: results.append(query(connect(), deep))) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    started = time.time()
    conn = connect()
    tables = conn.adbc_get_objects(depth="tables").read_all().to_pylist()
    took = time.time() - started
    conn.close()
    for t in threads:
        t.join(timeout=300)
    assert tables, tables
    assert results == [[{"m": 990}]] * 3, results
    assert took < 2, f"listing took {took:.2f}s while statements planned"
    print(f"planning: a new client listed the tables in {took:.2f}s while 3 statements planned")


def timeout():
    """A query past the server's --query-timeout is stopped with a message that says so."""
    conn = connect()
    started = time.time()
    try:
        query(conn, "SELECT count(*) AS n FROM tickets a CROSS JOIN tickets b WHERE a.contacts + b.contacts > 100")
    except adbc_driver_manager.Error as e:
        assert "query-timeout" in str(e), e
    else:
        raise AssertionError("the slow query finished")
    took = time.time() - started
    assert took < 30, took
    print(f"timeout: stopped after {took:.1f}s")


def refresh():
    """Listings are kept between queries; REFRESH reads them again (a file added to the lake)."""
    lake = os.environ["CXSQL_LAKE"]
    conn = connect()
    before = query(conn, "SELECT count(*) AS n FROM tickets")[0]["n"]
    shutil.copy(os.path.join(lake, "part-0.parquet"), os.path.join(lake, "part-1.parquet"))
    kept = query(conn, "SELECT count(*) AS n FROM tickets")[0]["n"]
    assert kept == before, (kept, before)
    said = query(conn, "REFRESH")
    assert said and "read again" in said[0]["refreshed"], said
    after = query(conn, "SELECT count(*) AS n FROM tickets")[0]["n"]
    assert after == 2 * before, (after, before)
    print(f"refresh: {before} rows, {kept} with the listing kept, {after} after REFRESH")


def tls():
    """A query over TLS, the server's certificate checked against the test's root."""
    rows = query(connect(), "SELECT fcr_rate(contacts) AS fcr FROM tickets")
    assert rows and 0 < rows[0]["fcr"] < 100, rows
    print("tls: answered over grpc+tls")


def writes():
    """With --allow-writes, a view is created and queried by the next statement."""
    conn = connect()
    assert query(conn, "CREATE OR REPLACE VIEW busy AS SELECT channel, count(*) AS n FROM tickets GROUP BY channel") == []
    rows = query(conn, "SELECT count(*) AS channels FROM busy")
    assert rows[0]["channels"] >= 4, rows
    print("writes: a view created and read")


def slow_reader():
    """Starts a large result and stops reading: the test kills this process mid-stream."""
    conn = connect()
    cur = conn.cursor()
    cur.execute("SELECT a.ticket_id, b.ticket_id AS other FROM tickets a CROSS JOIN tickets b")
    reader = cur.fetch_record_batch()
    reader.read_next_batch()
    print("reading", flush=True)
    time.sleep(600)


if __name__ == "__main__":
    for check in sys.argv[4:]:
        globals()[check]()
