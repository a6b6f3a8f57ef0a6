"""Test-only sink: writes CSV in chunks, pausing between them, through ``atomic_output_path``.

The pauses give a crash test time to kill the run while the temporary file
is half-written (it is flushed after every chunk, so it is visibly non-empty).
"""

from __future__ import annotations

import time
from typing import Any

from pypeline.modules.frames import is_dask
from pypeline.modules.sdk import BaseModule, RunContext, atomic_output_path


class SlowCsvSink(BaseModule):
    """Write a CSV file ``chunk_rows`` rows at a time, sleeping ``delay`` seconds after each chunk."""

    TYPE = "sink"
    DESCRIPTION = "test sink"
    INPUT_PORTS = ["input"]
    GLOBALS = ["row_count"]
    CONFIG_SCHEMA = {
        "required": {"output_path": {"type": "str"}},
        "optional": {"chunk_rows": {"type": "int", "default": 10}, "delay": {"type": "number", "default": 0.0}},
    }

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        if is_dask(frame):
            frame = frame.compute()
        rows = await ctx.executor.run_in_thread(self._write, frame, ctx)
        ctx.record_file_written(self.configs["output_path"])
        ctx.set_global("row_count", rows)
        return {}

    def _write(self, frame: Any, ctx: RunContext) -> int:
        size, delay = self.configs["chunk_rows"], self.configs["delay"]
        with atomic_output_path(self.configs["output_path"], ctx) as tmp, open(tmp, "w", encoding="utf-8") as fh:
            fh.write(",".join(map(str, frame.columns)) + "\n")
            for start in range(0, max(len(frame), 1), size):
                frame.iloc[start : start + size].to_csv(fh, header=False, index=False)
                fh.flush()
                if delay:
                    time.sleep(delay)
        return len(frame)
