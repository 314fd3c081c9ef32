#!/usr/bin/env python3
"""`cxsql --cluster` (a Ballista scheduler and executors on loopback) against the same query run locally.

Uses the data set and the KPI workload of duckdb_compare.py (default 30 million tickets). Starts
`cxsql scheduler` and `--executors` executors (`--slots` task slots each) as child processes on free loopback
ports, waits until all have registered, then for each workload item: one warm-up of each, then `--runs`
interleaved rounds of `cxsql query` locally and `cxsql --cluster ... query`, whole processes both; prints the
medians, the ratio cluster / local and whether the two results are equal (to 1e-9 relative). `SELECT 1`
measures what a cluster round trip costs by itself (plan, submit, poll, fetch).

On one machine the cluster cannot be faster than the local run (the same cores, plus shuffles through files
and Flight); the numbers are its overhead. Run it on a machine with more cores, or point `--data` at shared
storage and start executors elsewhere, to measure scaling.

    cargo build --release
    python3 benches/cluster_compare.py [--tickets 30000000] [--data /tmp/cxsql-bench] [--runs 5]
        [--executors 2] [--slots 1] [--all]
"""

import argparse
import csv
import io
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from duckdb_compare import WORKLOAD, ensure_data  # noqa: E402
from serve_compare import INTERACTIVE, peak_rss_mb  # noqa: E402


def drain(process):
    """Reads a child's stderr to the end in a thread so that it never blocks on a full pipe; its lines."""
    lines = []
    threading.Thread(target=lambda: [lines.append(line) for line in process.stderr], daemon=True).start()
    return lines


def readiness(port):
    """The body of the scheduler's `GET /readyz`, or '' when it does not answer."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := s.recv(4096):
                answer += chunk
            return answer.decode(errors="replace")
    except OSError:
        return ""


def start_cluster(cxsql, executors, slots, work):
    """A scheduler and `executors` executors; (processes, df:// URL) once all executors have registered."""
    scheduler = subprocess.Popen([cxsql, "scheduler", "--bind", "127.0.0.1:0"], stderr=subprocess.PIPE,
                                 stdout=subprocess.DEVNULL, text=True)
    line = scheduler.stderr.readline()
    port = re.search(r"df://127\.0\.0\.1:(\d+)", line)
    if not port:
        scheduler.kill()
        sys.exit(f"the scheduler did not start: {line}")
    drain(scheduler)
    port = int(port.group(1))
    processes = [scheduler]
    for i in range(executors):
        work_dir = os.path.join(work, f"executor-{i}")
        os.makedirs(work_dir)
        executor = subprocess.Popen(
            [cxsql, "executor", "--scheduler", f"127.0.0.1:{port}", "--concurrency", str(slots),
             "--work-dir", work_dir], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        drain(executor)
        processes.append(executor)
    deadline = time.monotonic() + 60
    while f"ready: {executors} executors" not in readiness(port):
        if time.monotonic() > deadline:
            stop(processes)
            sys.exit(f"{executors} executors did not register with the scheduler: {readiness(port)}")
        time.sleep(0.2)
    return processes, f"df://127.0.0.1:{port}"


def stop(processes):
    for p in processes:
        p.terminate()
    for p in processes:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()


def same(a, b):
    """Equal CSV results, numbers to 1e-9 relative, rows in any order."""
    ra, rb = sorted(csv.reader(io.StringIO(a))), sorted(csv.reader(io.StringIO(b)))
    if len(ra) != len(rb):
        return False
    for x, y in zip(ra, rb):
        if len(x) != len(y):
            return False
        for u, v in zip(x, y):
            if u == v:
                continue
            try:
                fu, fv = float(u), float(v)
            except ValueError:
                return False
            if abs(fu - fv) > 1e-9 * max(abs(fu), abs(fv), 1.0):
                return False
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=30_000_000)
    parser.add_argument("--data", default="/tmp/cxsql-bench")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--executors", type=int, default=2)
    parser.add_argument("--slots", type=int, default=1, help="task slots (--concurrency) of each executor")
    parser.add_argument("--cxsql", default="target/release/cxsql")
    parser.add_argument("--all", action="store_true", help="also the long items (rolling NPS, daily backlog, ...)")
    parser.add_argument("--only", default="", help="run only the workload items whose name contains this text")
    args = parser.parse_args()

    ensure_data(args.cxsql, args.data, args.tickets)
    work = tempfile.mkdtemp(prefix="cxsql-cluster-bench-")
    processes, url = start_cluster(args.cxsql, args.executors, args.slots, work)
    try:
        def run(sql, cluster):
            where = ["--cluster", url] if cluster else []
            out = subprocess.run([args.cxsql, "--data", args.data, *where, "query", sql, "--format", "csv"],
                                 check=True, capture_output=True, text=True)
            return out.stdout

        items = {"SELECT 1 (round trip)": "SELECT 1"}
        items.update({name: ours for name, (ours, _) in WORKLOAD.items() if name in INTERACTIVE or args.all})
        print(f"{args.executors} executors x {args.slots} slots on {os.cpu_count()} cores, {args.tickets:,} tickets")
        print(f"{'workload':<40} {'local s':>8} {'cluster s':>10} {'ratio':>6} {'equal':>6}")
        for name, sql in items.items():
            if args.only.lower() not in name.lower():
                continue
            equal = same(run(sql, False), run(sql, True))
            times = {False: [], True: []}
            for _ in range(args.runs):
                for cluster in (False, True):
                    start = time.perf_counter()
                    run(sql, cluster)
                    times[cluster].append(time.perf_counter() - start)
            local, remote = statistics.median(times[False]), statistics.median(times[True])
            print(f"{name:<40} {local:>8.3f} {remote:>10.3f} {remote / local:>6.2f} {'yes' if equal else 'NO':>6}",
                  flush=True)
        rss = ", ".join(f"{peak_rss_mb(p.pid):.0f}" for p in processes)
        print(f"peak RSS MB (scheduler, executors): {rss}")
    finally:
        stop(processes)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
