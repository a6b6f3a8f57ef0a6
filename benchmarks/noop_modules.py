"""No-op modules for the scheduler benchmark: they do nothing, so what a run costs is the framework."""

from __future__ import annotations

from typing import Any

from pypeline.modules.sdk import BaseModule, RunContext


class NoopSource(BaseModule):
    """Emit ``None`` on ``data``."""

    TYPE = "source"
    OUTPUT_PORTS = ["data"]

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {"data": None}


class NoopMod(BaseModule):
    """Pass ``input`` through."""

    TYPE = "mod"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {"output": inputs["input"]}


class NoopSink(BaseModule):
    """Consume ``input``."""

    TYPE = "sink"
    INPUT_PORTS = ["input"]

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {}
