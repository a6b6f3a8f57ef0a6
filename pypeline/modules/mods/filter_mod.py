"""``filter_mod``: keep the rows for which a condition holds.

The condition is an expression over column names (``age > 18 and country ==
"FR"``, ``name.str.startswith("A")``, ``age > {{context.min_age}}``) in the
language of :mod:`pypeline.modules.common.frame_expressions`: checked at
build time (templates included, each a placeholder), compiled once per
module instance into vectorized operations, never evaluated as text. A
template's value enters as a literal. Rows where the condition is null count
as not matching.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from pypeline.modules.common.column_rules import expression_uses, same_columns
from pypeline.modules.common.frame_expressions import (
    FrameExpression,
    FrameExpressionError,
    check_expression,
    compile_expression,
)
from pypeline.modules.frames import frame_work, is_dask, map_frame
from pypeline.modules.sdk import BaseModule, DataError, RunContext
from pypeline.modules.sdk.columns import Columns, ColumnUse


def keep_rows(frame: pd.DataFrame, condition: FrameExpression) -> pd.DataFrame:
    """The rows of one pandas frame (or dask partition) where ``condition`` holds."""
    return condition.filter(frame)


class FilterMod(BaseModule):
    """Filter rows by a condition."""

    TYPE = "mod"
    VERSION = "1.2.0"
    DESCRIPTION = "Keeps the rows matching a condition (a compiled expression, never evaluated as text)"
    CATEGORY = "Transforms"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    GLOBALS = ["row_count", "rows_dropped"]
    CONFIG_SCHEMA = {
        "required": {
            "condition": {"type": "expr", "description": 'Row condition, e.g. `age > 18 and country == "FR"`'},
        },
        "optional": {},
    }

    @classmethod
    def check_configs(cls, configs: Mapping[str, Any]) -> list[str]:
        condition = configs.get("condition")
        if isinstance(condition, str):
            try:
                check_expression(condition)
            except FrameExpressionError as exc:
                return [f"condition: {exc}"]
        return []

    @classmethod
    def output_columns(
        cls, configs: Mapping[str, Any], inputs: Mapping[str, Columns | None]
    ) -> dict[str, Columns | None]:
        return same_columns(inputs)

    @classmethod
    def columns_used(cls, configs: Mapping[str, Any]) -> list[ColumnUse]:
        return expression_uses("condition", configs.get("condition"))

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        try:
            condition = compile_expression(self.configs["condition"], "condition")
            result = await frame_work(ctx, frame, map_frame, frame, keep_rows, condition)
        except FrameExpressionError as exc:
            raise DataError(str(exc)) from None
        if is_dask(result):
            return {"output": result}  # lazy: counting would compute it (docs/dask-mode.md, rule 5)
        rows_in, rows_out = len(frame), len(result)
        ctx.set_global("row_count", rows_out)
        ctx.set_global("rows_dropped", rows_in - rows_out)
        ctx.add_stat("rows_dropped", rows_in - rows_out)
        return {"output": result}
