"""Templates in an expression enter as literals, never as expression text.

A config that holds an expression (``filter_mod.condition``) may use
templates where a value goes: ``age > {{context.min_age}}``. The build parses
the raw text, each template a :class:`~pypeline.core.expr.tree.Param`. When
the module starts, :func:`pypeline.core.templates.render` replaces each template *token*
(found by the expression tokenizer, so a ``{{`` inside a string is never one)
by :func:`literal_text` of its value: a string becomes a quoted, escaped
string literal, a number its exact ``repr``, a list a list of literals. The
result is still one JSON string, so it travels to remote backends like any
config, and parses back to the same tree with a ``Literal`` where the
``Param`` was: a value holding quotes, backticks, parentheses or braces stays
one string value and cannot change the expression's structure.

Braces are escaped too (``\\x7b``), so a rendered expression never holds
``{{`` that a later rendering pass (a remote backend's) could take for a
template.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from pypeline.core.expr.errors import ExpressionError
from pypeline.core.secret import SecretStr

_SAFE = {"\\": "\\\\", '"': '\\"', "{": "\\x7b", "}": "\\x7d", "\n": "\\n", "\r": "\\r", "\t": "\\t", "`": "\\`"}


class TemplateValueError(ExpressionError):
    """A template's value that cannot be an expression literal (a dict, a secret, NaN).

    ``key`` is the config key, ``ref`` the template, when known.
    """

    def __init__(self, message: str, *, key: str = "", ref: str = "") -> None:
        super().__init__(message)
        self.key = key
        self.ref = ref


def literal_text(value: Any) -> str:
    """``value`` written as a literal of the expression language.

    Raises:
        TemplateValueError: for a secret, a mapping, a non-finite float or another type.
    """
    if isinstance(value, SecretStr):
        raise TemplateValueError("a secret cannot be used in an expression (its value would become data the "
                                 "expression shows)")
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TemplateValueError(f"the number {value!r} cannot be used in an expression")
        return repr(value)
    if isinstance(value, (dt.date, dt.datetime)):
        value = value.isoformat()
    if isinstance(value, str):
        return '"' + "".join(_SAFE.get(ch, ch if ch.isprintable() else f"\\U{ord(ch):08x}") for ch in value) + '"'
    if isinstance(value, (list, tuple)):
        if any(isinstance(v, (list, tuple, dict)) for v in value):
            raise TemplateValueError("a list inside a list cannot be used in an expression")
        return "[" + ", ".join(literal_text(v) for v in value) + "]"
    raise TemplateValueError(
        f"a {type(value).__name__} cannot be used in an expression (expected text, a number, true/false, "
        "null, a date or a list of those)"
    )
