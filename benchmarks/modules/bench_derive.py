"""Benchmark-only stand-in for ``derive_mod`` (used while the built-in is not on main).

Same configs as the built-in: ``columns`` maps a new column to an arithmetic
expression over existing columns (``DataFrame.eval``), in both modes.
"""

from __future__ import annotations

from typing import Any

from pypeline.modules.sdk import BaseModule, RunContext


class BenchDerive(BaseModule):
    """Add columns computed from expressions."""

    TYPE = "mod"
    DESCRIPTION = "benchmark stand-in for derive_mod"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    CONFIG_SCHEMA = {"required": {"columns": {"type": "dict[str]"}}, "optional": {}}

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        derived = {name: frame.eval(expression) for name, expression in self.configs["columns"].items()}
        return {"output": frame.assign(**derived)}
