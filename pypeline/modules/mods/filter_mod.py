"""``filter_mod``: keep the rows for which a condition holds.

The condition is a :meth:`pandas.DataFrame.query` expression over column
names (``age > 18 and country == "FR"``); it is never run through Python's
``eval``. Works on dask frames unchanged.
"""

from __future__ import annotations

from typing import Any

from pypeline.modules.frames import is_dask
from pypeline.modules.sdk import BaseModule, RunContext


class FilterMod(BaseModule):
    """Filter rows by a query expression."""

    TYPE = "mod"
    DESCRIPTION = "Keeps the rows matching a DataFrame.query expression"
    CATEGORY = "Transforms"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    GLOBALS = ["row_count", "rows_dropped"]
    CONFIG_SCHEMA = {
        "required": {"condition": {"type": "str", "description": "Query expression, e.g. 'age > 18'"}},
        "optional": {},
    }

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        condition = self.configs["condition"]
        try:
            result = frame.query(condition)
        except Exception as exc:
            columns = ", ".join(map(str, frame.columns))
            raise ValueError(f"condition {condition!r} failed: {exc} (columns: {columns})") from exc
        if not is_dask(result):
            ctx.set_global("row_count", len(result))
            ctx.set_global("rows_dropped", len(frame) - len(result))
            ctx.add_stat("rows_dropped", len(frame) - len(result))
        return {"output": result}
