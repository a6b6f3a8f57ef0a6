"""Row expressions over a frame's columns (``filter_mod``, ``derive_mod``), without ``eval``.

Users write pandas ``DataFrame.query`` / ``DataFrame.eval`` style expressions::

    amount > 100 and country == "FR"
    price * quantity
    name.str.upper()
    `unit price` * 1.2 + sqrt(weight)

pandas' expression engine is not a sandbox: it resolves attribute chains
(``col.__class__.__init__.__globals__``) and calls whatever they reach, and it
looks up unknown names in the caller's variables. So before pandas sees an
expression, :func:`vet_expression` parses it with :mod:`ast` and allows only

* column names (plain, or quoted in backticks) and constants;
* arithmetic, comparison, boolean (``and``/``or``/``not``/``&``/``|``/``~``)
  operators, ``in`` / ``not in`` against a list;
* pandas' math functions (``sqrt(x)``, ``abs(x)``, ``log(x)``, ...);
* the accessors ``.str`` and ``.dt`` and a fixed list of methods and
  attributes (:data:`ALLOWED_ATTRIBUTES`), called with constant arguments.

Nothing else: no ``@variable`` references, no names starting with ``_``, no
subscripts, lambdas or comprehensions. pandas then evaluates the vetted text
with empty variable scopes, so a name that is not a column is an error.
"""

from __future__ import annotations

import ast
import re
from typing import Any

import pandas as pd

MAX_LENGTH = 4000

MATH_FUNCTIONS = frozenset(
    {
        "sin",
        "cos",
        "tan",
        "exp",
        "log",
        "expm1",
        "log1p",
        "sqrt",
        "sinh",
        "cosh",
        "tanh",
        "arcsin",
        "arccos",
        "arctan",
        "arccosh",
        "arcsinh",
        "arctanh",
        "abs",
        "arctan2",
        "floor",
        "ceil",
    }
)
"""The functions pandas' expression engine provides by name."""

ALLOWED_ATTRIBUTES = frozenset(
    {
        # accessors
        "str",
        "dt",
        # Series methods
        "abs",
        "round",
        "fillna",
        "isna",
        "notna",
        "isnull",
        "notnull",
        "clip",
        "between",
        "isin",
        "astype",
        "mod",
        "pow",
        # string methods
        "upper",
        "lower",
        "strip",
        "lstrip",
        "rstrip",
        "len",
        "contains",
        "startswith",
        "endswith",
        "replace",
        "slice",
        "zfill",
        "title",
        "capitalize",
        "isdigit",
        "isnumeric",
        "isalpha",
        "isalnum",
        "isspace",
        "pad",
        "center",
        "ljust",
        "rjust",
        "find",
        "count",
        "match",
        "fullmatch",
        "casefold",
        "swapcase",
        "removeprefix",
        "removesuffix",
        "get",
        # datetime fields and methods
        "year",
        "month",
        "day",
        "hour",
        "minute",
        "second",
        "microsecond",
        "date",
        "time",
        "dayofweek",
        "day_of_week",
        "weekday",
        "dayofyear",
        "day_of_year",
        "quarter",
        "is_month_end",
        "is_month_start",
        "days_in_month",
        "floor",
        "ceil",
        "normalize",
        "strftime",
        "tz_localize",
        "tz_convert",
        "days",
        "seconds",
        "total_seconds",
    }
)

_BACKTICK_RE = re.compile(r"`[^`]*`")
_OPERATORS = (
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.BitAnd,
    ast.BitOr,
    ast.BitXor,
)
_COMPARISONS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn)


class FrameExpressionError(ValueError):
    """An expression that is not allowed (see the module docstring)."""


def vet_expression(text: str) -> None:
    """Check that ``text`` uses only the allowed constructs.

    Raises:
        FrameExpressionError: naming the first construct that is not allowed.
    """
    if not isinstance(text, str) or not text.strip():
        raise FrameExpressionError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise FrameExpressionError(f"the expression is longer than {MAX_LENGTH} characters")
    if "@" in _BACKTICK_RE.sub("", text):
        raise FrameExpressionError("'@variable' references are not allowed; use column names and constants")
    placeholder = _BACKTICK_RE.sub("col_in_backticks", text.strip())
    try:
        tree = ast.parse(placeholder, mode="eval")
    except SyntaxError as exc:
        raise FrameExpressionError(f"invalid expression {text!r}: {exc.msg}") from None
    _vet(tree.body)


def _vet(node: ast.AST) -> None:
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, (str, int, float, bool, type(None))):
            raise FrameExpressionError(f"the constant {node.value!r} is not allowed")
    elif isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise FrameExpressionError(f"the name '{node.id}' is not allowed (names may not start with '_')")
    elif isinstance(node, ast.Attribute):
        if node.attr not in ALLOWED_ATTRIBUTES:
            raise FrameExpressionError(
                f"'.{node.attr}' is not allowed; allowed are .str and .dt accessors and common "
                "Series, string and datetime methods (see docs/modules.md, 'Expressions')"
            )
        _vet(node.value)
    elif isinstance(node, ast.Call):
        _vet_call(node)
    elif isinstance(node, ast.BoolOp):
        for value in node.values:
            _vet(value)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.Not, ast.USub, ast.UAdd, ast.Invert)):
            raise FrameExpressionError(f"the operator {type(node.op).__name__} is not allowed")
        _vet(node.operand)
    elif isinstance(node, ast.BinOp):
        if not isinstance(node.op, _OPERATORS):
            raise FrameExpressionError(f"the operator {type(node.op).__name__} is not allowed")
        _vet(node.left)
        _vet(node.right)
    elif isinstance(node, ast.Compare):
        for op in node.ops:
            if not isinstance(op, _COMPARISONS):
                raise FrameExpressionError(f"the comparison {type(op).__name__} is not allowed")
        _vet(node.left)
        for comparator in node.comparators:
            _vet(comparator)
    elif isinstance(node, (ast.List, ast.Tuple)):
        for element in node.elts:
            _vet(element)
    else:
        raise FrameExpressionError(f"{type(node).__name__} is not allowed in an expression")


def _vet_call(node: ast.Call) -> None:
    for keyword in node.keywords:
        if keyword.arg is None:
            raise FrameExpressionError("'**' arguments are not allowed")
    arguments = [*node.args, *(k.value for k in node.keywords)]
    if isinstance(node.func, ast.Name):
        if node.func.id not in MATH_FUNCTIONS:
            raise FrameExpressionError(
                f"the function '{node.func.id}' is not allowed; allowed: {', '.join(sorted(MATH_FUNCTIONS))}"
            )
        for arg in arguments:  # math functions take any (vetted) expression
            _vet(arg)
        return
    if not isinstance(node.func, ast.Attribute):
        raise FrameExpressionError("only math functions and column methods may be called")
    _vet(node.func)
    for arg in arguments:  # methods take constants only
        if not isinstance(arg, (ast.Constant, ast.List, ast.Tuple, ast.UnaryOp)):
            raise FrameExpressionError("method arguments must be constants")
        _vet(arg)


def referenced_names(text: str) -> set[str]:
    """The column names an expression reads (plain and backtick-quoted); empty if it does not parse."""
    names = {quoted[1:-1] for quoted in _BACKTICK_RE.findall(text)}
    try:
        tree = ast.parse(_BACKTICK_RE.sub("col_in_backticks", text.strip()), mode="eval")
    except SyntaxError:
        return names
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id != "col_in_backticks":
            names.add(node.id)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            names.discard(node.func.id)
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    return names - calls


def _columns(frame: Any) -> str:
    return ", ".join(map(str, frame.columns))


def query(frame: pd.DataFrame, condition: str) -> pd.DataFrame:
    """Rows of ``frame`` where the vetted ``condition`` holds.

    Raises:
        FrameExpressionError: when the condition is not allowed or fails on this frame.
    """
    vet_expression(condition)
    try:
        mask = frame.eval(condition, local_dict={}, global_dict={})
    except Exception as exc:
        raise FrameExpressionError(
            f"condition {condition!r} failed: {_reason(exc)} (columns: {_columns(frame)})"
        ) from None
    if not isinstance(mask, pd.Series) or not (pd.api.types.is_bool_dtype(mask.dtype)):
        raise FrameExpressionError(f"condition {condition!r} does not give true/false per row")
    if mask.dtype != bool:  # nullable booleans: null counts as not matching
        mask = mask.fillna(False).astype(bool)
    return frame[mask]


def evaluate(frame: pd.DataFrame, expression: str) -> Any:
    """The value of the vetted ``expression`` per row (a Series) or a constant.

    Raises:
        FrameExpressionError: when the expression is not allowed or fails on this frame.
    """
    vet_expression(expression)
    try:
        return frame.eval(expression, local_dict={}, global_dict={})
    except Exception as exc:
        raise FrameExpressionError(
            f"expression {expression!r} failed: {_reason(exc)} (columns: {_columns(frame)})"
        ) from None


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if type(exc).__name__ == "UndefinedVariableError":
        return text.replace("local variable", "column").replace("name", "column")
    return text
