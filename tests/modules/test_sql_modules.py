"""sql_source and sql_sink against SQLite files and a real PostgreSQL server (started by the test setup).

Every write test runs on both databases (``db_url``): append, replace, truncate,
upsert (ON CONFLICT), and the rollback of a write that fails half way, after
which the table must hold exactly what it held before.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy

from pypeline.modules.common.sql import redact_url, scrub
from pypeline.modules.sdk import DataError
from tests.conftest import FlowHarness, write_csv
from tests.modules.harness import MODES, ConfigRejected, check, run_module
from tests.modules.pg_server import PgServer

BOTH = pytest.mark.parametrize("mode", MODES, ids=MODES)


def table(url: str, name: str, order: str = "id") -> list[tuple[Any, ...]]:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {name} ORDER BY {order}")]
    finally:
        engine.dispose()


def table_names(url: str) -> list[str]:
    engine = sqlalchemy.create_engine(url)
    try:
        return sqlalchemy.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def execute(url: str, *statements: str) -> None:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


PEOPLE = pd.DataFrame(
    {
        "id": [1, 2, 3],
        "name": ["ana", "ben", None],
        "score": [1.5, 2.0, 3.25],
        "seen": pd.to_datetime(["2024-01-01 10:00", None, "2024-03-01 00:00"]),
    }
)


class TestSqlSink:
    @BOTH
    async def test_append_creates_the_table_then_appends(self, db_url: str, mode: str) -> None:
        run = await run_module("sql_sink", {"url": db_url, "table": "people"}, {"input": PEOPLE}, mode=mode)
        assert run.globals == {"row_count": 3}
        assert run.stats["table"] == "people"
        await run_module("sql_sink", {"url": db_url, "table": "people"}, {"input": PEOPLE.iloc[:1]}, mode=mode)
        rows = table(db_url, "people", "id, name")
        assert len(rows) == 4
        assert rows[0][:3] == (1, "ana", 1.5) and str(rows[0][3]).startswith("2024-01-01 10:00")
        assert rows[2][3] is None and rows[3][1] is None

    @BOTH
    async def test_upsert_inserts_new_and_updates_existing_rows(self, db_url: str, mode: str) -> None:
        await run_module(
            "sql_sink",
            {"url": db_url, "table": "people", "mode": "upsert", "keys": ["id"]},
            {"input": PEOPLE},
            mode=mode,
        )
        change = pd.DataFrame(
            {
                "id": [3, 4],
                "name": ["cy", "di"],
                "score": [9.0, 4.0],
                "seen": pd.to_datetime(["2024-05-05", "2024-06-06"]),
            }
        )
        run = await run_module(
            "sql_sink",
            {"url": db_url, "table": "people", "mode": "upsert", "keys": ["id"]},
            {"input": change},
            mode=mode,
        )
        assert run.globals == {"row_count": 2}
        assert [r[:3] for r in table(db_url, "people")] == [
            (1, "ana", 1.5),
            (2, "ben", 2.0),
            (3, "cy", 9.0),
            (4, "di", 4.0),
        ]

    async def test_upsert_into_an_existing_table_with_a_composite_unique_key(self, db_url: str) -> None:
        execute(
            db_url,
            "CREATE TABLE stock (shop TEXT NOT NULL, sku TEXT NOT NULL, qty INTEGER, note TEXT, UNIQUE (shop, sku))",
            "INSERT INTO stock VALUES ('a', 'x', 1, 'keep me')",
        )
        frame = pd.DataFrame({"shop": ["a", "b"], "sku": ["x", "x"], "qty": [5, 7]})
        await run_module(
            "sql_sink", {"url": db_url, "table": "stock", "mode": "upsert", "keys": ["shop", "sku"]}, {"input": frame}
        )
        assert table(db_url, "stock", "shop") == [("a", "x", 5, "keep me"), ("b", "x", 7, None)]

    async def test_upsert_needs_a_unique_constraint_on_the_keys(self, db_url: str) -> None:
        execute(db_url, "CREATE TABLE plain (id INTEGER, v TEXT)")
        with pytest.raises(
            DataError,
            match=re.escape("table 'plain' has no primary key or unique constraint on ['id']; upsert needs one"),
        ):
            await run_module(
                "sql_sink",
                {"url": db_url, "table": "plain", "mode": "upsert", "keys": ["id"]},
                {"input": pd.DataFrame({"id": [1], "v": ["x"]})},
            )

    async def test_upsert_refuses_duplicate_keys_in_the_input(self, db_url: str) -> None:
        frame = pd.DataFrame({"id": [1, 1], "v": ["x", "y"]})
        with pytest.raises(
            DataError,
            match=re.escape(
                "the input has 2 rows with duplicate keys ['id'] (e.g. {'id': 1}); upsert needs one row per key"
            ),
        ):
            await run_module(
                "sql_sink", {"url": db_url, "table": "t", "mode": "upsert", "keys": ["id"]}, {"input": frame}
            )

    @BOTH
    async def test_replace_and_truncate(self, db_url: str, mode: str) -> None:
        execute(
            db_url,
            "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, score REAL, seen TEXT, old TEXT)",
            "INSERT INTO people (id, name, old) VALUES (99, 'zed', 'x')",
        )
        await run_module(
            "sql_sink",
            {"url": db_url, "table": "people", "mode": "truncate"},
            {"input": PEOPLE[["id", "name"]]},
            mode=mode,
        )
        assert table(db_url, "people") == [
            (1, "ana", None, None, None),
            (2, "ben", None, None, None),
            (3, None, None, None, None),
        ]
        await run_module(
            "sql_sink",
            {"url": db_url, "table": "people", "mode": "replace"},
            {"input": PEOPLE[["id", "score"]]},
            mode=mode,
        )
        assert table(db_url, "people") == [(1, 1.5), (2, 2.0), (3, 3.25)]

    # replace runs in pandas mode only: its failing value (an object the driver cannot send) cannot be staged
    # to Parquet as dask mode does, and the transaction code after staging is the same in both modes
    @pytest.mark.parametrize(("mode", "write_mode"), [
        ("pandas", "append"), ("dask", "append"), ("pandas", "replace"), ("pandas", "truncate"),
        ("dask", "truncate"), ("pandas", "upsert"), ("dask", "upsert"),
    ], ids=lambda v: str(v))
    async def test_a_failure_half_way_leaves_the_table_as_it_was(self, db_url: str, mode: str, write_mode: str) -> None:
        execute(
            db_url,
            "CREATE TABLE acct (id INTEGER PRIMARY KEY, balance INTEGER CHECK (balance >= 0))",
            "INSERT INTO acct VALUES (1, 10)",
            "INSERT INTO acct VALUES (2, 20)",
        )
        before = table(db_url, "acct")
        if write_mode == "replace":
            # the new table has no CHECK, so fail on a value the driver cannot send, after two batches went in
            frame = pd.DataFrame({"id": [5, 6, 7], "balance": [1, 2, object()]})
        else:
            frame = pd.DataFrame({"id": [5, 6, 7, 8], "balance": [1, 2, -3, 4]})  # row 3 breaks the CHECK
        configs = {"url": db_url, "table": "acct", "mode": write_mode, "batch_rows": 1}
        if write_mode == "upsert":
            configs["keys"] = ["id"]
        with pytest.raises(
            DataError,
            match=re.escape(
                "writing table 'acct' failed; the transaction was rolled back and the table is unchanged ("
            ),
        ):
            await run_module("sql_sink", configs, {"input": frame}, mode=mode)
        assert table(db_url, "acct") == before

    async def test_a_failed_append_leaves_the_table_and_the_ledger_as_they_were(self, db_url: str) -> None:
        execute(db_url, "CREATE TABLE acct (id INTEGER PRIMARY KEY, balance INTEGER CHECK (balance >= 0))")
        configs = {"url": db_url, "table": "acct", "batch_rows": 1}
        with pytest.raises(DataError, match="the transaction was rolled back"):
            await run_module("sql_sink", configs, {"input": pd.DataFrame({"id": [1, 2], "balance": [1, -2]})},
                             run_id="r1")
        assert table(db_url, "acct") == []
        assert "pypeline_ledger" not in table_names(db_url)
        # the same instance, retried with good data, writes: nothing was recorded by the failed attempt
        run = await run_module("sql_sink", configs, {"input": pd.DataFrame({"id": [1, 2], "balance": [1, 2]})},
                               run_id="r1")
        assert run.globals == {"row_count": 2} and table(db_url, "acct") == [(1, 1), (2, 2)]

    async def test_a_dask_run_leaves_no_staging_files_behind(
        self, flows: FlowHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        system_tmp = tmp_path / "system_tmp"
        system_tmp.mkdir()
        monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
        write_csv(flows.root / "data" / "people.csv", "id,name", [f"{i},n{i}" for i in range(50)])
        url = f"sqlite:///{flows.root / 'people.db'}"
        result = await flows.run(f"""
            flow: {{name: sql_staging}}
            settings: {{execution_mode: dask, spill: {{dir: spill}}}}
            modules:
              - id: read
                name: csv_source
                configs: {{required: {{file_path: data/people.csv}}, optional: {{blocksize: 200B}}}}
              - {{id: save, name: sql_sink, configs: {{required: {{url: "{url}", table: people}}}}}}
            connections:
              data: ["read.data - save.input"]
            """)
        assert result.status == "success"
        assert len(table(url, "people")) == 50
        # staged in the run's spill folder (made for it: 50 rows spill nothing), which the run removed
        assert (flows.root / "spill").is_dir() and list((flows.root / "spill").iterdir()) == []
        assert list(system_tmp.iterdir()) == []

    async def test_input_columns_must_exist_in_the_table(self, db_url: str) -> None:
        execute(db_url, "CREATE TABLE t (id INTEGER)")
        with pytest.raises(
            DataError,
            match=re.escape(
                "column(s) ['extra'] of the input are not in table 't' (table columns: id); select or rename them first"
            ),
        ):
            await run_module(
                "sql_sink", {"url": db_url, "table": "t"}, {"input": pd.DataFrame({"id": [1], "extra": [2]})}
            )

    @pytest.mark.parametrize(
        ("configs", "message"),
        [
            ({"mode": "upsert"}, "mode 'upsert' needs 'keys' (the columns that identify a row)"),
            ({"keys": ["id"]}, "'keys' is only used by mode 'upsert', not 'append'"),
            ({"mode": "merge"}, "config 'mode' has the value 'merge'"),
        ],
        ids=["upsert-without-keys", "keys-without-upsert", "bad-mode"],
    )
    def test_bad_configs(self, configs: dict[str, Any], message: str) -> None:
        with pytest.raises(ConfigRejected, match=re.escape(message)):
            check("sql_sink", {"url": "sqlite:///x.sqlite", "table": "t", **configs})


class TestAppendLedger:
    """An append is recorded with its rows, so the same module instance (a resumed run) never appends twice."""

    @BOTH
    async def test_the_same_instance_appends_once(self, db_url: str, mode: str) -> None:
        configs = {"url": db_url, "table": "people"}
        first = await run_module("sql_sink", configs, {"input": PEOPLE}, mode=mode, run_id="r1")
        again = await run_module("sql_sink", configs, {"input": PEOPLE}, mode=mode, run_id="r1")
        assert len(table(db_url, "people")) == 3
        assert first.globals == again.globals == {"row_count": 3}
        assert "already_written" not in first.stats and again.stats["already_written"] is True
        assert again.events == [
            {"name": "already_written", "table": "people", "rows": 3, "run_id": "r1", "ledger": "pypeline_ledger"}
        ]
        ledger = table(db_url, "pypeline_ledger", "write_key")
        assert [(key, target, run, rows) for key, target, run, rows, _ in ledger] == [("r1/mod", "people", "r1", 3)]

    async def test_another_run_appends_again(self, db_url: str) -> None:
        configs = {"url": db_url, "table": "people"}
        await run_module("sql_sink", configs, {"input": PEOPLE}, run_id="r1")
        await run_module("sql_sink", configs, {"input": PEOPLE}, run_id="r2")
        assert len(table(db_url, "people")) == 6
        assert [row[0] for row in table(db_url, "pypeline_ledger", "write_key")] == ["r1/mod", "r2/mod"]

    async def test_without_a_ledger_the_same_instance_appends_twice(self, db_url: str) -> None:
        configs = {"url": db_url, "table": "people", "ledger_table": None}
        for _ in range(2):
            await run_module("sql_sink", configs, {"input": PEOPLE}, run_id="r1")
        assert len(table(db_url, "people")) == 6
        assert "pypeline_ledger" not in table_names(db_url)

    @pytest.mark.parametrize("write_mode", ["replace", "truncate", "upsert"])
    async def test_modes_that_rewrite_keep_no_ledger(self, db_url: str, write_mode: str) -> None:
        configs: dict[str, Any] = {"url": db_url, "table": "people", "mode": write_mode}
        if write_mode == "upsert":
            configs["keys"] = ["id"]
        for _ in range(2):
            run = await run_module("sql_sink", configs, {"input": PEOPLE}, run_id="r1")
            assert "already_written" not in run.stats
        assert len(table(db_url, "people")) == 3
        assert "pypeline_ledger" not in table_names(db_url)

    def test_the_ledger_is_not_the_target_table(self) -> None:
        with pytest.raises(ConfigRejected, match=re.escape("'ledger_table' must not be the target table")):
            check("sql_sink", {"url": "sqlite://", "table": "t", "ledger_table": "t"})


class TestSqlSource:
    @BOTH
    async def test_table_columns_and_query_with_params(self, db_url: str, mode: str) -> None:
        await run_module("sql_sink", {"url": db_url, "table": "people"}, {"input": PEOPLE})
        run = await run_module("sql_source", {"url": db_url, "table": "people", "columns": ["name", "id"]}, mode=mode)
        assert run.outputs["data"].sort_values("id")["id"].tolist() == [1, 2, 3]
        assert list(run.outputs["data"].columns) == ["name", "id"]
        assert run.globals == {"row_count": 3}
        run = await run_module(
            "sql_source",
            {"url": db_url, "query": "SELECT id, score FROM people WHERE score > :low", "params": {"low": 1.8}},
            mode=mode,
        )
        assert run.outputs["data"].sort_values("id").to_dict("list") == {"id": [2, 3], "score": [2.0, 3.25]}

    async def test_missing_table_lists_the_tables(self, db_url: str) -> None:
        execute(db_url, "CREATE TABLE customers (id INTEGER)")
        with pytest.raises(
            DataError, match=re.escape("table 'customer' does not exist (") + ".*" + re.escape("; tables: customers)")
        ):
            await run_module("sql_source", {"url": db_url, "table": "customer"})

    async def test_bad_query(self, db_url: str) -> None:
        execute(db_url, "CREATE TABLE t (id INTEGER)")
        with pytest.raises(DataError, match=re.escape("query failed (") + ".*" + re.escape("): ") + ".*syntax error"):
            await run_module("sql_source", {"url": db_url, "query": "SELEC 1"})

    async def test_missing_sqlite_file(self, tmp_path: Any) -> None:
        path = tmp_path / "nope.sqlite"
        with pytest.raises(DataError, match=re.escape(f"SQLite file '{path}' does not exist (sqlite:///{path})")):
            await run_module("sql_source", {"url": f"sqlite:///{path}", "query": "SELECT 1"})
        assert not path.exists()

    @pytest.mark.parametrize(
        ("configs", "message"),
        [
            ({}, "give exactly one of 'query' and 'table'"),
            ({"query": "SELECT 1", "table": "t"}, "give exactly one of 'query' and 'table'"),
            ({"query": "SELECT 1", "columns": ["a"]}, "'columns' and 'schema' go with 'table', not with 'query'"),
        ],
        ids=["neither", "both", "columns-with-query"],
    )
    def test_bad_configs(self, configs: dict[str, Any], message: str) -> None:
        with pytest.raises(ConfigRejected, match=re.escape(message)):
            check("sql_source", {"url": "sqlite:///x.sqlite", **configs})


class TestPasswordsStayOut:
    def test_redaction_of_urls_and_encoded_passwords(self) -> None:
        url = "postgresql+psycopg://app:p%40ss%2Fw0rd@db.example:5432/prod"
        assert redact_url(url) == "postgresql+psycopg://app:***@db.example:5432/prod"
        text = f"failed for {url}; password p@ss/w0rd, encoded p%40ss%2Fw0rd"
        assert scrub(text, url) == (
            "failed for postgresql+psycopg://app:***@db.example:5432/prod; password ***, encoded ***"
        )

    @pytest.mark.slow
    async def test_wrong_password_error_has_no_password(self, pg_server: PgServer) -> None:
        wrong = "not-the-Secret-42"
        url = pg_server.url(password=wrong)
        with pytest.raises(DataError) as failure:
            await run_module("sql_source", {"url": url, "query": "SELECT 1"})
        message = str(failure.value)
        assert wrong not in message and "not-the-Secret" not in message
        assert f"postgresql+psycopg://pype:***@127.0.0.1:{pg_server.port}/postgres" in message
        assert 'password authentication failed for user "pype"' in message

    @pytest.mark.slow
    async def test_sink_errors_and_logs_hide_the_password(self, pg_url: str, pg_server: PgServer) -> None:
        execute(pg_url, "CREATE TABLE t (id INTEGER PRIMARY KEY)")
        with pytest.raises(DataError) as failure:
            await run_module("sql_sink", {"url": pg_url, "table": "t"}, {"input": pd.DataFrame({"id": [1, 1]})})
        message = str(failure.value)
        assert pg_server.password not in message and "p%40ss" not in message
        assert "UniqueViolation" in message and "rolled back" in message
        run = await run_module("sql_sink", {"url": pg_url, "table": "t"}, {"input": pd.DataFrame({"id": [2]})})
        assert pg_server.password not in repr(run.stats) and "p%40ss" not in repr(run.logger.lines)
        assert run.stats["database"].startswith("postgresql+psycopg://pype:***@")
