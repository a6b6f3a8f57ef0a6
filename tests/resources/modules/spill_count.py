"""Test-only transform: passes its input through and counts the spill files that exist while it runs.

It sets the global ``files`` to the number of ``*.parquet`` files under
``folder``, so a test sees whether an artifact spilled earlier in the same sub
flow was already deleted when its last consumer finished.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pypeline.modules.sdk import BaseModule, RunContext


class SpillCount(BaseModule):
    """Count ``*.parquet`` files under ``folder`` (recursively); output = input."""

    TYPE = "mod"
    DESCRIPTION = "test transform"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    GLOBALS = ["files"]
    CONFIG_SCHEMA = {"required": {"folder": {"type": "str"}}, "optional": {}}

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        ctx.set_global("files", len(list(Path(self.configs["folder"]).rglob("*.parquet"))))
        return {"output": inputs["input"]}
