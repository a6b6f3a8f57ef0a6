"""``derive_mod``: add (or replace) columns computed from expressions over the row.

``columns`` maps each new column to a ``DataFrame.eval``-style expression::

    columns:
      total: price * quantity
      total_eur: total * 0.92          # may use a column derived above
      name_upper: name.str.upper()
      currency: '"EUR"'                # a constant

Expressions are vetted (see :mod:`pypeline.modules.common.frame_expressions`)
and never reach Python's ``eval``. They are evaluated in the order given, so
later ones see earlier results. Replacing an existing column needs
``overwrite: true``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from pypeline.core.templates import has_templates
from pypeline.modules.common.frame_expressions import FrameExpressionError, evaluate, vet_expression
from pypeline.modules.frames import is_dask, map_frame
from pypeline.modules.sdk import BaseModule, DataError, RunContext


def derive(frame: pd.DataFrame, columns: dict[str, str], overwrite: bool) -> pd.DataFrame:
    """``frame`` with each ``columns`` expression evaluated and assigned in order."""
    result = frame
    for name, expression in columns.items():
        if name in frame.columns and not overwrite:
            raise FrameExpressionError(f"column '{name}' already exists; set overwrite: true to replace it")
        value = evaluate(result, expression)
        if isinstance(value, pd.DataFrame):
            raise FrameExpressionError(f"expression {expression!r} for '{name}' gives several columns")
        result = result.assign(**{name: value})
    return result


class DeriveMod(BaseModule):
    """Compute new columns."""

    TYPE = "mod"
    VERSION = "1.0.0"
    DESCRIPTION = "Adds or replaces columns computed from DataFrame.eval-style expressions (vetted, no eval)"
    CATEGORY = "Transforms"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    GLOBALS = ["row_count"]
    CONFIG_SCHEMA = {
        "required": {
            "columns": {"type": "dict[str]", "description": "New column -> expression, evaluated in order"},
        },
        "optional": {
            "overwrite": {"type": "bool", "default": False, "description": "Allow replacing existing columns"},
        },
    }

    @classmethod
    def check_configs(cls, configs: Mapping[str, Any]) -> list[str]:
        columns = configs.get("columns")
        if not isinstance(columns, dict):
            return []
        if not columns:
            return ["'columns' is empty"]
        problems = []
        for name, expression in columns.items():
            if isinstance(expression, str) and not has_templates(expression):
                try:
                    vet_expression(expression)
                except FrameExpressionError as exc:
                    problems.append(f"columns.{name}: {exc}")
        return problems

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        try:
            result = map_frame(frame, derive, dict(self.configs["columns"]), self.configs["overwrite"])
        except FrameExpressionError as exc:
            raise DataError(str(exc)) from None
        if not is_dask(result):
            ctx.set_global("row_count", len(result))
        return {"output": result}
