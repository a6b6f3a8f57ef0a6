"""Test-only source: a generated frame of ``rows`` rows, built in memory (``from_pandas`` in dask mode).

``delay`` seconds pass before it returns, so that a frame of another source
has to wait for it (the case the spill policy is for).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pandas as pd

from pypeline.modules.frames import to_dask
from pypeline.modules.sdk import BaseModule, RunContext


class FrameSource(BaseModule):
    """Rows ``id`` 0..rows-1 with a nullable int, a string and a tz-aware timestamp."""

    TYPE = "source"
    DESCRIPTION = "test source"
    OUTPUT_PORTS = ["data"]
    GLOBALS = ["row_count"]
    CONFIG_SCHEMA = {"required": {"rows": {"type": "int"}}, "optional": {"delay": {"type": "number", "default": 0}}}

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        await asyncio.sleep(self.configs["delay"])
        rows = self.configs["rows"]
        frame = pd.DataFrame(
            {
                "id": range(rows),
                "maybe": pd.array([i if i % 3 else None for i in range(rows)], dtype="Int64"),
                "text": pd.Series([f"t{i}" for i in range(rows)], dtype="string"),
                "at": pd.date_range("2024-01-01", periods=rows, freq="h", tz="UTC"),
            }
        )
        ctx.set_global("row_count", rows)
        return {"data": to_dask(frame, rows_per_partition=max(1, rows // 3)) if ctx.execution_mode == "dask" else frame}
