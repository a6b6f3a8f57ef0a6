"""Test-only transform: passes its input through and records which kind of frame it received."""

from __future__ import annotations

from typing import Any

from pypeline.modules.sdk import BaseModule, RunContext


class ProbeMod(BaseModule):
    """Identity that sets the global ``kind`` to ``pandas`` or ``dask``."""

    TYPE = "mod"
    DESCRIPTION = "test probe"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    GLOBALS = ["kind", "partitions"]

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        kind = type(frame).__module__.split(".", 1)[0]
        ctx.set_global("kind", kind)
        ctx.set_global("partitions", getattr(frame, "npartitions", 1))
        return {"output": frame}
