"""Apache Superset support for cxsql: an engine spec for `cxsql serve` reached through flightsql-dbapi's
`datafusion+flightsql://` SQLAlchemy dialect. Installing this package registers it with Superset through the
`superset.db_engine_specs` entry point; `cxsql_superset.grains` holds the time grains with no Superset import,
so that cxsql's tests can run each grain's SQL without Superset installed."""
