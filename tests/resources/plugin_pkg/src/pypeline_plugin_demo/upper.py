"""``upper_mod``: upper-case the text of one column."""

from __future__ import annotations

from typing import Any

from pypeline import BaseModule, RunContext


class UpperMod(BaseModule):
    """Upper-case a column."""

    TYPE = "mod"
    VERSION = "0.1.0"
    DESCRIPTION = "Upper-cases one text column (demo plugin)"
    CATEGORY = "Plugins"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    CONFIG_SCHEMA = {"required": {"column": {"type": "str", "description": "Column to upper-case"}}, "optional": {}}

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"].copy()
        column = self.configs["column"]
        frame[column] = frame[column].astype("string").str.upper()
        return {"output": frame}
