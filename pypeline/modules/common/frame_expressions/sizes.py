"""How much text an expression can make, bounded before it runs.

Text grows through a few functions only: repetition (``name * 3``), padding
(``.str.pad``, ``.str.zfill``, ...), replacement and formatting. Before a
compiled expression with any of them runs, :func:`check_text_growth`
computes an upper bound of the characters it can produce from the sizes of
the text columns it reads, and refuses the work when the bound passes
:data:`MAX_TEXT` characters and four times the text it reads. The bound is
static (it follows the tree, not the data), so the same check guards the
pandas form and the Arrow form, where nothing can be checked inside a
running compute expression.
"""

from __future__ import annotations

from collections.abc import Mapping

from pypeline.core.expr import Binary, Call, ExpressionError, Literal, Name, Node, constant_value, walk

MAX_TEXT = 256_000_000
"""Characters an expression may produce beyond four times the text it reads."""

_PADDING = ("str.pad", "str.center", "str.ljust", "str.rjust", "str.zfill")
_GROWTH = frozenset((*_PADDING, "str.replace", "dt.strftime", "astype", "fillna"))
_TEXT_SAME = frozenset(("str.upper", "str.lower", "str.title", "str.capitalize", "str.swapcase", "str.strip",
                        "str.lstrip", "str.rstrip", "str.slice", "str.removeprefix", "str.removesuffix"))


def grows_text(tree: Node) -> bool:
    """True when ``tree`` holds a repetition or a function that can make text longer."""
    return any((isinstance(n, Call) and n.func in _GROWTH) or (isinstance(n, Binary) and n.op == "*")
               for n in walk(tree))


def text_bound(tree: Node, text_sizes: Mapping[str, int], rows: int) -> int:
    """Upper bound of the characters ``tree`` produces (``text_sizes``: characters per text column)."""
    return _bound(tree, text_sizes, rows)


def _bound(node: Node, sizes: Mapping[str, int], rows: int) -> int:  # depth is bounded by the parser limits
    if isinstance(node, Name):
        return sizes.get(node.name, 0)
    if isinstance(node, Literal):
        return len(node.value) * rows if isinstance(node.value, str) else 0
    if isinstance(node, Binary):
        left, right = _bound(node.left, sizes, rows), _bound(node.right, sizes, rows)
        if node.op == "+":
            return left + right
        if node.op == "*":
            count = _count(node.right) if left else _count(node.left)
            return max(left, right) * max(count, 1)
        return 0
    if isinstance(node, Call):
        subject = _bound(node.args[0], sizes, rows) if node.args else 0
        args = [_value(a) for a in node.args[1:]]
        if node.func in _PADDING:
            width = args[0] if isinstance(args[0], int) else 0
            return subject + width * rows
        if node.func == "str.replace":
            pat, repl, regex = str(args[0] or ""), str(args[1] or ""), bool(args[3])
            if regex or not pat:
                return subject * (len(repl) + 1) + len(repl) * rows
            return subject * max(1, -(-len(repl) // len(pat)))
        if node.func == "dt.strftime":
            return len(str(args[0] or "")) * 16 * rows
        if node.func == "astype":
            return 32 * rows + subject
        if node.func == "fillna":
            return subject + len(str(args[0] or "")) * rows
        if node.func in _TEXT_SAME:
            return subject
        return 0
    return sum(_bound(child, sizes, rows) for child in node.children())


def _count(node: Node) -> int:
    value = _value(node)
    return value if isinstance(value, int) and not isinstance(value, bool) else 1


def _value(node: Node) -> object:
    try:
        return constant_value(node)
    except ExpressionError:
        return None


def check_text_growth(tree: Node, text_sizes: Mapping[str, int], rows: int) -> None:
    """Refuse an expression whose text could pass the limit (see the module docstring).

    Raises:
        ExpressionError: naming the bound and the limit.
    """
    bound = text_bound(tree, text_sizes, rows)
    allowed = max(MAX_TEXT, 4 * sum(text_sizes.values()))
    if bound > allowed:
        raise ExpressionError(
            f"the expression could make {bound:,} characters of text from {rows:,} rows, more than "
            f"{allowed:,} (repetition, padding and replacement sizes are bounded)"
        )
