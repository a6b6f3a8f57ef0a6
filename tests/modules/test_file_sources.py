"""parquet_source, json_source, excel_source and file_list on real files, in both modes."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from pypeline.modules.sdk import DataError
from tests.modules.harness import MODES, ConfigRejected, check, run_module

BOTH = pytest.mark.parametrize("mode", MODES, ids=MODES)


def ordered(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    return frame.sort_values(by).reset_index(drop=True)


class TestParquetSource:
    @pytest.fixture
    def sales(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "year": [2023, 2023, 2024, 2024],
                "month": [1, 2, 1, 2],
                "amount": [1.5, 2.5, 3.5, 4.5],
                "shop": ["a", "b", "a", "b"],
            }
        )

    @BOTH
    async def test_single_file(self, tmp_path: Path, sales: pd.DataFrame, mode: str) -> None:
        sales.to_parquet(tmp_path / "s.parquet", index=False)
        run = await run_module(
            "parquet_source", {"file_path": str(tmp_path / "s.parquet"), "columns": ["shop", "amount"]}, mode=mode
        )
        assert run.outputs["data"].to_dict("list") == {"shop": ["a", "b", "a", "b"], "amount": [1.5, 2.5, 3.5, 4.5]}
        assert run.globals == {"row_count": 4, "files_read": 1}

    @BOTH
    async def test_hive_partitioned_folder_with_filters(self, tmp_path: Path, sales: pd.DataFrame, mode: str) -> None:
        sales.to_parquet(tmp_path / "lake", partition_cols=["year", "month"], index=False)
        (tmp_path / "lake" / "_SUCCESS").write_text("")
        run = await run_module(
            "parquet_source",
            {"file_path": str(tmp_path / "lake"), "filters": [["year", "=", 2024], ["amount", ">", 4]]},
            mode=mode,
        )
        frame = run.outputs["data"]
        assert frame[["shop", "amount", "year", "month"]].to_dict("records") == [
            {"shop": "b", "amount": 4.5, "year": 2024, "month": 2}
        ]
        assert run.globals["row_count"] == 1
        assert run.globals["files_read"] == 4

    @BOTH
    async def test_glob_of_files(self, tmp_path: Path, sales: pd.DataFrame, mode: str) -> None:
        for year, part in sales.groupby("year"):
            part.to_parquet(tmp_path / f"sales_{year}.parquet", index=False)
        run = await run_module("parquet_source", {"file_path": str(tmp_path / "sales_*.parquet")}, mode=mode)
        assert ordered(run.outputs["data"], "amount")["amount"].tolist() == [1.5, 2.5, 3.5, 4.5]
        if mode == "dask":
            assert run.raw_outputs["data"].npartitions == 2

    async def test_unknown_column_and_bad_filter(self, tmp_path: Path, sales: pd.DataFrame) -> None:
        sales.to_parquet(tmp_path / "s.parquet", index=False)
        with pytest.raises(
            DataError,
            match=re.escape("columns ['amt'] are not in the Parquet data (columns: year, month, amount, shop)"),
        ):
            await run_module("parquet_source", {"file_path": str(tmp_path / "s.parquet"), "columns": ["amt"]})
        with pytest.raises(ConfigRejected, match=re.escape("filters[0]: unknown operator '~' (expected one of =, ==")):
            check("parquet_source", {"file_path": "x", "filters": [["a", "~", 1]]})
        with pytest.raises(ConfigRejected, match=re.escape("filters[0] must be [column, op, value], got ['a', '=']")):
            check("parquet_source", {"file_path": "x", "filters": [["a", "="]]})

    async def test_not_parquet(self, tmp_path: Path) -> None:
        path = tmp_path / "x.parquet"
        path.write_text("id,v\n1,2\n")
        with pytest.raises(DataError, match=re.escape(f"{path}: cannot open as Parquet:")):
            await run_module("parquet_source", {"file_path": str(path)})


class TestJsonSource:
    @BOTH
    async def test_json_lines_with_blank_lines_and_nested_values(self, tmp_path: Path, mode: str) -> None:
        lines = [{"id": 1, "user": {"name": "ana"}, "tags": ["x"]}, {"id": 2, "user": {"name": "ben"}, "extra": True}]
        path = tmp_path / "events.jsonl"
        path.write_text(json.dumps(lines[0]) + "\n\n" + json.dumps(lines[1]) + "\n", encoding="utf-8")
        run = await run_module("json_source", {"file_path": str(path)}, mode=mode)
        frame = run.outputs["data"]
        assert list(frame.columns) == ["id", "user", "tags", "extra"]
        assert frame["id"].tolist() == [1, 2]
        first_user = frame["user"].tolist()[0]
        assert (json.loads(first_user) if mode == "dask" else first_user) == {"name": "ana"}  # JSON text in dask mode
        assert run.globals == {"row_count": 2, "files_read": 1, "rows_dropped": 0}

    @BOTH
    async def test_flatten_and_record_path_in_a_document(self, tmp_path: Path, mode: str) -> None:
        doc = {
            "meta": {"n": 2},
            "data": {"items": [{"id": 1, "geo": {"lat": 1.5, "lon": 2.5}}, {"id": 2, "geo": {"lat": 3.5}}]},
        }
        path = tmp_path / "doc.json"
        path.write_text(json.dumps(doc, indent=2))
        run = await run_module(
            "json_source", {"file_path": str(path), "record_path": "data.items", "flatten": True}, mode=mode
        )
        frame = run.outputs["data"]
        assert list(frame.columns) == ["id", "geo.lat", "geo.lon"]
        assert frame["geo.lat"].tolist() == [1.5, 3.5]
        assert frame["geo.lon"].tolist()[0] == 2.5 and pd.isna(frame["geo.lon"].tolist()[1])

    @BOTH
    async def test_bad_line_fails_with_file_and_line_or_is_skipped(self, tmp_path: Path, mode: str) -> None:
        path = tmp_path / "e.jsonl"
        path.write_text('{"id": 1}\n{"id": 2\n[3]\n{"id": 4}\n')
        with pytest.raises(
            DataError, match=re.escape(f"{path}: line 2: invalid JSON: Expecting ',' delimiter (column 9)")
        ):
            await run_module("json_source", {"file_path": str(path)}, mode=mode)
        run = await run_module("json_source", {"file_path": str(path), "on_bad_lines": "skip"}, mode=mode)
        assert run.outputs["data"]["id"].tolist() == [1, 4]
        assert run.globals["rows_dropped"] == 2

    @BOTH
    async def test_folder_of_files_union_by_name_and_dask_blocks(self, tmp_path: Path, mode: str) -> None:
        folder = tmp_path / "in"
        folder.mkdir()
        (folder / "a.jsonl").write_text("".join(json.dumps({"id": i, "v": i * 1.5}) + "\n" for i in range(50)))
        (folder / "b.json").write_text(json.dumps([{"id": 100, "w": "x"}]))
        run = await run_module("json_source", {"file_path": str(folder), "blocksize": 200}, mode=mode)
        frame = ordered(run.outputs["data"], "id")
        assert list(frame.columns) == ["id", "v", "w"]
        assert frame["id"].tolist() == [*range(50), 100]
        assert frame["w"].tolist()[-1] == "x"
        if mode == "dask":
            assert run.raw_outputs["data"].npartitions > 5
            assert run.globals["row_count"] == 51

    async def test_document_errors(self, tmp_path: Path) -> None:
        broken = tmp_path / "broken.json"
        broken.write_text('[\n  {"id": 1},\n  {"id": 2,,}\n]')
        with pytest.raises(
            DataError,
            match=re.escape(
                f"{broken}: line 3, column 12: invalid JSON: Expecting property name enclosed in double quotes"
            ),
        ):
            await run_module("json_source", {"file_path": str(broken), "format": "json"})
        doc = tmp_path / "doc.json"
        doc.write_text('{"data": {"rows": []}}')
        with pytest.raises(
            DataError, match=re.escape(f"{doc}: record_path 'data.items': no key 'items' (found: rows)")
        ):
            await run_module("json_source", {"file_path": str(doc), "record_path": "data.items"})
        scalars = tmp_path / "scalars.json"
        scalars.write_text("[1, 2]")
        with pytest.raises(DataError, match=re.escape(f"{scalars}: item 0 of the array is a int, expected an object")):
            await run_module("json_source", {"file_path": str(scalars)})

    async def test_latin1_json_lines(self, tmp_path: Path) -> None:
        path = tmp_path / "l.jsonl"
        path.write_bytes('{"city": "Besançon"}\n'.encode("latin-1"))
        with pytest.raises(DataError, match=re.escape(f"{path}: line 1: cannot decode as utf-8")):
            await run_module("json_source", {"file_path": str(path)})
        run = await run_module("json_source", {"file_path": str(path), "encoding": "latin-1"})
        assert run.outputs["data"]["city"].tolist() == ["Besançon"]

    async def test_latin1_document_detected_as_json(self, tmp_path: Path) -> None:
        # format auto reads the file's head to tell JSON from JSON Lines: a bad byte there was a bare
        # UnicodeDecodeError without the file name
        path = tmp_path / "l.json"
        path.write_bytes('[{"city": "Besançon"}]'.encode("latin-1"))
        with pytest.raises(DataError, match=re.escape(f"{path}: cannot decode as utf-8 at byte 16; set 'encoding'")):
            await run_module("json_source", {"file_path": str(path)})
        run = await run_module("json_source", {"file_path": str(path), "encoding": "latin-1"})
        assert run.outputs["data"]["city"].tolist() == ["Besançon"]


class TestExcelSource:
    @BOTH
    async def test_sheets_by_name_and_index(self, tmp_path: Path, mode: str) -> None:
        path = tmp_path / "book.xlsx"
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            pd.DataFrame({"id": [1, 2], "name": ["ana", "ben"]}).to_excel(writer, sheet_name="people", index=False)
            pd.DataFrame({"code": ["x"]}).to_excel(writer, sheet_name="codes", index=False)
        run = await run_module("excel_source", {"file_path": str(path), "sheet": "codes"}, mode=mode)
        assert run.outputs["data"].to_dict("list") == {"code": ["x"]}
        run = await run_module("excel_source", {"file_path": str(path)}, mode=mode)
        assert run.outputs["data"].to_dict("list") == {"id": [1, 2], "name": ["ana", "ben"]}
        assert run.globals == {"row_count": 2, "files_read": 1}

    async def test_missing_sheet(self, tmp_path: Path) -> None:
        path = tmp_path / "book.xlsx"
        pd.DataFrame({"a": [1]}).to_excel(path, index=False, engine="openpyxl")
        with pytest.raises(DataError, match=re.escape(f"{path}: sheet 'nope' not found")):
            await run_module("excel_source", {"file_path": str(path), "sheet": "nope"})

    async def test_missing_extra_names_the_install_command(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setitem(sys.modules, "openpyxl", None)  # as if the 'excel' extra were not installed
        with pytest.raises(
            DataError,
            match=re.escape("excel_source needs the optional extra 'excel' (openpyxl): pip install 'pypeline[excel]'"),
        ):
            await run_module("excel_source", {"file_path": str(tmp_path / "book.xlsx")})


class TestFileList:
    async def test_glob_sort_and_filters(self, tmp_path: Path) -> None:
        for name, size, age in [("a.csv", 10, 0), ("b.csv", 500, 0), ("c.csv", 50, 7200), ("d.txt", 10, 0)]:
            path = tmp_path / name
            path.write_bytes(b"x" * size)
            if age:
                old = time.time() - age
                os.utime(path, (old, old))
        run = await run_module(
            "file_list", {"directory": str(tmp_path), "pattern": "*.csv", "sort": "size", "reverse": True}
        )
        assert [Path(p).name for p in run.outputs["files"]] == ["b.csv", "c.csv", "a.csv"]
        assert run.globals == {"file_count": 3, "row_count": 3}
        run = await run_module(
            "file_list", {"directory": str(tmp_path), "pattern": "*.csv", "max_size": 100, "min_age_seconds": 3600}
        )
        assert [Path(p).name for p in run.outputs["files"]] == ["c.csv"]
