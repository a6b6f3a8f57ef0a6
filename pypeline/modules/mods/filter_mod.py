"""``filter_mod``: keep the rows for which a condition holds.

The condition is a ``DataFrame.query``-style expression over column names
(``age > 18 and country == "FR"``, ``name.str.startswith("A")``). It is
vetted by :mod:`pypeline.modules.common.frame_expressions` (at build time and
again when the module runs, after templates are resolved) and never reaches
Python's ``eval``. Rows where the condition is null count as not matching.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pypeline.core.templates import has_templates
from pypeline.modules.common.frame_expressions import FrameExpressionError, query, vet_expression
from pypeline.modules.frames import frame_work, is_dask, map_frame
from pypeline.modules.sdk import BaseModule, DataError, RunContext


class FilterMod(BaseModule):
    """Filter rows by a query expression."""

    TYPE = "mod"
    VERSION = "1.1.0"
    DESCRIPTION = "Keeps the rows matching a DataFrame.query-style expression (vetted, no eval)"
    CATEGORY = "Transforms"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    GLOBALS = ["row_count", "rows_dropped"]
    CONFIG_SCHEMA = {
        "required": {
            "condition": {"type": "str", "description": 'Row condition, e.g. `age > 18 and country == "FR"`'},
        },
        "optional": {},
    }

    @classmethod
    def check_configs(cls, configs: Mapping[str, Any]) -> list[str]:
        condition = configs.get("condition")
        if isinstance(condition, str) and not has_templates(condition):
            try:
                vet_expression(condition)
            except FrameExpressionError as exc:
                return [f"condition: {exc}"]
        return []

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        condition = self.configs["condition"]
        try:
            result = await frame_work(ctx, frame, map_frame, frame, query, condition)
        except FrameExpressionError as exc:
            raise DataError(str(exc)) from None
        if is_dask(result):
            return {"output": result}  # lazy: counting would compute it (docs/dask-mode.md, rule 5)
        rows_in, rows_out = len(frame), len(result)
        ctx.set_global("row_count", rows_out)
        ctx.set_global("rows_dropped", rows_in - rows_out)
        ctx.add_stat("rows_dropped", rows_in - rows_out)
        return {"output": result}
