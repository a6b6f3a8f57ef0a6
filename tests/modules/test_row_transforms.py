"""sort_mod, limit_mod, sample_mod, regex_filter_mod and key_extractor_mod, in both modes."""

from __future__ import annotations

import json
import re
from typing import Any

import pandas as pd
import pytest

from pypeline.modules.sdk import DataError
from tests.modules.harness import MODES, ConfigRejected, check, run_module

BOTH = pytest.mark.parametrize("mode", MODES, ids=MODES)


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"k": ["b", "a", None, "c", "a", "b"], "n": [2, 5, 1, None, 3, 9], "i": range(6)})


class TestSortMod:
    @BOTH
    async def test_multi_column_mixed_directions_nulls_last(self, frame: pd.DataFrame, mode: str) -> None:
        run = await run_module("sort_mod", {"by": ["k", "n"], "ascending": [True, False]}, {"input": frame}, mode=mode)
        assert run.outputs["output"]["i"].tolist() == [1, 4, 5, 0, 3, 2]

    @BOTH
    async def test_nulls_first(self, frame: pd.DataFrame, mode: str) -> None:
        run = await run_module("sort_mod", {"by": "n", "nulls": "first"}, {"input": frame}, mode=mode)
        assert run.outputs["output"]["i"].tolist() == [3, 2, 0, 4, 1, 5]

    def test_bad_configs(self) -> None:
        with pytest.raises(ConfigRejected, match=re.escape("'ascending' has 1 flags for 2 'by' columns")):
            check("sort_mod", {"by": ["a", "b"], "ascending": [True]})
        with pytest.raises(ConfigRejected, match=re.escape("'by' is empty")):
            check("sort_mod", {"by": []})

    async def test_unknown_column(self, frame: pd.DataFrame) -> None:
        with pytest.raises(DataError, match=re.escape("column 'x' is not in the input.")):
            await run_module("sort_mod", {"by": "x"}, {"input": frame})


class TestLimitAndSample:
    @BOTH
    async def test_limit_with_offset_across_partitions(self, frame: pd.DataFrame, mode: str) -> None:
        run = await run_module("limit_mod", {"n": 3, "offset": 2}, {"input": frame}, mode=mode, partitions=3)
        assert run.outputs["output"]["i"].tolist() == [2, 3, 4]
        if mode != "dask":
            assert run.globals == {"row_count": 3, "rows_dropped": 3}

    @BOTH
    async def test_sample_n_is_exact_reproducible_and_in_input_order(self, mode: str) -> None:
        data = pd.DataFrame({"i": range(200)})
        first = await run_module("sample_mod", {"n": 20, "seed": 7}, {"input": data}, mode=mode, partitions=4)
        again = await run_module("sample_mod", {"n": 20, "seed": 7}, {"input": data}, mode=mode, partitions=4)
        picked = first.outputs["output"]["i"].tolist()
        assert len(picked) == 20 and len(set(picked)) == 20
        assert picked == sorted(picked)
        assert picked == again.outputs["output"]["i"].tolist()
        other = await run_module("sample_mod", {"n": 20, "seed": 8}, {"input": data}, mode=mode, partitions=4)
        assert other.outputs["output"]["i"].tolist() != picked

    @BOTH
    async def test_sample_fraction(self, mode: str) -> None:
        data = pd.DataFrame({"i": range(1000)})
        run = await run_module("sample_mod", {"fraction": 0.1, "seed": 1}, {"input": data}, mode=mode)
        assert 60 <= len(run.outputs["output"]) <= 140

    @pytest.mark.parametrize(
        ("configs", "message"),
        [
            ({}, "give exactly one of 'fraction' and 'n'"),
            ({"fraction": 0.5, "n": 3}, "give exactly one of 'fraction' and 'n'"),
            ({"fraction": 1.5}, "'fraction' must be between 0 and 1, got 1.5"),
            ({"n": -1}, "'n' must not be negative, got -1"),
        ],
        ids=["none", "both", "fraction-range", "negative-n"],
    )
    def test_sample_configs(self, configs: dict[str, Any], message: str) -> None:
        with pytest.raises(ConfigRejected, match=re.escape(message)):
            check("sample_mod", configs)

    def test_limit_configs(self) -> None:
        with pytest.raises(ConfigRejected, match=re.escape("'offset' must not be negative, got -2")):
            check("limit_mod", {"n": 1, "offset": -2})


class TestRegexFilterMod:
    @pytest.fixture
    def lines(self) -> pd.DataFrame:
        return pd.DataFrame({"line": ["ERROR disk full", "info ok", None, "error: net", "WARN x"]})

    @BOTH
    async def test_search_ignore_case_and_invert(self, lines: pd.DataFrame, mode: str) -> None:
        run = await run_module(
            "regex_filter_mod", {"pattern": "^error", "ignore_case": True}, {"input": lines}, mode=mode
        )
        assert run.outputs["output"]["line"].tolist() == ["ERROR disk full", "error: net"]
        run = await run_module(
            "regex_filter_mod", {"pattern": "error", "invert": True, "ignore_case": True}, {"input": lines}, mode=mode
        )
        assert run.outputs["output"]["line"].dropna().tolist() == ["info ok", "WARN x"]

    @BOTH
    async def test_full_match_on_a_column(self, mode: str) -> None:
        codes = pd.DataFrame({"code": ["AB-12", "AB-123", "xAB-12"], "v": [1, 2, 3]})
        run = await run_module(
            "regex_filter_mod",
            {"pattern": r"[A-Z]{2}-\d{2}", "column": "code", "match": "full"},
            {"input": codes},
            mode=mode,
        )
        assert run.outputs["output"]["v"].tolist() == [1]
        if mode != "dask":
            assert run.globals == {"row_count": 1, "rows_dropped": 2}

    def test_bad_pattern_fails_the_build(self) -> None:
        with pytest.raises(ConfigRejected, match=re.escape("pattern '(' is not a valid regular expression")):
            check("regex_filter_mod", {"pattern": "("})

    async def test_missing_column(self) -> None:
        with pytest.raises(DataError, match=re.escape("column 'line' is not in the input.")):
            await run_module("regex_filter_mod", {"pattern": "x"}, {"input": pd.DataFrame({"text": ["x"]})})


class TestKeyExtractorMod:
    @pytest.fixture
    def logs(self) -> pd.DataFrame:
        records = [
            {"timestamp": "2024-05-01T10:00:00", "level": "INFO", "context": {"user": {"id": 7}}, "tags": ["a", "b"]},
            {"timestamp": "2024-05-01T10:00:05", "level": "ERROR", "context": {}, "tags": []},
        ]
        return pd.DataFrame({"raw": [json.dumps(r) for r in records]})

    @BOTH
    async def test_paths_from_a_json_text_column(self, logs: pd.DataFrame, mode: str) -> None:
        run = await run_module(
            "key_extractor_mod",
            {
                "keys": ["timestamp", "level", "context.user.id", "tags.0"],
                "source_column": "raw",
                "types": {"context_user_id": "int"},
            },
            {"input": logs},
            mode=mode,
        )
        frame = run.outputs["output"]
        assert list(frame.columns) == ["timestamp", "level", "context_user_id", "tags_0"]
        assert frame["level"].tolist() == ["INFO", "ERROR"]
        assert frame["context_user_id"].tolist()[0] == 7 and pd.isna(frame["context_user_id"].tolist()[1])
        assert str(frame["context_user_id"].dtype) == "Int64"
        assert frame["tags_0"].tolist()[0] == "a" and pd.isna(frame["tags_0"].tolist()[1])
        if mode != "dask":
            assert run.globals == {"row_count": 2, "values_missing": 2}

    @BOTH
    async def test_paths_into_nested_columns_keeping_the_input(self, mode: str) -> None:
        frame = pd.DataFrame({"id": [1, 2], "user": [{"name": "ana", "langs": ["fr"]}, {"name": "ben", "langs": []}]})
        run = await run_module(
            "key_extractor_mod",
            {"keys": {"who": "user.name", "lang": "user.langs.0"}, "keep_input": True},
            {"input": frame},
            mode=mode,
        )
        out = run.outputs["output"]
        assert out["who"].tolist() == ["ana", "ben"]
        assert out["lang"].tolist()[0] == "fr" and pd.isna(out["lang"].tolist()[1])
        assert out["id"].tolist() == [1, 2]

    async def test_on_missing_error_names_row_and_path(self, logs: pd.DataFrame) -> None:
        with pytest.raises(DataError, match=re.escape("row 1 (position 1): path 'context.user.id' not found")):
            await run_module(
                "key_extractor_mod",
                {"keys": ["context.user.id"], "source_column": "raw", "on_missing": "error"},
                {"input": logs},
            )

    async def test_invalid_json_text(self) -> None:
        with pytest.raises(DataError, match=re.escape("row 0: column 'raw' is not valid JSON:")):
            await run_module(
                "key_extractor_mod",
                {"keys": ["a"], "source_column": "raw"},
                {"input": pd.DataFrame({"raw": ["{nope"]})},
            )

    @pytest.mark.parametrize(
        ("configs", "message"),
        [
            ({"keys": []}, "'keys' is empty"),
            ({"keys": ["a..b"]}, "keys.a__b: 'a..b' is not a dotted path"),
            ({"keys": ["a.b", "a_b"]}, "'keys' gives two paths the same column name; name one of them (column: path)"),
            ({"keys": ["a"], "types": {"b": "int"}}, "types.b: not an extracted column (columns: a)"),
            ({"keys": ["a"], "types": {"a": "decimal"}}, "types.a: unknown type 'decimal'"),
        ],
        ids=["empty", "bad-path", "name-clash", "types-unknown-column", "types-unknown-type"],
    )
    def test_bad_configs(self, configs: dict[str, Any], message: str) -> None:
        with pytest.raises(ConfigRejected, match=re.escape(message)):
            check("key_extractor_mod", configs)
