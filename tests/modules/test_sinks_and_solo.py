"""csv_sink, parquet_sink, json_sink, log_sink (both modes, atomic output) and wait_for_file."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow
import pytest

from pypeline.modules.sdk import DataError
from tests.modules.harness import MODES, ConfigRejected, check, run_module

BOTH = pytest.mark.parametrize("mode", MODES, ids=MODES)


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "id": [1, 2, 3, 4],
        "city": ["Besançon", "Zürich", None, "Oslo"],
        "amount": [1.5, None, 3.0, 4.25],
        "day": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", None]),
        "year": [2023, 2023, 2024, 2024],
    })


def leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if "pype-tmp" in p.name or "pype-old" in p.name]


class TestCsvSink:
    @BOTH
    async def test_options_round_trip(self, tmp_path: Path, frame: pd.DataFrame, mode: str) -> None:
        target = tmp_path / "out" / "x.csv"
        run = await run_module("csv_sink", {"output_path": str(target), "delimiter": ";", "encoding": "utf-16",
                                            "null_value": "NULL", "quoting": "all", "date_format": "%d/%m/%Y"},
                               {"input": frame}, mode=mode, partitions=3)
        assert run.globals == {"row_count": 4}
        text = target.read_text(encoding="utf-16")
        assert text.splitlines()[0] == '"id";"city";"amount";"day";"year"'
        assert text.splitlines()[2] == '"2";"Zürich";"NULL";"02/01/2024";"2023"'
        assert text.count("\ufeff") == 0  # one BOM at most, consumed by the decoder
        assert target.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
        assert run.ctx.stats.files_written == [str(target)]
        assert leftovers(tmp_path) == []


    async def test_target_under_a_file_fails_and_leaves_nothing(self, tmp_path: Path, frame: pd.DataFrame) -> None:
        blocker = tmp_path / "not_a_folder"
        blocker.write_text("x")
        with pytest.raises(DataError, match=re.escape(f"'{blocker}' is a file, expected a folder")):
            await run_module("csv_sink", {"output_path": str(blocker / "x.csv")}, {"input": frame})
        assert blocker.read_text() == "x" and leftovers(tmp_path) == []


class TestParquetSink:
    @BOTH
    @pytest.mark.parametrize("compression", ["zstd", "none"])
    async def test_partitioned_output_reads_back(self, tmp_path: Path, frame: pd.DataFrame, mode: str,
                                                 compression: str) -> None:
        target = tmp_path / "lake"
        run = await run_module("parquet_sink", {"output_path": str(target), "partition_cols": ["year"],
                                                "compression": compression}, {"input": frame}, mode=mode)
        assert run.globals == {"row_count": 4}
        assert sorted(p.name for p in target.iterdir()) == ["_PYPELINE", "year=2023", "year=2024"]
        back = await run_module("parquet_source", {"file_path": str(target)})
        got = back.outputs["data"].sort_values("id").reset_index(drop=True)
        assert got["id"].tolist() == [1, 2, 3, 4]
        assert got["year"].tolist() == [2023, 2023, 2024, 2024]
        assert got["city"].tolist()[:2] == ["Besançon", "Zürich"]
        assert leftovers(tmp_path) == []

    async def test_missing_partition_column(self, tmp_path: Path, frame: pd.DataFrame) -> None:
        with pytest.raises(DataError, match=re.escape("column 'yaer' is not in the input. Did you mean 'year'?")):
            await run_module("parquet_sink", {"output_path": str(tmp_path / "x"), "partition_cols": ["yaer"]},
                             {"input": frame})
        with pytest.raises(ConfigRejected, match=re.escape("'partition_cols' names ['a'] twice")):
            check("parquet_sink", {"output_path": "x", "partition_cols": ["a", "a"]})

    async def test_failed_write_leaves_no_file_and_keeps_the_old_one(self, tmp_path: Path) -> None:
        target = tmp_path / "keep.parquet"
        pd.DataFrame({"v": [1]}).to_parquet(target)
        before = target.read_bytes()
        mixed = pd.DataFrame({"v": [1, "two", 3.0]}, dtype=object)  # pyarrow cannot store mixed types
        with pytest.raises(pyarrow.ArrowInvalid, match="Conversion failed for column v with type object"):
            await run_module("parquet_sink", {"output_path": str(target)}, {"input": mixed})
        assert target.read_bytes() == before
        assert leftovers(tmp_path) == []


@pytest.mark.parametrize(("sink", "configs"), [
    ("json_sink", {"format": "jsonl"}), ("json_sink", {"format": "array"}), ("text_sink", {"column": "name"}),
], ids=["json_sink-jsonl", "json_sink-array", "text_sink"])
async def test_a_write_failing_half_way_keeps_the_old_file(tmp_path: Path, sink: str, configs: dict[str, Any]) -> None:
    # thousands of rows are written before the last one cannot be encoded: a sink writing in place
    # would leave them under the final name
    target = tmp_path / "keep.txt"
    target.write_text("old\n")
    frame = pd.DataFrame({"name": ["ana"] * 5000 + ["zoë"]})
    with pytest.raises(UnicodeEncodeError):
        await run_module(sink, {"output_path": str(target), "encoding": "ascii", **configs}, {"input": frame})
    assert target.read_text() == "old\n"
    assert leftovers(tmp_path) == []


class TestJsonSink:
    @BOTH
    @pytest.mark.parametrize("fmt", ["jsonl", "array"])
    async def test_formats(self, tmp_path: Path, frame: pd.DataFrame, mode: str, fmt: str) -> None:
        target = tmp_path / f"x.{fmt}"
        run = await run_module("json_sink", {"output_path": str(target), "format": fmt}, {"input": frame},
                               mode=mode, partitions=3)
        text = target.read_text(encoding="utf-8")
        data = [json.loads(line) for line in text.splitlines()] if fmt == "jsonl" else json.loads(text)
        assert data[0] == {"id": 1, "city": "Besançon", "amount": 1.5, "day": "2024-01-01T00:00:00", "year": 2023}
        assert data[1]["amount"] is None and data[2]["city"] is None and data[3]["day"] is None
        assert "Besançon" in text  # not escaped unless ascii: true
        assert run.globals == {"row_count": 4}

    @BOTH
    async def test_empty_input_gives_an_empty_array(self, tmp_path: Path, mode: str) -> None:
        target = tmp_path / "empty.json"
        await run_module("json_sink", {"output_path": str(target), "format": "array", "indent": 2},
                         {"input": pd.DataFrame({"a": pd.Series([], dtype="int64")})}, mode=mode)
        assert json.loads(target.read_text()) == []

    async def test_nested_values_stay_nested(self, tmp_path: Path) -> None:
        target = tmp_path / "n.jsonl"
        frame = pd.DataFrame({"id": [1], "user": [{"name": "ana", "tags": ["a"]}]})
        await run_module("json_sink", {"output_path": str(target), "ascii": True}, {"input": frame})
        assert json.loads(target.read_text()) == {"id": 1, "user": {"name": "ana", "tags": ["a"]}}


class TestLogSink:
    @BOTH
    async def test_logs_the_first_rows_and_counts_all(self, frame: pd.DataFrame, mode: str) -> None:
        run = await run_module("log_sink", {"rows": 2, "columns": ["id", "day"], "title": "peek"}, {"input": frame},
                               mode=mode)
        assert run.globals == {"row_count": 4}
        level, event, fields = run.logger.lines[-1]
        assert (level, event) == ("info", "peek")
        assert fields == {"rows": [{"id": 1, "day": "2024-01-01T00:00:00"}, {"id": 2, "day": "2024-01-02T00:00:00"}],
                          "shown": 2, "total_rows": 4, "columns": ["id", "day"]}


    async def test_unknown_column(self, frame: pd.DataFrame) -> None:
        with pytest.raises(DataError, match=re.escape("column 'citty' is not in the input. Did you mean 'city'?")):
            await run_module("log_sink", {"columns": ["citty"]}, {"input": frame})


class TestWaitForFile:
    async def test_waits_until_the_file_is_there_and_stable(self, tmp_path: Path) -> None:
        target = tmp_path / "incoming" / "data.csv"

        async def deliver() -> None:  # the file grows for a while, in steps well under stable_seconds
            await asyncio.sleep(0.1)
            target.parent.mkdir()
            target.write_text("i")  # under min_size
            for row in ["d\n", *(f"{i}\n" for i in range(8))]:
                await asyncio.sleep(0.02)
                with open(target, "a") as fh:
                    fh.write(row)

        delivery = asyncio.create_task(deliver())
        run = await run_module("wait_for_file", {"file_path": str(tmp_path / "incoming" / "*.csv"),
                                                 "poll_interval": 0.01, "timeout": 10, "stable_seconds": 0.5,
                                                 "min_size": 3})
        assert delivery.done(), "the module returned while the file was still growing"
        assert run.globals["found"] is True and run.globals["file_path"] == str(target)
        assert target.read_text() == "id\n" + "".join(f"{i}\n" for i in range(8))
        assert run.stats["checks"] > 10  # it polled through the growth, not once at the end

    async def test_timeout_fails_or_skips(self, tmp_path: Path) -> None:
        pattern = str(tmp_path / "never.csv")
        with pytest.raises(DataError, match=re.escape(
            f"no file matching '{pattern}' (at least 0 bytes) appeared within 0.2s ("
        )):
            await run_module("wait_for_file", {"file_path": pattern, "timeout": 0.2, "poll_interval": 0.05})
        run = await run_module("wait_for_file", {"file_path": pattern, "timeout": 0.1, "poll_interval": 0.05,
                                                 "on_timeout": "skip"})
        assert run.globals["found"] is False and run.globals["file_path"] is None
        assert run.events[0]["name"] == "file_not_found"

    def test_bad_configs(self) -> None:
        with pytest.raises(ConfigRejected, match=re.escape("'poll_interval' must be greater than 0")):
            check("wait_for_file", {"file_path": "x", "poll_interval": 0})
        with pytest.raises(ConfigRejected, match=re.escape("'timeout' must not be negative, got -1")):
            check("wait_for_file", {"file_path": "x", "timeout": -1})
