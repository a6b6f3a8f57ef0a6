"""Generated expressions: any text parses to a tree or fails cleanly; both compiled forms agree.

Two properties, checked by hypothesis:

* parsing any text (random characters, or random soups of the language's
  tokens) either returns a tree or raises the language's own error; never
  another exception, never a ``RecursionError``, and no file appears;
* an expression built from the grammar over a sample frame either fails with
  a clean :class:`FrameExpressionError` (in either form) or gives the same
  values from the pandas form and from the Arrow form.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pypeline.core.expr import literal_text
from pypeline.core.expressions import ExpressionError, parse_expression
from pypeline.modules.common.frame_expressions import FrameExpressionError, check_expression, compile_expression

FRAME = pd.DataFrame({
    "i": [3, -7, 0, 12, 5, 1],
    "f": [1.5, np.nan, -2.25, 0.0, 10.0, 3.0],
    "s": ["ab", "Bc", None, "", "a b", "zZ9"],
    "b": [True, False, True, True, False, False],
    "d": pd.to_datetime(["2024-01-31 00:00:00", "2024-02-29 13:45:10", None, "2023-12-01 00:00:00",
                        "2024-06-15 08:00:00", "2024-03-01 00:00:00"]),
    "my col": [1, 2, 3, 4, 5, 6],
})
TABLE = pa.Table.from_pandas(FRAME, preserve_index=False)

TOKENS = ["i", "f", "s", "b", "d", "`my col`", "(", ")", "[", "]", ",", ".", "+", "-", "*", "/", "//", "%", "**",
          "==", "!=", "<", ">=", "and", "or", "not", "&", "|", "~", "in", "1", "2.5", "'a'", '"`"', "True", "None",
          "str", "upper", "dt", "year", "sqrt", "abs", "round", "isna", "__class__", "lambda", ":", "=", "{{",
          "}}", "context.x", "@", "if", "else", "is", "`"]


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.text(max_size=300), st.lists(st.sampled_from(TOKENS), max_size=60).map(" ".join)))
def test_any_text_parses_or_fails_cleanly(in_tmp: Path, text: str) -> None:
    try:
        check_expression(text)
    except FrameExpressionError as exc:
        assert "\n" not in str(exc)
    try:
        parse_expression(text)
    except ExpressionError:
        pass
    assert os.listdir(in_tmp) == []


# -- expressions from the grammar ------------------------------------------------------------------

NUMERIC = st.sampled_from(["i", "f", "`my col`"])
small_ints = st.integers(min_value=-20, max_value=20)
small_floats = st.floats(min_value=-100, max_value=100, allow_nan=False).map(lambda v: round(v, 3))
texts = st.text(alphabet="abAB z9'\"`{}", max_size=4)


def _number_leaf() -> st.SearchStrategy[str]:
    return st.one_of(NUMERIC, small_ints.map(literal_text), small_floats.map(literal_text))


def _text_leaf() -> st.SearchStrategy[str]:
    return st.one_of(st.just("s"), texts.map(literal_text))


def _numbers(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*", "/", "//", "%"]), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(children, st.integers(min_value=0, max_value=3)).map(lambda t: f"({t[0]} ** {t[1]})"),
        st.tuples(st.sampled_from(["sqrt", "abs", "log", "exp", "floor", "ceil", "sin", "arctan"]), children).map(
            lambda t: f"{t[0]}({t[1]})"),
        st.tuples(children, st.sampled_from([".round(1)", ".abs()", ".fillna(0)", ".clip(-3, 4)"])).map(
            lambda t: f"({t[0]}){t[1]}"),
        children.map(lambda c: f"(-{c})"),
        st.sampled_from(["s.str.len()", "d.dt.year", "d.dt.month", "d.dt.day_of_year", "d.dt.weekday",
                         "s.str.count('b')"]),
    )


def _texts(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    methods = [".str.upper()", ".str.lower()", ".str.strip()", ".str.slice(1, 3)", ".str.replace('a', 'bb')",
               ".str.zfill(4)", ".str.pad(5, 'both', '*')", ".str.removeprefix('a')", ".str.title()",
               ".fillna('x')"]
    return st.one_of(
        st.tuples(children, children).map(lambda t: f"({t[0]} + {t[1]})"),
        st.tuples(children, st.integers(min_value=0, max_value=3)).map(lambda t: f"({t[0]} * {t[1]})"),
        st.tuples(children, st.sampled_from(methods)).map(lambda t: f"({t[0]}){t[1]}"),
        st.just("d.dt.strftime('%Y-%m')"),
    )


numbers = st.recursive(_number_leaf(), _numbers, max_leaves=6)
strings = st.recursive(_text_leaf(), _texts, max_leaves=4)


def _conditions(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(["and", "or", "&", "|", "^"]), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        children.map(lambda c: f"(not {c})"),
        children.map(lambda c: f"(~{c})"),
    )


compare_ops = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
conditions = st.recursive(
    st.one_of(
        st.tuples(numbers, compare_ops, numbers).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(strings, compare_ops, strings).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(numbers, compare_ops, numbers, compare_ops, numbers).map(lambda t: "(" + " ".join(t) + ")"),
        st.tuples(numbers, st.lists(st.one_of(small_ints, small_floats), max_size=4)).map(
            lambda t: f"({t[0]} in {literal_text(t[1])})"),
        st.tuples(strings, st.lists(texts, max_size=3)).map(lambda t: f"({t[0]} not in {literal_text(t[1])})"),
        st.sampled_from(["b", "True", "None", "f.isna()", "s.notna()", "i.between(0, 5)", "s.str.startswith('a')",
                         "s.str.contains('b|z', case=False)", "s.str.fullmatch('[a-z]+')", "d > '2024-02-01'",
                         "d.dt.is_month_end", "s.str.isalpha()", "i.isin([3, 5])", "s == None"]),
        strings, numbers,  # not conditions: both forms must agree on the refusal or the value
    ),
    _conditions,
    max_leaves=5,
)


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _values(result: Any, rows: int) -> list[Any]:
    if isinstance(result, pd.Series):
        return [_plain(v) for v in result.tolist()]
    if isinstance(result, (pa.ChunkedArray, pa.Array)):
        return [_plain(v) for v in result.to_pylist()]
    return [_plain(result)] * rows


def _same(left: Any, right: Any) -> bool:
    if left is None or right is None:
        return left is right
    if isinstance(left, (int, float)) and isinstance(right, (int, float)) and not isinstance(left, bool):
        if math.isinf(left) or math.isinf(right):
            return left == right
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(left, dt.datetime) and isinstance(right, dt.datetime):
        return left.replace(tzinfo=None) == right.replace(tzinfo=None)
    return bool(left == right) and type(left) is type(right)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(conditions)
@example("f.clip(0, 4) > 1")  # a NaN clipped stays missing (Arrow's min/max took the bound)
@example("((-d.dt.month) == ((-sqrt(i))).clip(-3, 4))")
@example("i == (`my col` % 0.6)")  # 3 % 0.6 is 1e-16, not 0
@example("s.str.len() == (sqrt(-1) ** 0)")  # nan ** 0 of constants is missing, as in a column
@example("i < (-(d.dt.year / (i // -8)))")  # -7 // -8 is +0.0, so 2024 / it is +inf
@example("None")  # a missing condition keeps no row, in the Arrow form too
def test_pandas_and_arrow_forms_agree(in_tmp: Path, text: str) -> None:
    try:
        expression = compile_expression(text, "condition")
    except FrameExpressionError:
        return
    outcomes: list[list[Any] | None] = []
    runs: list[Callable[[], Any]] = [lambda: expression.evaluate(FRAME), lambda: expression.evaluate_table(TABLE)]
    for run in runs:
        try:
            outcomes.append(_values(run(), len(FRAME)))
        except FrameExpressionError as exc:
            assert "\n" not in str(exc)
            outcomes.append(None)
    pandas_values, arrow_values = outcomes
    if pandas_values is not None and arrow_values is not None:
        assert len(pandas_values) == len(arrow_values)
        for index, (left, right) in enumerate(zip(pandas_values, arrow_values, strict=True)):
            assert _same(left, right), f"{text}: row {index}: pandas {left!r}, Arrow {right!r}"
    if pandas_values is not None and all(isinstance(v, bool) or v is None for v in pandas_values):
        kept = expression.filter(FRAME)
        assert len(kept) == sum(v is True for v in pandas_values)
        if arrow_values is not None:
            assert expression.filter_table(TABLE).num_rows == len(kept)
    assert os.listdir(in_tmp) == []
