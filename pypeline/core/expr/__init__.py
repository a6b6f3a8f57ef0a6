"""The expression language: one tokenizer, one parser, one typed tree, limits.

Used by control conditions (:mod:`pypeline.core.expressions`) and by frame
expressions (:mod:`pypeline.modules.common.frame_expressions`), each with its
own :class:`Dialect`. Text is only ever parsed, never evaluated.
"""

from __future__ import annotations

from pypeline.core.expr.dialect import Dialect, Signature
from pypeline.core.expr.errors import ExpressionError, ExpressionLimitError, ExpressionSyntaxError
from pypeline.core.expr.limits import check_tree
from pypeline.core.expr.literals import TemplateValueError, literal_text
from pypeline.core.expr.parser import parse
from pypeline.core.expr.tree import (
    Binary,
    BoolOp,
    Call,
    Compare,
    IfElse,
    In,
    ListExpr,
    Literal,
    LiteralValue,
    Name,
    Node,
    Param,
    Unary,
    constant_value,
    depth,
    walk,
)

__all__ = [
    "Binary",
    "BoolOp",
    "Call",
    "Compare",
    "Dialect",
    "ExpressionError",
    "ExpressionLimitError",
    "ExpressionSyntaxError",
    "IfElse",
    "In",
    "ListExpr",
    "Literal",
    "LiteralValue",
    "Name",
    "Node",
    "Param",
    "Signature",
    "TemplateValueError",
    "Unary",
    "check_tree",
    "constant_value",
    "depth",
    "literal_text",
    "parse",
    "parse_checked",
    "walk",
]


def parse_checked(source: str, dialect: Dialect) -> Node:
    """:func:`parse` then :func:`check_tree`: the tree of ``source``, within every limit.

    Raises:
        ExpressionError: a syntax error or a limit passed.
    """
    tree = parse(source, dialect)
    check_tree(tree, dialect)
    return tree
