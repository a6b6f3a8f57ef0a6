"""Control-connection conditions: parsed once, evaluated over a closed tree, with limits and taint.

Conditions are small expressions over globals, context values and the iteration::

    source_csv__row_count > 0 and context.env == "prod"

They are parsed by the expression language's parser (:mod:`pypeline.core.expr`)
in the ``condition`` dialect: literals, names (``MODULE__VAR``,
``context.NAME``, ``iter.item`` / ``iter.index``), ``and or not``,
comparisons (``== != < <= > >= in, not in, is, is not``), ``+ - * / // %``,
``x if c else y``, lists and tuples, and the functions ``len int float str
bool abs min max round``. Nothing is ever passed to ``eval``.

Limits (:mod:`pypeline.core.expr.limits`): at most 2,000 characters, 500
parts and 100 levels; an integer of at most 4,096 bits and a string or list
of at most 1,000,000 items, checked before the value is made (``'a' *
3000000000`` and ``9 ** 9 ** 9`` never run). ``%`` is arithmetic only: text
formatting (``'%2000000000d' % 1``) is refused.

Taint: a value read from a secret (a global that holds a
:class:`~pypeline.core.secret.SecretStr`) stays secret through every
operation (``+``, ``str()``, ``int()``, ...): a text result is a
``SecretStr``, and an error about it names the reference it came from, never
its value or the text of the exception it raised.

The build parses every condition (:func:`parse_expression`) and checks the
names it uses; the scheduler evaluates it (:func:`evaluate`) when the control
connection fires.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pypeline.core.expr import (
    Binary,
    BoolOp,
    Call,
    Compare,
    Dialect,
    ExpressionError,
    IfElse,
    In,
    ListExpr,
    Literal,
    Name,
    Node,
    Signature,
    Unary,
    parse_checked,
    walk,
)
from pypeline.core.expr.limits import apply_checked, check_value
from pypeline.core.references import Reference, ReferenceSyntaxError, parse_reference
from pypeline.core.secret import SecretStr, is_secret, mask

__all__ = ["CONDITION_DIALECT", "Expression", "ExpressionError", "evaluate", "parse_expression"]

MAX_EXPRESSION_LENGTH = 2000

_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len, "int": int, "float": float, "str": str, "bool": bool, "abs": abs, "min": min, "max": max,
    "round": round,
}
CONDITION_DIALECT = Dialect(
    what="condition",
    functions={
        **{name: Signature(func=name, params=("value",), required=1) for name in ("len", "int", "float", "str",
                                                                              "bool", "abs")},
        "round": Signature(func="round", params=("value", "ndigits"), required=1, defaults=(None,)),
        "min": Signature(func="min", required=1, variadic=True),
        "max": Signature(func="max", required=1, variadic=True),
    },
    namespaces=frozenset({"context", "iter", "vault"}),
    dotted_names=True,
    attribute_hint="attribute access is only allowed as context.NAME or iter.item / iter.index",
    conditional=True,
    identity=True,
    tuples=True,
    max_length=MAX_EXPRESSION_LENGTH,
    max_depth=100,
    max_nodes=500,
    max_int_bits=4096,
    max_string=1_000_000,
)
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
    ">=": operator.ge, "is": operator.is_, "is not": operator.is_not,
}


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed condition and the names it refers to."""

    source: str
    tree: Node
    references: tuple[Reference, ...]


@lru_cache(maxsize=4096)  # the build parses each condition twice, the run once per firing
def parse_expression(source: str) -> Expression:
    """Parse and check ``source``.

    Raises:
        ExpressionError: on a syntax error, a forbidden construct, a limit or an unknown name spelling.
    """
    tree = parse_checked(source.strip() if isinstance(source, str) else source, CONDITION_DIALECT)
    refs: list[Reference] = []
    for node in walk(tree):
        if isinstance(node, Name) and node.name not in ("True", "False", "None"):
            refs.append(_name_reference(node))
    return Expression(source=source, tree=tree, references=tuple(dict.fromkeys(refs)))


def _name_reference(node: Name) -> Reference:
    if node.name.split(".")[0] == "vault":
        raise ExpressionError("secrets cannot be used in conditions", node.pos)
    try:
        return parse_reference(node.name)
    except ReferenceSyntaxError as exc:
        raise ExpressionError(str(exc), node.pos) from None


def evaluate(expr: Expression, lookup: Callable[[Reference], Any]) -> Any:
    """Evaluate a parsed condition; ``lookup`` supplies the value of each reference.

    A text result derived from a secret comes back as a :class:`SecretStr`.

    Raises:
        ExpressionError: when an operation fails on the looked-up values or passes a limit.
    """
    value, taint = _Evaluator(lookup).value_of(expr.tree)
    if taint and isinstance(value, str):
        return SecretStr(value)
    return value


Taint = frozenset[str]
_CLEAN: Taint = frozenset()


class _Evaluator:
    """Walks the tree; every value travels with the set of secret references it derives from."""

    def __init__(self, lookup: Callable[[Reference], Any]) -> None:
        self.lookup = lookup

    def value_of(self, node: Node) -> tuple[Any, Taint]:
        if isinstance(node, Literal):
            return node.value, _CLEAN
        if isinstance(node, Name):
            return self.name(node)
        if isinstance(node, BoolOp):
            taint: Taint = _CLEAN
            result: Any = node.op == "and"
            for part in node.values:
                result, part_taint = self.value_of(part)
                taint |= part_taint
                if (not result) if node.op == "and" else bool(result):
                    break
            return result, taint
        if isinstance(node, Unary):
            operand, taint = self.value_of(node.operand)
            return self.guard(node, taint, lambda: _unary(node.op, operand)), taint
        if isinstance(node, Binary):
            (left, lt), (right, rt) = self.value_of(node.left), self.value_of(node.right)
            taint = lt | rt
            return self.guard(node, taint, lambda: apply_checked(node.op, left, right, CONDITION_DIALECT,
                                                                 node.pos), (left, right)), taint
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, In):
            (item, it), (container, ct) = self.value_of(node.item), self.value_of(node.container)
            taint = it | ct
            holds = self.guard(node, taint, lambda: item in container, (item, container))
            return (not holds) if node.negated else holds, taint
        if isinstance(node, IfElse):
            test, taint = self.value_of(node.test)
            value, vt = self.value_of(node.body if test else node.orelse)
            return value, taint | vt
        if isinstance(node, ListExpr):
            values = [self.value_of(item) for item in node.items]
            return [v for v, _ in values], frozenset().union(*(t for _, t in values))
        if isinstance(node, Call):
            values = [self.value_of(arg) for arg in node.args]
            args = [v for v, _ in values]
            taint = frozenset().union(*(t for _, t in values))
            function = _FUNCTIONS[node.func]
            return self.guard(node, taint, lambda: check_value(function(*args), CONDITION_DIALECT, node.pos),
                              tuple(args)), taint
        raise ExpressionError(f"{type(node).__name__} is not allowed in a condition", node.pos)

    def name(self, node: Name) -> tuple[Any, Taint]:
        value = self.lookup(_name_reference(node))
        secret = is_secret(value) or (isinstance(value, (list, tuple, dict)) and mask(value) is not value)
        return value, (frozenset({node.name}) if secret else _CLEAN)

    def compare(self, node: Compare) -> tuple[Any, Taint]:
        left, lt = self.value_of(node.operands[0])
        taint = lt
        for op, operand in zip(node.ops, node.operands[1:], strict=True):
            right, rt = self.value_of(operand)
            taint |= rt
            try:
                holds = _COMPARE[op](left, right)
            except TypeError:
                raise ExpressionError(
                    f"cannot compare {_describe(left, lt)} with {_describe(right, rt)} using '{op}' "
                    "(expected values of one kind: a number from a string needs int() or float())", node.pos
                ) from None
            if not holds:
                return False, taint
            left, lt = right, rt
        return True, taint

    def guard(self, node: Node, taint: Taint, work: Callable[[], Any], operands: tuple[Any, ...] = ()) -> Any:
        """``work()``, with a failure turned into a message that shows no secret."""
        try:
            return work()
        except ExpressionError:
            if taint:
                raise ExpressionError(f"{_operation(node)} on a value derived from {_refs(taint)} passes a "
                                      "limit", node.pos) from None
            raise
        except Exception as exc:  # a type error, a division by zero, int('x')
            if taint:
                raise ExpressionError(
                    f"{_operation(node)} failed on a value derived from {_refs(taint)}: {type(exc).__name__}",
                    node.pos,
                ) from None
            kinds = ", ".join(type(v).__name__ for v in operands)
            raise ExpressionError(
                f"{_operation(node)} failed{f' on {kinds}' if kinds else ''}: {type(exc).__name__}: "
                f"{_first_line(exc)}", node.pos
            ) from None


def _unary(op: str, operand: Any) -> Any:
    if op == "not":
        return not operand
    if isinstance(operand, str):
        raise TypeError(f"bad operand type for unary {op}: 'str'")
    return -operand if op == "-" else +operand


def _operation(node: Node) -> str:
    if isinstance(node, Call):
        return f"{node.func}()"
    if isinstance(node, (Binary, Unary)):
        return f"'{node.op}'"
    if isinstance(node, In):
        return "'not in'" if node.negated else "'in'"
    return type(node).__name__


def _refs(taint: Taint) -> str:
    return "the secret in " + ", ".join(f"'{name}'" for name in sorted(taint))


def _describe(value: Any, taint: Taint) -> str:
    if taint or is_secret(value):
        kind = "str" if isinstance(value, str) else type(value).__name__
        return f"{kind} (derived from {_refs(taint)})"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else ""
    return line if len(line) <= 200 else line[:197] + "..."
