"""Limits on the size of an expression and of the values it makes.

Checked at build (:func:`check_tree`), on the tree alone:

* at most ``Dialect.max_nodes`` nodes and ``Dialect.max_depth`` levels (the
  parser already bounds how deep it recurses; a 999-term sum is a flat chain
  for the parser but 999 levels of tree);
* constants are folded where both sides are known, with the same rules as at
  run time: a power whose result would have more than ``max_int_bits`` bits
  (``9**9**9``), a string repeated past ``max_string`` characters, an integer
  past ``max_int_bits``;
* numeric arguments that size a result (padding widths) are at most their
  signature's limit.

Checked at run (:func:`checked_power`, :func:`checked_repeat`, :func:`check_value`)
by the evaluators, before the work is done: a value past a limit is never
built.
"""

from __future__ import annotations

import math
import operator
from typing import Any

from pypeline.core.expr.dialect import Dialect
from pypeline.core.expr.errors import ExpressionLimitError
from pypeline.core.expr.tree import Binary, Call, Literal, Node, Unary, depth, walk

_NOT_CONSTANT = object()


def check_tree(tree: Node, dialect: Dialect) -> None:
    """Check the size limits and fold constants (see the module docstring).

    Raises:
        ExpressionLimitError: naming the limit and where it is passed.
    """
    count = 0
    for node in walk(tree):
        count += 1
        if count > dialect.max_nodes:
            raise ExpressionLimitError(f"the {dialect.what} has more than {dialect.max_nodes} parts", node.pos)
    levels = depth(tree)
    if levels > dialect.max_depth:
        raise ExpressionLimitError(
            f"the {dialect.what} nests {levels} levels deep, more than {dialect.max_depth} (a very long chain "
            "of operators counts one level per operator)", tree.pos
        )
    _fold(tree, dialect)
    for node in walk(tree):
        if isinstance(node, Call):
            _check_arguments(node, dialect)


def _check_arguments(node: Call, dialect: Dialect) -> None:
    signature = next((s for s in [*dialect.methods.values(), *dialect.functions.values()] if s.func == node.func),
                     None)
    if signature is None or not signature.limits:
        return
    offset = len(node.args) - len(signature.params)  # a method's subject comes first
    for param, maximum in signature.limits.items():
        value = _fold(node.args[offset + signature.params.index(param)], dialect)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > maximum:
            raise ExpressionLimitError(f"'{param}' of {node.func}() is {value:g}, more than {maximum:,}", node.pos)


def _fold(node: Node, dialect: Dialect) -> Any:
    """The constant value of ``node``, or ``_NOT_CONSTANT``; raises past a limit. Depth is already bounded."""
    if isinstance(node, Literal):
        return check_value(node.value, dialect, node.pos)
    if isinstance(node, Unary) and node.op in ("-", "+"):
        value = _fold(node.operand, dialect)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if node.op == "-" else value
        return _NOT_CONSTANT
    if isinstance(node, Binary):
        left, right = _fold(node.left, dialect), _fold(node.right, dialect)
        if left is _NOT_CONSTANT or right is _NOT_CONSTANT:
            return _NOT_CONSTANT  # a column times a number may repeat strings: checked at run
        try:
            return apply_checked(node.op, left, right, dialect, node.pos)
        except ExpressionLimitError:
            raise
        except Exception:  # a type error or a division by zero: left for the run to report
            return _NOT_CONSTANT
    for child in node.children():
        _fold(child, dialect)
    return _NOT_CONSTANT


_ARITHMETIC = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod,
}


def apply_checked(op: str, left: Any, right: Any, dialect: Dialect, pos: int | None = None) -> Any:
    """``left op right`` with Python semantics, refusing results past the dialect's limits before making them.

    Raises:
        ExpressionLimitError: for a power, repetition or integer past a limit, or text formatting with '%'.
        TypeError, ZeroDivisionError, ValueError, OverflowError: from the operation itself.
    """
    if op == "**":
        return checked_power(left, right, dialect, pos)
    if op == "*":
        for text, count in ((left, right), (right, left)):
            if isinstance(text, (str, list, tuple)) and isinstance(count, int):
                return checked_repeat(text, count, dialect, pos)
    if op == "%" and isinstance(left, str):
        raise ExpressionLimitError("'%' is arithmetic (modulo) only; text formatting is not supported", pos)
    if op not in _ARITHMETIC:
        raise TypeError(f"unsupported operator {op}")
    return check_value(_ARITHMETIC[op](left, right), dialect, pos)


def checked_power(base: Any, exponent: Any, dialect: Dialect, pos: int | None = None) -> Any:
    """``base ** exponent``, refused before computing when the result would pass ``max_int_bits``."""
    if isinstance(base, bool) or isinstance(exponent, bool):
        raise TypeError("'**' needs numbers")
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        bits = exponent * math.log2(abs(base))
        if bits > dialect.max_int_bits:
            raise ExpressionLimitError(
                f"the power {_short(base)}**{_short(exponent)} would have about {bits:,.0f} bits, more than "
                f"{dialect.max_int_bits:,}", pos
            )
    try:
        result = operator.pow(base, exponent)
    except OverflowError:
        raise ExpressionLimitError(f"the power {_short(base)}**{_short(exponent)} is too large", pos) from None
    if isinstance(result, complex):
        raise ValueError("a negative number to a fractional power has no real value")
    return check_value(result, dialect, pos)


def checked_repeat(value: Any, count: int, dialect: Dialect, pos: int | None = None) -> Any:
    """``value * count`` for a string or list, refused when longer than ``max_string``."""
    size = len(value) * max(count, 0)
    if size > dialect.max_string:
        raise ExpressionLimitError(
            f"repeating a {type(value).__name__} of length {len(value):,} {count:,} times would make "
            f"{size:,} items, more than {dialect.max_string:,}", pos
        )
    return value * count


def check_value(value: Any, dialect: Dialect, pos: int | None = None) -> Any:
    """``value`` itself when within the limits (integer bits, string and list length)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > dialect.max_int_bits:
        raise ExpressionLimitError(f"an integer with {value.bit_length():,} bits is more than "
                                   f"{dialect.max_int_bits:,}", pos)
    if isinstance(value, (str, list, tuple)) and len(value) > dialect.max_string:
        raise ExpressionLimitError(f"a value of length {len(value):,} is longer than {dialect.max_string:,}", pos)
    return value


def _short(value: Any) -> str:
    text = str(value) if isinstance(value, (int, float)) else type(value).__name__
    return text if len(text) <= 20 else text[:17] + "..."
