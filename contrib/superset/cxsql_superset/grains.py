"""The SQL of each Superset time grain on cxsql (DataFusion's `date_trunc`), keyed by Superset's ISO 8601
grain names. Weeks start on Monday (ISO weeks, as `date_trunc('week', ...)` truncates). `None` is "no grain".
Every expression here is run on cxsql by tests/flight/sqlalchemy_check.py (`grains`)."""

TIME_GRAIN_EXPRESSIONS = {
    None: "{col}",
    "PT1S": "date_trunc('second', {col})",
    "PT1M": "date_trunc('minute', {col})",
    "PT5M": "date_bin(INTERVAL '5 minutes', {col}, TIMESTAMP '1970-01-01 00:00:00')",
    "PT10M": "date_bin(INTERVAL '10 minutes', {col}, TIMESTAMP '1970-01-01 00:00:00')",
    "PT15M": "date_bin(INTERVAL '15 minutes', {col}, TIMESTAMP '1970-01-01 00:00:00')",
    "PT30M": "date_bin(INTERVAL '30 minutes', {col}, TIMESTAMP '1970-01-01 00:00:00')",
    "PT1H": "date_trunc('hour', {col})",
    "P1D": "date_trunc('day', {col})",
    "P1W": "date_trunc('week', {col})",
    "P1M": "date_trunc('month', {col})",
    "P3M": "date_trunc('quarter', {col})",
    "P1Y": "date_trunc('year', {col})",
}
