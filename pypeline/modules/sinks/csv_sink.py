"""``csv_sink``: write a frame to a CSV file, atomically.

The file is written under a temporary name next to the target and renamed on
success, so a failed or killed run never leaves a partial file under the
final name. In dask mode the partitions are streamed into one file
(``single_file: true``, the default) or written as one file per partition
into a folder, without computing the whole frame in memory.
"""

from __future__ import annotations

from typing import Any

from pypeline.modules.frames import is_dask
from pypeline.modules.sdk import BaseModule, RunContext, atomic_output_path


class CsvSink(BaseModule):
    """Write a CSV file."""

    TYPE = "sink"
    DESCRIPTION = "Writes its input to a CSV file (atomic rename on success)"
    CATEGORY = "File Sinks"
    INPUT_PORTS = ["input"]
    GLOBALS = ["row_count"]
    CONFIG_SCHEMA = {
        "required": {"output_path": {"type": "str", "description": "Target CSV file"}},
        "optional": {
            "delimiter": {"type": "str", "default": ","},
            "encoding": {"type": "str", "default": "utf-8"},
            "header": {"type": "bool", "default": True},
            "single_file": {"type": "bool", "default": True, "description": "dask mode: one file, else a folder"},
        },
    }

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        path = self.configs["output_path"]
        rows = await ctx.executor.run_in_thread(self._write, frame, path)
        ctx.record_file_written(path)
        ctx.set_global("row_count", rows)
        return {}

    def _write(self, frame: Any, path: str) -> int:
        c = self.configs
        options = {"sep": c["delimiter"], "encoding": c["encoding"], "header": c["header"], "index": False}
        with atomic_output_path(path) as tmp:
            if is_dask(frame):
                if c["single_file"]:
                    return _stream_dask_csv(frame, str(tmp), options)
                tmp.mkdir()
                frame.to_csv(str(tmp / "part-*.csv"), **options)
                return int(frame.map_partitions(len).sum().compute())
            frame.to_csv(tmp, **options)
            return len(frame)


def _stream_dask_csv(frame: Any, path: str, options: dict[str, Any]) -> int:
    """Write dask partitions one after another into one file (bounded memory)."""
    rows = 0
    with open(path, "w", encoding=options["encoding"], newline="") as fh:
        for index in range(frame.npartitions):
            part = frame.get_partition(index).compute()
            part.to_csv(fh, **{**options, "header": options["header"] and index == 0})
            rows += len(part)
    return rows
