#!/usr/bin/env python3
"""cxsql against DuckDB on the same files, in one run.

Generates the data set twice (default 30 million tickets, about 9 million surveys): the Hive-partitioned lake of
`cxsql gen --partitioned` and one Parquet file per table (`cxsql gen`), both Snappy. Then, on each layout, times
every KPI item three ways, the runs interleaved: cxsql as a whole process (`cxsql query ... > /dev/null`),
DuckDB (PyPI `duckdb`, in-process) running the same KPI in plain SQL on the same files, and cxsql scanning the
same columns with nothing but a trivial reduction (the floor: `sum(octet_length(channel)), sum(nps_score)` style,
which really decodes; `count(col)` would be answered from the footers' statistics). Prints the medians, the
ratio cxsql / DuckDB (goal: <= 0.75) and the ratio KPI / scan (goal: <= 1.3 for the grouped KPIs).

    cargo build --release
    python3 -m pip install duckdb pytz
    python3 benches/duckdb_compare.py [--tickets 30000000] [--layout both] [--runs 5] [--only NPS]
        [--threads N] [--warm]

`--threads N` runs cxsql with `--threads N` and DuckDB with `SET threads = N` (default: both engines' own
default, the number of cores). `--warm` times the engine once started instead of the whole process: cxsql runs
the statement 1 and 1 + REPEAT times in one `query -f` file and reports (T(1 + REPEAT) - T(1)) / REPEAT per
statement, so that start-up, registration and the first listing of the files cancel out; DuckDB is in-process
and warm either way.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

# Warm mode: how many extra times the statement runs in one cxsql process.
REPEAT = 5

AT = "TIMESTAMP '2024-06-30 00:00:00'"
START, STOP = "TIMESTAMP '2022-01-01T00:00:00Z'", "TIMESTAMP '2024-12-31T00:00:00Z'"
START_DD, STOP_DD = "TIMESTAMPTZ '2022-01-01 00:00:00+00'", "TIMESTAMPTZ '2024-12-31 00:00:00+00'"

# name: (cxsql SQL, DuckDB SQL, cxsql scan of the same columns). All reduce to a small result so that output
# costs do not dominate.
WORKLOAD = {
    "NPS by channel": (
        "SELECT channel, nps(nps_score) AS nps FROM surveys GROUP BY channel",
        "SELECT channel, 100.0 * (count(*) FILTER (WHERE nps_score >= 9) - count(*) FILTER (WHERE nps_score <= 6))"
        " / count(nps_score) AS nps FROM surveys GROUP BY channel",
        "SELECT sum(octet_length(channel)), sum(nps_score) FROM surveys",
    ),
    "NPS by customer (millions of groups)": (
        "SELECT sum(n) FROM (SELECT customer_id, nps(nps_score) AS n FROM surveys GROUP BY customer_id)",
        "SELECT sum(n) FROM (SELECT customer_id, 100.0 * (count(*) FILTER (WHERE nps_score >= 9)"
        " - count(*) FILTER (WHERE nps_score <= 6)) / count(nps_score) AS n FROM surveys GROUP BY customer_id)",
        "SELECT sum(customer_id), sum(nps_score) FROM surveys",
    ),
    "CSAT by channel and month": (
        "SELECT channel, date_trunc('month', submitted_at) AS m, csat(csat_score) FROM surveys GROUP BY 1, 2",
        "SELECT channel, date_trunc('month', submitted_at) AS m, 100.0 * count(*) FILTER (WHERE csat_score >= 4)"
        " / count(csat_score) FROM surveys GROUP BY 1, 2",
        "SELECT sum(octet_length(channel)), max(CAST(submitted_at AS BIGINT)), sum(csat_score) FROM surveys",
    ),
    "FCR by channel and priority": (
        "SELECT channel, priority, fcr_rate(contacts) FROM tickets GROUP BY 1, 2",
        "SELECT channel, priority, 100.0 * count(*) FILTER (WHERE contacts = 1) / count(contacts)"
        " FROM tickets GROUP BY 1, 2",
        "SELECT sum(octet_length(channel)), sum(octet_length(priority)), sum(contacts) FROM tickets",
    ),
    "Backlog at one instant by channel": (
        f"SELECT channel, backlog_at(created_at, resolved_at, {AT}) FROM tickets GROUP BY channel",
        f"SELECT channel, count(*) FILTER (WHERE created_at <= {AT} AND (resolved_at IS NULL OR resolved_at > {AT}))"
        " FROM tickets GROUP BY channel",
        "SELECT sum(octet_length(channel)), max(CAST(created_at AS BIGINT)), max(CAST(resolved_at AS BIGINT)) FROM tickets",
    ),
    "30-day rolling NPS per channel": (
        "SELECT sum(r) FROM (SELECT nps(nps_score) OVER (PARTITION BY channel ORDER BY submitted_at"
        " RANGE BETWEEN INTERVAL '30 days' PRECEDING AND CURRENT ROW) AS r FROM surveys)",
        "SELECT sum(r) FROM (SELECT 100.0 * (count(*) FILTER (WHERE nps_score >= 9) OVER w"
        " - count(*) FILTER (WHERE nps_score <= 6) OVER w) / nullif(count(nps_score) OVER w, 0) AS r FROM surveys"
        " WINDOW w AS (PARTITION BY channel ORDER BY submitted_at RANGE BETWEEN INTERVAL 30 DAYS PRECEDING AND CURRENT ROW))",
        "SELECT sum(octet_length(channel)), max(CAST(submitted_at AS BIGINT)), sum(nps_score) FROM surveys",
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
        "SELECT max(CAST(created_at AS BIGINT)), max(CAST(resolved_at AS BIGINT)) FROM tickets",
    ),
    # The same sweep with the events first bucketed per day (the fastest plain-SQL form found).
    "Daily backlog over 3 years (bucketed sweep)": (
        "SELECT sum(b['open']) FROM (SELECT unnest(backlog_series(created_at, resolved_at,"
        f" {START}, {STOP}, INTERVAL '1 day')) AS b FROM tickets)",
        f"WITH ev AS (SELECT greatest(0, ceil(epoch(created_at - {START_DD}) / 86400))::BIGINT AS i, 1 AS d"
        f" FROM tickets UNION ALL SELECT greatest(0, ceil(epoch(resolved_at - {START_DD}) / 86400))::BIGINT, -1"
        " FROM tickets WHERE resolved_at IS NOT NULL), b AS (SELECT i, sum(d) AS d FROM ev GROUP BY i)"
        " SELECT i, sum(d) OVER (ORDER BY i) AS open FROM b WHERE i <= 1095",
        "SELECT max(CAST(created_at AS BIGINT)), max(CAST(resolved_at AS BIGINT)) FROM tickets",
    ),
    # business_seconds on every ticket (30 million pairs) against the clock-time difference in DuckDB; the
    # business-hours clock has no one-line DuckDB form (the Zendesk dbt package needs hundreds of lines).
    "business_seconds over all tickets": (
        "SELECT sum(business_seconds(created_at, resolved_at)) FROM tickets",
        "SELECT sum(epoch(resolved_at) - epoch(created_at)) FROM tickets",
        "SELECT max(CAST(created_at AS BIGINT)), max(CAST(resolved_at AS BIGINT)) FROM tickets",
    ),
}


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def medians(fns, runs):
    """The median time of each of `fns` over `runs` rounds. A round runs each once, in turn, so that all see the
    same machine (page cache, frequency, neighbours) rather than one getting the quiet minute. One untimed round
    first warms the page cache for all."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(runs):
        for t, fn in zip(times, fns):
            t.append(timed(fn))
    return [statistics.median(t) for t in times]


def ensure_data(cxsql, data, tickets, partitioned):
    """The data set of `tickets` tickets in `data`, generated by `cxsql gen [--partitioned]` unless there."""
    if not os.path.exists(cxsql):
        sys.exit(f"{cxsql} not found: run `cargo build --release` first")
    marker = os.path.join(data, f".tickets-{tickets}")
    if not os.path.exists(marker):
        print(f"generating {tickets:,} tickets into {data} ...", flush=True)
        layout = ["--partitioned"] if partitioned else []
        subprocess.run([cxsql, "gen", "--out", data, "--tickets", str(tickets), *layout, "--force"], check=True,
                       stdout=subprocess.DEVNULL)
        open(marker, "w").close()


def duckdb_views(data, partitioned, threads=None):
    """A DuckDB connection with views `tickets` and `surveys` over the data set; None without DuckDB."""
    try:
        import duckdb
    except ImportError:
        print("DuckDB is NOT installed (python3 -m pip install duckdb pytz): only cxsql's times are shown.")
        return None
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    if threads:
        con.execute(f"SET threads = {threads}")
    if partitioned:
        tickets = f"read_parquet('{data}/tickets/**/*.parquet', hive_partitioning = true)"
        surveys = f"read_parquet('{data}/surveys/*.parquet')"
    else:
        tickets, surveys = f"read_parquet('{data}/tickets.parquet')", f"read_parquet('{data}/surveys.parquet')"
    con.execute(f"CREATE VIEW tickets AS SELECT * FROM {tickets}")
    con.execute(f"CREATE VIEW surveys AS SELECT * FROM {surveys}")
    return con


def compare(args, data, partitioned):
    ensure_data(args.cxsql, data, args.tickets, partitioned)
    con = duckdb_views(data, partitioned, args.threads)
    layout = "Hive-partitioned lake" if partitioned else "one file per table"
    threads = f"{args.threads} threads" if args.threads else f"default threads ({os.cpu_count()} cores)"
    mode = f"warm: per statement, (T({1 + REPEAT} runs) - T(1)) / {REPEAT} in one process" if args.warm \
        else "one-shot: whole process"
    print(f"\n{layout} ({data}), {threads}, {mode}; median of {args.runs} interleaved runs after one warm-up round")
    print(f"{'workload':<44} {'cxsql s':>8} {'duckdb s':>9} {'ratio':>6} {'scan s':>7} {'/scan':>6}")
    for name, (ours, theirs, scan) in WORKLOAD.items():
        if args.only.lower() not in name.lower() or any(s and s.lower() in name.lower() for s in args.skip):
            continue

        flags = ["--threads", str(args.threads)] if args.threads else []

        def cxsql(sql, times=1):
            """A process running `sql` `times` times (from a file when more than once)."""
            if times == 1:
                command = [args.cxsql, "--data", data, *flags, "query", sql, "--format", "csv"]
            else:
                script = tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False)
                script.write(";\n".join([sql.rstrip().rstrip(";")] * times) + ";\n")
                script.close()
                command = [args.cxsql, "--data", data, *flags, "query", "-f", script.name, "--format", "csv"]
            return lambda: subprocess.run(command, check=True, stdout=subprocess.DEVNULL)

        fns = [cxsql(ours), cxsql(scan)]
        if args.warm:
            fns += [cxsql(ours, 1 + REPEAT), cxsql(scan, 1 + REPEAT)]
        if con is not None:
            # Fetched whole, as cxsql writes its result whole (a count(*) around it would let DuckDB skip work).
            fns.append(lambda: con.execute(theirs).fetchall())
        times = medians(fns, args.runs)
        t_cx, t_scan = times[0], times[1]
        if args.warm:
            t_cx, t_scan = (times[2] - times[0]) / REPEAT, (times[3] - times[1]) / REPEAT
            times = [t_cx, t_scan] + times[4:]
        dd = f"{times[2]:>9.3f} {t_cx / times[2]:>6.2f}" if con is not None else f"{'-':>9} {'-':>6}"
        print(f"{name:<44} {t_cx:>8.3f} {dd} {t_scan:>7.3f} {t_cx / t_scan:>6.2f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=30_000_000)
    parser.add_argument("--data", default="/tmp/cxsql-bench", help="the Hive-partitioned data set")
    parser.add_argument("--single-data", default="/tmp/cxsql-single", help="the one-file-per-table data set")
    parser.add_argument("--layout", choices=["both", "partitioned", "single"], default="both")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cxsql", default="target/release/cxsql")
    parser.add_argument("--only", default="", help="run only the workload items whose name contains this text")
    parser.add_argument("--threads", type=int, default=None,
                        help="cxsql --threads N and DuckDB SET threads = N (default: each engine's default)")
    parser.add_argument("--warm", action="store_true",
                        help="time the statement in a started engine (see above), not the whole process")
    parser.add_argument("--skip", action="append", default=[],
                        help="leave out the items whose name contains this text (repeatable)")
    args = parser.parse_args()

    if args.layout in ("both", "single"):
        compare(args, args.single_data, partitioned=False)
    if args.layout in ("both", "partitioned"):
        compare(args, args.data, partitioned=True)


if __name__ == "__main__":
    main()
