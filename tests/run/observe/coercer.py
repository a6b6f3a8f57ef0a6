"""A transform that coerces a column to integers and reports it with ``ctx.emit_event`` (for span events)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from pypeline.modules.sdk import BaseModule, RunContext


class Coercer(BaseModule):
    """Cast ``column`` to a nullable integer; emit ``coercion`` with the number of values that became null."""

    TYPE = "mod"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    CONFIG_SCHEMA = {"required": {"column": {"type": "str"}}, "optional": {}}

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"].copy()
        column = self.configs["column"]
        if column not in frame.columns:
            ctx.emit_event("missing_column", column=column)
            return {"output": frame}
        numbers = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
        lost = int(numbers.isna().sum() - frame[column].isna().sum())
        frame[column] = numbers
        ctx.emit_event("coercion", column=column, to="Int64", nulls_added=lost)
        return {"output": frame}
