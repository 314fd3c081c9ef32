"""The Superset engine spec for cxsql. Superset picks it for `datafusion+flightsql://` URIs (flightsql-dbapi's
dialect: backend `datafusion`, driver `flightsql`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

# flightsql-dbapi registers its `datafusion+flightsql` dialect when this module is imported (its entry point
# names only `datafusion`): Superset imports the engine specs before it opens a database, so a database saved
# with the README's URI opens after a restart too.
import flightsql.sqlalchemy  # noqa: F401
from sqlalchemy import types
from superset.constants import TimeGrain
from superset.db_engine_specs.base import BaseEngineSpec

from cxsql_superset.grains import TIME_GRAIN_EXPRESSIONS


class CxsqlEngineSpec(BaseEngineSpec):
    """cxsql serve: DataFusion SQL with the customer-service KPI functions, over Arrow Flight SQL."""

    engine = "datafusion"
    engine_name = "cxsql"
    default_driver = "flightsql"
    sqlalchemy_uri_placeholder = "datafusion+flightsql://HOST:PORT?insecure=true&token=TOKEN"
    disable_ssh_tunneling = True
    allows_joins = True
    allows_subqueries = True
    allows_alias_in_select = True
    allows_alias_in_orderby = True

    _time_grain_expressions = {
        None if grain is None else TimeGrain(grain): sql
        for grain, sql in TIME_GRAIN_EXPRESSIONS.items()
    }

    @classmethod
    def epoch_to_dttm(cls) -> str:
        return "to_timestamp({col})"

    @classmethod
    def epoch_ms_to_dttm(cls) -> str:
        return "to_timestamp_millis({col})"

    @classmethod
    def convert_dttm(
        cls, target_type: str, dttm: datetime, db_extra: dict[str, Any] | None = None
    ) -> str | None:
        sqla_type = cls.get_sqla_column_type(target_type)
        if isinstance(sqla_type, types.Date) and not isinstance(sqla_type, types.DateTime):
            return f"DATE '{dttm.date().isoformat()}'"
        if isinstance(sqla_type, (types.DateTime, types.TIMESTAMP)):
            return f"""TIMESTAMP '{dttm.isoformat(sep=" ", timespec="microseconds")}'"""
        return None

    @classmethod
    def get_function_names(cls, database: Any) -> list[str]:
        """Every function the server knows (DataFusion's and cxsql's KPIs), for SQL Lab's autocomplete."""
        with database.get_sqla_engine() as engine:
            with engine.connect() as conn:
                rows = conn.exec_driver_sql(
                    "SELECT DISTINCT routine_name FROM information_schema.routines ORDER BY 1"
                ).fetchall()
        return [row[0] for row in rows]
