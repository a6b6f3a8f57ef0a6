"""Row expressions over a frame's columns (``filter_mod``, ``derive_mod``): parsed, checked, compiled.

Users write pandas-query-like expressions::

    amount > 100 and country == "FR"
    price * quantity
    name.str.upper()
    `unit price` * 1.2 + sqrt(weight)
    age > {{context.min_age}}

The text is parsed by the expression language's own parser
(:mod:`pypeline.core.expr`) in the frame dialect (:mod:`.catalog`: the closed
list of functions and methods), checked against its limits, and compiled into
vectorized operations (:mod:`.pandas_form`, :mod:`.arrow_form`). No text is
ever handed to an evaluator (Python's, pandas' or its numeric engine's), and a
template's value enters as a literal.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from pypeline.core.expr import Name, walk
from pypeline.modules.common.frame_expressions.catalog import FRAME_DIALECT, FUNCTIONS, METHODS
from pypeline.modules.common.frame_expressions.compiled import (
    FrameExpression,
    FrameExpressionError,
    check_expression,
    compile_expression,
)

__all__ = [
    "FRAME_DIALECT",
    "FUNCTIONS",
    "METHODS",
    "FrameExpression",
    "FrameExpressionError",
    "check_expression",
    "compile_expression",
    "evaluate",
    "query",
    "referenced_names",
]


def referenced_names(text: str) -> set[str]:
    """The column names an expression reads; empty when it does not parse."""
    try:
        tree = check_expression(text)
    except FrameExpressionError:
        return set()
    return {node.name for node in walk(tree) if isinstance(node, Name)}


def query(frame: pd.DataFrame, condition: str) -> pd.DataFrame:
    """Rows of ``frame`` where ``condition`` holds (compiles it each call: modules keep a compiled one).

    Raises:
        FrameExpressionError: when the condition is not allowed or fails on this frame.
    """
    return compile_expression(condition, "condition").filter(frame)


def evaluate(frame: pd.DataFrame, expression: str) -> Any:
    """The value of ``expression`` per row (a Series) or a constant.

    Raises:
        FrameExpressionError: when the expression is not allowed or fails on this frame.
    """
    return compile_expression(expression).evaluate(frame)
