"""The write ledger: how ``sql_sink`` appends a module instance's rows once, even across a resume.

A resumed run re-runs every sub flow instance whose checkpoint record was not
written, and a kill can land between a sink's commit and that record. File
sinks replace their output, so writing again is harmless; an append to a table
is not: the rows would be there twice.

So an append records itself, in the same transaction as its rows, in a small
table (``pypeline_ledger`` by default, next to the target table): one row per
write, keyed by ``RunContext.output_key`` (``job/first-run-of-the-resume-chain/
node_id``, the same in the run and every run that resumes it). Before writing,
the sink looks the key up; when it is there, the rows were committed and the
sink writes nothing. The key is the ledger's primary key, so two writers racing
on one key cannot both commit.

A new run (not a resume) has a new key and appends again, as it should.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

KEY_LENGTH = 512


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """A recorded write."""

    run_id: str
    rows: int
    written_at: str


def stored_key(key: str) -> str:
    """``key`` as the ledger stores it: itself, or a SHA-256 digest when longer than :data:`KEY_LENGTH`."""
    return key if len(key) <= KEY_LENGTH else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def ledger_table(name: str, schema: str | None) -> Any:
    """The ledger's SQLAlchemy table (created on first use by :func:`record_write`)."""
    from sqlalchemy import BigInteger, Column, MetaData, String, Table, Text

    return Table(
        name,
        MetaData(),
        Column("write_key", String(KEY_LENGTH), primary_key=True),
        Column("target_table", Text(), nullable=False),
        Column("run_id", Text(), nullable=False),
        Column("rows", BigInteger(), nullable=False),
        Column("written_at", Text(), nullable=False),
        schema=schema,
    )


def find_write(conn: Any, table: Any, key: str) -> LedgerEntry | None:
    """The ledger's entry for ``key``, or ``None`` (also when the ledger table does not exist yet)."""
    from sqlalchemy import inspect, select

    if not inspect(conn).has_table(table.name, schema=table.schema):
        return None
    row = conn.execute(
        select(table.c.run_id, table.c.rows, table.c.written_at).where(table.c.write_key == stored_key(key))
    ).first()
    return None if row is None else LedgerEntry(run_id=str(row[0]), rows=int(row[1]), written_at=str(row[2]))


def record_write(conn: Any, table: Any, key: str, *, target: str, run_id: str, rows: int) -> None:
    """Add ``key`` to the ledger inside the caller's transaction (creating the table when missing)."""
    table.create(conn, checkfirst=True)
    written_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    conn.execute(
        table.insert(), [{"write_key": stored_key(key), "target_table": target, "run_id": run_id, "rows": rows,
                          "written_at": written_at}]
    )
