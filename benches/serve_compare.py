#!/usr/bin/env python3
"""`cxsql serve` warm, through a real Flight SQL client, against DuckDB in-process and the one-shot CLI.

Uses the data set and the KPI workload of duckdb_compare.py (default 30 million tickets). Starts
`cxsql serve` on a free loopback port over the data folder, then for each workload item: one warm-up, then
`--runs` interleaved rounds of the server through ADBC (`adbc-driver-flightsql`), DuckDB in-process and the
one-shot CLI (`cxsql query`, every `--cli-every` round: it is slow to repeat); prints the medians and the ratio
server / DuckDB (goal: <= 1.0). Then a load of 16 clients x 25 queries (the workload in turn): queries per
second (the workload less NPS by customer, whose 6.5M-row result would time the Python client), and the
server's peak resident memory.

    cargo build --release
    python3 -m pip install duckdb pytz adbc-driver-flightsql adbc-driver-manager pyarrow
    python3 benches/serve_compare.py [--tickets 30000000] [--data /tmp/cxsql-bench] [--runs 20]
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from duckdb_compare import WORKLOAD, duckdb_views, ensure_data  # noqa: E402

TOKEN = "bench-token"

# The dashboard-style items: a BI tool's query. The rest of duckdb_compare.py's workload runs with --all.
INTERACTIVE = ["NPS by channel", "NPS by customer (millions of groups)", "CSAT by channel and month",
               "FCR by channel and priority", "Backlog at one instant by channel"]


def start_server(cxsql, data, memory_limit):
    limit = [] if memory_limit == "none" else ["--memory-limit", memory_limit]
    server = subprocess.Popen(
        [cxsql, "--data", data, *limit, "serve", "--listen", "127.0.0.1:0"],
        env={**os.environ, "CXSQL_TOKEN": TOKEN}, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    line = server.stderr.readline()
    port = re.search(r"://127\.0\.0\.1:(\d+)", line)
    if not port:
        server.kill()
        sys.exit(f"the server did not start: {line}")
    # Drain the per-query log lines so the server never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
    return server, f"grpc://127.0.0.1:{port.group(1)}"


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def load_client(job):
    """One load client: 25 queries in turn over one connection; (queries done, error or None)."""
    uri, items, k = job
    import adbc_driver_flightsql.dbapi as flight_sql
    done = 0
    try:
        c = flight_sql.connect(uri, db_kwargs={"adbc.flight.sql.authorization_header": f"Bearer {TOKEN}"},
                               autocommit=True)
        for i in range(25):
            cur = c.cursor()
            cur.execute(items[(k + i) % len(items)])
            cur.fetch_arrow_table()
            cur.close()
            done += 1
        c.close()
    except Exception as e:  # noqa: BLE001
        return done, str(e)
    return done, None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=30_000_000)
    parser.add_argument("--data", default="/tmp/cxsql-bench")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--cli-every", type=int, default=4, help="time the one-shot CLI every Nth round")
    parser.add_argument("--cxsql", default="target/release/cxsql")
    parser.add_argument("--memory-limit", default="4G")
    parser.add_argument("--all", action="store_true",
                        help="also the long items (rolling NPS, daily backlog, business_seconds): DuckDB's rolling "
                             "NPS alone takes minutes a run")
    parser.add_argument("--only", default="", help="run only the workload items whose name contains this text")
    args = parser.parse_args()

    import adbc_driver_flightsql.dbapi as flight_sql

    ensure_data(args.cxsql, args.data, args.tickets)
    con = duckdb_views(args.data)
    server, uri = start_server(args.cxsql, args.data, args.memory_limit)
    try:
        conn = flight_sql.connect(uri, db_kwargs={"adbc.flight.sql.authorization_header": f"Bearer {TOKEN}"},
                                  autocommit=True)

        def through_server(sql):
            cur = conn.cursor()
            cur.execute(sql)
            cur.fetch_arrow_table()
            cur.close()

        print(f"{'workload':<40} {'server s':>9} {'duckdb s':>9} {'ratio':>7} {'CLI s':>8}")
        for name, (ours, theirs) in WORKLOAD.items():
            if args.only.lower() not in name.lower() or (name not in INTERACTIVE and not args.all):
                continue
            through_server(ours)
            if con:
                con.execute(theirs).fetchall()
            times = {"server": [], "duckdb": [], "cli": []}
            for round_ in range(args.runs):
                start = time.perf_counter()
                through_server(ours)
                times["server"].append(time.perf_counter() - start)
                if con:
                    start = time.perf_counter()
                    con.execute(theirs).fetchall()
                    times["duckdb"].append(time.perf_counter() - start)
                if round_ % args.cli_every == 0:
                    start = time.perf_counter()
                    subprocess.run([args.cxsql, "--data", args.data, "query", ours, "--format", "csv"], check=True,
                                   stdout=subprocess.DEVNULL)
                    times["cli"].append(time.perf_counter() - start)
            med = {k: statistics.median(v) if v else float("nan") for k, v in times.items()}
            ratio = med["server"] / med["duckdb"] if con else float("nan")
            print(f"{name:<40} {med['server']:>9.3f} {med['duckdb']:>9.3f} {ratio:>7.2f} {med['cli']:>8.3f}",
                  flush=True)

        # The load measures the server: NPS by customer's 6.5 million result rows would measure the Python
        # client decoding them (16 threads in one interpreter), so it is left out of the mix.
        items = [ours for name, (ours, _) in WORKLOAD.items()
                 if args.only.lower() in name.lower() and name in INTERACTIVE and "millions" not in name]
        # Each client in a process of its own (spawned, not forked): 16 ADBC connections in one interpreter
        # kept its two cores busy while the server waited, so the load timed the clients.
        if con:
            con.close()
        import multiprocessing
        start = time.perf_counter()
        with multiprocessing.get_context("spawn").Pool(16) as pool:
            outcomes = pool.map(load_client, [(uri, items, k) for k in range(16)])
        took = time.perf_counter() - start
        done = sum(n for n, _ in outcomes)
        errors = [e for _, e in outcomes if e]
        print(f"load: {done} queries from 16 clients in {took:.1f}s = {done / took:.1f} queries/s; "
              f"{len(errors)} failed; server peak RSS {peak_rss_mb(server.pid):.0f} MB")
        for e in errors[:3]:
            print(f"  failed: {e}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
