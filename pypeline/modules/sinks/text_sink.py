"""``text_sink``: write one column of a frame as lines of a text file, atomically.

In dask mode each partition is written to a part file in one pass and the
parts are appended in order (``pypeline.modules.partitioned``): the frame is
never computed whole.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pypeline.modules.kinds import kind_of
from pypeline.modules.partitioned import concat_parts, continuation_encoding, parts_folder, write_partitions
from pypeline.modules.sdk import BaseModule, RunContext, atomic_output_path
from pypeline.modules.sdk.outputs import file_path_problems


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
            "column": {"type": "str", "default": "line", "description": "Column whose values become the lines"},
            "encoding": {"type": "str", "default": "utf-8", "description": "File encoding"},
            "replace_output_of": {
                "type": "list[str]",
                "default": [],
                "description": "Other jobs whose output folder (with its _PYPELINE marker) this sink may replace; "
                "`*`: any job (docs/security.md)",
            },
        },
    }

    @classmethod
    def check_configs(cls, configs: Mapping[str, Any]) -> list[str]:
        return file_path_problems(configs)

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        column = self.configs["column"]
        if column not in frame.columns:
            raise KeyError(f"column '{column}' not in the input (columns: {', '.join(map(str, frame.columns))})")
        path = self.configs["output_path"]
        partitioned = kind_of(frame).partitioned
        rows = await ctx.executor.run_in_thread(self._write, frame[column], partitioned, path, ctx)
        ctx.record_file_written(path)
        ctx.set_global("row_count", rows)
        return {}

    def _write(self, series: Any, partitioned: bool, path: str, ctx: RunContext) -> int:
        encoding = self.configs["encoding"]
        with atomic_output_path(path, ctx, folder=False, replace_output_of=self.configs["replace_output_of"]) as tmp:
            if not partitioned:
                _write_lines(series, tmp, encoding)
                return len(series)
            parts = parts_folder(tmp)
            try:
                rows = write_partitions(
                    series,
                    parts,
                    lambda part, p, i: _write_lines(part, p, encoding if i == 0 else continuation_encoding(encoding)),
                    ".txt",
                )
                concat_parts(sorted(parts.iterdir()), tmp)
            finally:
                shutil.rmtree(parts, ignore_errors=True)
            return rows


def _write_lines(series: Any, path: Path, encoding: str) -> None:
    with open(path, "w", encoding=encoding, newline="\n") as fh:
        for value in series.astype("string").fillna(""):
            fh.write(f"{value}\n")
