"""What a sink's output path may replace, and how a bad output path is reported (sdk/outputs.py).

A sink replaces a file or an earlier output folder of its own; it never deletes
a folder holding other files (``output_path`` pointing at a data folder), and
a path it cannot write is one DataError naming it, with nothing left behind.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from pypeline.modules.sdk import DataError
from tests.modules.harness import MODES, run_module

FRAME = pd.DataFrame({"id": [1, 2, 3], "year": [2023, 2023, 2024]})


def leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if "pype-tmp" in p.name or "pype-old" in p.name]


@pytest.mark.parametrize("sink", ["csv_sink", "json_sink", "parquet_sink"])
async def test_a_folder_of_other_files_is_never_replaced(tmp_path: Path, sink: str) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "input.txt").write_text("keep me")
    with pytest.raises(DataError, match=re.escape(f"output path '{folder}' is an existing folder that holds "
                                                  f"other files ('{folder / 'input.txt'}')")):
        await run_module(sink, {"output_path": str(folder)}, {"input": FRAME})
    assert (folder / "input.txt").read_text() == "keep me"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("mode", MODES)
async def test_a_partitioned_output_replaces_its_earlier_self(tmp_path: Path, mode: str) -> None:
    target = tmp_path / "lake"
    for _ in range(2):
        run = await run_module("parquet_sink", {"output_path": str(target), "partition_cols": ["year"]},
                               {"input": FRAME}, mode=mode)
        assert run.globals == {"row_count": 3}
    assert sorted(p.name for p in target.iterdir()) == ["_PYPELINE", "year=2023", "year=2024"]
    assert leftovers(tmp_path) == []


async def test_a_partitioned_output_does_not_replace_a_folder_of_other_files(tmp_path: Path) -> None:
    target = tmp_path / "lake"
    target.mkdir()
    (target / "notes.md").write_text("mine")
    with pytest.raises(DataError, match="is an existing folder that holds other files"):
        await run_module("parquet_sink", {"output_path": str(target), "partition_cols": ["year"]}, {"input": FRAME})
    assert [p.name for p in target.iterdir()] == ["notes.md"]


async def test_switching_between_a_file_and_a_folder_of_the_same_format(tmp_path: Path) -> None:
    target = tmp_path / "sales.parquet"
    await run_module("parquet_sink", {"output_path": str(target), "partition_cols": ["year"]}, {"input": FRAME})
    assert target.is_dir()
    await run_module("parquet_sink", {"output_path": str(target)}, {"input": FRAME})
    assert target.is_file() and len(pd.read_parquet(target)) == 3
    await run_module("parquet_sink", {"output_path": str(target), "partition_cols": ["year"]}, {"input": FRAME})
    assert target.is_dir()
    assert leftovers(tmp_path) == []


async def test_a_folder_output_does_not_replace_a_file_of_another_kind(tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    target.write_text("mine")
    with pytest.raises(DataError, match=re.escape(f"output path '{target}' is an existing file; this sink writes "
                                                  "a folder there")):
        await run_module("parquet_sink", {"output_path": str(target), "partition_cols": ["year"]}, {"input": FRAME})
    assert target.read_text() == "mine" and leftovers(tmp_path) == []


async def test_an_empty_folder_is_replaced(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.mkdir()
    await run_module("csv_sink", {"output_path": str(target)}, {"input": FRAME})
    assert target.read_text().splitlines()[0] == "id,year"


async def test_a_parent_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("x")
    target = tmp_path / "out" / "sub" / "x.parquet"
    with pytest.raises(DataError, match=re.escape(f"output path '{target}': '{tmp_path / 'out'}' is a file, "
                                                  "expected a folder")):
        await run_module("parquet_sink", {"output_path": str(target)}, {"input": FRAME})


async def test_a_name_too_long_for_the_file_system(tmp_path: Path) -> None:
    target = tmp_path / ("x" * 300 + ".csv")
    with pytest.raises(DataError, match=r"cannot write output '.*x\.csv': File name too long"):
        await run_module("csv_sink", {"output_path": str(target)}, {"input": FRAME})
    assert list(tmp_path.iterdir()) == []
