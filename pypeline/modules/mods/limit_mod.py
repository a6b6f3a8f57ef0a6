"""``limit_mod``: keep ``n`` rows, after skipping ``offset`` rows (in input order).

In dask mode only the first partitions needed are computed; the result is
small by construction and handed on as a one-partition dask frame.
"""

from __future__ import annotations

from typing import Any

from pypeline.modules.frames import compute, is_dask, lazy_len, to_dask
from pypeline.modules.sdk import BaseModule, RunContext


class LimitMod(BaseModule):
    """Keep the first rows."""

    TYPE = "mod"
    VERSION = "1.0.0"
    DESCRIPTION = "Keeps the first n rows (after an optional offset)"
    CATEGORY = "Transforms"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    GLOBALS = ["row_count", "rows_dropped"]
    CONFIG_SCHEMA = {
        "required": {
            "n": {"type": "int", "description": "Number of rows to keep"},
        },
        "optional": {
            "offset": {"type": "int", "default": 0, "description": "Rows to skip first"},
        },
    }

    @classmethod
    def check_configs(cls, configs: Any) -> list[str]:
        problems = []
        for key in ("n", "offset"):
            value = configs.get(key)
            if isinstance(value, int) and value < 0:
                problems.append(f"'{key}' must not be negative, got {value}")
        return problems

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        n, offset = self.configs["n"], self.configs["offset"]
        if is_dask(frame):
            head = await ctx.executor.run_in_thread(frame.head, offset + n, -1)
            part = head.iloc[offset:offset + n]
            rows_out = len(part)
            result = to_dask(part)
        else:
            result = frame.iloc[offset:offset + n]
            rows_out = len(result)
        (rows_in,) = await ctx.executor.run_in_thread(compute, lazy_len(frame))
        ctx.set_global("row_count", rows_out)
        ctx.set_global("rows_dropped", rows_in - rows_out)
        return {"output": result}
