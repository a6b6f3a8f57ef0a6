"""``noop_sink``: consume the input and write nothing (counts its rows).

In dask mode the count is computed with ``ctx.compute``, together with the
other sinks of the sub flow.
"""

from __future__ import annotations

from typing import Any

from pypeline.modules.frames import is_dask, lazy_len
from pypeline.modules.sdk import BaseModule, RunContext


class NoopSink(BaseModule):
    """Discard the input."""

    TYPE = "sink"
    DESCRIPTION = "Consumes its input and writes nothing; sets row_count"
    CATEGORY = "Utility"
    INPUT_PORTS = ["input"]
    GLOBALS = ["row_count"]

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        rows = (await ctx.compute(lazy_len(frame)))[0] if is_dask(frame) else len(frame)
        ctx.set_global("row_count", int(rows))
        return {}
