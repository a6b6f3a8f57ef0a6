"""csv_source on real files: combine strategies over drifting schemas, encodings, delimiters,
empty and header-only files, malformed rows, dates and dtypes, in pandas and dask modes."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from pypeline.modules.sdk import DataError
from tests.conftest import FlowHarness
from tests.modules.harness import MODES, ConfigRejected, check, run_module

BOTH = pytest.mark.parametrize("mode", MODES, ids=MODES)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def drifting(tmp_path: Path) -> Path:
    """Three files whose schemas drift: a column added, one missing, one header-only file, one empty file."""
    folder = tmp_path / "drift"
    write(folder / "2024-01.csv", "id,name,amount\n1,ana,10.5\n2,ben,20\n")
    write(folder / "2024-02.csv", "id,name,amount,currency\n3,cy,30,EUR\n")
    write(folder / "2024-03.csv", "id,amount\n4,40\n")
    write(folder / "2024-04.csv", "id,name,amount\n")
    write(folder / "2024-05.csv", "")
    return folder


class TestCombineStrategies:
    @BOTH
    async def test_union_by_name_aligns_columns_in_first_seen_order(self, drifting: Path, mode: str) -> None:
        run = await run_module(
            "csv_source", {"file_path": str(drifting), "combine_strategy": "union_by_name"}, mode=mode
        )
        frame = run.outputs["data"].reset_index(drop=True)
        assert list(frame.columns) == ["id", "name", "amount", "currency"]
        assert frame["id"].tolist() == [1, 2, 3, 4]
        assert frame["amount"].tolist() == [10.5, 20.0, 30.0, 40.0]
        assert frame["name"].isna().tolist() == [False, False, False, True]
        assert frame["currency"].isna().tolist() == [True, True, False, True]
        assert run.globals["files_read"] == 5
        # dask mode reads lazily by default: counting rows would read the data
        assert run.globals.get("row_count") == (4 if mode != "dask" else None)
        assert {"name": "empty_file", "file": str(drifting / "2024-05.csv")} in run.events

    @BOTH
    async def test_concat_names_the_first_file_that_differs(self, drifting: Path, mode: str) -> None:
        with pytest.raises(
            DataError,
            match=re.escape(
                f"{drifting / '2024-02.csv'}: columns differ from {drifting / '2024-01.csv'}: has extra ['currency'] "
                "(combine_strategy concat; use union_by_name to align columns by name)"
            ),
        ):
            await run_module("csv_source", {"file_path": str(drifting)}, mode=mode)

    @BOTH
    async def test_concat_of_same_schema_files_with_glob(self, tmp_path: Path, mode: str) -> None:
        for month in (1, 2, 3):
            write(tmp_path / "in" / f"m{month}.csv", f"id,v\n{month},{month * 10}\n{month + 10},1\n")
        write(tmp_path / "in" / "notes.txt", "not a csv")
        run = await run_module(
            "csv_source", {"file_path": str(tmp_path / "in" / "*.csv"), "file_column": "src"}, mode=mode
        )
        frame = run.outputs["data"].reset_index(drop=True)
        assert frame["id"].tolist() == [1, 11, 2, 12, 3, 13]
        assert [Path(p).name for p in frame["src"]] == ["m1.csv", "m1.csv", "m2.csv", "m2.csv", "m3.csv", "m3.csv"]
        assert list(frame.columns) == ["id", "v", "src"]
        assert run.ctx.stats.files_read == [str(tmp_path / "in" / f"m{m}.csv") for m in (1, 2, 3)]

    @BOTH
    async def test_validate_schema_rejects_a_type_drift(self, tmp_path: Path, mode: str) -> None:
        write(tmp_path / "a.csv", "id,v\n1,10\n")
        write(tmp_path / "b.csv", "id,v\n2,ten\n")
        with pytest.raises(
            DataError,
            match=re.escape(
                f"{tmp_path / 'b.csv'}: column types differ from {tmp_path / 'a.csv'}: v: str vs int64 "
                "(combine_strategy validate_schema)"
            ),
        ):
            await run_module(
                "csv_source", {"file_path": str(tmp_path / "*.csv"), "combine_strategy": "validate_schema"}, mode=mode
            )

    @BOTH
    async def test_validate_schema_accepts_matching_files_and_header_only_ones(self, tmp_path: Path, mode: str) -> None:
        write(tmp_path / "a.csv", "id,v\n1,10\n")
        write(tmp_path / "b.csv", "id,v\n")
        write(tmp_path / "c.csv", "id,v\n3,30\n")
        run = await run_module(
            "csv_source", {"file_path": str(tmp_path / "*.csv"), "combine_strategy": "validate_schema"}, mode=mode
        )
        assert run.outputs["data"]["v"].tolist() == [10, 30]
        assert str(run.outputs["data"]["v"].dtype) == "int64"


class TestFileFormats:
    @BOTH
    @pytest.mark.parametrize(
        ("encoding", "delimiter"),
        [("latin-1", ";"), ("utf-16", "\t"), ("utf-8-sig", "|")],
        ids=["latin1-semicolon", "utf16-bom-tab", "utf8-bom-pipe"],
    )
    async def test_encodings_and_delimiters(self, tmp_path: Path, mode: str, encoding: str, delimiter: str) -> None:
        text = (
            delimiter.join(["ville", "prix"])
            + "\n"
            + "\n".join(
                delimiter.join([city, price]) for city, price in [("Besançon", "3"), ("Orléans", "4"), ("Zürich", "5")]
            )
            + "\n"
        )
        path = write(tmp_path / "cities.csv", text, encoding)
        if encoding == "utf-16":
            assert path.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
        config = {
            "file_path": str(path),
            "encoding": "utf-16" if encoding == "utf-16" else encoding,
            "delimiter": delimiter,
        }
        run = await run_module("csv_source", config, mode=mode)
        frame = run.outputs["data"]
        assert list(frame.columns) == ["ville", "prix"]
        assert frame["ville"].tolist() == ["Besançon", "Orléans", "Zürich"]
        assert frame["prix"].tolist() == [3, 4, 5]

    async def test_wrong_encoding_is_a_clear_error(self, tmp_path: Path) -> None:
        path = write(tmp_path / "latin.csv", "ville\nBesançon\n", "latin-1")
        with pytest.raises(
            DataError,
            match=re.escape(
                f"{path}: line 2: cannot decode byte 0xe7 at byte offset 11 as utf-8; set the 'encoding' config "
                "(e.g. latin-1, utf-16)"
            ),
        ):
            await run_module("csv_source", {"file_path": str(path)})

    @BOTH
    async def test_decimal_comma_thousands_nulls_and_dtypes(self, tmp_path: Path, mode: str) -> None:
        path = write(tmp_path / "eu.csv", "code;amount;note\n007;1.234,5;n/a\n010;2,25;ok\n")
        run = await run_module(
            "csv_source",
            {
                "file_path": str(path),
                "delimiter": ";",
                "decimal": ",",
                "thousands": ".",
                "null_values": ["n/a"],
                "dtypes": {"code": "str"},
            },
            mode=mode,
        )
        frame = run.outputs["data"]
        assert frame["code"].tolist() == ["007", "010"]
        assert frame["amount"].tolist() == [1234.5, 2.25]
        assert frame["note"].isna().tolist() == [True, False]

    @BOTH
    async def test_no_header_needs_column_names(self, tmp_path: Path, mode: str) -> None:
        path = write(tmp_path / "raw.csv", "1,a\n2,b\n")
        run = await run_module(
            "csv_source", {"file_path": str(path), "header": False, "column_names": ["n", "s"]}, mode=mode
        )
        assert run.outputs["data"].to_dict("list") == {"n": [1, 2], "s": ["a", "b"]}
        with pytest.raises(ConfigRejected, match=re.escape("config 'header: false' needs 'column_names'")):
            check("csv_source", {"file_path": str(path), "header": False})

    @BOTH
    async def test_date_columns_parse_and_bad_dates_name_file_and_column(self, tmp_path: Path, mode: str) -> None:
        good = write(tmp_path / "good.csv", "id,day\n1,2024-03-01\n2,2024-03-02T10:30:00\n")
        run = await run_module("csv_source", {"file_path": str(good), "date_columns": ["day"]}, mode=mode)
        assert pd.api.types.is_datetime64_any_dtype(run.outputs["data"]["day"])
        assert run.outputs["data"]["day"].tolist()[1] == pd.Timestamp("2024-03-02 10:30")
        uk = write(tmp_path / "uk.csv", "id,day\n1,31/12/2024\n")
        run = await run_module(
            "csv_source", {"file_path": str(uk), "date_columns": ["day"], "date_format": "%d/%m/%Y"}, mode=mode
        )
        assert run.outputs["data"]["day"].tolist() == [pd.Timestamp("2024-12-31")]
        bad = write(tmp_path / "bad.csv", "id,day\n1,2024-03-01\n2,soon\n")
        with pytest.raises(
            DataError,
            match=re.escape(
                f"{bad}: column 'day': value 'soon' is not a date (expected ISO 8601 dates (or set date_format)); "
                "1 value(s) do not parse"
            ),
        ):
            await run_module("csv_source", {"file_path": str(bad), "date_columns": ["day"]}, mode=mode)

    async def test_a_value_that_does_not_fit_a_dtype_names_the_file(self, tmp_path: Path) -> None:
        path = write(tmp_path / "n.csv", "id\n1\nx\n")
        with pytest.raises(
            DataError, match=re.escape(f"{path}: a value does not fit the declared dtypes {{'id': 'int64'}}")
        ):
            await run_module("csv_source", {"file_path": str(path), "dtypes": {"id": "int64"}})


class TestEmptyAndMalformed:
    @BOTH
    async def test_header_only_file_gives_columns_and_no_rows(self, tmp_path: Path, mode: str) -> None:
        path = write(tmp_path / "h.csv", "id,name\n")
        run = await run_module("csv_source", {"file_path": str(path)}, mode=mode)
        assert list(run.outputs["data"].columns) == ["id", "name"]
        assert len(run.outputs["data"]) == 0
        assert run.globals.get("row_count") == (0 if mode != "dask" else None)

    @BOTH
    async def test_an_empty_file_without_declared_columns_is_an_error(self, tmp_path: Path, mode: str) -> None:
        path = write(tmp_path / "e.csv", "")
        with pytest.raises(DataError, match=re.escape(f"{path}: empty file (no header, no rows); declare "
                                                      "column_names (or dtypes)")):
            await run_module("csv_source", {"file_path": str(path)}, mode=mode)

    @BOTH
    async def test_an_empty_file_gives_the_declared_columns_and_an_event(self, tmp_path: Path, mode: str) -> None:
        path = write(tmp_path / "e.csv", "")
        run = await run_module("csv_source", {"file_path": str(path), "dtypes": {"id": "Int64"}}, mode=mode)
        assert len(run.outputs["data"]) == 0 and str(run.outputs["data"].dtypes["id"]) == "Int64"
        assert run.events == [{"name": "empty_file", "file": str(path)}]

    @BOTH
    async def test_malformed_row_fails_with_file_and_line(self, tmp_path: Path, mode: str) -> None:
        write(tmp_path / "a.csv", "id,name\n1,ana\n")
        bad = write(tmp_path / "b.csv", "id,name\n2,ben\n3,cy,extra\n4,di\n")
        with pytest.raises(
            DataError,
            match=re.escape(
                f"{bad}: line 3: malformed row: expected 2 fields, saw 3 "
                "(set on_bad_lines: skip to drop and count such rows)"
            ),
        ):
            await run_module("csv_source", {"file_path": str(tmp_path / "*.csv")}, mode=mode)

    @pytest.mark.parametrize(("mode", "scan"), [("pandas", False), ("dask", True), ("dask", False), ("arrow", False),
                                                ("stream", False)],
                             ids=["pandas", "dask-scan", "dask-lazy", "arrow", "stream"])
    async def test_skip_policy_drops_and_counts_malformed_rows(self, tmp_path: Path, mode: str, scan: bool) -> None:
        write(tmp_path / "a.csv", "id,name\n1,ana\n2,x,y\n")
        write(tmp_path / "b.csv", "id,name\n3,ben\n4,cy,extra\n5,di\n6,e,f,g\n")
        configs = {"file_path": str(tmp_path / "*.csv"), "on_bad_lines": "skip", "scan": scan}
        run = await run_module("csv_source", configs, mode=mode)
        assert run.outputs["data"]["id"].tolist() == [1, 3, 5]
        if mode == "dask" and not scan:  # dropped lazily, while a sink computes: not counted
            assert "rows_dropped" not in run.globals
            return
        assert run.globals["rows_dropped"] == 3
        assert run.stats["rows_dropped"] == 3
        assert {"name": "bad_lines_skipped", "count": 3} in run.events

    async def test_missing_input_names_the_pattern(self, tmp_path: Path) -> None:
        with pytest.raises(DataError, match=re.escape(f"no file matches '{tmp_path}/nothing*.csv'")):
            await run_module("csv_source", {"file_path": f"{tmp_path}/nothing*.csv"})


class TestDaskMode:
    async def test_blocks_become_partitions_with_one_dtype_per_column(self, tmp_path: Path) -> None:
        # the first block holds only integers, a later one a float: without the scan dask would fail at write time
        rows = [f"{i},{i}" for i in range(300)] + ["300,0.5"]
        path = write(tmp_path / "big.csv", "id,v\n" + "\n".join(rows) + "\n")
        run = await run_module("csv_source", {"file_path": str(path), "blocksize": "500B", "scan": True}, mode="dask")
        lazy = run.raw_outputs["data"]
        assert lazy.npartitions > 3
        assert str(lazy.dtypes["v"]) == "float64"
        assert run.outputs["data"]["v"].iloc[-1] == 0.5
        assert run.globals["row_count"] == 301

    async def test_without_scan_it_is_lazy_and_sets_no_row_globals(self, tmp_path: Path) -> None:
        write(tmp_path / "a.csv", "id,v\n1,2\n")
        write(tmp_path / "b.csv", "id,w\n3,4\n")
        run = await run_module(
            "csv_source",
            {"file_path": str(tmp_path / "*.csv"), "scan": False, "combine_strategy": "union_by_name"},
            mode="dask",
        )
        assert "row_count" not in run.globals and run.globals["files_read"] == 2
        frame = run.outputs["data"].reset_index(drop=True)
        assert list(frame.columns) == ["id", "v", "w"]
        assert frame["id"].tolist() == [1, 3]

    async def test_lazy_types_come_from_the_first_rows_of_every_file(self, tmp_path: Path) -> None:
        rows = [f"{i},{i}" for i in range(300)] + ["300,0.5"]
        path = write(tmp_path / "big.csv", "id,v\n" + "\n".join(rows) + "\n")
        run = await run_module("csv_source", {"file_path": str(path), "blocksize": "500B"}, mode="dask")
        lazy = run.raw_outputs["data"]
        assert lazy.npartitions > 3 and str(lazy.dtypes["v"]) == "float64"  # dask alone guesses from 10 rows
        assert run.outputs["data"]["v"].iloc[-1] == 0.5 and "row_count" not in run.globals


def big_file(path: Path, line: int, row: str, rows: int = 10_500) -> Path:
    """``rows`` rows after the header, the one on file line ``line`` replaced: far past the rows sampled."""
    lines = ["id,v,name", *(f"{i},{i},n{i}" for i in range(rows))]
    lines[line - 1] = row
    return write(path, "\n".join(lines) + "\n")


class TestLazyDaskErrors:
    """Without scan, a bad row is met while a sink computes: still one error naming the file (and line)."""

    @pytest.mark.parametrize(
        ("row", "message"),
        [
            ("10400,10400,n,extra",
             "{path}: line 10401: malformed row: expected 3 fields, saw 4 (set on_bad_lines: skip to drop and count"),
            ("10400,0.5,n",
             "{path}: column 'v': the first rows gave it type int64, a later part of the file holds values of type "
             "float64 (dask mode reads lazily and takes column types from the first 10000 rows); declare it with "
             "dtypes: {{v: float64}}, or set scan: true"),
            ("10400,,n", "{path}: column 'v': the first rows gave it type int64, a later part of the file holds "
             "empty values or decimals"),
        ],
        ids=["malformed-row", "float-in-int-column", "empty-in-int-column"],
    )
    async def test_a_bad_row_past_the_sample_names_the_file(self, tmp_path: Path, row: str, message: str) -> None:
        path = big_file(tmp_path / "big.csv", 10401, row)
        with pytest.raises(DataError, match=re.escape(message.format(path=path))):
            await run_module("csv_source", {"file_path": str(path), "blocksize": "16KB"}, mode="dask")

    async def test_a_bad_byte_past_the_sample_names_file_line_and_offset(self, tmp_path: Path) -> None:
        path = big_file(tmp_path / "big.csv", 10401, "10400,10400,n")
        data = path.read_bytes()
        offset = data.index(b"10400,10400,n") + 12
        path.write_bytes(data[:offset] + b"\xff" + data[offset + 1 :])
        with pytest.raises(
            DataError,
            match=re.escape(f"{path}: line 10401: cannot decode byte 0xff at byte offset {offset} as utf-8"),
        ):
            await run_module("csv_source", {"file_path": str(path), "blocksize": "16KB"}, mode="dask")

    async def test_the_run_fails_in_the_sink_with_the_source_file_and_line(
        self, flows: FlowHarness, tmp_path: Path
    ) -> None:
        big_file(flows.root / "data" / "big.csv", 10401, "10400,10400,n,extra")
        result = await flows.run("""
            flow: {name: lazy_error}
            settings: {execution_mode: dask}
            modules:
              - id: read
                name: csv_source
                configs: {required: {file_path: data/big.csv}, optional: {blocksize: 16KB}}
              - {id: write, name: parquet_sink, configs: {required: {output_path: out/rows}}}
            connections:
              data: ["read.data - write.input"]
            """)
        assert result.status == "failed"
        assert result.manifest["modules"]["read"]["status"] == "success"  # lazy: nothing read yet
        error = result.manifest["modules"]["write"]["error"]
        assert "data/big.csv: line 10401: malformed row: expected 3 fields, saw 4" in error
        assert "Traceback" not in error and not (flows.root / "out" / "rows").exists()
