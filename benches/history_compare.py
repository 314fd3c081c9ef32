#!/usr/bin/env python3
"""Ticket histories: cxsql's history functions against DuckDB's hand-written window SQL on the same files.

Generates the data set once (`cxsql gen`, default 12 million tickets: about 105 million field changes of which
66 million status changes, and 69 million messages, one Snappy Parquet file per table, the history files
sorted by (ticket_id, at) and declaring it). Then times three KPIs, each as a whole process, cxsql and DuckDB
(PyPI `duckdb`, run in a child process of its own so that its peak memory is its own) interleaved, and reports
the median wall time and the largest peak RSS of each:

- time in status per channel: average hours new, open, pending, hold per ticket (cxsql `status_durations`;
  DuckDB `lead(at) OVER (PARTITION BY ticket_id ORDER BY at, <tie order>)` and a sum per status);
- agent-work-time SLA breach rate per channel and priority against sla_policies (cxsql `status_seconds` of
  new+open against the policy's resolution target; DuckDB the same sum from `lead()`);
- next reply time p90 over every customer wait (cxsql `reply_waits`; DuckDB a running count of agent replies
  that cuts each ticket's messages into waits).

Both sides compute the same numbers (checked before timing: every row, to 1e-9 relative). The goal of issue 31:
cxsql / DuckDB <= 0.5 and cxsql's peak RSS <= DuckDB's; and each cxsql query also runs under
`--memory-limit 2G` (reported: time, peak RSS, and that it did not fail).

    cargo build --release
    python3 -m pip install duckdb
    python3 benches/history_compare.py [--tickets 12000000] [--runs 3] [--only reply]
"""

import argparse
import csv
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time

# name: the stem of the two queries in benches/history/: STEM.sql (cxsql) and STEM.duckdb.sql (DuckDB), which
# return the same columns in the same order. DuckDB's take each status event to last until the ticket's next
# one (`lead(at)`, ties in cxsql's order), and cut each ticket's messages into waits by a running count of
# agent replies. The cxsql ones are also run through `cxsql serve` and a cluster by the tests.
WORKLOAD = {
    "time in status per channel": "time_in_status",
    "agent-work-time SLA breach rate": "sla_breach_rate",
    "next reply time p90": "next_reply_p90",
}
QUERIES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "history")


def load(stem, engine):
    """A query of benches/history/, without its comment lines."""
    path = os.path.join(QUERIES, f"{stem}.sql" if engine == "cxsql" else f"{stem}.duckdb.sql")
    with open(path) as f:
        return "".join(line for line in f if not line.startswith("--"))


DUCKDB_CHILD = """
import csv, sys, duckdb
data, threads, sql = sys.argv[1], sys.argv[2], sys.stdin.read()
con = duckdb.connect()
con.execute(f"SET threads = {threads}")
con.execute("SET enable_progress_bar = false")
for t in ("tickets", "ticket_events", "messages"):
    con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{data}/{t}.parquet')")
con.execute(f"CREATE VIEW sla_policies AS SELECT * FROM read_csv('{data}/sla_policies.csv')")
csv.writer(sys.stdout).writerows(con.execute(sql).fetchall())
"""


def run(command, stdin=None):
    """Runs `command` with `stdin`; returns (seconds, peak RSS in MB, stdout), or exits with its stderr when it
    fails. The child is reaped with wait4 for its own peak RSS (ru_maxrss)."""
    with tempfile.TemporaryFile("w+") as i, tempfile.TemporaryFile("w+") as o, tempfile.TemporaryFile("w+") as e:
        i.write(stdin or "")
        i.seek(0)
        start = time.perf_counter()
        child = subprocess.Popen(command, stdin=i, stdout=o, stderr=e)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        o.seek(0)
        e.seek(0)
        if child.returncode != 0:
            sys.exit(f"{command[0]} failed ({child.returncode}):\n{e.read()}")
        return seconds, usage.ru_maxrss / 1024, o.read()


def rows(text):
    return [r for r in csv.reader(io.StringIO(text)) if r]


def same(a, b):
    """Whether two CSV results are equal: text exactly, numbers to 1e-9 relative."""
    if len(a) != len(b):
        return False
    for ra, rb in zip(a, b):
        if len(ra) != len(rb):
            return False
        for x, y in zip(ra, rb):
            try:
                fx, fy = float(x), float(y)
                if abs(fx - fy) > 1e-9 * max(1.0, abs(fx), abs(fy)):
                    return False
            except ValueError:
                if x != y:
                    return False
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=12_000_000)
    parser.add_argument("--data", default="/tmp/cxsql-history")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--cxsql", default="target/release/cxsql")
    parser.add_argument("--only", default="", help="run only the items whose name contains this text")
    args = parser.parse_args()
    cxsql = os.path.abspath(args.cxsql)
    if not os.path.exists(cxsql):
        sys.exit(f"{cxsql} not found: run `cargo build --release` first")
    try:
        import duckdb  # noqa: F401
    except ImportError:
        sys.exit("DuckDB is not installed: python3 -m pip install duckdb")
    marker = os.path.join(args.data, f".tickets-{args.tickets}")
    if not os.path.exists(marker):
        print(f"generating {args.tickets:,} tickets with their history into {args.data} ...", flush=True)
        subprocess.run([cxsql, "gen", "--out", args.data, "--tickets", str(args.tickets), "--force"], check=True,
                       stdout=subprocess.DEVNULL)
        open(marker, "w").close()
    _, _, sizes = run([cxsql, "--data", args.data, "query", "--format", "csv",
                       "SELECT (SELECT count(*) FROM ticket_events) AS e, (SELECT count(*) FROM ticket_events"
                       " WHERE field = 'status') AS s, (SELECT count(*) FROM messages) AS m"])
    events, status, messages = (int(x) for x in rows(sizes)[1])
    print(f"{args.tickets:,} tickets: {events:,} field changes ({status:,} status), {messages:,} messages; "
          f"{args.threads} threads; median of {args.runs} interleaved runs after one warm-up round")
    print(f"{'KPI':<34} {'cxsql s':>8} {'DuckDB s':>9} {'ratio':>6} {'cxsql MB':>9} {'DuckDB MB':>10}"
          f" {'2G: s':>7} {'2G: MB':>7}")
    for name, stem in WORKLOAD.items():
        if args.only.lower() not in name.lower():
            continue
        ours, theirs = load(stem, "cxsql"), load(stem, "duckdb")
        ours_cmd = [cxsql, "--data", args.data, "--threads", str(args.threads), "query", "--format", "csv", ours]
        theirs_cmd = [sys.executable, "-c", DUCKDB_CHILD, args.data, str(args.threads)]
        # The warm-up round also checks that both compute the same numbers.
        _, _, a = run(ours_cmd)
        _, _, b = run(theirs_cmd, theirs)
        if not same(rows(a)[1:], rows(b)):
            sys.exit(f"{name}: results differ\ncxsql:\n{a}\nDuckDB:\n{b}")
        times, peaks = ([], []), ([], [])
        for _ in range(args.runs):
            for i, (cmd, stdin) in enumerate([(ours_cmd, None), (theirs_cmd, theirs)]):
                seconds, rss, _ = run(cmd, stdin)
                times[i].append(seconds)
                peaks[i].append(rss)
        limited = [cxsql, "--data", args.data, "--threads", str(args.threads), "--memory-limit", "2G", "query",
                   "--format", "csv", ours]
        t2, rss2, c = run(limited)
        if not same(rows(c), rows(a)):
            sys.exit(f"{name}: a different result under --memory-limit 2G")
        cx, dd = statistics.median(times[0]), statistics.median(times[1])
        print(f"{name:<34} {cx:>8.2f} {dd:>9.2f} {cx / dd:>6.2f} {max(peaks[0]):>9.0f} {max(peaks[1]):>10.0f}"
              f" {t2:>7.2f} {rss2:>7.0f}", flush=True)


if __name__ == "__main__":
    main()
