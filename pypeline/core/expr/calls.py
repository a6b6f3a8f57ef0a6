"""Binding a call's arguments to a function's signature: arity, keywords, defaults, constants."""

from __future__ import annotations

from pypeline.core.expr.dialect import Signature
from pypeline.core.expr.errors import ExpressionSyntaxError
from pypeline.core.expr.tree import ListExpr, Literal, Node, Param, Unary


def bind_arguments(
    signature: Signature, shown: str, positional: list[Node], keywords: dict[str, Node], pos: int
) -> list[Node]:
    """The arguments in parameter order, defaults filled in (``shown`` names the call in messages).

    Raises:
        ExpressionSyntaxError: too many or too few arguments, an unknown or repeated keyword, or a
            non-constant argument to a signature that takes constants.
    """
    if signature.variadic:
        if len(positional) < signature.required:
            raise ExpressionSyntaxError(f"{shown} takes at least {signature.required} argument(s)", pos)
        result = positional
    else:
        if len(positional) > len(signature.params):
            raise ExpressionSyntaxError(
                f"{shown} takes at most {len(signature.params)} argument(s) "
                f"({', '.join(signature.params) or 'none'}), got {len(positional)}", pos
            )
        result = []
        for index, param in enumerate(signature.params):
            if index < len(positional):
                if param in keywords:
                    raise ExpressionSyntaxError(f"{shown}: '{param}' is given twice", pos)
                result.append(positional[index])
            elif param in keywords:
                result.append(keywords[param])
            elif index < signature.required:
                raise ExpressionSyntaxError(f"{shown} needs the argument '{param}'", pos)
            else:
                result.append(Literal(value=signature.defaults[index - signature.required], pos=pos))
    if signature.constant:
        for arg in result:
            if not _constant(arg):
                raise ExpressionSyntaxError(
                    f"{shown}: method arguments must be constants (a literal, a list of literals or a "
                    "{{template}})", arg.pos
                )
    return result


def _constant(node: Node) -> bool:
    if isinstance(node, (Literal, Param)):
        return True
    if isinstance(node, Unary) and node.op in ("-", "+"):
        return isinstance(node.operand, Literal) and isinstance(node.operand.value, (int, float))
    if isinstance(node, ListExpr):
        return all(_constant(item) for item in node.items)
    return False
