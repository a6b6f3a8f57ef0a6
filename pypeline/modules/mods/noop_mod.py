"""``noop_mod``: pass the input through unchanged."""

from __future__ import annotations

from typing import Any

from pypeline.modules.sdk import BaseModule, RunContext


class NoopMod(BaseModule):
    """Identity transform (Petal case 1, tests, placeholders)."""

    TYPE = "mod"
    DESCRIPTION = "Passes its input through unchanged"
    CATEGORY = "Utility"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    ACCEPTS_ARROW = True
    STREAMS = True

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {"output": inputs["input"]}
