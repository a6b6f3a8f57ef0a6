"""``sql_source``: read a query result or a table through SQLAlchemy (SQLite, PostgreSQL, ...).

``url`` is a SQLAlchemy URL: ``sqlite:///data/ref.sqlite`` for an embedded
SQLite file, ``postgresql+psycopg://user:password@host:5432/db`` for
PostgreSQL (extra ``postgres``). It usually comes from a template
(``{{context.db_url}}``) or a secret; the module never logs it, and every
error message shows it with the password replaced by ``***``.

Give either ``query`` (bind parameters as ``:name``, values in ``params``) or
``table`` (optionally ``schema`` and ``columns``). The result is read whole
through pandas; in ``execution_mode: dask`` it is then split into partitions of
``partition_rows`` rows, so a query whose result does not fit in memory
should aggregate or page in SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from pypeline.modules.common.sql import make_engine, redact_url, sql_error
from pypeline.modules.frames import to_dask
from pypeline.modules.sdk import BaseModule, DataError, RunContext
from pypeline.modules.sdk.columns import Columns


class SqlSource(BaseModule):
    """Read from a database."""

    TYPE = "source"
    VERSION = "1.0.0"
    DESCRIPTION = "Reads a SQL query or a table through SQLAlchemy (SQLite file, PostgreSQL via psycopg)"
    CATEGORY = "Database"
    OUTPUT_PORTS = ["data"]
    GLOBALS = ["row_count"]
    PACKAGES = ["sqlalchemy", "psycopg (extra 'postgres', for PostgreSQL)"]
    CONFIG_SCHEMA = {
        "required": {
            "url": {"type": "str", "description": "SQLAlchemy URL; use a template or secret, never a literal password"},
        },
        "optional": {
            "query": {"type": "str|null", "default": None, "description": "SELECT statement (`:name` parameters)"},
            "params": {"type": "dict", "default": {}, "description": "Values of the query's `:name` parameters"},
            "table": {"type": "str|null", "default": None, "description": "Table to read (instead of a query)"},
            "schema": {"type": "str|null", "default": None, "description": "Schema of the table (PostgreSQL)"},
            "columns": {"type": "list[str]|null", "default": None, "description": "Columns of the table to read"},
            "partition_rows": {"type": "int", "default": 1_000_000, "description": "dask mode: rows per partition"},
        },
    }

    @classmethod
    def check_configs(cls, configs: Mapping[str, Any]) -> list[str]:
        has_query, has_table = bool(configs.get("query")), bool(configs.get("table"))
        if has_query == has_table:
            return ["give exactly one of 'query' and 'table'"]
        if has_query and (configs.get("columns") or configs.get("schema")):
            return ["'columns' and 'schema' go with 'table', not with 'query'"]
        return []

    @classmethod
    def output_columns(
        cls, configs: Mapping[str, Any], inputs: Mapping[str, Columns | None]
    ) -> dict[str, Columns | None]:
        names = configs.get("columns")
        return {"data": Columns.of(names) if configs.get("table") and isinstance(names, list) else None}

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = await ctx.executor.run_in_thread(self._read)
        ctx.set_global("row_count", len(frame))
        ctx.add_stat("database", redact_url(self.configs["url"]))
        if ctx.execution_mode == "dask":
            return {"data": to_dask(frame, self.configs["partition_rows"])}
        return {"data": frame}

    def _read(self) -> pd.DataFrame:
        from sqlalchemy import MetaData, Table, select, text
        from sqlalchemy.exc import NoSuchTableError

        c = self.configs
        url = c["url"]
        engine = make_engine(url, must_exist=True)
        try:
            with engine.connect() as conn:
                if c["query"]:
                    statement: Any = text(c["query"])
                    params = dict(c["params"])
                else:
                    try:
                        table = Table(c["table"], MetaData(), schema=c["schema"], autoload_with=conn)
                    except NoSuchTableError:
                        raise DataError(self._no_table_message(conn)) from None
                    wanted = c["columns"]
                    if wanted:
                        missing = [name for name in wanted if name not in table.c]
                        if missing:
                            raise DataError(
                                f"columns {missing} are not in table '{c['table']}' "
                                f"(columns: {', '.join(table.c.keys())})"
                            )
                        statement = select(*(table.c[name] for name in wanted))
                    else:
                        statement = select(table)
                    params = {}
                return pd.read_sql(statement, conn, params=params or None)
        except DataError:
            raise
        except Exception as exc:
            what = "query failed" if c["query"] else f"reading table '{c['table']}' failed"
            raise sql_error(exc, url, what) from None
        finally:
            engine.dispose()

    def _no_table_message(self, conn: Any) -> str:
        from sqlalchemy import inspect

        names = sorted(inspect(conn).get_table_names(schema=self.configs["schema"]))
        where = f" in schema '{self.configs['schema']}'" if self.configs["schema"] else ""
        return (
            f"table '{self.configs['table']}' does not exist{where} "
            f"({redact_url(self.configs['url'])}; tables: {', '.join(names) or 'none'})"
        )
