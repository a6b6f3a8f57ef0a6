"""The typed tree every expression is parsed into (conditions and frame expressions alike).

A tree is made of frozen dataclasses; nothing in it can be called or looked
up. Compilers and evaluators turn it into work (:mod:`pypeline.core.expressions`
for control conditions, :mod:`pypeline.modules.common.frame_expressions` for
``filter_mod`` / ``derive_mod``). ``pos`` is the 0-based offset of the node in
the source text, for messages.

=================  ==========================================================
``Name``           a column (frame) or a reference (condition: ``context.env``)
``Literal``        a string, int, float, bool or ``None``
``Param``          a ``{{template}}`` placeholder (build time only)
``ListExpr``       ``[a, b]`` (and ``(a, b)`` in conditions)
``Unary``          ``-x``, ``+x``, ``not x``, ``~x``
``Binary``         ``+ - * / // % ** & | ^``
``Compare``        a chain of ``== != < <= > >= is, is not``
``In``             ``x in y`` / ``x not in y``
``BoolOp``         ``and`` / ``or`` over two or more values
``IfElse``         ``a if test else b`` (conditions)
``Call``           a function of the dialect's closed list; a method call
                   ``x.str.upper()`` is the function ``str.upper`` with ``x``
                   as first argument
=================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

LiteralValue = str | int | float | bool | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """Base of every node; ``pos`` is the offset in the source."""

    pos: int = 0

    def children(self) -> tuple[Node, ...]:
        """The direct sub nodes, in source order."""
        return ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Name(Node):
    name: str
    quoted: bool = False
    """Written in backticks (frame expressions)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Literal(Node):
    value: LiteralValue


@dataclass(frozen=True, slots=True, kw_only=True)
class Param(Node):
    """A ``{{ref}}`` template; at run time its value arrives as a :class:`Literal`."""

    ref: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ListExpr(Node):
    items: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.items


@dataclass(frozen=True, slots=True, kw_only=True)
class Unary(Node):
    op: str
    operand: Node

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True, slots=True, kw_only=True)
class Binary(Node):
    op: str
    left: Node
    right: Node

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, slots=True, kw_only=True)
class Compare(Node):
    """``operands[0] ops[0] operands[1] ops[1] ...`` (a chain holds when every link holds)."""

    ops: tuple[str, ...]
    operands: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.operands


@dataclass(frozen=True, slots=True, kw_only=True)
class In(Node):
    item: Node
    container: Node
    negated: bool = False

    def children(self) -> tuple[Node, ...]:
        return (self.item, self.container)


@dataclass(frozen=True, slots=True, kw_only=True)
class BoolOp(Node):
    op: str
    values: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.values


@dataclass(frozen=True, slots=True, kw_only=True)
class IfElse(Node):
    test: Node
    body: Node
    orelse: Node

    def children(self) -> tuple[Node, ...]:
        return (self.body, self.test, self.orelse)


@dataclass(frozen=True, slots=True, kw_only=True)
class Call(Node):
    func: str
    args: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.args


def walk(root: Node) -> Iterator[Node]:
    """Every node of ``root``, depth first, without recursion."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children()))


def depth(root: Node) -> int:
    """The number of levels of ``root`` (a lone literal is 1), without recursion."""
    deepest = 0
    stack = [(root, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in node.children())
    return deepest


def constant_value(node: Node) -> Any:
    """The value of a constant argument: a literal, a signed number or a list of those.

    Raises:
        ExpressionError: for anything else (a column, a call, an unresolved template).
    """
    from pypeline.core.expr.errors import ExpressionError

    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Unary) and node.op in ("-", "+") and isinstance(node.operand, Literal):
        value = node.operand.value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if node.op == "-" else value
    if isinstance(node, ListExpr):
        return [constant_value(item) for item in node.items]
    if isinstance(node, Param):
        raise ExpressionError(f"the template {{{{{node.ref}}}}} was not resolved", node.pos)
    raise ExpressionError("expected a constant", node.pos)
