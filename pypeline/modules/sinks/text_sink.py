"""``text_sink``: write one column of a frame as lines of a text file, atomically."""

from __future__ import annotations

from typing import Any

from pypeline.modules.frames import is_dask
from pypeline.modules.sdk import BaseModule, RunContext, atomic_output_path


class TextSink(BaseModule):
    """Write lines."""

    TYPE = "sink"
    DESCRIPTION = "Writes a column (default 'line') as the lines of a text file"
    CATEGORY = "File Sinks"
    INPUT_PORTS = ["input"]
    GLOBALS = ["row_count"]
    CONFIG_SCHEMA = {
        "required": {"output_path": {"type": "str", "description": "Target text file"}},
        "optional": {
            "column": {"type": "str", "default": "line"},
            "encoding": {"type": "str", "default": "utf-8"},
        },
    }

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        column = self.configs["column"]
        if column not in frame.columns:
            raise KeyError(f"column '{column}' not in the input (columns: {', '.join(map(str, frame.columns))})")
        path = self.configs["output_path"]
        rows = await ctx.executor.run_in_thread(self._write, frame[column], path)
        ctx.record_file_written(path)
        ctx.set_global("row_count", rows)
        return {}

    def _write(self, series: Any, path: str) -> int:
        rows = 0
        parts = (series.get_partition(i).compute() for i in range(series.npartitions)) if is_dask(series) else [series]
        with atomic_output_path(path) as tmp, open(tmp, "w", encoding=self.configs["encoding"]) as fh:
            for part in parts:
                for value in part.astype("string").fillna(""):
                    fh.write(f"{value}\n")
                    rows += 1
        return rows
