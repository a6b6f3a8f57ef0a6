"""``filter_mod``: keep the rows for which a condition holds.

The condition is an expression over column names (``age > 18 and country ==
"FR"``, ``name.str.startswith("A")``, ``age > {{context.min_age}}``) in the
language of :mod:`pypeline.modules.common.frame_expressions`: checked at
build time (templates included, each a placeholder), compiled once per
module instance into vectorized operations, never evaluated as text. A
template's value enters as a literal. Rows where the condition is null count
as not matching. An Arrow table (or each batch of a stream) is filtered by the
condition's ``pyarrow.compute`` form, a pandas or dask frame by its pandas form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow as pa

from pypeline.modules.common.column_rules import expression_uses, same_columns
from pypeline.modules.common.frame_expressions import (
    FrameExpression,
    FrameExpressionError,
    check_expression,
    compile_expression,
)
from pypeline.modules.kinds import kind_of
from pypeline.modules.sdk import BaseModule, DataError, RunContext
from pypeline.modules.sdk.columns import Columns, ColumnUse


def keep_rows(frame: pd.DataFrame, condition: FrameExpression) -> pd.DataFrame:
    """The rows of one pandas frame (or dask partition) where ``condition`` holds."""
    try:
        return condition.filter(frame)
    except FrameExpressionError as exc:
        raise DataError(str(exc)) from None


def keep_rows_arrow(table: pa.Table, condition: FrameExpression) -> pa.Table:
    """The rows of one Arrow table (or stream batch) where ``condition`` holds."""
    try:
        return condition.filter_table(table)
    except FrameExpressionError as exc:
        raise DataError(str(exc)) from None


class FilterMod(BaseModule):
    """Filter rows by a condition."""

    TYPE = "mod"
    VERSION = "1.2.0"
    DESCRIPTION = "Keeps the rows matching a condition (a compiled expression, never evaluated as text)"
    CATEGORY = "Transforms"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    GLOBALS = ["row_count", "rows_dropped"]
    ACCEPTS_ARROW = True
    STREAMS = True
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
        kind = kind_of(frame)
        try:
            condition = compile_expression(self.configs["condition"], "condition")
        except FrameExpressionError as exc:
            raise DataError(str(exc)) from None
        result = await kind.work(ctx, kind.map_rows, frame, keep_rows, keep_rows_arrow, condition)

        def report(rows_in: int, rows_out: int) -> None:  # dask: never (counting would compute it)
            ctx.set_global("row_count", rows_out)
            ctx.set_global("rows_dropped", rows_in - rows_out)
            ctx.add_stat("rows_dropped", rows_in - rows_out)

        kind.report_rows(frame, result, report)
        return {"output": result}
