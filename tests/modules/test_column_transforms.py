"""filter_mod, select_mod, derive_mod and cast_mod: main paths in both modes, bad inputs with their messages."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import pytest

from pypeline.modules.sdk import DataError
from tests.modules.harness import MODES, ConfigRejected, check, run_module

BOTH = pytest.mark.parametrize("mode", MODES, ids=MODES)


@pytest.fixture
def people() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "name": ["ana", "Ben", "cy", None],
            "age": [17, 30, 45, 61],
            "country": ["FR", "DE", "FR", "FR"],
        }
    )


def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = (
        frame.reset_index(drop=True).astype(object).where(frame.reset_index(drop=True).notna(), None).to_dict("records")
    )
    return records


class TestFilterMod:
    @BOTH
    async def test_keeps_matching_rows_and_counts_the_others(self, people: pd.DataFrame, mode: str) -> None:
        run = await run_module(
            "filter_mod", {"condition": "age >= 18 and country == 'FR'"}, {"input": people}, mode=mode
        )
        assert run.outputs["output"]["id"].tolist() == [3, 4]
        if mode != "dask":
            assert run.globals == {"row_count": 2, "rows_dropped": 2}
        else:
            assert run.globals == {}  # lazy in dask mode (docs/dask-mode.md, rule 5)

    @BOTH
    async def test_null_never_matches(self, people: pd.DataFrame, mode: str) -> None:
        run = await run_module("filter_mod", {"condition": "name.str.len() > 2"}, {"input": people}, mode=mode)
        assert run.outputs["output"]["id"].tolist() == [1, 2]

    def test_unsafe_condition_is_rejected_at_build_time(self) -> None:
        with pytest.raises(ConfigRejected, match=re.escape("condition: '.__class__' is not allowed")):
            check("filter_mod", {"condition": "age.__class__.__init__.__globals__"})

    @BOTH
    async def test_unknown_column_names_the_columns(self, people: pd.DataFrame, mode: str) -> None:
        with pytest.raises(
            DataError,
            match=re.escape(
                "condition 'agee > 1' failed: column 'agee' is not defined (columns: id, name, age, country)"
            ),
        ):
            await run_module("filter_mod", {"condition": "agee > 1"}, {"input": people}, mode=mode)


class TestSelectMod:
    @BOTH
    async def test_keep_drop_rename(self, people: pd.DataFrame, mode: str) -> None:
        run = await run_module(
            "select_mod", {"keep": ["name", "id"], "rename": {"id": "person_id"}}, {"input": people}, mode=mode
        )
        frame = run.outputs["output"]
        assert list(frame.columns) == ["name", "person_id"]
        run = await run_module("select_mod", {"drop": ["age", "country"]}, {"input": people}, mode=mode)
        assert list(run.outputs["output"].columns) == ["id", "name"]
        assert frame["person_id"].tolist() == [1, 2, 3, 4]
        assert run.globals["columns_missing"] == 0

    @BOTH
    async def test_missing_optional_column_is_a_warning_event(self, people: pd.DataFrame, mode: str) -> None:
        run = await run_module(
            "select_mod", {"keep": ["id", "email"], "optional": ["email"]}, {"input": people}, mode=mode
        )
        assert list(run.outputs["output"].columns) == ["id"]
        assert run.events == [{"name": "missing_column", "column": "email", "filled": False}]
        assert ("warning", "missing_column", {"column": "email", "filled": False}) in run.logger.lines
        assert run.globals["columns_missing"] == 1
        assert run.stats["columns_missing"] == ["email"]

    @BOTH
    async def test_fill_missing_keeps_the_schema_stable(self, people: pd.DataFrame, mode: str) -> None:
        run = await run_module(
            "select_mod",
            {"keep": ["id", "email"], "optional": ["email"], "fill_missing": True},
            {"input": people},
            mode=mode,
        )
        frame = run.outputs["output"]
        assert list(frame.columns) == ["id", "email"]
        assert frame["email"].isna().all()

    async def test_missing_required_column_fails_with_hint(self, people: pd.DataFrame) -> None:
        with pytest.raises(
            DataError,
            match=re.escape(
                "required column(s) ['nmae'] not in the input. Did you mean 'name'? "
                "The input has: id, name, age, country "
                "(list a column under 'optional' if it may be missing)"
            ),
        ):
            await run_module("select_mod", {"rename": {"nmae": "full_name"}}, {"input": people})

    async def test_rename_onto_an_existing_column_fails(self, people: pd.DataFrame) -> None:
        with pytest.raises(DataError, match=re.escape("rename would give duplicate column(s) ['age']")):
            await run_module("select_mod", {"rename": {"id": "age"}}, {"input": people})

    @pytest.mark.parametrize(
        ("configs", "message"),
        [
            ({}, "give at least one of 'keep', 'drop' and 'rename'"),
            ({"keep": ["a", "a"]}, "'keep' names ['a'] more than once"),
            ({"keep": ["a"], "drop": ["a"]}, "columns ['a'] are both kept and dropped"),
            ({"rename": {"a": "x", "b": "x"}}, "'rename' maps several columns to ['x']"),
            ({"keep": "a"}, "config 'keep' has the wrong type: got str 'a'"),
        ],
        ids=["nothing", "keep-twice", "keep-and-drop", "rename-clash", "wrong-type"],
    )
    def test_bad_configs(self, configs: dict[str, Any], message: str) -> None:
        with pytest.raises(ConfigRejected, match=re.escape(message)):
            check("select_mod", configs)


class TestDeriveMod:
    @BOTH
    async def test_columns_in_order_and_constants(self, people: pd.DataFrame, mode: str) -> None:
        run = await run_module(
            "derive_mod",
            {
                "columns": {
                    "age_months": "age * 12",
                    "adult": "age_months >= 216",
                    "upper": "name.str.upper()",
                    "currency": "'EUR'",
                }
            },
            {"input": people},
            mode=mode,
        )
        frame = run.outputs["output"]
        assert frame["age_months"].tolist() == [204, 360, 540, 732]
        assert frame["adult"].tolist() == [False, True, True, True]
        assert frame["upper"].tolist()[:3] == ["ANA", "BEN", "CY"]
        assert frame["currency"].tolist() == ["EUR"] * 4

    @BOTH
    async def test_overwrite_is_explicit(self, people: pd.DataFrame, mode: str) -> None:
        with pytest.raises(
            DataError, match=re.escape("column 'age' already exists; set overwrite: true to replace it")
        ):
            await run_module("derive_mod", {"columns": {"age": "age + 1"}}, {"input": people}, mode=mode)
        run = await run_module(
            "derive_mod", {"columns": {"age": "age + 1"}, "overwrite": True}, {"input": people}, mode=mode
        )
        assert run.outputs["output"]["age"].tolist() == [18, 31, 46, 62]

    @BOTH
    async def test_a_mapping_is_evaluated_in_dependency_order(self, people: pd.DataFrame, mode: str) -> None:
        # the job folder sorts mapping keys, so 'a_next' (sorted first) must wait for 'z_base' it uses
        run = await run_module("derive_mod", {"columns": {"a_next": "z_base + 1", "z_base": "age * 2"}},
                               {"input": people}, mode=mode)
        assert run.outputs["output"]["a_next"].tolist() == [35, 61, 91, 123]
        assert list(run.outputs["output"].columns)[-2:] == ["z_base", "a_next"]

    @BOTH
    async def test_a_list_keeps_its_order(self, people: pd.DataFrame, mode: str) -> None:
        run = await run_module("derive_mod", {"columns": [{"z": "age + 1"}, {"a": "z * 10"}]}, {"input": people},
                               mode=mode)
        assert list(run.outputs["output"].columns)[-2:] == ["z", "a"]
        assert run.outputs["output"]["a"].tolist() == [180, 310, 460, 620]

    @pytest.mark.parametrize(
        ("columns", "message"),
        [
            ({"a": "b + 1", "b": "a + 1"}, "columns a -> b -> a use each other in a cycle"),
            ([{"a": "1", "b": "2"}], "columns[0]: expected a one-entry mapping name: text, got {'a': '1', 'b': '2'}"),
            ([{"a": "1"}, {"a": "2"}], "columns[1]: 'a' is given twice"),
        ],
        ids=["cycle", "two-entry-item", "twice"],
    )
    def test_bad_column_lists(self, columns: object, message: str) -> None:
        with pytest.raises(ConfigRejected, match=re.escape(message)):
            check("derive_mod", {"columns": columns})

    def test_bad_expression_is_a_build_error(self) -> None:
        with pytest.raises(ConfigRejected, match=re.escape("columns.x: the function 'exec' is not allowed")):
            check("derive_mod", {"columns": {"x": "exec('1')"}})
        with pytest.raises(ConfigRejected, match=re.escape("'columns' is empty")):
            check("derive_mod", {"columns": {}})


class TestCastMod:
    @pytest.fixture
    def raw(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "qty": ["1", "2", "x", None, "4.0"],
                "paid": ["yes", "no", "maybe", "1", None],
                "day": ["2024-01-01", "bad", "2024-02-03", None, "2024-05-06T10:00"],
                "price": ["1.5", "2", "3", "4", "five"],
            }
        )

    @BOTH
    async def test_fail_names_column_count_and_first_value(self, raw: pd.DataFrame, mode: str) -> None:
        with pytest.raises(
            DataError,
            match=re.escape(
                "column 'qty': 1 value(s) do not convert to int, first 'x' (row 2); "
                "column 'paid': 1 value(s) do not convert to bool, first 'maybe' (row 2) "
                "(set on_error: null or drop to keep going)"
            ),
        ):
            await run_module(
                "cast_mod", {"types": {"qty": "int", "paid": "bool"}}, {"input": raw}, mode=mode, partitions=1
            )

    @BOTH
    async def test_null_policy_counts_invalid_values(self, raw: pd.DataFrame, mode: str) -> None:
        run = await run_module(
            "cast_mod",
            {"types": {"qty": "int", "paid": "bool", "day": "date", "price": "float"}, "on_error": "null"},
            {"input": raw},
            mode=mode,
        )
        frame = run.outputs["output"].reset_index(drop=True)
        assert str(frame["qty"].dtype) == "Int64" and str(frame["paid"].dtype) == "boolean"
        assert rows(frame[["qty", "paid"]]) == [
            {"qty": 1, "paid": True},
            {"qty": 2, "paid": False},
            {"qty": None, "paid": None},
            {"qty": None, "paid": True},
            {"qty": 4, "paid": None},
        ]
        assert frame["day"].tolist()[4] == pd.Timestamp("2024-05-06")
        assert frame["price"].tolist()[:4] == [1.5, 2.0, 3.0, 4.0]
        if mode != "dask":
            assert run.globals == {"row_count": 5, "values_invalid": 4, "rows_dropped": 0}
            assert run.events == [
                {
                    "name": "invalid_values",
                    "count": 4,
                    "policy": "null",
                    "columns": {"qty": 1, "paid": 1, "day": 1, "price": 1},
                }
            ]

    @BOTH
    async def test_drop_policy_removes_rows_and_counts_them(self, raw: pd.DataFrame, mode: str) -> None:
        run = await run_module(
            "cast_mod", {"types": {"qty": "int", "price": "float"}, "on_error": "drop"}, {"input": raw}, mode=mode
        )
        assert run.outputs["output"]["qty"].tolist()[:2] == [1, 2]
        assert len(run.outputs["output"]) == 3  # rows 2 (qty 'x') and 4 (price 'five') are dropped
        if mode != "dask":
            assert run.globals["rows_dropped"] == 2 and run.stats["rows_dropped"] == 2

    async def test_int_refuses_fractions_and_formats_apply(self) -> None:
        frame = pd.DataFrame({"n": [1.0, 2.5], "d": ["31/12/2024", "01/01/2025"]})
        run = await run_module(
            "cast_mod",
            {"types": {"n": "int", "d": "datetime"}, "formats": {"d": "%d/%m/%Y"}, "on_error": "null"},
            {"input": frame},
        )
        assert run.outputs["output"]["n"].tolist()[0] == 1 and pd.isna(run.outputs["output"]["n"].tolist()[1])
        assert run.outputs["output"]["d"].tolist() == [pd.Timestamp("2024-12-31"), pd.Timestamp("2025-01-01")]

    async def test_missing_column(self, raw: pd.DataFrame) -> None:
        with pytest.raises(DataError, match=re.escape("column 'qtty' is not in the input. Did you mean 'qty'?")):
            await run_module("cast_mod", {"types": {"qtty": "int"}}, {"input": raw})

    @pytest.mark.parametrize(
        ("configs", "message"),
        [
            (
                {"types": {"a": "integer"}},
                "types.a: unknown type 'integer' (expected one of int, float, str, bool, datetime, date)",
            ),
            (
                {"types": {"a": "int"}, "formats": {"a": "%Y"}},
                "formats.a: a format needs the column to be cast to datetime or date",
            ),
            ({"types": {"a": "int"}, "on_error": "ignore"}, "config 'on_error' has the value 'ignore'"),
        ],
        ids=["unknown-type", "format-without-date", "bad-policy"],
    )
    def test_bad_configs(self, configs: dict[str, Any], message: str) -> None:
        with pytest.raises(ConfigRejected, match=re.escape(message)):
            check("cast_mod", configs)
