"""``sql_sink``: write a frame into a database table, all or nothing, in one transaction.

``mode``:

* ``append``: insert the rows (the table is created from the frame's columns
  if it does not exist);
* ``replace``: drop the table and create it again from the frame, then insert;
* ``truncate``: delete every row, keep the table's definition, then insert;
* ``upsert``: insert new rows and update existing ones, matched on ``keys``
  (``INSERT ... ON CONFLICT (keys) DO UPDATE`` on PostgreSQL and SQLite). The
  table needs a primary key or unique constraint on exactly those columns; a
  table the module creates gets a primary key on them. Duplicate keys in the
  input are an error (which row should win is for ``dedupe_mod`` to say).

Everything, DDL included, happens in one transaction: if any row fails (a
constraint, a type, a lost connection) the transaction is rolled back and the
table is exactly as it was before the module started; the error says so.
SQLite gets transactional DDL through :func:`pypeline.modules.common.sql.make_engine`.

``append`` writes once per module instance, also across a resume: the write
is recorded in a ledger table in the same transaction, and a resumed run that
comes back to an instance whose rows were committed writes nothing
(:mod:`pypeline.modules.common.sql_ledger`; ``ledger_table: null`` turns it
off). The other modes give the same table when they run again.

The connection URL is never logged and appears in messages only with its
password masked. In dask mode the partitions are computed once, in parallel
(together with the other sinks of the sub flow, ``ctx.compute``), into
temporary local Parquet files, which are then inserted one at a time inside
the same transaction (one connection, bounded memory).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pypeline.modules.common.columns import require_columns
from pypeline.modules.common.records import plain_records
from pypeline.modules.common.sql import make_engine, redact_url, sql_error
from pypeline.modules.common.sql_ledger import LedgerEntry, find_write, ledger_table, record_write
from pypeline.modules.kinds import kind_of
from pypeline.modules.partitioned import partition_writes
from pypeline.modules.sdk import BaseModule, DataError, RunContext
from pypeline.modules.sdk.columns import ColumnUse, name_uses

MODES = ("append", "replace", "truncate", "upsert")


class SqlSink(BaseModule):
    """Write to a database table."""

    TYPE = "sink"
    VERSION = "1.0.0"
    DESCRIPTION = "Writes to a database table: append, replace, truncate or upsert on keys, in one transaction"
    CATEGORY = "Database"
    INPUT_PORTS = ["input"]
    GLOBALS = ["row_count"]
    PACKAGES = ["sqlalchemy", "psycopg (extra 'postgres', for PostgreSQL)"]
    CONFIG_SCHEMA = {
        "required": {
            "url": {"type": "str", "description": "SQLAlchemy URL; use a template or secret, never a literal password"},
            "table": {"type": "str", "description": "Target table"},
        },
        "optional": {
            "mode": {"type": "str", "default": "append", "enum": list(MODES), "description": "How rows are written"},
            "keys": {"type": "list[str]", "default": [], "description": "upsert: the columns that identify a row"},
            "schema": {"type": "str|null", "default": None, "description": "Schema of the table (PostgreSQL)"},
            "batch_rows": {"type": "int", "default": 10_000, "description": "Rows per INSERT batch"},
            "ledger_table": {
                "type": "str|null",
                "default": "pypeline_ledger",
                "description": "append: table recording each write, so a resumed run never appends the same rows "
                "twice (null: no ledger)",
            },
        },
    }

    @classmethod
    def check_configs(cls, configs: Mapping[str, Any]) -> list[str]:
        mode, keys = configs.get("mode"), configs.get("keys") or []
        if mode == "upsert" and not keys:
            return ["mode 'upsert' needs 'keys' (the columns that identify a row)"]
        if mode != "upsert" and keys:
            return [f"'keys' is only used by mode 'upsert', not '{mode}'"]
        if configs.get("ledger_table") and configs.get("ledger_table") == configs.get("table"):
            return ["'ledger_table' must not be the target table"]
        if isinstance(configs.get("batch_rows"), int) and configs["batch_rows"] < 1:
            return ["'batch_rows' must be at least 1"]
        return []

    @classmethod
    def columns_used(cls, configs: Mapping[str, Any]) -> list[ColumnUse]:
        return name_uses("keys", configs.get("keys"))

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        require_columns(frame, self.configs["keys"])
        ledger = self._ledger()
        if ledger is not None:
            done = await ctx.executor.run_in_thread(self._find_write, ledger, ctx.output_key)
            if done is not None:
                self._report_skip(ctx, ledger, done)
                return {}
        write = _Write(ledger=ledger, key=ctx.output_key, run_id=ctx.run_id)
        if kind_of(frame).partitioned:
            with ctx.scratch_dir("sql_sink_") as scratch:
                await ctx.compute(partition_writes(frame, scratch, _parquet_part, ".parquet"))
                rows = await ctx.executor.run_in_thread(self._write_dask, frame, scratch, write)
        else:
            rows = await ctx.executor.run_in_thread(self._write_parts, frame, [frame], write)
        ctx.set_global("row_count", rows)
        ctx.add_stat("database", redact_url(self.configs["url"]))
        ctx.add_stat("table", self.configs["table"])
        return {}

    def _ledger(self) -> Any:
        """The ledger table when this write is recorded in one (appends only), else ``None``."""
        c = self.configs
        if c["mode"] != "append" or not c["ledger_table"]:
            return None
        return ledger_table(c["ledger_table"], c["schema"])

    def _find_write(self, ledger: Any, key: str) -> LedgerEntry | None:
        url = self.configs["url"]
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                return find_write(conn, ledger, key)
        except Exception as exc:
            raise sql_error(exc, url, f"reading the write ledger '{ledger.name}' failed") from None
        finally:
            engine.dispose()

    def _report_skip(self, ctx: RunContext, ledger: Any, done: LedgerEntry) -> None:
        """A resumed run met an instance whose append had committed: say so, write nothing."""
        table = self.configs["table"]
        ctx.set_global("row_count", done.rows)
        ctx.add_stat("database", redact_url(self.configs["url"]))
        ctx.add_stat("table", table)
        ctx.add_stat("already_written", True)
        ctx.emit_event("already_written", table=table, rows=done.rows, run_id=done.run_id, ledger=ledger.name)
        ctx.logger.warning(
            "sql_append_already_written",
            message=f"{done.rows} rows were appended to '{table}' by run {done.run_id} at {done.written_at} "
            f"(ledger '{ledger.name}'); not written again",
        )

    def _write_dask(self, frame: Any, folder: Path, write: _Write) -> int:
        """Stream the partitions, computed once (in parallel, with the other sinks of the sub flow) into
        Parquet files in ``folder``, into the one transaction: the database sees one connection, memory
        holds one partition at a time."""
        return self._write_parts(frame, (pd.read_parquet(f) for f in sorted(folder.iterdir())), write)

    def _write_parts(self, frame: Any, parts: Iterable[pd.DataFrame], write: _Write) -> int:
        c = self.configs
        url = c["url"]
        engine = make_engine(url)
        target = f"{c['schema']}.{c['table']}" if c["schema"] else c["table"]
        try:
            with engine.begin() as conn:
                table = self._prepare_table(conn, frame)
                statement = self._statement(engine, table, [str(col) for col in frame.columns])
                rows = 0
                for part in parts:
                    if c["mode"] == "upsert":
                        _check_unique(part, c["keys"])
                    records = plain_records(part)
                    for start in range(0, len(records), c["batch_rows"]):
                        batch = records[start : start + c["batch_rows"]]
                        conn.execute(statement, batch)
                    rows += len(records)
                if write.ledger is not None:
                    record_write(conn, write.ledger, write.key, target=target, run_id=write.run_id, rows=rows)
                return rows
        except DataError:
            raise
        except Exception as exc:
            raise sql_error(
                exc, url, f"writing table '{target}' failed; the transaction was rolled back and the table is unchanged"
            ) from None
        finally:
            engine.dispose()

    def _prepare_table(self, conn: Any, frame: Any) -> Any:
        from sqlalchemy import MetaData, Table, inspect

        c = self.configs
        exists = inspect(conn).has_table(c["table"], schema=c["schema"])
        if exists and c["mode"] != "replace":
            table = Table(c["table"], MetaData(), schema=c["schema"], autoload_with=conn)
            extra = [str(col) for col in frame.columns if str(col) not in table.c]
            if extra:
                raise DataError(
                    f"column(s) {extra} of the input are not in table '{c['table']}' "
                    f"(table columns: {', '.join(table.c.keys())}); select or rename them first"
                )
            if c["mode"] == "truncate":
                conn.execute(table.delete())
            if c["mode"] == "upsert":
                _check_conflict_target(conn, table, c["keys"])
            return table
        if exists:
            Table(c["table"], MetaData(), schema=c["schema"], autoload_with=conn).drop(conn)
        table = _table_for(frame, c["table"], c["schema"], c["keys"] if c["mode"] == "upsert" else [])
        table.create(conn)
        return table

    def _statement(self, engine: Any, table: Any, columns: list[str]) -> Any:
        c = self.configs
        if c["mode"] != "upsert":
            return table.insert()
        dialect = engine.dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
        else:
            raise DataError(f"mode 'upsert' supports PostgreSQL and SQLite, not {dialect}")
        statement = insert(table)
        updates = {col: statement.excluded[col] for col in columns if col not in c["keys"]}
        if not updates:
            return statement.on_conflict_do_nothing(index_elements=list(c["keys"]))
        return statement.on_conflict_do_update(index_elements=list(c["keys"]), set_=updates)


@dataclass(frozen=True, slots=True)
class _Write:
    """What a write records in the ledger (``ledger`` is ``None`` when it records nothing)."""

    ledger: Any
    key: str
    run_id: str


def _check_unique(part: pd.DataFrame, keys: list[str]) -> None:
    duplicated = part[part.duplicated(subset=keys, keep=False)]
    if len(duplicated):
        example = duplicated.iloc[0][keys].to_dict()
        raise DataError(
            f"the input has {len(duplicated)} rows with duplicate keys {keys} (e.g. {example}); "
            "upsert needs one row per key: dedupe first with dedupe_mod"
        )


def _check_conflict_target(conn: Any, table: Any, keys: list[str]) -> None:
    from sqlalchemy import inspect

    inspector = inspect(conn)
    wanted = set(keys)
    candidates = [set(inspector.get_pk_constraint(table.name, schema=table.schema).get("constrained_columns") or [])]
    candidates += [set(u["column_names"]) for u in inspector.get_unique_constraints(table.name, schema=table.schema)]
    candidates += [
        set(i["column_names"]) for i in inspector.get_indexes(table.name, schema=table.schema) if i["unique"]
    ]
    if wanted not in candidates:
        raise DataError(
            f"table '{table.name}' has no primary key or unique constraint on {keys}; "
            "upsert needs one (ALTER TABLE ... ADD UNIQUE (...)) to find existing rows"
        )


def _table_for(frame: Any, name: str, schema: str | None, keys: list[str]) -> Any:
    from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, Table

    columns = []
    sample = frame._meta if hasattr(frame, "_meta") and not isinstance(frame, pd.DataFrame) else frame
    for column in frame.columns:
        columns.append(Column(str(column), _sql_type(sample[column]), nullable=str(column) not in keys))
    constraints = [PrimaryKeyConstraint(*keys)] if keys else []
    return Table(name, MetaData(), *columns, *constraints, schema=schema)


def _sql_type(series: pd.Series) -> Any:
    from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, Interval, Text

    dtype = series.dtype
    api = pd.api.types
    if api.is_bool_dtype(dtype):
        return Boolean()
    if api.is_integer_dtype(dtype):
        return BigInteger()
    if api.is_float_dtype(dtype):
        return Float()
    if api.is_datetime64_any_dtype(dtype):
        return DateTime(timezone=getattr(dtype, "tz", None) is not None)
    if api.is_timedelta64_dtype(dtype):
        return Interval()
    if pd.api.types.is_object_dtype(dtype):
        present = series.dropna()
        if len(present) and isinstance(present.iloc[0], (dict, list)):
            return JSON()
    return Text()


def _parquet_part(part: pd.DataFrame, path: Path, _index: int) -> None:
    part.to_parquet(path, index=False)
