"""Kinds of values and the typing rules both compiled forms follow.

A kind is one of ``int``, ``float``, ``bool``, ``str``, ``time`` (a
timestamp), ``date``, ``duration``, ``null`` (a missing constant) or ``any``
(a column whose type says nothing, such as a pandas ``object`` column: not
checked). The pandas form reads kinds from dtypes when it runs; the Arrow
form from the schema when it compiles. Both refuse the same mixes with the
same message, so a flow fails alike on either path.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pyarrow as pa

from pypeline.core.expr import ExpressionError

NUMBERS = ("int", "float")
_NAMES = {"int": "a number", "float": "a number", "bool": "true/false", "str": "text", "time": "a date-time",
          "date": "a date", "duration": "a duration", "null": "null", "any": "a value"}


def describe(kind: str) -> str:
    """How a message names a kind."""
    return _NAMES.get(kind, kind)


def arrow_kind(dtype: pa.DataType) -> str:
    """The kind of an Arrow type."""
    checks: tuple[tuple[Any, str], ...] = (
        (pa.types.is_boolean, "bool"), (pa.types.is_integer, "int"), (pa.types.is_floating, "float"),
        (pa.types.is_decimal, "float"), (pa.types.is_string, "str"), (pa.types.is_large_string, "str"),
        (pa.types.is_timestamp, "time"), (pa.types.is_date, "date"), (pa.types.is_duration, "duration"),
        (pa.types.is_null, "null"),
    )
    if hasattr(pa.types, "is_string_view"):
        checks = (*checks, (pa.types.is_string_view, "str"))
    for check, kind in checks:
        if check(dtype):
            return kind
    return "any"


def pandas_kind(value: Any) -> str:
    """The kind of a Series (from its dtype) or of a constant."""
    if isinstance(value, pd.Series):
        dtype = value.dtype
        api = pd.api.types
        if api.is_bool_dtype(dtype):
            return "bool"
        if api.is_integer_dtype(dtype):
            return "int"
        if api.is_float_dtype(dtype):
            return "float"
        if api.is_datetime64_any_dtype(dtype):
            return "time"
        if api.is_timedelta64_dtype(dtype):
            return "duration"
        if api.is_string_dtype(dtype) and not api.is_object_dtype(dtype):
            return "str"
        return "any"
    return scalar_kind(value)


def scalar_kind(value: Any) -> str:
    """The kind of a constant."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return "time"
    if isinstance(value, dt.date):
        return "date"
    return "any"


def arithmetic_kind(op: str, left: str, right: str, pos: int | None = None) -> str:
    """The kind of ``left op right``.

    Raises:
        ExpressionError: for a mix the language does not define (text + number, ...).
    """
    if "any" in (left, right):
        return "any"
    if "null" in (left, right):
        return left if right == "null" else right
    if left in NUMBERS and right in NUMBERS:
        return "float" if op == "/" or "float" in (left, right) else "int"
    if op == "+" and left == right == "str":
        return "str"
    if op == "*" and {left, right} == {"str", "int"}:
        return "str"
    if op == "-" and left == right == "time":
        return "duration"
    if op in "+-" and left == "time" and right == "duration":
        return "time"
    if op == "+" and left == "duration" and right == "time":
        return "time"
    raise ExpressionError(f"'{op}' cannot combine {describe(left)} and {describe(right)}", pos)


def check_comparable(op: str, left: str, right: str, pos: int | None = None) -> None:
    """Refuse comparing kinds that do not compare (text with a number, ...).

    Raises:
        ExpressionError: naming both kinds.
    """
    if "any" in (left, right) or "null" in (left, right) or left == right:
        return
    if left in NUMBERS and right in NUMBERS:
        return
    if {left, right} in ({"time", "str"}, {"date", "str"}):
        return  # a date written as text: '2024-01-31'
    raise ExpressionError(f"cannot compare {describe(left)} with {describe(right)} using '{op}'", pos)


def check_logical(op: str, kind: str, pos: int | None = None) -> None:
    """Refuse ``and or not & | ^ ~`` on anything but true/false values.

    Raises:
        ExpressionError: naming the kind found.
    """
    if kind not in ("bool", "null", "any"):
        raise ExpressionError(f"'{op}' needs true/false values, got {describe(kind)}", pos)
