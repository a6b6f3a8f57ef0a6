"""``derive_mod``: add (or replace) columns computed from expressions over the row.

``columns`` gives each new column an expression (the language of
:mod:`pypeline.modules.common.frame_expressions`), as a list (evaluated, and
added, in that order) or as a mapping::

    columns:
      - total: price * quantity
      - total_eur: total * 0.92        # may use a column derived before it
      - name_upper: name.str.upper()
      - currency: "'EUR'"              # a constant

A mapping's order does not survive the build (the job folder stores configs
with sorted keys), so a mapping is evaluated in dependency order: a column
whose expression uses another new column comes after it (ties by name); a
cycle is a build error. Expressions are checked at build time (templates
included), compiled once per module instance, and never evaluated as text; a
template's value enters as a literal. Replacing an existing column needs
``overwrite: true``; expressions that use it then see the new value.
An Arrow table (or each batch of a stream) gets the expressions'
``pyarrow.compute`` forms, a pandas or dask frame their pandas forms.
"""

from __future__ import annotations

import graphlib
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow as pa

from pypeline.modules.common.column_rules import expression_uses
from pypeline.modules.common.frame_expressions import (
    FrameExpression,
    FrameExpressionError,
    check_expression,
    compile_expression,
    referenced_names,
)
from pypeline.modules.common.pairs import ordered_pairs, pairs_problems
from pypeline.modules.kinds import kind_of
from pypeline.modules.sdk import BaseModule, DataError, RunContext
from pypeline.modules.sdk.columns import Columns, ColumnUse


def evaluation_order(columns: dict[str, str] | list[Any]) -> list[tuple[str, str]]:
    """``(name, expression)`` pairs in evaluation order (see the module docstring).

    Raises:
        ValueError: for a dependency cycle between new columns.
    """
    pairs = ordered_pairs(columns)
    if isinstance(columns, list):
        return pairs
    expressions = dict(pairs)
    graph = {
        name: sorted((referenced_names(text) & set(expressions)) - {name}) for name, text in sorted(expressions.items())
    }
    sorter = graphlib.TopologicalSorter(graph)
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        raise ValueError(f"columns {' -> '.join(exc.args[1])} use each other in a cycle") from None
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order.extend(ready)
        sorter.done(*ready)
    return [(name, expressions[name]) for name in order]


COLUMNS_TYPE = "dict[expr]|list"
"""A mapping of name -> expression, or a list of one-entry mappings (see ``pairs``)."""


def derive(frame: pd.DataFrame, pairs: list[tuple[str, FrameExpression]], overwrite: bool) -> pd.DataFrame:
    """``frame`` with each ``(name, compiled expression)`` evaluated and assigned in order."""
    result = frame
    try:
        for name, expression in pairs:
            _check_new(name, frame.columns, overwrite)
            result = result.assign(**{name: expression.evaluate(result)})
    except FrameExpressionError as exc:
        raise DataError(str(exc)) from None
    return result


def derive_arrow(table: pa.Table, pairs: list[tuple[str, FrameExpression]], overwrite: bool) -> pa.Table:
    """:func:`derive` for an Arrow table (or one batch of a stream): new columns at the end, replaced in place."""
    result = table
    try:
        for name, expression in pairs:
            _check_new(name, table.column_names, overwrite)
            values = expression.evaluate_table(result)
            index = result.schema.get_field_index(name)
            if index >= 0:
                result = result.set_column(index, name, values)
            else:
                result = result.append_column(name, values)
    except FrameExpressionError as exc:
        raise DataError(str(exc)) from None
    return result


def _check_new(name: str, columns: Any, overwrite: bool) -> None:
    if name in columns and not overwrite:
        raise FrameExpressionError(f"column '{name}' already exists; set overwrite: true to replace it")


class DeriveMod(BaseModule):
    """Compute new columns."""

    TYPE = "mod"
    VERSION = "1.1.0"
    DESCRIPTION = "Adds or replaces columns computed from expressions (compiled, never evaluated as text)"
    CATEGORY = "Transforms"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    GLOBALS = ["row_count"]
    ACCEPTS_ARROW = True
    STREAMS = True
    CONFIG_SCHEMA = {
        "required": {
            "columns": {
                "type": COLUMNS_TYPE,
                "description": "New column -> expression: a list of `name: expression` (kept in order) or a mapping "
                "(evaluated in dependency order)",
            },
        },
        "optional": {
            "overwrite": {"type": "bool", "default": False, "description": "Allow replacing existing columns"},
        },
    }

    @classmethod
    def check_configs(cls, configs: Mapping[str, Any]) -> list[str]:
        columns = configs.get("columns")
        if not isinstance(columns, (dict, list)):
            return []
        if not columns:
            return ["'columns' is empty"]
        problems = pairs_problems(columns, "columns")
        if problems:
            return problems
        try:
            evaluation_order(columns)
        except ValueError as exc:
            problems.append(str(exc))
        for name, expression in ordered_pairs(columns):
            if isinstance(expression, str):
                try:
                    check_expression(expression)
                except FrameExpressionError as exc:
                    problems.append(f"columns.{name}: {exc}")
        return problems

    @classmethod
    def output_columns(
        cls, configs: Mapping[str, Any], inputs: Mapping[str, Columns | None]
    ) -> dict[str, Columns | None]:
        given = inputs.get("input")
        return {"output": None if given is None else given.plus(name for name, _ in ordered_pairs(configs["columns"]))}

    @classmethod
    def columns_used(cls, configs: Mapping[str, Any]) -> list[ColumnUse]:
        pairs = ordered_pairs(configs["columns"])
        made = [name for name, _ in pairs]
        return [use for name, text in pairs for use in expression_uses(f"columns.{name}", text, defined=made)]

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        kind = kind_of(frame)
        try:
            order = [(name, compile_expression(text)) for name, text in evaluation_order(self.configs["columns"])]
        except (FrameExpressionError, ValueError) as exc:
            raise DataError(str(exc)) from None
        result = await kind.work(ctx, kind.map_rows, frame, derive, derive_arrow, order, self.configs["overwrite"])
        kind.report_rows(frame, result, lambda _rows_in, rows_out: ctx.set_global("row_count", rows_out))
        return {"output": result}
