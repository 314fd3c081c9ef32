"""What the BI-tool checks share: the dialect URI the README gives, and the command line's answer."""

import json
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def dialect_uri(grpc, token):
    """flightsql-dbapi's SQLAlchemy URI for a server at grpc://HOST:PORT: plain gRPC (`insecure=true`), the
    token as the dialect's `token` parameter."""
    host, port = grpc.removeprefix("grpc://").rsplit(":", 1)
    return f"datafusion+flightsql://{host}:{port}?insecure=true&token={token}"


def cli(cxsql, sql):
    """The command line's rows for `sql`, as JSON objects."""
    out = subprocess.run([cxsql, "query", sql, "--format", "json"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)
