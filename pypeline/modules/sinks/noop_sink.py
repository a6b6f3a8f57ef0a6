"""``noop_sink``: consume the input and write nothing (counts its rows).

In dask mode the count is computed with ``ctx.compute``, together with the
other sinks of the sub flow.
"""

from __future__ import annotations

from typing import Any

from pypeline.modules.frames import lazy_len, row_count
from pypeline.modules.kinds import kind_of
from pypeline.modules.sdk import BaseModule, RunContext


class NoopSink(BaseModule):
    """Discard the input."""

    TYPE = "sink"
    DESCRIPTION = "Consumes its input and writes nothing; sets row_count"
    CATEGORY = "Utility"
    INPUT_PORTS = ["input"]
    GLOBALS = ["row_count"]
    ACCEPTS_ARROW = True
    STREAMS = True

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        kind = kind_of(frame)
        if kind.partitioned:  # with the other sinks of the sub flow: the data is read once for all
            rows = int((await ctx.compute(lazy_len(frame)))[0])
        elif kind.lazy:  # a stream: read to its end
            rows = await ctx.executor.run_in_thread(row_count, frame)
        else:
            rows = row_count(frame)
        ctx.set_global("row_count", rows)
        return {}
