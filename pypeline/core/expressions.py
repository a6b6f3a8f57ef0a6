"""A safe evaluator for control-connection conditions.

Conditions are small boolean expressions over globals and context values::

    source_csv__row_count > 0 and context.env == "prod"

They are parsed with :mod:`ast` and evaluated by walking the tree over a short
whitelist of node types. Nothing ever reaches :func:`eval`: there are no
attribute look-ups except ``context.X`` / ``iter.X``, no subscripts of
arbitrary objects, no comprehensions and no calls except a handful of pure
built-ins (``len``, ``int``, ``float``, ``str``, ``bool``, ``abs``, ``min``,
``max``, ``round``).

The build parses every condition (:func:`parse_expression`) and checks the
names it uses; the scheduler evaluates it (:func:`evaluate`) when the control
connection fires.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pypeline.core.references import Reference, ReferenceSyntaxError, parse_reference

MAX_EXPRESSION_LENGTH = 2000

_BINOPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_CMPOPS: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "abs": abs,
    "min": min,
    "max": max,
    "round": round,
}


class ExpressionError(ValueError):
    """An expression that is not allowed or cannot be evaluated."""


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed condition and the names it refers to."""

    source: str
    tree: ast.Expression
    references: tuple[Reference, ...]


@lru_cache(maxsize=4096)  # the build parses each condition twice, the run once per firing
def parse_expression(source: str) -> Expression:
    """Parse and vet ``source``.

    Raises:
        ExpressionError: on a syntax error, a forbidden construct or an unknown name spelling.
    """
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"expression is longer than {MAX_EXPRESSION_LENGTH} characters")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"invalid expression {source!r}: {exc.msg}") from exc
    refs: list[Reference] = []
    _vet(tree.body, refs)
    unique = tuple(dict.fromkeys(refs))
    return Expression(source=source, tree=tree, references=unique)


def _vet(node: ast.AST, refs: list[Reference]) -> None:
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, (str, int, float, bool, type(None))):
            raise ExpressionError(f"constant {node.value!r} is not allowed")
        return
    if isinstance(node, ast.Name):
        if node.id in ("True", "False", "None"):
            return
        refs.append(_name_reference(node.id))
        return
    if isinstance(node, ast.Attribute):
        if isinstance(node.value, ast.Name) and node.value.id in ("context", "iter"):
            refs.append(_name_reference(f"{node.value.id}.{node.attr}"))
            return
        raise ExpressionError("attribute access is only allowed as context.NAME or iter.item / iter.index")
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            _vet(value, refs)
        return
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.Not, ast.USub, ast.UAdd)):
            raise ExpressionError("operator not allowed")
        _vet(node.operand, refs)
        return
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINOPS:
            raise ExpressionError(f"operator {type(node.op).__name__} not allowed")
        _vet(node.left, refs)
        _vet(node.right, refs)
        return
    if isinstance(node, ast.Compare):
        for op in node.ops:
            if type(op) not in _CMPOPS:
                raise ExpressionError(f"comparison {type(op).__name__} not allowed")
        _vet(node.left, refs)
        for comparator in node.comparators:
            _vet(comparator, refs)
        return
    if isinstance(node, ast.IfExp):
        for part in (node.test, node.body, node.orelse):
            _vet(part, refs)
        return
    if isinstance(node, (ast.List, ast.Tuple)):
        for elt in node.elts:
            _vet(elt, refs)
        return
    if isinstance(node, ast.Call):
        allowed = ", ".join(sorted(_FUNCTIONS))
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
            raise ExpressionError(f"'{ast.unparse(node.func)}' may not be called (callable: {allowed})")
        if node.keywords:
            raise ExpressionError(f"keyword arguments are not allowed in a call of '{node.func.id}'")
        for arg in node.args:
            _vet(arg, refs)
        return
    raise ExpressionError(f"{type(node).__name__} is not allowed in an expression")


def _name_reference(text: str) -> Reference:
    try:
        ref = parse_reference(text)
    except ReferenceSyntaxError as exc:
        raise ExpressionError(str(exc)) from exc
    if ref.kind == "secret":
        raise ExpressionError("secrets cannot be used in conditions")
    return ref


def evaluate(expr: Expression, lookup: Callable[[Reference], Any]) -> Any:
    """Evaluate a parsed expression; ``lookup`` supplies the value of each reference.

    Raises:
        ExpressionError: when an operation fails on the looked-up values.
    """
    try:
        return _eval(expr.tree.body, lookup)
    except ExpressionError:
        raise
    except Exception as exc:  # a comparison of incompatible types, a division by zero
        raise ExpressionError(f"cannot evaluate {expr.source!r}: {type(exc).__name__}: {exc}") from exc


def _eval(node: ast.AST, lookup: Callable[[Reference], Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.id]
        return lookup(_name_reference(node.id))
    if isinstance(node, ast.Attribute):
        assert isinstance(node.value, ast.Name)
        return lookup(_name_reference(f"{node.value.id}.{node.attr}"))
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            result: Any = True
            for value in node.values:
                result = _eval(value, lookup)
                if not result:
                    return result
            return result
        result = False
        for value in node.values:
            result = _eval(value, lookup)
            if result:
                return result
        return result
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, lookup)
        if isinstance(node.op, ast.Not):
            return not operand
        return -operand if isinstance(node.op, ast.USub) else +operand
    if isinstance(node, ast.BinOp):
        return _BINOPS[type(node.op)](_eval(node.left, lookup), _eval(node.right, lookup))
    if isinstance(node, ast.Compare):
        left = _eval(node.left, lookup)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _eval(comparator, lookup)
            try:
                holds = _CMPOPS[type(op)](left, right)
            except TypeError:
                raise ExpressionError(
                    f"cannot compare {type(left).__name__} {_short(left)} with "
                    f"{type(right).__name__} {_short(right)} in '{ast.unparse(node)}' "
                    "(expected values of one kind: a number from a string needs int() or float())"
                ) from None
            if not holds:
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return _eval(node.body if _eval(node.test, lookup) else node.orelse, lookup)
    if isinstance(node, ast.List):
        return [_eval(e, lookup) for e in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_eval(e, lookup) for e in node.elts)
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        return _FUNCTIONS[node.func.id](*(_eval(a, lookup) for a in node.args))
    raise ExpressionError(f"{type(node).__name__} is not allowed in an expression")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
