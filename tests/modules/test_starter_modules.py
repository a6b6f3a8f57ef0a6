"""The starter modules' ``run`` on real files (pandas mode; dask mode is tests/modules/test_dask_mode.py).

Each module is configured the way the build configures it (``resolve_configs``
fills the defaults of its CONFIG_SCHEMA), given a real :class:`RunContext`
and run through ``setup`` / ``run`` / ``teardown``.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import structlog

from pypeline.modules.builtins import BUILTIN_MODULES
from pypeline.modules.loader import load_module_class
from pypeline.modules.sdk import DataError, GlobalStore, RunContext, ThreadRunner
from pypeline.modules.sdk.config import resolve_configs


@dataclass
class Ran:
    """What one module run gave back."""

    outputs: dict[str, Any]
    ctx: RunContext

    @property
    def globals(self) -> dict[str, Any]:
        return self.ctx.globals_set


async def run(name: str, configs: dict[str, Any] | None = None, **inputs: Any) -> Ran:
    """Run built-in module ``name`` once, as the run phase would."""
    cls = load_module_class(BUILTIN_MODULES[name])
    resolved = resolve_configs(cls.CONFIG_SCHEMA, {"optional": configs or {}})
    ctx = RunContext(
        run_id="test",
        module_id=name,
        node_id=name,
        globals_store=GlobalStore(),
        executor=ThreadRunner(None),
        logger=structlog.get_logger(),
    )
    module = cls(resolved)
    await module.setup(ctx)
    try:
        outputs = await module.run(dict(inputs), ctx)
    finally:
        await module.teardown(ctx)
    return Ran(outputs, ctx)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding)
    return path


def no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if ".pype-tmp" in p.name or ".pype-old" in p.name]


class TestCsvSource:
    async def test_one_file(self, tmp_path: Path) -> None:
        path = write(tmp_path / "people.csv", "name,age\nana,17\nben,30\n")
        ran = await run("csv_source", {"file_path": str(path)})
        frame = ran.outputs["data"]
        assert frame["name"].tolist() == ["ana", "ben"] and frame["age"].tolist() == [17, 30]
        assert ran.globals == {"row_count": 2, "files_read": 1, "file_size": path.stat().st_size, "rows_dropped": 0}
        assert ran.ctx.stats.files_read == [str(path)]

    async def test_folder_and_glob_concat_in_name_order(self, tmp_path: Path) -> None:
        write(tmp_path / "in" / "b.csv", "x\n2\n")
        write(tmp_path / "in" / "a.csv", "x\n1\n")
        write(tmp_path / "in" / "notes.txt", "not csv")
        folder = await run("csv_source", {"file_path": str(tmp_path / "in" / "*.csv")})
        assert folder.outputs["data"]["x"].tolist() == [1, 2]
        assert folder.globals["files_read"] == 2

    async def test_union_by_name(self, tmp_path: Path) -> None:
        write(tmp_path / "a.csv", "x,y\n1,a\n")
        write(tmp_path / "b.csv", "y,z\nb,true\n")
        ran = await run("csv_source", {"file_path": str(tmp_path / "*.csv"), "combine_strategy": "union_by_name"})
        frame = ran.outputs["data"]
        assert list(frame.columns) == ["x", "y", "z"]
        assert frame["y"].tolist() == ["a", "b"]
        assert frame["x"].isna().tolist() == [False, True]

    async def test_concat_refuses_different_columns_naming_the_file(self, tmp_path: Path) -> None:
        write(tmp_path / "a.csv", "x,y\n1,a\n")
        write(tmp_path / "b.csv", "y,x\nb,2\n")
        with pytest.raises(ValueError, match=r"b\.csv: columns differ from .*a\.csv: "
                                             r"has the columns in another order \['y', 'x'\]"):
            await run("csv_source", {"file_path": str(tmp_path / "*.csv")})

    async def test_validate_schema_refuses_different_types(self, tmp_path: Path) -> None:
        write(tmp_path / "a.csv", "x\n1\n")
        write(tmp_path / "b.csv", "x\nnot a number\n")
        with pytest.raises(ValueError, match=r"b\.csv: column types differ from .*a\.csv: x: str vs int64"):
            await run("csv_source", {"file_path": str(tmp_path / "*.csv"), "combine_strategy": "validate_schema"})

    async def test_malformed_row_names_file_and_line(self, tmp_path: Path) -> None:
        path = write(tmp_path / "bad.csv", "a,b\n1,2\n3,4,5\n6,7\n")
        with pytest.raises(ValueError, match=r"bad\.csv: line 3: malformed row: expected 2 fields, saw 3"):
            await run("csv_source", {"file_path": str(path)})

    async def test_bad_lines_skipped_and_counted(self, tmp_path: Path) -> None:
        path = write(tmp_path / "bad.csv", "a,b\n1,2\n3,4,5\n6,7\n")
        ran = await run("csv_source", {"file_path": str(path), "on_bad_lines": "skip"})
        assert ran.outputs["data"]["a"].tolist() == [1, 6]
        assert ran.globals["rows_dropped"] == 1
        assert ran.ctx.stats.extra == {"rows_dropped": 1}
        assert ran.ctx.stats.events == [{"name": "bad_lines_skipped", "count": 1}]

    async def test_options(self, tmp_path: Path) -> None:
        path = write(tmp_path / "eu.csv", "ana;1,5;2025-01-15\nbo;2,25;2025-02-01\n", encoding="latin-1")
        ran = await run("csv_source", {
            "file_path": str(path), "delimiter": ";", "decimal": ",", "header": False, "encoding": "latin-1",
            "column_names": ["name", "score", "day"], "date_columns": ["day"], "dtypes": {"name": "string"},
        })
        frame = ran.outputs["data"]
        assert frame["score"].tolist() == [1.5, 2.25]
        assert str(frame["name"].dtype) == "string"
        assert frame["day"].iloc[1] == pd.Timestamp("2025-02-01")

    async def test_wrong_encoding_says_which_config(self, tmp_path: Path) -> None:
        path = write(tmp_path / "latin.csv", "name\ncafé\n", encoding="latin-1")
        with pytest.raises(ValueError, match=r"latin\.csv: line 2: cannot decode byte 0xe9 at byte offset \d+ "
                                             r"as utf-8; set the 'encoding' config"):
            await run("csv_source", {"file_path": str(path)})

    async def test_nothing_matches(self, tmp_path: Path) -> None:
        with pytest.raises(FileNotFoundError, match="no file matches"):
            await run("csv_source", {"file_path": str(tmp_path / "missing.csv")})
        (tmp_path / "empty").mkdir()
        with pytest.raises(DataError, match=re.escape(f"folder '{tmp_path / 'empty'}' holds no files")):
            await run("csv_source", {"file_path": str(tmp_path / "empty")})

    async def test_empty_file(self, tmp_path: Path) -> None:
        path = write(tmp_path / "empty.csv", "")
        ran = await run("csv_source", {"file_path": str(path), "column_names": ["id"]})
        assert len(ran.outputs["data"]) == 0 and ran.globals["row_count"] == 0
        with pytest.raises(DataError, match="empty file"):  # no declared columns: docs/modules.md#csv_source
            await run("csv_source", {"file_path": str(path)})


class TestFilterMod:
    async def test_keeps_matching_rows(self) -> None:
        frame = pd.DataFrame({"name": ["ana", "ben", "cy"], "age": [17, 30, 45], "country": ["FR", "FR", "NO"]})
        ran = await run("filter_mod", {"condition": 'age > 18 and country == "FR"'}, input=frame)
        assert ran.outputs["output"]["name"].tolist() == ["ben"]
        assert ran.globals == {"row_count": 1, "rows_dropped": 2}
        assert frame["name"].tolist() == ["ana", "ben", "cy"]  # the input is not changed

    async def test_bad_condition_lists_the_columns(self) -> None:
        frame = pd.DataFrame({"age": [1]})
        with pytest.raises(ValueError, match=r"condition 'agee > 1' failed: .*\(columns: age\)"):
            await run("filter_mod", {"condition": "agee > 1"}, input=frame)


class TestCsvSink:
    async def test_writes_atomically(self, tmp_path: Path) -> None:
        target = tmp_path / "out" / "people.csv"
        frame = pd.DataFrame({"name": ["ana", "bo"], "n": [1, 2]})
        ran = await run("csv_sink", {"output_path": str(target), "delimiter": ";"}, input=frame)
        assert ran.outputs == {}
        assert target.read_text() == "name;n\nana;1\nbo;2\n"
        assert ran.globals == {"row_count": 2}
        assert ran.ctx.stats.files_written == [str(target)]
        assert no_temp_files(tmp_path)

    async def test_replaces_an_existing_file_and_no_header(self, tmp_path: Path) -> None:
        target = write(tmp_path / "x.csv", "old\n")
        await run("csv_sink", {"output_path": str(target), "header": False}, input=pd.DataFrame({"a": [1]}))
        assert target.read_text() == "1\n"

    async def test_failed_write_keeps_the_old_file(self, tmp_path: Path) -> None:
        # pandas has written thousands of rows when the last one cannot be encoded: a sink writing in place
        # would leave them under the final name
        target = write(tmp_path / "x.csv", "old\n")
        frame = pd.DataFrame({"name": ["ana"] * 5000 + ["zoë"]})
        with pytest.raises(UnicodeEncodeError):
            await run("csv_sink", {"output_path": str(target), "encoding": "ascii"}, input=frame)
        assert target.read_text() == "old\n" and no_temp_files(tmp_path)

    async def test_failure_leaves_no_file(self, tmp_path: Path) -> None:
        target = tmp_path / "x.csv"
        with pytest.raises(LookupError):
            await run("csv_sink", {"output_path": str(target), "encoding": "no-such-codec"},
                      input=pd.DataFrame({"a": [1]}))
        assert not target.exists() and no_temp_files(tmp_path)


class TestParquetSink:
    async def test_file(self, tmp_path: Path) -> None:
        target = tmp_path / "out.parquet"
        frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
        ran = await run("parquet_sink", {"output_path": str(target), "compression": "none"}, input=frame)
        assert pd.read_parquet(target).equals(frame)
        assert ran.globals == {"row_count": 3}
        assert no_temp_files(tmp_path)

    async def test_partitioned_folder(self, tmp_path: Path) -> None:
        target = tmp_path / "by_country"
        frame = pd.DataFrame({"country": ["FR", "NO", "FR"], "n": [1, 2, 3]})
        ran = await run("parquet_sink", {"output_path": str(target), "partition_cols": ["country"]}, input=frame)
        assert sorted(p.name for p in target.iterdir()) == ["_PYPELINE", "country=FR", "country=NO"]
        assert sorted(pd.read_parquet(target)["n"].tolist()) == [1, 2, 3]
        assert ran.globals == {"row_count": 3}


class TestFileList:
    @pytest.fixture
    def folder(self, tmp_path: Path) -> Path:
        now = time.time()
        for i, (name, size) in enumerate([("b.csv", 30), ("a.csv", 10), ("c.txt", 20), ("sub/d.csv", 5)]):
            path = write(tmp_path / "in" / name, "x" * size)
            os.utime(path, (now - 1000 + i, now - 1000 + i))
        return tmp_path / "in"

    async def test_pattern_and_sorts(self, folder: Path) -> None:
        by_name = await run("file_list", {"directory": str(folder), "pattern": "*.csv"})
        assert by_name.outputs["files"] == [str(folder / "a.csv"), str(folder / "b.csv")]
        assert by_name.globals == {"file_count": 2, "row_count": 2}
        by_size = await run("file_list", {"directory": str(folder), "sort": "size", "reverse": True})
        assert by_size.outputs["files"] == [str(folder / n) for n in ("b.csv", "c.txt", "a.csv")]
        by_mtime = await run("file_list", {"directory": str(folder), "sort": "mtime"})
        assert by_mtime.outputs["files"] == [str(folder / n) for n in ("b.csv", "a.csv", "c.txt")]

    async def test_recursive_and_size_filters(self, folder: Path) -> None:
        ran = await run("file_list", {"directory": str(folder), "recursive": True, "pattern": "*.csv",
                                      "min_size": 6, "max_size": 29})
        assert ran.outputs["files"] == [str(folder / "a.csv")]
        deep = await run("file_list", {"directory": str(folder), "recursive": True, "pattern": "*.csv"})
        assert str(folder / "sub" / "d.csv") in deep.outputs["files"]

    async def test_age_filters(self, folder: Path) -> None:
        assert (await run("file_list", {"directory": str(folder), "max_age_seconds": 10})).outputs["files"] == []
        old = await run("file_list", {"directory": str(folder), "min_age_seconds": 10})
        assert len(old.outputs["files"]) == 3

    async def test_empty_and_missing(self, folder: Path) -> None:
        assert (await run("file_list", {"directory": str(folder), "pattern": "*.xml"})).outputs["files"] == []
        with pytest.raises(DataError, match=r"no file matches '\*\.xml' in"):  # a DataError: no traceback
            await run("file_list", {"directory": str(folder), "pattern": "*.xml", "fail_if_empty": True})
        with pytest.raises(FileNotFoundError, match=r"directory .*nope' does not exist"):
            await run("file_list", {"directory": str(folder / "nope")})
        (folder / "plain.txt").write_text("x")
        with pytest.raises(DataError, match=r"directory .*plain\.txt' is a file, expected a folder"):
            await run("file_list", {"directory": str(folder / "plain.txt")})


class TestSetGlobalsAndFailMod:
    async def test_set_globals(self) -> None:
        ran = await run("set_globals", {"values": {"count": 3, "label": "x"}})
        assert ran.outputs == {} and ran.globals == {"count": 3, "label": "x"}
        cls = load_module_class(BUILTIN_MODULES["set_globals"])
        assert cls.declared_globals({"values": {"b": 1, "a": 2}}) == ["a", "b"]

    async def test_fail_mod_fails_with_its_message(self) -> None:
        with pytest.raises(RuntimeError, match=r"^boom$"):
            await run("fail_mod", {"message": "boom"})

    async def test_fail_mod_passes_once_the_flag_file_exists(self, tmp_path: Path) -> None:
        flag = tmp_path / "ok.flag"
        with pytest.raises(RuntimeError):
            await run("fail_mod", {"unless_file_exists": str(flag)})
        flag.touch()
        assert (await run("fail_mod", {"unless_file_exists": str(flag)})).globals == {"passed": True}

    async def test_fail_mod_fails_the_first_attempts(self, tmp_path: Path) -> None:
        counter = tmp_path / "count"
        configs = {"fail_attempts": 2, "counter_file": str(counter)}
        for _ in range(2):
            with pytest.raises(RuntimeError):
                await run("fail_mod", configs)
        assert (await run("fail_mod", configs)).globals == {"passed": True}
        assert counter.read_text() == "3"


class TestText:
    async def test_text_source(self, tmp_path: Path) -> None:
        write(tmp_path / "a.log", "one\n\ntwo\n")
        write(tmp_path / "b.log", "three\n")
        ran = await run("text_source", {"file_path": str(tmp_path / "*.log"), "skip_empty": True})
        assert ran.outputs["data"]["line"].tolist() == ["one", "two", "three"]
        assert ran.globals == {"row_count": 3, "files_read": 2}
        named = await run("text_source", {"file_path": str(tmp_path / "a.log"), "column": "text"})
        assert named.outputs["data"]["text"].tolist() == ["one", "", "two"]

    async def test_text_source_encoding_error(self, tmp_path: Path) -> None:
        path = write(tmp_path / "l.txt", "café\n", encoding="latin-1")
        with pytest.raises(ValueError, match=r"l\.txt: cannot decode byte at position 3 as utf-8"):
            await run("text_source", {"file_path": str(path)})

    async def test_regex_filter(self) -> None:
        frame = pd.DataFrame({"line": ["ERROR disk", "info ok", "error net", None]})
        ran = await run("regex_filter_mod", {"pattern": "^error", "ignore_case": True}, input=frame)
        assert ran.outputs["output"]["line"].tolist() == ["ERROR disk", "error net"]
        assert ran.globals == {"row_count": 2, "rows_dropped": 2}
        inverted = await run("regex_filter_mod", {"pattern": "^error", "invert": True}, input=frame)
        assert inverted.outputs["output"]["line"].tolist()[:2] == ["ERROR disk", "info ok"]

    async def test_regex_filter_errors(self) -> None:
        frame = pd.DataFrame({"text": ["a"]})
        with pytest.raises(ValueError, match=r"column 'line' is not in the input\. The input has: text"):
            await run("regex_filter_mod", {"pattern": "a"}, input=frame)
        with pytest.raises(ValueError, match=r"pattern '\(' is not a valid regular expression"):
            await run("regex_filter_mod", {"pattern": "(", "column": "text"}, input=frame)

    async def test_text_sink(self, tmp_path: Path) -> None:
        target = tmp_path / "out.txt"
        frame = pd.DataFrame({"line": ["a", None, "c"], "n": [1, 2, 3]})
        ran = await run("text_sink", {"output_path": str(target)}, input=frame)
        assert target.read_text() == "a\n\nc\n"
        assert ran.globals == {"row_count": 3}
        await run("text_sink", {"output_path": str(target), "column": "n"}, input=frame)
        assert target.read_text() == "1\n2\n3\n"
        assert no_temp_files(tmp_path)
        with pytest.raises(KeyError, match=r"column 'line' not in the input \(columns: n\)"):
            await run("text_sink", {"output_path": str(target)}, input=frame[["n"]])


class TestUnionAndUtility:
    async def test_union_by_name(self) -> None:
        one = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
        two = pd.DataFrame({"b": ["y", "z"], "c": [True, False]})
        ran = await run("union_mod", input1=one, input2=two)
        out = ran.outputs["output"]
        assert list(out.columns) == ["a", "b", "c"]
        assert out["b"].tolist() == ["x", "y", "y", "z"]
        assert ran.globals == {"row_count": 4, "rows_dropped": 0}

    async def test_union_distinct_and_optional_inputs(self) -> None:
        same = pd.DataFrame({"a": [1, 2]})
        ran = await run("union_mod", {"distinct": True}, input1=same, input2=same, input3=pd.DataFrame({"a": [3]}))
        assert sorted(ran.outputs["output"]["a"].tolist()) == [1, 2, 3]

    async def test_noop_and_empty(self) -> None:
        frame = pd.DataFrame({"a": [1]})
        assert (await run("noop_mod", input=frame)).outputs["output"] is frame
        assert (await run("noop_sink", input=frame)).globals == {"row_count": 1}
        empty = await run("empty_source", {"columns": ["x", "y"]})
        assert list(empty.outputs["data"].columns) == ["x", "y"] and len(empty.outputs["data"]) == 0
        assert empty.globals == {"row_count": 0}


def test_every_starter_module_is_covered() -> None:
    import inspect
    import sys

    source = inspect.getsource(sys.modules[__name__])
    for name in BUILTIN_MODULES:
        if name in STARTER:
            assert f'"{name}"' in source, name


STARTER = {
    "csv_source", "filter_mod", "csv_sink", "parquet_sink", "file_list", "set_globals", "fail_mod", "text_source",
    "text_sink", "regex_filter_mod", "union_mod", "noop_mod", "noop_sink", "empty_source",
}
