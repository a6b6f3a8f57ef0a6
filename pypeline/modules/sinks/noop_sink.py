"""``noop_sink``: consume the input and write nothing (counts its rows)."""

from __future__ import annotations

from typing import Any

from pypeline.modules.frames import row_count
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
        rows = await ctx.executor.run_in_thread(row_count, frame) if kind_of(frame).lazy else row_count(frame)
        ctx.set_global("row_count", rows)
        return {}
