"""``text_source``: read text files as a frame of lines (one column, ``line``)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from pypeline.modules.frames import expand_paths, to_dask
from pypeline.modules.sdk import BaseModule, RunContext


class TextSource(BaseModule):
    """Read the lines of one or more text files."""

    TYPE = "source"
    DESCRIPTION = "Reads text files (path or glob) into a frame with one 'line' column"
    CATEGORY = "File Sources"
    OUTPUT_PORTS = ["data"]
    GLOBALS = ["row_count", "files_read"]
    CONFIG_SCHEMA = {
        "required": {"file_path": {"type": "str", "description": "Path, folder or glob of text files"}},
        "optional": {
            "encoding": {"type": "str", "default": "utf-8"},
            "column": {"type": "str", "default": "line", "description": "Name of the output column"},
            "skip_empty": {"type": "bool", "default": False, "description": "Drop empty lines"},
        },
    }

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        files = expand_paths(self.configs["file_path"])
        lines: list[str] = []
        for path in files:
            lines.extend(await ctx.executor.run_in_thread(self._read, path))
            ctx.record_file_read(path)
        if self.configs["skip_empty"]:
            lines = [line for line in lines if line.strip()]
        frame = pd.DataFrame({self.configs["column"]: pd.Series(lines, dtype="string")})
        ctx.set_global("row_count", len(frame))
        ctx.set_global("files_read", len(files))
        return {"data": to_dask(frame) if ctx.execution_mode == "dask" else frame}

    def _read(self, path: str) -> list[str]:
        try:
            with open(path, encoding=self.configs["encoding"], newline=None) as fh:
                return fh.read().splitlines()
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"{path}: cannot decode byte at position {exc.start} as {self.configs['encoding']}"
            ) from exc
