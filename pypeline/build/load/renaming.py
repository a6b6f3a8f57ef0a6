"""Module ids of an included flow, renamed into the including flow's name space.

When flow ``parts/clean.yaml`` is included as ``east``, its module ``load``
becomes ``east.load`` (nested includes: ``east.inner.load``). Every place
the included file names one of its modules is renamed the same way:

=====================  ==================================================
connections            ``load.data - keep.input`` -> ``east.load.data - east.keep.input``
templates in configs   ``{{load__row_count}}`` -> ``{{east.load__row_count}}``
conditions             ``load__row_count > 0`` -> ``east.load__row_count > 0``
=====================  ==================================================

A name that is no module of the included file is prefixed all the same: an
included flow sees only its own modules (values from outside come in as
``params``), so ``{{other__x}}`` becomes ``east.other__x`` and the build
reports an unknown module instead of reading a module of the including
flow by chance. The dot cannot appear in an id written by hand (the schema
refuses it) and ``__`` cannot appear in any id, so ``east.load__row_count``
reads back unambiguously (:mod:`pypeline.core.references`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pypeline.core.expr.errors import ExpressionError
from pypeline.core.expr.tokens import Token, tokenize
from pypeline.core.references import ReferenceSyntaxError, parse_reference
from pypeline.core.templates import TEMPLATE_RE


class Namespace:
    """The renaming of one flow file as included under ``prefix`` (``""``: the including flow, unchanged)."""

    def __init__(self, prefix: str, local_ids: Iterable[str]) -> None:
        self.prefix = prefix
        self._canonical = {i.lower(): i for i in local_ids}

    def module(self, module_id: str) -> str:
        """The id ``module_id`` (written in this file) names in the whole flow."""
        if not self.prefix:
            return module_id
        head, dot, rest = module_id.partition(".")
        return self.prefix + self._canonical.get(head.lower(), head) + dot + rest

    def name(self, text: str) -> str:
        """A reference's text (``load__row_count``) renamed; anything but a global is kept."""
        try:
            ref = parse_reference(text)
        except ReferenceSyntaxError:
            return text
        return f"{self.module(ref.module)}__{ref.name}" if ref.kind == "global" else text

    def configs(self, value: Any) -> Any:
        """``value`` (a config tree) with every ``{{module__var}}`` template renamed."""
        if not self.prefix:
            return value
        if isinstance(value, str):
            return TEMPLATE_RE.sub(lambda m: "{{" + self.name(m.group(1)) + "}}", value) if "{{" in value else value
        if isinstance(value, dict):
            return {key: self.configs(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.configs(item) for item in value]
        return value

    def condition(self, text: str) -> str:
        """A condition with its global names (plain or dotted) and templates renamed.

        Text that does not tokenize is returned as it is: the plan phase reports it.
        """
        if not self.prefix:
            return text
        try:
            tokens = tokenize(text)
        except ExpressionError:
            return text
        parts: list[str] = []
        last, i = 0, 0
        while i < len(tokens):
            token = tokens[i]
            end = i
            if token.kind == "name" and not _after_dot(tokens, i):
                while _dot_name_at(tokens, end + 1):
                    end += 2
                written = ".".join(tokens[k].text for k in range(i, end + 1, 2))
                renamed = self.name(written)
            elif token.kind == "param":
                renamed = "{{" + self.name(str(token.value)) + "}}"
                written = token.text
            else:
                i += 1
                continue
            if renamed != written:
                parts.append(text[last : token.pos] + renamed)
                last = tokens[end].pos + len(tokens[end].text)
            i = end + 1
        return "".join(parts) + text[last:]


def _after_dot(tokens: list[Token], i: int) -> bool:
    return i > 0 and tokens[i - 1].kind == "op" and tokens[i - 1].text == "."


def _dot_name_at(tokens: list[Token], i: int) -> bool:
    return (
        i + 1 < len(tokens) and tokens[i].kind == "op" and tokens[i].text == "."
        and tokens[i + 1].kind in ("name", "kw")
    )
