"""``text_sink``: write one column of a frame as lines of a text file, atomically.

In dask mode each partition is written to a part file in one pass (computed
with ``ctx.compute``, together with the other sinks of the sub flow) and the
parts are appended in order (``pypeline.modules.partitioned``): the frame is
never computed whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pypeline.modules.common.sink_configs import REPLACE_OUTPUT_OF_CONFIG
from pypeline.modules.kinds import kind_of
from pypeline.modules.partitioned import (
    concat_and_remove,
    continuation_encoding,
    partition_writes,
    parts_folder,
    written_rows,
)
from pypeline.modules.sdk import BaseModule, RunContext, atomic_output_path, atomic_output_path_async
from pypeline.modules.sdk.columns import ColumnUse, name_uses
from pypeline.modules.sdk.outputs import file_path_problems
from pypeline.modules.storage import STORAGE_OPTIONS_CONFIG


class TextSink(BaseModule):
    """Write lines."""

    TYPE = "sink"
    VERSION = "1.1.0"
    DESCRIPTION = "Writes a column (default 'line') as the lines of a text file"
    CATEGORY = "File Sinks"
    INPUT_PORTS = ["input"]
    GLOBALS = ["row_count"]
    CONFIG_SCHEMA = {
        "required": {"output_path": {"type": "str", "description": "Target text file"}},
        "optional": {
            **STORAGE_OPTIONS_CONFIG,
            "column": {"type": "str", "default": "line", "description": "Column whose values become the lines"},
            "encoding": {"type": "str", "default": "utf-8", "description": "File encoding"},
            **REPLACE_OUTPUT_OF_CONFIG,
        },
    }

    @classmethod
    def check_configs(cls, configs: Mapping[str, Any]) -> list[str]:
        return file_path_problems(configs)

    @classmethod
    def columns_used(cls, configs: Mapping[str, Any]) -> list[ColumnUse]:
        return name_uses("column", configs.get("column"))

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        column = self.configs["column"]
        if column not in frame.columns:
            raise KeyError(f"column '{column}' not in the input (columns: {', '.join(map(str, frame.columns))})")
        path = self.configs["output_path"]
        if kind_of(frame).partitioned:
            rows = await self._write_lazy(frame[column], path, ctx)
        else:
            rows = await ctx.executor.run_in_thread(self._write, frame[column], path, ctx)
        ctx.record_file_written(path)
        ctx.set_global("row_count", rows)
        return {}

    def _write(self, series: Any, path: str, ctx: RunContext) -> int:
        encoding = self.configs["encoding"]
        with atomic_output_path(path, ctx, folder=False, replace_output_of=self.configs["replace_output_of"],
                                storage_options=self.configs["storage_options"]) as tmp:
            _write_lines(series, tmp, encoding)
            return len(series)

    async def _write_lazy(self, series: Any, path: str, ctx: RunContext) -> int:
        encoding = self.configs["encoding"]
        replace = self.configs["replace_output_of"]
        async with atomic_output_path_async(
            path, ctx, folder=False, replace_output_of=replace, storage_options=self.configs["storage_options"]
        ) as tmp:
            parts = parts_folder(tmp)  # beside tmp: removed with it when the write fails
            writes = partition_writes(
                series,
                parts,
                lambda part, p, i: _write_lines(part, p, encoding if i == 0 else continuation_encoding(encoding)),
                ".txt",
            )
            (counts,) = await ctx.compute(writes)
            await ctx.executor.run_in_thread(concat_and_remove, parts, tmp)
            return written_rows(counts)


def _write_lines(series: Any, path: Path, encoding: str) -> None:
    with open(path, "w", encoding=encoding, newline="\n") as fh:
        for value in series.astype("string").fillna(""):
            fh.write(f"{value}\n")
