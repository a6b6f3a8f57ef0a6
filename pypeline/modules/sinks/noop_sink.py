"""``noop_sink``: consume the input and write nothing (counts its rows)."""

from __future__ import annotations

from typing import Any

from pypeline.modules.frames import row_count
from pypeline.modules.sdk import BaseModule, RunContext


class NoopSink(BaseModule):
    """Discard the input."""

    TYPE = "sink"
    DESCRIPTION = "Consumes its input and writes nothing; sets row_count"
    CATEGORY = "Utility"
    INPUT_PORTS = ["input"]
    GLOBALS = ["row_count"]

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        ctx.set_global("row_count", row_count(inputs["input"]))
        return {}
