"""``csv_sink``: write a frame to a CSV file, atomically.

The file is written under a temporary name next to the target and renamed on
success, so a failed or killed run never leaves a partial file under the
final name. In dask mode every partition is written to its own part file in
one pass (``pypeline.modules.partitioned``, computed with ``ctx.compute``
together with the other sinks of the sub flow), never computing the whole
frame; with ``single_file: true`` (the default) the parts are then appended
in order into one file, otherwise the folder of parts is the output. The row
count comes from the same pass. A frame without columns (and without rows) is an
empty file, never a file holding a lone newline.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pypeline.modules.common.columns import column_names
from pypeline.modules.common.sink_configs import REPLACE_OUTPUT_OF_CONFIG
from pypeline.modules.frames import row_count
from pypeline.modules.kinds import kind_of
from pypeline.modules.kinds.convert import pandas_chunks, to_pandas
from pypeline.modules.partitioned import (
    concat_and_remove,
    continuation_encoding,
    partition_writes,
    parts_folder,
    written_rows,
)
from pypeline.modules.sdk import BaseModule, DataError, RunContext, atomic_output_path, atomic_output_path_async
from pypeline.modules.sdk.outputs import file_path_problems
from pypeline.modules.storage import STORAGE_OPTIONS_CONFIG

QUOTING = {"minimal": csv.QUOTE_MINIMAL, "all": csv.QUOTE_ALL, "nonnumeric": csv.QUOTE_NONNUMERIC}


class CsvSink(BaseModule):
    """Write a CSV file."""

    TYPE = "sink"
    VERSION = "1.2.0"
    DESCRIPTION = "Writes its input to a CSV file (atomic rename on success; dask partitions in one pass)"
    CATEGORY = "File Sinks"
    INPUT_PORTS = ["input"]
    GLOBALS = ["row_count"]
    ACCEPTS_ARROW = True
    STREAMS = True
    CONFIG_SCHEMA = {
        "required": {"output_path": {"type": "str", "description": "Target CSV file"}},
        "optional": {
            **STORAGE_OPTIONS_CONFIG,
            "delimiter": {"type": "str", "default": ",", "description": "Field delimiter"},
            "encoding": {"type": "str", "default": "utf-8", "description": "File encoding"},
            "header": {"type": "bool", "default": True, "description": "Write the column names first"},
            "null_value": {"type": "str", "default": "", "description": "Text written for nulls"},
            "quoting": {
                "type": "str",
                "default": "minimal",
                "enum": list(QUOTING),
                "description": "Which fields are quoted",
            },
            "date_format": {"type": "str|null", "default": None, "description": "strftime format for datetimes"},
            "single_file": {"type": "bool", "default": True, "description": "dask mode: one file, else a folder"},
            **REPLACE_OUTPUT_OF_CONFIG,
        },
    }

    @classmethod
    def check_configs(cls, configs: Mapping[str, Any]) -> list[str]:
        if configs.get("single_file") is False:  # a folder in dask mode; pandas mode says so at run time
            return []
        return file_path_problems(configs)

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        path = self.configs["output_path"]
        if kind_of(frame).partitioned and len(frame.columns):
            rows = await self._write_lazy(frame, path, ctx)
        else:
            rows = await ctx.executor.run_in_thread(self._write, frame, path, ctx)
        ctx.record_file_written(path)
        ctx.set_global("row_count", rows)
        return {}

    def _options(self) -> dict[str, Any]:
        c = self.configs
        return {
            "sep": c["delimiter"],
            "encoding": c["encoding"],
            "header": c["header"],
            "na_rep": c["null_value"],
            "quoting": QUOTING[c["quoting"]],
            "date_format": c["date_format"],
            "index": False,
        }

    def _write(self, frame: Any, path: str, ctx: RunContext) -> int:
        """A pandas frame, an Arrow table or stream, or a frame without columns (dask ones too: their rows are
        counted to refuse them)."""
        options = self._options()
        kind = kind_of(frame)
        folder = kind.partitioned and not self.configs["single_file"]
        with atomic_output_path(path, ctx, folder=folder, replace_output_of=self.configs["replace_output_of"],
                                storage_options=self.configs["storage_options"]) as tmp:
            if not column_names(frame):
                return _write_no_columns(frame, tmp, folder)
            if kind.native == "arrow":
                return _write_chunks(frame, tmp, options)
            frame.to_csv(tmp, **options)
            return len(frame)

    async def _write_lazy(self, frame: Any, path: str, ctx: RunContext) -> int:
        options = self._options()
        single = bool(self.configs["single_file"])
        replace = self.configs["replace_output_of"]
        async with atomic_output_path_async(
            path, ctx, folder=not single, replace_output_of=replace, storage_options=self.configs["storage_options"]
        ) as tmp:
            if not single:
                writes = partition_writes(frame, tmp, lambda part, p, i: part.to_csv(p, **options), ".csv")
                (counts,) = await ctx.compute(writes)
                return written_rows(counts)
            parts = parts_folder(tmp)  # beside tmp: removed with it when the write fails
            (counts,) = await ctx.compute(partition_writes(frame, parts, _part_writer(options), ".csv"))
            await ctx.executor.run_in_thread(concat_and_remove, parts, tmp)
            return written_rows(counts)


def _write_chunks(data: Any, tmp: Path, options: dict[str, Any]) -> int:
    """An Arrow table or stream written through pandas a chunk at a time: the bytes pandas writes for it whole."""
    rows = 0
    with open(tmp, "wb") as out:
        for chunk in pandas_chunks(data):
            first = rows == 0
            encoding = options["encoding"] if first else continuation_encoding(options["encoding"])
            text = chunk.to_csv(**{**options, "encoding": None, "header": options["header"] if first else False})
            out.write(text.encode(encoding))
            rows += len(chunk)
        if not rows:
            empty = data.schema.empty_table()
            out.write(to_pandas(empty).to_csv(**{**options, "encoding": None}).encode(options["encoding"]))
    return rows


def _write_no_columns(frame: Any, tmp: Path, folder: bool) -> int:
    """A frame without columns: an empty file (pandas would write a lone newline), or an empty folder.

    Raises:
        DataError: the frame has rows, which a CSV file cannot hold without columns.
    """
    rows = row_count(frame)
    if rows:
        raise DataError(f"the input has {rows} rows but no columns; a CSV file cannot hold rows without columns")
    if folder:
        tmp.mkdir()
    else:
        tmp.touch()
    return 0


def _part_writer(options: dict[str, Any]) -> Any:
    """Partition 0 carries the header (and any byte-order mark); the others continue the file."""

    def write(part: Any, path: Path, index: int) -> None:
        if index == 0:
            part.to_csv(path, **options)
        else:
            part.to_csv(path, **{**options, "header": False, "encoding": continuation_encoding(options["encoding"])})

    return write
