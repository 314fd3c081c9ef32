#!/usr/bin/env python3
"""Apache Superset itself against a running `cxsql serve`, through Superset's REST API: log in, create the
database with the README's URI, run SQL Lab queries (a KPI, a saved query called upper-case), create a
dataset and a monthly time-series chart, and read the chart's data.

Run by tests/cli/serve.rs with Superset's Python (target/bi-venv) while Superset listens on SUPERSET_URL:

    python tests/flight/superset_check.py SUPERSET_URL CXSQL_GRPC_URI TOKEN CXSQL_BINARY [restarted]

With `restarted` (Superset started again over the same metadata database), it only checks that the saved
database still opens: the dialect must be registered without the "available databases" call.

Expected numbers come from the cxsql command line over the same data.
"""

import datetime
import json
import sys

import requests

import bi_common

SUPERSET, GRPC, TOKEN, CXSQL = sys.argv[1:5]
URI = bi_common.dialect_uri(GRPC, TOKEN)


def cli(sql):
    return bi_common.cli(CXSQL, sql)


def api(session, method, path, **kwargs):
    response = session.request(method, SUPERSET + path, timeout=120, **kwargs)
    assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text[:2000]}"
    return response.json()


def logged_in():
    session = requests.Session()
    login = api(session, "POST", "/api/v1/security/login",
                json={"username": "admin", "password": "admin", "provider": "db", "refresh": True})
    session.headers["Authorization"] = f"Bearer {login['access_token']}"
    return session


def restarted():
    session = logged_in()
    databases = api(session, "GET", "/api/v1/database/")["result"]
    db_id = next(d["id"] for d in databases if d["database_name"] == "cxsql")
    result = api(session, "POST", "/api/v1/sqllab/execute/",
                 json={"database_id": db_id, "sql": "SELECT count(*) AS n FROM tickets", "runAsync": False,
                       "schema": "public"})
    n = result["data"][0]["n"]
    assert n == cli("SELECT count(*) AS n FROM tickets")[0]["n"], n
    print(f"superset: after a restart, SQL Lab counts {n} tickets")


def main():
    session = logged_in()

    engines = api(session, "GET", "/api/v1/database/available/")["databases"]
    cxsql = [e for e in engines if e.get("engine") == "datafusion"]
    assert cxsql and cxsql[0]["name"] == "cxsql", [e.get("name") for e in engines]
    print(f"superset: engine spec '{cxsql[0]['name']}' available")

    database = api(session, "POST", "/api/v1/database/",
                   json={"database_name": "cxsql", "sqlalchemy_uri": URI, "expose_in_sqllab": True})
    db_id = database["id"]
    print(f"superset: database created (id {db_id})")

    sql = "SELECT channel, nps(nps_score) AS nps FROM surveys GROUP BY channel ORDER BY channel"
    result = api(session, "POST", "/api/v1/sqllab/execute/",
                 json={"database_id": db_id, "sql": sql, "runAsync": False, "schema": "public"})
    rows = [[r["channel"], r["nps"]] for r in result["data"]]
    expected = [[r["channel"], r["nps"]] for r in cli(sql)]
    assert len(rows) == len(expected) and all(
        a[0] == b[0] and abs(a[1] - b[1]) < 1e-9 for a, b in zip(rows, expected)), (rows, expected)
    print(f"superset: SQL Lab NPS by channel: {len(rows)} rows equal to cxsql query")

    saved = api(session, "POST", "/api/v1/sqllab/execute/",
                json={"database_id": db_id, "sql": "SELECT * FROM NPS_BY_CHANNEL()", "runAsync": False,
                      "schema": "public"})
    assert len(saved["data"]) == 5, saved["data"]
    print("superset: SQL Lab NPS_BY_CHANNEL(): 5 rows")

    dataset = api(session, "POST", "/api/v1/dataset/",
                  json={"database": db_id, "schema": "public", "table_name": "tickets"})
    ds_id = dataset["id"]
    columns = api(session, "GET", f"/api/v1/dataset/{ds_id}")["result"]["columns"]
    types = {c["column_name"]: (c["type"], c["is_dttm"]) for c in columns}
    assert types["created_at"][1], types
    assert "VARCHAR" in types["channel"][0].upper() or "TEXT" in types["channel"][0].upper(), types
    print(f"superset: dataset tickets: channel {types['channel'][0]}, created_at temporal")

    form = {"datasource": f"{ds_id}__table", "viz_type": "echarts_timeseries_line",
            "x_axis": "created_at", "time_grain_sqla": "P1M", "metrics": ["count"],
            "groupby": ["channel"], "row_limit": 10000, "time_range": "No filter"}
    chart = api(session, "POST", "/api/v1/chart/",
                json={"slice_name": "Tickets per month by channel", "viz_type": "echarts_timeseries_line",
                      "datasource_id": ds_id, "datasource_type": "table", "params": json.dumps(form)})
    query_context = {
        "datasource": {"id": ds_id, "type": "table"},
        "force": True,
        "queries": [{
            "columns": [{"timeGrain": "P1M", "columnType": "BASE_AXIS", "sqlExpression": "created_at",
                         "label": "created_at", "expressionType": "SQL"}, "channel"],
            "metrics": ["count"],
            "orderby": [],
            "row_limit": 10000,
            "time_range": "No filter",
        }],
        "form_data": form,
        "result_format": "json",
        "result_type": "full",
    }
    data = api(session, "POST", "/api/v1/chart/data", json=query_context)
    rows = data["result"][0]["data"]
    assert rows, data
    months = {datetime.datetime.fromtimestamp(r["created_at"] / 1000, datetime.timezone.utc) for r in rows}
    assert all(m.day == 1 and m.hour == 0 and m.minute == 0 for m in months), sorted(months)[:3]
    total = sum(r["count"] for r in rows)
    assert total == cli("SELECT count(*) AS n FROM tickets")[0]["n"], total
    per_month = cli("SELECT count(DISTINCT date_trunc('month', created_at)) AS n FROM tickets")[0]["n"]
    assert len(months) == per_month, (len(months), per_month)
    print(f"superset: monthly chart {chart['id']}: {len(months)} months x channels, {total} tickets")


if __name__ == "__main__":
    restarted() if sys.argv[5:] == ["restarted"] else main()
