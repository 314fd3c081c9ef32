#!/usr/bin/env python3
"""cxsql against DuckDB on one large CSV export with quoted line breaks (issue 13: big exports read in parallel).

Generates `--tickets` tickets (default 3 million, about 460 MB) with `cxsql gen`, writes them as one CSV file
with an extra `note` column whose every value is quoted and holds a line break and a comma (as helpdesk exports'
descriptions do), then times KPI queries over that file: cxsql as a whole process with no options (the dialect,
header and types sniffed; the file read in byte ranges by all cores) and DuckDB (PyPI `duckdb`) reading the same
file with `read_csv` (its sniffer and parallel reader). Prints each time, the ratio cxsql / DuckDB (target for
FCR by channel x priority: <= 0.75 on 2 cores), and cxsql's CPU use (user + system over wall time).

    cargo build --release
    python3 -m pip install duckdb
    python3 benches/csv_compare.py [--tickets 3000000] [--data /tmp/cxsql-csv-bench] [--runs 5] [--threads N]
"""

import argparse
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from duckdb_compare import WORKLOAD as PARQUET_WORKLOAD  # noqa: E402  (the same KPI pairs as on Parquet)

# name: (cxsql SQL, DuckDB SQL over the view `tickets`).
WORKLOAD = {
    "FCR by channel x priority": PARQUET_WORKLOAD["FCR by channel and priority"],
    "Backlog at one instant by channel": PARQUET_WORKLOAD["Backlog at one instant by channel"],
    "Tickets and notes by team": (
        "SELECT team, count(*), sum(length(note)) FROM tickets GROUP BY team",
        "SELECT team, count(*), sum(length(note)) FROM tickets GROUP BY team",
    ),
}


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=3_000_000)
    parser.add_argument("--data", default="/tmp/cxsql-csv-bench")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="cores both engines use (default: all)")
    parser.add_argument("--cxsql", default="target/release/cxsql")
    parser.add_argument("--serial", action="store_true", help="also time cxsql with the file read whole")
    args = parser.parse_args()

    if not os.path.exists(args.cxsql):
        sys.exit(f"{args.cxsql} not found: run `cargo build --release` first")
    args.cxsql = os.path.abspath(args.cxsql)
    export = os.path.join(args.data, "export")
    csv = os.path.join(export, "tickets.csv")
    marker = os.path.join(args.data, f".tickets-{args.tickets}")
    if not os.path.exists(marker):
        print(f"generating {args.tickets:,} tickets into {args.data} ...", flush=True)
        generated = os.path.join(args.data, "generated")
        subprocess.run([args.cxsql, "gen", "--out", generated, "--tickets", str(args.tickets), "--force"],
                       check=True)
        os.makedirs(export, exist_ok=True)
        if os.path.exists(csv):
            os.remove(csv)
        note = "concat('Order ', ticket_id % 997, ' arrived damaged', chr(10), 'second line, with a comma')"
        subprocess.run([args.cxsql, "--data", generated, "query",
                        f"COPY (SELECT *, {note} AS note FROM tickets) TO '{csv}' STORED AS CSV"],
                       check=True, stdout=subprocess.DEVNULL)
        open(marker, "w").close()
    print(f"{csv}: {os.path.getsize(csv) / 1e6:.0f} MB", flush=True)

    try:
        import duckdb
    except ImportError:
        duckdb = None
        print("DuckDB is NOT installed (python3 -m pip install duckdb): only cxsql's times are shown.")
    if duckdb:
        con = duckdb.connect()
        if args.threads:
            con.execute(f"SET threads = {args.threads}")
        con.execute(f"CREATE VIEW tickets AS SELECT * FROM read_csv('{csv}')")

    threads = ["--threads", str(args.threads)] if args.threads else []
    serial_dir = os.path.join(args.data, "serial")
    if args.serial:
        os.makedirs(serial_dir, exist_ok=True)
        with open(os.path.join(serial_dir, "cxsql.toml"), "w") as f:
            f.write(f'[tables.tickets]\nlocation = "{csv}"\noptions = {{ parallel = false }}\n')

    print(f"{'workload':<36} {'cxsql s':>8} {'cpu %':>6} {'duckdb s':>9} {'ratio':>6}"
          + (f" {'serial s':>9}" if args.serial else ""))
    for name, (ours, theirs) in WORKLOAD.items():
        command = [args.cxsql, "--data", export, *threads, "query", ours, "--format", "csv"]
        serial = [args.cxsql, *threads, "query", ours, "--format", "csv"]
        best = {"cx": None, "dd": None, "serial": None}
        cpu = 0.0
        # Each round runs every engine once, in turn, so that all see the same machine.
        for _ in range(args.runs):
            before = children_cpu()
            start = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            took = time.perf_counter() - start
            if best["cx"] is None or took < best["cx"]:
                best["cx"] = took
                cpu = (children_cpu() - before) / took
            if duckdb:
                start = time.perf_counter()
                con.execute(theirs).fetchall()
                took = time.perf_counter() - start
                best["dd"] = took if best["dd"] is None else min(best["dd"], took)
            if args.serial:
                start = time.perf_counter()
                subprocess.run(serial, check=True, stdout=subprocess.DEVNULL, cwd=serial_dir)
                took = time.perf_counter() - start
                best["serial"] = took if best["serial"] is None else min(best["serial"], took)
        dd = f"{best['dd']:>9.3f} {best['cx'] / best['dd']:>6.2f}" if duckdb else f"{'-':>9} {'-':>6}"
        line = f"{name:<36} {best['cx']:>8.3f} {100 * cpu:>6.0f} {dd}"
        if args.serial:
            line += f" {best['serial']:>9.3f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
