#!/usr/bin/env python3
"""cxsql against DuckDB on the same files, in one run.

Generates a data set with `cxsql gen --partitioned` (default 30 million tickets, about 9 million surveys), then
times the KPI workload twice: cxsql as a whole process (`cxsql query ... > /dev/null`) and DuckDB (PyPI `duckdb`)
running the same KPIs in plain SQL on the same Parquet files. Prints each time and the ratio cxsql / DuckDB
(target: <= 1.0).

    cargo build --release
    python3 -m pip install duckdb pytz
    python3 benches/duckdb_compare.py [--tickets 30000000] [--data /tmp/cxsql-bench] [--runs 3]
"""

import argparse
import os
import subprocess
import sys
import time

AT = "TIMESTAMP '2024-06-30 00:00:00'"
START, STOP = "TIMESTAMP '2022-01-01T00:00:00Z'", "TIMESTAMP '2024-12-31T00:00:00Z'"
START_DD, STOP_DD = "TIMESTAMPTZ '2022-01-01 00:00:00+00'", "TIMESTAMPTZ '2024-12-31 00:00:00+00'"

# name: (cxsql SQL, DuckDB SQL). Both reduce to a small result so that output costs do not dominate.
WORKLOAD = {
    "NPS by channel": (
        "SELECT channel, nps(nps_score) AS nps FROM surveys GROUP BY channel",
        "SELECT channel, 100.0 * (count(*) FILTER (WHERE nps_score >= 9) - count(*) FILTER (WHERE nps_score <= 6))"
        " / count(nps_score) AS nps FROM surveys GROUP BY channel",
    ),
    "NPS by customer (millions of groups)": (
        "SELECT sum(n) FROM (SELECT customer_id, nps(nps_score) AS n FROM surveys GROUP BY customer_id)",
        "SELECT sum(n) FROM (SELECT customer_id, 100.0 * (count(*) FILTER (WHERE nps_score >= 9)"
        " - count(*) FILTER (WHERE nps_score <= 6)) / count(nps_score) AS n FROM surveys GROUP BY customer_id)",
    ),
    "CSAT by channel and month": (
        "SELECT channel, date_trunc('month', submitted_at) AS m, csat(csat_score) FROM surveys GROUP BY 1, 2",
        "SELECT channel, date_trunc('month', submitted_at) AS m, 100.0 * count(*) FILTER (WHERE csat_score >= 4)"
        " / count(csat_score) FROM surveys GROUP BY 1, 2",
    ),
    "FCR by channel and priority": (
        "SELECT channel, priority, fcr_rate(contacts) FROM tickets GROUP BY 1, 2",
        "SELECT channel, priority, 100.0 * count(*) FILTER (WHERE contacts = 1) / count(contacts)"
        " FROM tickets GROUP BY 1, 2",
    ),
    "Backlog at one instant by channel": (
        f"SELECT channel, backlog_at(created_at, resolved_at, {AT}) FROM tickets GROUP BY channel",
        f"SELECT channel, count(*) FILTER (WHERE created_at <= {AT} AND (resolved_at IS NULL OR resolved_at > {AT}))"
        " FROM tickets GROUP BY channel",
    ),
    "30-day rolling NPS per channel": (
        "SELECT sum(r) FROM (SELECT nps(nps_score) OVER (PARTITION BY channel ORDER BY submitted_at"
        " RANGE BETWEEN INTERVAL '30 days' PRECEDING AND CURRENT ROW) AS r FROM surveys)",
        "SELECT sum(r) FROM (SELECT 100.0 * (count(*) FILTER (WHERE nps_score >= 9) OVER w"
        " - count(*) FILTER (WHERE nps_score <= 6) OVER w) / nullif(count(nps_score) OVER w, 0) AS r FROM surveys"
        " WINDOW w AS (PARTITION BY channel ORDER BY submitted_at RANGE BETWEEN INTERVAL 30 DAYS PRECEDING AND CURRENT ROW))",
    ),
    # Issue 6: the backlog at every day of three years. DuckDB: the event sweep (+1 at creation, -1 at resolution,
    # a running sum by a window, each day matched to the last event at or before it).
    "Daily backlog over 3 years (event sweep)": (
        "SELECT sum(b['open']) FROM (SELECT unnest(backlog_series(created_at, resolved_at,"
        f" {START}, {STOP}, INTERVAL '1 day')) AS b FROM tickets)",
        "WITH ev AS (SELECT t, sum(d) AS d FROM (SELECT created_at AS t, 1 AS d FROM tickets UNION ALL"
        " SELECT resolved_at, -1 FROM tickets WHERE resolved_at IS NOT NULL) GROUP BY t),"
        " cum AS (SELECT t, sum(d) OVER (ORDER BY t ROWS UNBOUNDED PRECEDING) AS open FROM ev),"
        f" days AS (SELECT unnest(generate_series({START_DD}, {STOP_DD}, INTERVAL 1 DAY)) AS at)"
        " SELECT days.at, coalesce(cum.open, 0) FROM days ASOF LEFT JOIN cum ON days.at >= cum.t",
    ),
    # The same sweep with the events first bucketed per day (the fastest plain-SQL form found).
    "Daily backlog over 3 years (bucketed sweep)": (
        "SELECT sum(b['open']) FROM (SELECT unnest(backlog_series(created_at, resolved_at,"
        f" {START}, {STOP}, INTERVAL '1 day')) AS b FROM tickets)",
        f"WITH ev AS (SELECT greatest(0, ceil(epoch(created_at - {START_DD}) / 86400))::BIGINT AS i, 1 AS d"
        f" FROM tickets UNION ALL SELECT greatest(0, ceil(epoch(resolved_at - {START_DD}) / 86400))::BIGINT, -1"
        " FROM tickets WHERE resolved_at IS NOT NULL), b AS (SELECT i, sum(d) AS d FROM ev GROUP BY i)"
        " SELECT i, sum(d) OVER (ORDER BY i) AS open FROM b WHERE i <= 1095",
    ),
    # business_seconds on every ticket (30 million pairs) against the clock-time difference in DuckDB; the
    # business-hours clock has no one-line DuckDB form (the Zendesk dbt package needs hundreds of lines).
    "business_seconds over all tickets": (
        "SELECT sum(business_seconds(created_at, resolved_at)) FROM tickets",
        "SELECT sum(epoch(resolved_at) - epoch(created_at)) FROM tickets",
    ),
}


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def best(fns, runs):
    """The best time of each of `fns` over `runs` rounds. A round runs each once, in turn, so that both engines
    see the same machine (page cache, frequency, neighbours) rather than one getting the quiet minute."""
    times = [[] for _ in fns]
    for _ in range(runs):
        for t, fn in zip(times, fns):
            t.append(timed(fn))
    return [min(t) for t in times]


def ensure_data(cxsql, data, tickets):
    """The data set of `tickets` tickets in `data`, generated by `cxsql gen --partitioned` unless there."""
    if not os.path.exists(cxsql):
        sys.exit(f"{cxsql} not found: run `cargo build --release` first")
    marker = os.path.join(data, f".tickets-{tickets}")
    if not os.path.exists(marker):
        print(f"generating {tickets:,} tickets into {data} ...", flush=True)
        subprocess.run([cxsql, "gen", "--out", data, "--tickets", str(tickets), "--partitioned", "--force"],
                       check=True)
        open(marker, "w").close()


def duckdb_views(data):
    """A DuckDB connection with views `tickets` and `surveys` over the data set; None without DuckDB."""
    try:
        import duckdb
    except ImportError:
        print("DuckDB is NOT installed (python3 -m pip install duckdb pytz): only cxsql's times are shown.")
        return None
    con = duckdb.connect()
    con.execute(f"CREATE VIEW tickets AS SELECT * FROM read_parquet('{data}/tickets/**/*.parquet',"
                " hive_partitioning = true)")
    con.execute(f"CREATE VIEW surveys AS SELECT * FROM read_parquet('{data}/surveys/*.parquet')")
    return con


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=30_000_000)
    parser.add_argument("--data", default="/tmp/cxsql-bench")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cxsql", default="target/release/cxsql")
    parser.add_argument("--only", default="", help="run only the workload items whose name contains this text")
    args = parser.parse_args()

    ensure_data(args.cxsql, args.data, args.tickets)
    con = duckdb_views(args.data)
    duckdb = con is not None

    print(f"{'workload':<40} {'cxsql s':>9} {'duckdb s':>9} {'ratio':>7}")
    for name, (ours, theirs) in WORKLOAD.items():
        if args.only.lower() not in name.lower():
            continue
        command = [args.cxsql, "--data", args.data, "query", ours, "--format", "csv"]
        run_cx = lambda: subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        if duckdb:
            # Fetched whole, as cxsql writes its result whole (a count(*) around it would let DuckDB skip work).
            t_cx, t_dd = best([run_cx, lambda: con.execute(theirs).fetchall()], args.runs)
            print(f"{name:<40} {t_cx:>9.3f} {t_dd:>9.3f} {t_cx / t_dd:>7.2f}", flush=True)
        else:
            (t_cx,) = best([run_cx], args.runs)
            print(f"{name:<40} {t_cx:>9.3f} {'-':>9} {'-':>7}", flush=True)


if __name__ == "__main__":
    main()
