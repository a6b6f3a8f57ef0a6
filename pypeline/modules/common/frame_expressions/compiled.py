"""``FrameExpression``: an expression parsed and checked once, compiled for pandas and for Arrow.

A module compiles its expression once per instance (:func:`compile_expression`)
and asks the object for the form it needs:

* ``expr.evaluate(frame)`` / ``expr.mask(frame)`` / ``expr.filter(frame)``:
  the pandas form (vectorized Series operations), used per partition in dask
  mode through ``map_partitions``;
* ``expr.arrow(schema)``: a ``pyarrow.compute.Expression`` for tables of that
  schema (cached per schema), for ``Table.filter``, dataset projections and
  Acero plans; ``expr.filter_table(table)`` / ``expr.evaluate_table(table)``
  run it with the same run-time checks.

The build calls :func:`check_expression` on the raw config text, templates
included (each is a placeholder there); the run compiles the rendered text, in
which every template is already a literal (:mod:`pypeline.core.expr.literals`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pypeline.core.expr import (
    Call,
    ExpressionError,
    Name,
    Node,
    Param,
    constant_value,
    parse_checked,
    walk,
)
from pypeline.modules.common.frame_expressions import kinds
from pypeline.modules.common.frame_expressions.arrow_form import compile_arrow
from pypeline.modules.common.frame_expressions.catalog import DTYPES, FRAME_DIALECT, FREQUENCIES, FUNCTIONS
from pypeline.modules.common.frame_expressions.kernels import REGEX_ARGUMENT, check_regex
from pypeline.modules.common.frame_expressions.numeric_mask import MaskPlan, arrow_mask, numeric_mask_plan
from pypeline.modules.common.frame_expressions.pandas_form import PandasForm, compile_pandas
from pypeline.modules.common.frame_expressions.sizes import check_text_growth, grows_text

Role = Literal["condition", "expression"]


class FrameExpressionError(ValueError):
    """An expression that is not allowed, or that failed on a frame. The message is one line."""


def check_expression(text: str) -> Node:
    """Parse and check ``text`` as written in a flow (templates allowed); the build's check.

    Raises:
        FrameExpressionError: with the reason and the position.
    """
    try:
        tree = parse_checked(text, FRAME_DIALECT)
        for node in walk(tree):
            if isinstance(node, Param) and node.ref.strip().startswith("vault."):
                raise ExpressionError("a secret cannot be used in an expression (its value would become data the "
                                      "expression shows)", node.pos)
        check_constants(tree)
    except ExpressionError as exc:
        raise FrameExpressionError(str(exc)) from None
    return tree


def check_constants(tree: Node) -> None:
    """Check the constant arguments that are known (patterns, dtypes, frequencies); templates are skipped.

    Raises:
        ExpressionError: naming the function and the bad argument.
    """
    for node in walk(tree):
        if not isinstance(node, Call) or len(node.args) < 2 or node.func in FUNCTIONS:
            continue  # functions take any values; methods take constants
        args = node.args[1:]
        if any(isinstance(a, Param) for a in args):
            continue
        values = [constant_value(a) for a in args]
        if node.func in REGEX_ARGUMENT:
            flag = REGEX_ARGUMENT[node.func]
            regex = True if flag is None else values[3 if node.func == "str.replace" else 2]
            if regex:
                check_regex(values[0], node.func)
            if node.func == "str.replace" and not regex and values[0] == "":
                raise ExpressionError(".str.replace(): the pattern is empty", node.pos)
        if node.func == "astype" and values[0] not in DTYPES:
            raise ExpressionError(f".astype(): {values[0]!r} is not one of {', '.join(DTYPES)}", node.pos)
        if node.func in ("dt.floor", "dt.ceil") and values[0] not in FREQUENCIES:
            raise ExpressionError(f".{node.func}(): unknown frequency {values[0]!r} (expected one of: "
                                  f"{', '.join(FREQUENCIES)})", node.pos)


def compile_expression(text: str, role: Role = "expression") -> FrameExpression:
    """Parse, check and compile ``text`` (templates already rendered) for a module instance.

    A compiled expression holds no state of its own (its Arrow forms are a cache
    per schema), so the same text compiles once per process and is shared: every
    iteration of a module, and modules with the same condition, reuse it.

    Raises:
        FrameExpressionError: for text outside the grammar, past a limit, or with an unresolved template.
    """
    return _compile_cached(text, role)


def _compile(text: str, role: Role) -> FrameExpression:
    tree = check_expression(text)
    try:
        pandas_form = compile_pandas(tree)
    except ExpressionError as exc:
        raise FrameExpressionError(str(exc)) from None
    columns = frozenset(n.name for n in walk(tree) if isinstance(n, Name))
    return FrameExpression(source=text, tree=tree, role=role, columns=columns, pandas_form=pandas_form,
                           grows=grows_text(tree), numeric_mask=numeric_mask_plan(tree))


_compile_cached = functools.lru_cache(maxsize=1024)(_compile)
"""Errors are not cached: a text that does not compile is checked again (and fails the same way)."""


@dataclass(frozen=True, slots=True, eq=False)
class FrameExpression:
    """A compiled expression (see the module docstring). Build one with :func:`compile_expression`."""

    source: str
    tree: Node
    role: Role
    columns: frozenset[str]
    """The column names it reads."""
    pandas_form: PandasForm = field(repr=False)
    grows: bool = False
    """Whether it holds text growth (repetition, padding, ...), checked against sizes before it runs."""
    numeric_mask: MaskPlan | None = field(default=None, repr=False)
    """The numpy plan of a condition that compares numbers (``numeric_mask.py``), tried first by :meth:`mask`
    and :meth:`filter_table`."""
    _arrow: dict[pa.Schema, pc.Expression] = field(default_factory=dict, repr=False)

    def __reduce__(self) -> tuple[Any, ...]:
        # closures do not pickle: a copy (a dask worker's) compiles the text again
        return (compile_expression, (self.source, self.role))

    def __dask_tokenize__(self) -> tuple[str, str, str]:
        # dask names graph keys after their arguments: the text and role say it all
        return ("FrameExpression", self.source, self.role)

    # -- pandas ------------------------------------------------------------------------------------

    def evaluate(self, frame: pd.DataFrame) -> Any:
        """The value per row (a Series aligned with ``frame``) or a constant.

        Raises:
            FrameExpressionError: naming the expression, the reason and the frame's columns.
        """
        try:
            if self.grows:
                check_text_growth(self.tree, _pandas_text_sizes(frame, self.columns), len(frame))
            return self.pandas_form(frame)
        except ExpressionError as exc:
            raise self._failed(exc.message, frame.columns) from None
        except Exception as exc:  # a pandas or Arrow error on these values
            raise self._failed(_reason(exc), frame.columns) from None

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        """True for the rows where the condition holds (null counts as false).

        Raises:
            FrameExpressionError: when it fails or does not give true/false per row.
        """
        if self.numeric_mask is not None:
            numeric = self.numeric_mask(frame)
            if numeric is not None:
                return numeric
        value = self.evaluate(frame)
        if isinstance(value, pd.Series):
            if value.dtype == bool:
                mask: np.ndarray = value.to_numpy()
                return mask
            if kinds.pandas_kind(value) != "bool":
                raise self._not_boolean()
            filled: np.ndarray = value.to_numpy(dtype=bool, na_value=False)
            return filled
        if isinstance(value, bool) or value is None:
            return np.full(len(frame), bool(value))
        raise self._not_boolean()

    def filter(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``frame`` where the condition holds."""
        return frame[self.mask(frame)]

    # -- Arrow -------------------------------------------------------------------------------------

    def arrow(self, schema: pa.Schema) -> pc.Expression:
        """The Arrow form for tables of ``schema``, compiled once per schema.

        Raises:
            FrameExpressionError: for an unknown column or kinds the language does not mix.
        """
        cached = self._arrow.get(schema)
        if cached is None:
            try:
                cached = compile_arrow(self.tree, schema, condition=self.role == "condition")
            except ExpressionError as exc:
                raise self._failed(exc.message, schema.names) from None
            self._arrow[schema] = cached
        return cached

    def check_table(self, table: pa.Table) -> None:
        """The run-time size checks for ``table`` (call before running :meth:`arrow` yourself)."""
        if self.grows:
            sizes = {
                name: int(pc.sum(pc.utf8_length(table.column(name))).as_py() or 0)
                for name in self.columns
                if name in table.column_names and kinds.arrow_kind(table.schema.field(name).type) == "str"
            }
            try:
                check_text_growth(self.tree, sizes, table.num_rows)
            except ExpressionError as exc:
                raise self._failed(exc.message, table.column_names) from None

    def filter_table(self, table: pa.Table) -> pa.Table:
        """The rows of ``table`` where the condition holds (null counts as false)."""
        if self.numeric_mask is not None:
            numeric = self.numeric_mask(table)
            if numeric is not None:  # no rows: nothing to filter (a stream's stage asks once, for its types)
                return table.filter(arrow_mask(numeric)) if table.num_rows else table
        expression = self.arrow(table.schema)
        self.check_table(table)
        try:
            return table.filter(expression)
        except (pa.ArrowException, ValueError, TypeError) as exc:
            raise self._failed(_reason(exc), table.column_names) from None

    def evaluate_table(self, table: pa.Table) -> pa.ChunkedArray:
        """The value per row of ``table`` as one column."""
        expression = self.arrow(table.schema)
        self.check_table(table)
        try:
            import pyarrow.dataset as ds

            result = ds.dataset(table).to_table(columns={"value": expression})
        except (pa.ArrowException, ValueError, TypeError) as exc:
            raise self._failed(_reason(exc), table.column_names) from None
        return result.column("value")

    # -- messages ----------------------------------------------------------------------------------

    def _failed(self, reason: str, columns: Any) -> FrameExpressionError:
        shown = ", ".join(map(str, columns))
        return FrameExpressionError(f"{self.role} {self.source!r} failed: {reason} (columns: {shown})")

    def _not_boolean(self) -> FrameExpressionError:
        return FrameExpressionError(f"condition {self.source!r} does not give true/false per row")


def _pandas_text_sizes(frame: pd.DataFrame, columns: frozenset[str]) -> Mapping[str, int]:
    sizes = {}
    for name in columns:
        if name in frame.columns and isinstance(frame[name], pd.Series):
            series = frame[name]
            if kinds.pandas_kind(series) in ("str", "any"):
                lengths = series.astype("str").str.len() if series.dtype == object else series.str.len()
                sizes[name] = int(lengths.sum())
    return sizes


def _reason(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    text = text if len(text) <= 300 else text[:297] + "..."
    return f"{type(exc).__name__}: {text}" if not isinstance(exc, (ValueError, TypeError)) else text
