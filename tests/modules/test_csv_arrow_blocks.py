"""The pyarrow fast path of lazy CSV blocks: kept only where it gives pandas' C parser's result.

``read_block`` parses a block with ``pd.read_csv(engine="pyarrow")``; every
case here is compared with the C parser reading the same bytes with the same
options, which is what the lazy read did before (and still does whenever the
fast path declines: ``None``).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pypeline.modules.source.csv_lazy_arrow import arrow_options, read_block
from tests.modules.harness import check, run_module

BASE = {"sep": ",", "encoding": "utf-8", "decimal": ".", "quotechar": '"', "header": 0, "skiprows": None}
TEXT = pd.StringDtype(na_value=np.nan)


def c_parser(data: bytes, options: dict[str, Any]) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), **options)


def kinds(dtypes: dict[str, Any], **configs: Any) -> dict[str, str]:
    resolved = check("csv_source", {"file_path": "x.csv", **configs})
    found = arrow_options(resolved, dtypes)
    assert found is not None
    return found


class TestSameAsTheCParser:
    @pytest.mark.parametrize(
        ("data", "dtypes", "extra"),
        [
            (b"id,amount,name,ok\n1,2.5,ann,True\n2,,\"b, c\",false\n3,1e3,NA,TRUE\n",
             {"id": "int64", "amount": "float64", "name": TEXT, "ok": "bool"}, {}),
            (b'id,text\n1,"two\nlines"\n2,"say ""hi"""\n3,\n', {"id": "int64", "text": TEXT}, {}),
            (b"id,v\r\n1,10\r\n2,20\r\n", {"id": "int64", "v": "float64"}, {}),  # integers into a float column
            (b"id,v\n1,7\n2,\n3,9\n", {"id": "int64", "v": "Int64"}, {}),  # nulls make pyarrow's integers floats
            ("id,city\n1,Zürich\n2,Köln\n".encode("latin-1"), {"id": "int64", "city": TEXT},
             {"encoding": "latin-1"}),
            (b"id;v\n1;1,5\n2;2,25\n", {"id": "int64", "v": "float64"}, {"sep": ";", "decimal": ","}),
            (b"junk line\nid,v\n1,007\n", {"id": "int64", "v": TEXT}, {"skiprows": 1}),  # text keeps "007"
            (b"1,x\n2,y\n", {"a": "int64", "b": TEXT}, {"header": None, "names": ["a", "b"]}),
            (b"id,v\n1,a\n\n2,b\n", {"id": "int64", "v": TEXT}, {}),  # a blank line is no row
            (b"id,v\n1,null\n2,N/A\n3,x\n", {"id": "int64", "v": TEXT}, {}),
        ],
        ids=["types-nulls-quotes", "quoted-newlines", "crlf-int-into-float", "nullable-int", "latin-1",
             "decimal-comma", "skip-rows-leading-zeros", "names-no-header", "blank-line", "null-words"],
    )
    def test_the_fast_path_gives_the_c_parsers_frame(self, data: bytes, dtypes: dict[str, Any],
                                                      extra: dict[str, Any]) -> None:
        options = {**BASE, **extra, "dtype": dtypes}
        configs = {"delimiter": extra.get("sep", ","), "decimal": extra.get("decimal", "."),
                   "encoding": extra.get("encoding", "utf-8")}
        fast = read_block(io.BytesIO(data), options, kinds(dtypes, **configs))
        assert fast is not None
        pd.testing.assert_frame_equal(fast, c_parser(data, options))

    def test_skip_drops_long_and_short_rows_as_the_c_path_does(self) -> None:
        data = b"id,v\n1,a\n2,b,extra\n3\n4,d\n"
        dtypes = {"id": "int64", "v": TEXT}
        options = {**BASE, "dtype": dtypes, "on_bad_lines": "skip"}
        fast = read_block(io.BytesIO(data), options, kinds(dtypes, on_bad_lines="skip"))
        assert fast is not None
        assert fast["id"].tolist() == [1, 4] and fast["v"].tolist() == ["a", "d"]


class TestLeftToTheCParser:
    @pytest.mark.parametrize(
        ("data", "dtypes"),
        [
            (b"id,v\n1,2\n2,1.5\n", {"id": "int64", "v": "int64"}),  # pandas would cast 1.5 to 1 silently
            (b"id,v\n1,2\n2,\n", {"id": "int64", "v": "int64"}),
            (b"id,v\n1,2.5\n2,True\n", {"id": "int64", "v": "float64"}),  # would become 1.0
            (b"id,ok\n1,True\n2,1\n", {"id": "int64", "ok": "bool"}),  # 1 is no boolean to the C parser
            (b"id,v\n1,1152921504606846977\n2,\n", {"id": "int64", "v": "Int64"}),  # past 2**53 as a float
            (b"id,v\n1,a\n2\n", {"id": "int64", "v": TEXT}),  # a short row: the C path names its line
            (b"id,v\n1,a\n2,b,c\n", {"id": "int64", "v": TEXT}),
            (b"id,v\n1,a\n   \n2,b\n", {"id": "int64", "v": TEXT}),  # blanks: no row to the C parser
            (b"id,v\n1,\xff\n", {"id": "int64", "v": TEXT}),  # not UTF-8: the C path names the byte
            (b"id,v,w\n1,a,b\n", {"id": "int64", "v": TEXT}),  # w has no known type
        ],
        ids=["decimal-in-int", "empty-in-int", "bool-in-float", "one-as-bool", "big-nullable-int",
             "short-row", "long-row", "blank-spaces-line", "bad-byte", "untyped-column"],
    )
    def test_declines(self, data: bytes, dtypes: dict[str, Any]) -> None:
        options = {**BASE, "dtype": dtypes}
        assert read_block(io.BytesIO(data), options, kinds(dtypes)) is None

    @pytest.mark.parametrize(
        ("configs", "dtypes"),
        [
            ({"thousands": "."}, {"id": "int64", "v": "float64"}),
            ({"delimiter": "::"}, {"id": "int64", "v": "float64"}),
            ({"delimiter": "\\s+"}, {"id": "int64", "v": "float64"}),
            ({}, {"id": "int64", "v": "datetime64[ns]"}),
            ({}, {"id": "int64", "v": "int32"}),
            ({}, {"id": "int64", "v": "category"}),
            ({}, {"v": TEXT}),  # one column: a line of blanks is a value to pyarrow, no row to the C parser
        ],
        ids=["thousands", "long-delimiter", "whitespace-delimiter", "datetime", "int32", "category", "one-column"],
    )
    def test_options_pyarrow_lacks_keep_the_whole_file_on_the_c_parser(
        self, configs: dict[str, Any], dtypes: dict[str, Any]
    ) -> None:
        assert arrow_options(check("csv_source", {"file_path": "x.csv", **configs}), dtypes) is None


async def test_a_lazy_read_in_many_blocks_equals_the_pandas_mode_read(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    rows = 4000
    frame = pd.DataFrame({
        "id": np.arange(rows),
        "amount": np.where(rng.random(rows) < 0.1, np.nan, rng.uniform(-5, 5, rows).round(3)),
        "flag": rng.random(rows) < 0.5,
        "label": rng.choice(["plain", "with, comma", 'a "quote"', "two\nlines", ""], rows),
        "count": pd.Series(rng.integers(0, 9, rows), dtype="Int64").mask(rng.random(rows) < 0.2),
    })
    path = tmp_path / "mixed.csv"
    frame.to_csv(path, index=False)
    configs = {"file_path": str(path), "dtypes": {"count": "Int64"}}
    pandas_mode = (await run_module("csv_source", configs, mode="pandas")).outputs["data"]
    lazy = await run_module("csv_source", {**configs, "blocksize": "512KB"}, mode="dask")
    assert lazy.raw_outputs["data"].npartitions == 1  # quoted newlines: one block keeps them whole
    pd.testing.assert_frame_equal(lazy.outputs["data"].reset_index(drop=True), pandas_mode, check_dtype=False)
    no_newlines = frame.assign(label=frame["label"].str.replace("\n", " "))
    no_newlines.to_csv(path, index=False)
    pandas_mode = (await run_module("csv_source", configs, mode="pandas")).outputs["data"]
    lazy = await run_module("csv_source", {**configs, "blocksize": "16KB"}, mode="dask")
    assert lazy.raw_outputs["data"].npartitions > 4
    pd.testing.assert_frame_equal(lazy.outputs["data"].reset_index(drop=True), pandas_mode, check_dtype=False)
