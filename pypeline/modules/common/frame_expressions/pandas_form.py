"""The pandas form: a tree compiled into a chain of vectorized Series operations.

:func:`compile_pandas` walks the tree once and returns a function of a frame.
Each node becomes a closure that calls one chosen operation: a pandas
operator on Series, a numpy ufunc for the math functions, an Arrow compute
kernel for text and date-time functions (:mod:`.kernels`, so regular
expressions run on RE2). No text is evaluated, and the tree is never looked
at again when the function runs.

Semantics, shared with the Arrow form: a missing value (null, NaN, NaT) in
gives a missing value out; a comparison with a missing value is missing;
``and or not & | ~`` use three-valued logic (``null and False`` is false).
True/false results are numpy ``bool`` Series while no value is missing (the
fast path: exactly what a hand-written mask computes) and pandas' nullable
``boolean`` dtype once one is. ``/`` is true
division; ``//`` and ``%`` floor like Python; integers are 64-bit.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from pypeline.core.expr import (
    Binary,
    BoolOp,
    Call,
    Compare,
    ExpressionError,
    In,
    ListExpr,
    Literal,
    Name,
    Node,
    Param,
    Unary,
    constant_value,
)
from pypeline.modules.common.frame_expressions import kinds
from pypeline.modules.common.frame_expressions.catalog import DTYPES, MAX_REPEAT
from pypeline.modules.common.frame_expressions.kernels import DATETIME, TEXT
from pypeline.modules.common.frame_expressions.series_kernels import kernel_call

PandasForm = Callable[[pd.DataFrame], Any]
"""A compiled expression: frame -> Series (or a constant, for an expression without columns)."""

_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod, "**": operator.pow,
}
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
_UFUNCS: dict[str, Any] = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "exp": np.exp, "log": np.log, "expm1": np.expm1,
    "log1p": np.log1p, "sqrt": np.sqrt, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh, "arcsin": np.arcsin,
    "arccos": np.arccos, "arctan": np.arctan, "arccosh": np.arccosh, "arcsinh": np.arcsinh, "arctanh": np.arctanh,
    "abs": np.abs, "floor": np.floor, "ceil": np.ceil,
}


def compile_pandas(tree: Node) -> PandasForm:
    """The pandas form of ``tree`` (which holds no template placeholders).

    Raises:
        ExpressionError: for a construct the form cannot compile.
    """
    return _compile(tree)


def _compile(node: Node) -> PandasForm:
    if isinstance(node, Literal):
        value = node.value
        return lambda frame: value
    if isinstance(node, Name):
        return _column(node)
    if isinstance(node, Param):
        raise ExpressionError(f"the template {{{{{node.ref}}}}} was not resolved", node.pos)
    if isinstance(node, Binary):
        return _binary(node.op, _compile(node.left), _compile(node.right), node.pos)
    if isinstance(node, Unary):
        return _unary(node.op, _compile(node.operand), node.pos)
    if isinstance(node, Compare):
        return _compare(node)
    if isinstance(node, BoolOp):
        parts = [_compile(value) for value in node.values]
        return _logical(node.op, parts, node.pos)
    if isinstance(node, In):
        return _in(node)
    if isinstance(node, Call):
        return _call(node)
    if isinstance(node, ListExpr):
        raise ExpressionError("a list is only allowed after 'in' or as a method argument", node.pos)
    raise ExpressionError(f"{type(node).__name__} is not allowed in an expression", node.pos)


# -- values ------------------------------------------------------------------------------------


def _column(node: Name) -> PandasForm:
    name = node.name

    def column(frame: pd.DataFrame) -> Any:
        if name not in frame.columns:
            raise ExpressionError(f"column '{name}' is not defined", node.pos)
        value = frame[name]
        if isinstance(value, pd.DataFrame):
            raise ExpressionError(f"column '{name}' appears more than once", node.pos)
        return value

    return column


def _na(value: Any) -> Any:
    """Missing-value mask of a Series (numpy bool), or a bool for a constant."""
    if isinstance(value, pd.Series):
        if isinstance(value.dtype, np.dtype) and value.dtype.kind in "iub":  # numpy ints and bools: never missing
            return False
        return value.isna().to_numpy(dtype=bool)
    return value is None or (isinstance(value, float) and np.isnan(value))


def _boolean(values: Any, missing: Any, like: Any) -> Any:
    """A nullable boolean Series from numpy ``values`` and a missing mask (or a constant)."""
    if not isinstance(like, pd.Series):
        return None if missing else bool(values)
    values = np.asarray(values, dtype=bool)
    mask = np.broadcast_to(np.asarray(missing, dtype=bool), values.shape).copy()
    return pd.Series(pd.arrays.BooleanArray(values, mask), index=like.index, copy=False)


def _series_of(left: Any, right: Any) -> Any:
    return left if isinstance(left, pd.Series) else right


def _scalar_op(fn: Callable[[Any, Any], Any], left: Any, right: Any) -> Any:
    """``fn`` on two constants with pandas' semantics (7 // 0 is inf, as for a column).

    A missing constant (None, NaN) gives a missing value, as in a column: ``nan ** 0`` too.
    """
    if _na(left) or _na(right):
        return None
    with np.errstate(all="ignore"):
        result = fn(pd.Series([left]), pd.Series([right]))
    item = result.iloc[0]
    if isinstance(item, np.generic):
        item = item.item()
    return None if item is pd.NA or (isinstance(item, float) and np.isnan(item)) else item


def _binary(op: str, left: PandasForm, right: PandasForm, pos: int) -> PandasForm:
    fn = _ARITHMETIC.get(op)

    def binary(frame: pd.DataFrame) -> Any:
        lv, rv = left(frame), right(frame)
        if op == "^":
            return _logical_pair("^", lv, rv, pos)
        lk, rk = kinds.pandas_kind(lv), kinds.pandas_kind(rv)
        result_kind = kinds.arithmetic_kind(op, lk, rk, pos)
        assert fn is not None
        if result_kind == "str" and op == "*":
            return _repeat(lv, rv, pos)
        with np.errstate(all="ignore"):
            if not isinstance(lv, pd.Series) and not isinstance(rv, pd.Series):
                return _scalar_op(fn, lv, rv)
            result = fn(lv, rv)
        if op == "**":  # IEEE says nan ** 0 == 1; here a missing value stays missing
            missing = np.logical_or(_na(lv), _na(rv))
            if np.any(missing):
                result = result.mask(missing)
        return result

    return binary


def _repeat(left: Any, right: Any, pos: int) -> Any:
    text, count = (left, right) if kinds.pandas_kind(left) == "str" else (right, left)
    if isinstance(count, pd.Series):
        raise ExpressionError("repeating text needs a constant count (text * 3), not a column", pos)
    if count > MAX_REPEAT:
        raise ExpressionError(f"repeating text {count:,} times is more than {MAX_REPEAT:,}", pos)
    if isinstance(text, pd.Series):
        return text * count
    return None if text is None else text * max(count, 0)


def _unary(op: str, operand: PandasForm, pos: int) -> PandasForm:
    def unary(frame: pd.DataFrame) -> Any:
        value = operand(frame)
        kind = kinds.pandas_kind(value)
        if op in ("not", "~"):
            kinds.check_logical(op, kind, pos)
            if isinstance(value, pd.Series):
                return ~value if value.dtype == bool else ~value.astype("boolean")
            return None if value is None else not value
        if kind not in (*kinds.NUMBERS, "duration", "null", "any"):
            raise ExpressionError(f"'{op}' needs a number, got {kinds.describe(kind)}", pos)
        if value is None:
            return None
        return -value if op == "-" else +value

    return unary


def _compare(node: Compare) -> PandasForm:
    operands = [_compile(o) for o in node.operands]

    def compare(frame: pd.DataFrame) -> Any:
        values = [o(frame) for o in operands]
        result: Any = True
        for op, left, right in zip(node.ops, values, values[1:], strict=False):
            link = _compare_pair(op, left, right, node.pos)
            result = link if result is True else _logical_pair("and", result, link, node.pos)
        return result

    return compare


def _compare_pair(op: str, left: Any, right: Any, pos: int) -> Any:
    kinds.check_comparable(op, kinds.pandas_kind(left), kinds.pandas_kind(right), pos)
    missing = np.logical_or(_na(left), _na(right))
    like = _series_of(left, right)
    if not isinstance(like, pd.Series):
        return None if missing else bool(_COMPARE[op](left, right))
    if not np.any(missing):  # the common case: a plain numpy bool Series, no copy
        values = _COMPARE[op](left, right)
        return values if values.dtype == bool else values.astype(bool)
    if np.all(missing):
        return _boolean(np.zeros(len(like), dtype=bool), True, like)
    values = _COMPARE[op](left, right)
    return _boolean(values.to_numpy(dtype=bool, na_value=False), missing, like)


def _as_boolean(value: Any, op: str, pos: int) -> Any:
    kinds.check_logical(op, kinds.pandas_kind(value), pos)
    if isinstance(value, pd.Series):
        return value if value.dtype == "boolean" else value.astype("boolean")
    return pd.NA if value is None else bool(value)


def _logical_pair(op: str, left: Any, right: Any, pos: int) -> Any:
    if isinstance(left, pd.Series) and isinstance(right, pd.Series) and left.dtype == bool and right.dtype == bool:
        return left & right if op == "and" else left | right if op == "or" else left ^ right  # no nulls: numpy
    left, right = _as_boolean(left, op, pos), _as_boolean(right, op, pos)
    if op == "and":
        result = left & right
    elif op == "or":
        result = left | right
    else:
        result = left ^ right
    if not isinstance(result, pd.Series):
        return None if result is pd.NA else bool(result)
    return result


def _logical(op: str, parts: list[PandasForm], pos: int) -> PandasForm:
    def logical(frame: pd.DataFrame) -> Any:
        result = parts[0](frame)
        for part in parts[1:]:
            result = _logical_pair(op, result, part(frame), pos)
        return result

    return logical


def _constants(node: Node) -> list[Any]:
    if isinstance(node, ListExpr):
        return [constant_value(item) for item in node.items]
    raise ExpressionError("'in' needs a list: x in [1, 2]", node.pos)


def _in(node: In) -> PandasForm:
    item = _compile(node.item)
    values = _constants(node.container)
    return _isin(item, values, node.negated, node.pos)


def _isin(item: PandasForm, values: list[Any], negated: bool, pos: int) -> PandasForm:
    value_kinds = {kinds.scalar_kind(v) for v in values}

    def isin(frame: pd.DataFrame) -> Any:
        value = item(frame)
        kind = kinds.pandas_kind(value)
        for value_kind in value_kinds:
            kinds.check_comparable("in", kind, value_kind, pos)
        if isinstance(value, pd.Series):
            found = value.isin(values)
            return ~found if negated else found
        present = value in values
        return (not present) if negated else present

    return isin


# -- calls -------------------------------------------------------------------------------------


def _call(node: Call) -> PandasForm:
    args = [_compile(arg) if i == 0 or node.func in _UFUNCS or node.func == "arctan2" else None
            for i, arg in enumerate(node.args)]
    func = node.func
    if func in _UFUNCS or func == "arctan2":
        ufunc = np.arctan2 if func == "arctan2" else _UFUNCS[func]
        compiled = [a for a in args if a is not None]

        def math(frame: pd.DataFrame) -> Any:
            values = [c(frame) for c in compiled]
            for value in values:
                kind = kinds.pandas_kind(value)
                if kind not in (*kinds.NUMBERS, "null", "any"):
                    raise ExpressionError(f"{func}() needs numbers, got {kinds.describe(kind)}", node.pos)
            if any(v is None for v in values):
                return None
            with np.errstate(all="ignore"):
                result = ufunc(*values)
            return result.item() if isinstance(result, np.generic) else result

        return math
    subject = args[0]
    assert subject is not None
    constants = [constant_value(arg) for arg in node.args[1:]]
    if func in TEXT or func in DATETIME:
        return kernel_call(func, subject, constants, node.pos)
    return _series_method(func, subject, constants, node)


def _series_method(func: str, subject: PandasForm, constants: list[Any], node: Call) -> PandasForm:
    pos = node.pos
    if func in ("mod", "pow"):
        other = constants[0]
        return _binary("%" if func == "mod" else "**", subject, lambda frame: other, pos)
    if func == "isin":
        values = constants[0]
        if not isinstance(values, list):
            raise ExpressionError(".isin() needs a list: x.isin([1, 2])", pos)
        return _isin(subject, values, False, pos)
    if func == "between":
        left, right, inclusive = constants
        bounds = {"both": (">=", "<="), "neither": (">", "<"), "left": (">=", "<"), "right": (">", "<=")}
        if inclusive not in bounds:
            raise ExpressionError(f".between(): inclusive must be both, neither, left or right, not {inclusive!r}",
                                  pos)
        low, high = bounds[inclusive]

        def between(frame: pd.DataFrame) -> Any:
            value = subject(frame)
            return _logical_pair("and", _compare_pair(low, value, left, pos), _compare_pair(high, value, right, pos),
                                 pos)

        return between
    if func == "astype" and constants[0] not in DTYPES:
        raise ExpressionError(f".astype(): {constants[0]!r} is not one of {', '.join(DTYPES)}", pos)

    def method(frame: pd.DataFrame) -> Any:
        value = subject(frame)
        kind = kinds.pandas_kind(value)
        series = value if isinstance(value, pd.Series) else pd.Series([value] * len(frame), index=frame.index)
        if func in ("isna", "notna"):
            return series.isna() if func == "isna" else series.notna()
        if func == "fillna":
            fill = constants[0]
            kinds.check_comparable("fillna", kind, kinds.scalar_kind(fill), pos)
            return series.fillna(fill)
        if func in ("abs", "round", "clip"):
            if kind not in (*kinds.NUMBERS, "null", "any"):
                raise ExpressionError(f".{func}() needs numbers, got {kinds.describe(kind)}", pos)
            if func == "abs":
                return series.abs()
            if func == "round":
                return series.round(int(constants[0]))
            return series.clip(constants[0], constants[1])
        return _astype(series, DTYPES[constants[0]], pos)

    return method


def _astype(series: pd.Series, target: str, pos: int) -> pd.Series:
    if target == "bool":
        return series.astype("boolean")
    if target == "str":
        return series.astype("str")
    try:
        return series.astype(target)
    except (ValueError, TypeError) as exc:
        raise ExpressionError(f".astype('{target}') failed: {str(exc).splitlines()[0]}", pos) from None
