"""join_mod, dedupe_mod, aggregate_mod and union_mod on small real frames, in both modes."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import pytest

from pypeline.modules.sdk import DataError
from tests.modules.harness import MODES, ConfigRejected, check, run_module

BOTH = pytest.mark.parametrize("mode", MODES, ids=MODES)


def records(frame: pd.DataFrame, by: list[str]) -> list[dict[str, Any]]:
    """Rows as dicts (nulls as None) in a stable order, whatever the mode produced."""
    ordered = frame.sort_values(by, na_position="last").reset_index(drop=True)
    rows: list[dict[str, Any]] = ordered.astype(object).where(ordered.notna(), None).to_dict("records")
    return rows


@pytest.fixture
def orders() -> pd.DataFrame:
    return pd.DataFrame({"order": [1, 2, 3, 4], "cust": [10, 20, 30, None], "amount": [5.0, 7.0, 9.0, 1.0]})


@pytest.fixture
def customers() -> pd.DataFrame:
    return pd.DataFrame({"cust": [10.0, 30.0, 40.0], "name": ["ana", "cy", "di"], "amount": [100, 300, 400]})


class TestJoinMod:
    @BOTH
    @pytest.mark.parametrize(
        ("how", "expected_orders", "expected_names"),
        [
            ("inner", [1, 3], ["ana", "cy"]),
            ("left", [1, 2, 3, 4], ["ana", None, "cy", None]),
            ("right", [1, 3, None], ["ana", "cy", "di"]),
            ("outer", [1, 2, 3, 4, None], ["ana", None, "cy", None, "di"]),
        ],
        ids=["inner", "left", "right", "outer"],
    )
    async def test_join_types(
        self,
        orders: pd.DataFrame,
        customers: pd.DataFrame,
        mode: str,
        how: str,
        expected_orders: list[Any],
        expected_names: list[Any],
    ) -> None:
        run = await run_module(
            "join_mod", {"keys": ["cust"], "how": how}, {"left": orders, "right": customers}, mode=mode
        )
        got = records(run.outputs["output"], ["order", "name"])
        assert [r["order"] for r in got] == expected_orders
        assert [r["name"] for r in got] == expected_names
        assert {"amount_left", "amount_right"} <= set(run.outputs["output"].columns)
        unmatched = records(run.outputs["unmatched"], ["order"])
        assert [r["order"] for r in unmatched] == [2, 4]  # cust 20 has no match, a null key never matches
        assert list(run.outputs["unmatched"].columns) == ["order", "cust", "amount"]
        if mode != "dask":
            assert run.globals["rows_unmatched"] == 2 and run.globals["rows_unmatched_right"] == 1
            assert run.globals["row_count"] == len(expected_orders)
            assert run.stats == {"rows_unmatched": 2, "rows_unmatched_right": 1}

    @BOTH
    async def test_anti_join_keeps_left_rows_without_match(
        self, orders: pd.DataFrame, customers: pd.DataFrame, mode: str
    ) -> None:
        run = await run_module(
            "join_mod", {"keys": ["cust"], "how": "anti"}, {"left": orders, "right": customers}, mode=mode
        )
        assert [r["order"] for r in records(run.outputs["output"], ["order"])] == [2, 4]
        assert list(run.outputs["output"].columns) == ["order", "cust", "amount"]

    @BOTH
    async def test_rename_policy_and_different_key_names(
        self, orders: pd.DataFrame, customers: pd.DataFrame, mode: str
    ) -> None:
        right = customers.rename(columns={"cust": "id"})
        run = await run_module(
            "join_mod",
            {
                "left_keys": ["cust"],
                "right_keys": ["id"],
                "on_collision": "rename",
                "rename_right": {"amount": "credit"},
            },
            {"left": orders, "right": right},
            mode=mode,
        )
        got = records(run.outputs["output"], ["order"])
        assert got[0] == {"order": 1, "cust": 10.0, "amount": 5.0, "id": 10.0, "name": "ana", "credit": 100}

    async def test_rename_policy_fails_on_unlisted_collision(
        self, orders: pd.DataFrame, customers: pd.DataFrame
    ) -> None:
        with pytest.raises(
            DataError,
            match=re.escape(
                "columns ['amount'] are on both sides; add them to 'rename_right' (or use on_collision: suffix)"
            ),
        ):
            await run_module(
                "join_mod", {"keys": ["cust"], "on_collision": "rename"}, {"left": orders, "right": customers}
            )

    @BOTH
    async def test_number_against_text_key_is_an_error(
        self, orders: pd.DataFrame, customers: pd.DataFrame, mode: str
    ) -> None:
        with pytest.raises(
            DataError,
            match=re.escape("key 'cust' is float64 on the left but 'cust' is ")
            + "(str|string)"
            + re.escape(" on the right; cast one side with cast_mod"),
        ):
            await run_module(
                "join_mod", {"keys": ["cust"]}, {"left": orders, "right": customers.astype({"cust": "str"})}, mode=mode
            )

    @BOTH
    async def test_validate_many_to_one_rejects_duplicate_reference_keys(
        self, orders: pd.DataFrame, customers: pd.DataFrame, mode: str
    ) -> None:
        doubled = pd.concat([customers, customers.iloc[:1]], ignore_index=True)
        with pytest.raises(
            DataError,
            match=re.escape(
                "validate many_to_one: the right input has 1 duplicate key(s) on ['cust'] "
                "(dedupe it first with dedupe_mod, or relax 'validate')"
            ),
        ):
            await run_module(
                "join_mod", {"keys": ["cust"], "validate": "many_to_one"}, {"left": orders, "right": doubled}, mode=mode
            )

    async def test_missing_key_column(self, orders: pd.DataFrame, customers: pd.DataFrame) -> None:
        with pytest.raises(DataError, match=re.escape("column 'customer' is not in the left input.")):
            await run_module("join_mod", {"keys": ["customer"]}, {"left": orders, "right": customers})

    @pytest.mark.parametrize(
        ("configs", "message"),
        [
            ({}, "give 'keys' (or 'left_keys' and 'right_keys')"),
            ({"keys": ["a"], "left_keys": ["a"]}, "give either 'keys' or 'left_keys' + 'right_keys', not both"),
            ({"left_keys": ["a", "b"], "right_keys": ["a"]}, "'left_keys' has 2 columns but 'right_keys' has 1"),
            ({"keys": ["a"], "suffixes": ["_x", "_x"]}, "'suffixes' must be two different strings"),
            ({"keys": ["a"], "rename_right": {"b": "c"}}, "'rename_right' needs on_collision: rename"),
            ({"keys": ["a"], "how": "cross"}, "config 'how' has the value 'cross'"),
        ],
        ids=["no-keys", "both-key-forms", "key-count", "same-suffixes", "rename-without-policy", "bad-how"],
    )
    def test_bad_configs(self, configs: dict[str, Any], message: str) -> None:
        with pytest.raises(ConfigRejected, match=re.escape(message)):
            check("join_mod", configs)


class TestDedupeMod:
    @pytest.fixture
    def events(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "key": ["a", "b", "a", "c", "b", "a"],
                "version": [1, 5, 3, None, 2, 2],
                "email": [None, "b@x", "a@x", "c@x", None, "a2@x"],
            }
        )

    @BOTH
    @pytest.mark.parametrize(
        ("winner", "expected"),
        [
            ("first", {"a": (1, None), "b": (5, "b@x"), "c": (None, "c@x")}),
            ("last", {"a": (2, "a2@x"), "b": (2, None), "c": (None, "c@x")}),
            ("latest", {"a": (3, "a@x"), "b": (5, "b@x"), "c": (None, "c@x")}),
            ("earliest", {"a": (1, None), "b": (2, None), "c": (None, "c@x")}),
            ("max", {"a": (3, "a@x"), "b": (5, "b@x"), "c": (None, "c@x")}),
            ("first_non_null", {"a": (1, "a@x"), "b": (5, "b@x"), "c": (None, "c@x")}),
        ],
        ids=["first", "last", "latest", "earliest", "max", "first-non-null"],
    )
    async def test_winners(self, events: pd.DataFrame, mode: str, winner: str, expected: dict[str, Any]) -> None:
        configs = {"keys": ["key"], "winner": winner}
        if winner in ("latest", "earliest", "max"):
            configs["order_by"] = "version"
        run = await run_module("dedupe_mod", configs, {"input": events}, mode=mode)
        got = {r["key"]: (r["version"], r["email"]) for r in records(run.outputs["output"], ["key"])}
        assert got == expected
        if mode != "dask":  # the winning rows in input order (first_non_null: each key's first row)
            assert run.globals == {"row_count": 3, "rows_dropped": 3}
            in_input_order = {"first": "abc", "last": "cba", "latest": "bac", "earliest": "acb", "max": "bac",
                              "first_non_null": "abc"}
            assert run.outputs["output"]["key"].tolist() == list(in_input_order[winner])

    def test_ordered_winners_need_order_by(self) -> None:
        with pytest.raises(ConfigRejected, match=re.escape("winner 'latest' needs 'order_by' (the column to compare)")):
            check("dedupe_mod", {"keys": ["k"], "winner": "latest"})
        with pytest.raises(ConfigRejected, match=re.escape("'order_by' is only used by the winners latest, earliest")):
            check("dedupe_mod", {"keys": ["k"], "order_by": "v"})

    async def test_missing_order_column(self, events: pd.DataFrame) -> None:
        with pytest.raises(DataError, match=re.escape("column 'ts' is not in the input.")):
            await run_module("dedupe_mod", {"keys": ["key"], "winner": "latest", "order_by": "ts"}, {"input": events})


class TestAggregateMod:
    @pytest.fixture
    def sales(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "country": ["FR", "DE", "FR", None, "DE", "FR"],
                "customer": [1, 2, 1, 3, 4, 5],
                "amount": [10.0, 20.0, 30.0, 5.0, None, 60.0],
            }
        )

    @BOTH
    async def test_grouped_named_aggregations(self, sales: pd.DataFrame, mode: str) -> None:
        run = await run_module(
            "aggregate_mod",
            {
                "group_by": ["country"],
                "aggregations": {
                    "orders": "count(*)",
                    "paid": "count(amount)",
                    "revenue": "sum(amount)",
                    "customers": "nunique(customer)",
                    "median": "median(amount)",
                    "first_amount": "first(amount)",
                },
            },
            {"input": sales},
            mode=mode,
        )
        frame = run.outputs["output"].reset_index(drop=True)
        assert list(frame.columns) == ["country", "orders", "paid", "revenue", "customers", "median", "first_amount"]
        assert records(frame, ["country"]) == [
            {
                "country": "DE",
                "orders": 2,
                "paid": 1,
                "revenue": 20.0,
                "customers": 2,
                "median": 20.0,
                "first_amount": 20.0,
            },
            {
                "country": "FR",
                "orders": 3,
                "paid": 3,
                "revenue": 100.0,
                "customers": 2,
                "median": 30.0,
                "first_amount": 10.0,
            },
            {
                "country": None,
                "orders": 1,
                "paid": 1,
                "revenue": 5.0,
                "customers": 1,
                "median": 5.0,
                "first_amount": 5.0,
            },
        ]
        if mode != "dask":
            assert frame["country"].tolist()[:2] == ["DE", "FR"]  # sorted by the group keys
            assert run.globals == {"row_count": 3, "groups": 3}

    @BOTH
    async def test_whole_input_is_one_group(self, sales: pd.DataFrame, mode: str) -> None:
        run = await run_module(
            "aggregate_mod",
            {
                "aggregations": {
                    "n": "count(*)",
                    "total": "sum(amount)",
                    "top": "max(amount)",
                    "last": "last(customer)",
                }
            },
            {"input": sales},
            mode=mode,
        )
        assert records(run.outputs["output"], ["n"]) == [{"n": 6, "total": 125.0, "top": 60.0, "last": 5}]

    async def test_a_list_keeps_the_column_order(self, sales: pd.DataFrame) -> None:
        run = await run_module("aggregate_mod", {"group_by": ["country"],
                                                 "aggregations": [{"z": "sum(amount)"}, {"a": "count(*)"}]},
                               {"input": sales})
        assert list(run.outputs["output"].columns) == ["country", "z", "a"]

    @pytest.mark.parametrize(
        ("spec", "message"),
        [
            ("total(amount)", "aggregations.x: 'total(amount)': unknown function 'total'"),
            ("sum amount", "aggregations.x: 'sum amount' is not 'function(column)'"),
            ("sum(*)", "aggregations.x: 'sum(*)': only count(*) takes '*'"),
        ],
        ids=["unknown-function", "malformed", "star"],
    )
    def test_bad_specs_fail_the_build(self, spec: str, message: str) -> None:
        with pytest.raises(ConfigRejected, match=re.escape(message)):
            check("aggregate_mod", {"aggregations": {"x": spec}})

    async def test_summing_text_is_a_clear_error(self) -> None:
        frame = pd.DataFrame({"g": [1, 1], "t": ["a", None]})
        with pytest.raises(DataError, match=re.escape("aggregation failed:")):
            await run_module("aggregate_mod", {"group_by": ["g"], "aggregations": {"m": "mean(t)"}}, {"input": frame})


class TestUnionMod:
    @BOTH
    async def test_union_by_name_with_distinct(self, mode: str) -> None:
        a = pd.DataFrame({"id": [1, 2], "x": ["p", "q"]})
        b = pd.DataFrame({"x": ["q", "r"], "id": [2, 3], "extra": [True, False]})
        run = await run_module("union_mod", {"distinct": False}, {"input1": a, "input2": b}, mode=mode)
        assert records(run.outputs["output"], ["id"])[-1] == {"id": 3, "x": "r", "extra": False}
        run = await run_module("union_mod", {"distinct": True}, {"input1": a, "input2": a}, mode=mode)
        assert len(run.outputs["output"]) == 2
        if mode != "dask":
            assert run.globals == {"row_count": 2, "rows_dropped": 2}
