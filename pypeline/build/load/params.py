"""``{{params.NAME}}``: the parameters of a flow meant to be included, replaced by the build.

A flow declares its parameters, each with an optional default and description::

    params:
      region: {default: east}
      min_amount: {default: 0, description: orders below this are dropped}
      output: {}                       # no default: every include must give it

and uses them as ``{{params.region}}`` in configs and in conditions. An
including flow gives values (``params: {region: west, output: out/w.csv}``);
a value may hold templates of the including flow (``"{{context.out}}/w.csv"``),
which stay templates and resolve when the module runs. A flow built on its
own uses its defaults.

Substitution follows the template rules of docs/flow-format.md: a string that
is exactly ``{{params.x}}`` takes the value with its type (``0`` stays a
number), any other string gets the value as text, and in an expression (a
condition, or a config of type ``expr``) the value enters as a literal,
never as expression text.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from pypeline.core.expr.literals import TemplateValueError
from pypeline.core.references import ReferenceSyntaxError
from pypeline.core.templates import TEMPLATE_RE, KeepTemplate, render_expression

PREFIX = "params."


class ParamProblem(ValueError):
    """A ``{{params.NAME}}`` without a value (unknown, or declared without a default and not given)."""


class Params:
    """The parameter values of one included (or built) flow file."""

    def __init__(self, values: Mapping[str, Any], missing: Collection[str] = ()) -> None:
        self.values = dict(values)
        self.missing = frozenset(missing)
        """Declared without a default and not given (an error only where used)."""

    def value(self, name: str) -> Any:
        """The value of ``params.NAME``.

        Raises:
            ParamProblem: unknown or without a value.
        """
        if name in self.values:
            return self.values[name]
        if name in self.missing:
            raise ParamProblem(f"parameter '{name}' has no value (it has no default, and no include gives it)")
        known = ", ".join(sorted([*self.values, *self.missing])) or "none"
        raise ParamProblem(f"unknown parameter '{name}' (this flow declares: {known})")

    def configs(self, value: Any, expressions: Collection[str] = (), key: str = "") -> Any:
        """A config tree with every ``{{params.x}}`` replaced (``expressions``: top-level keys holding expressions).

        Raises:
            ParamProblem: naming the parameter.
        """
        if isinstance(value, str):
            if "{{" not in value:
                return value
            return self.expression(value) if key.split(".")[0] in expressions else self._text(value)
        if isinstance(value, dict):
            return {k: self.configs(v, expressions, f"{key}.{k}" if key else str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.configs(v, expressions, key) for v in value]
        return value

    def expression(self, text: str) -> str:
        """An expression (a condition) with each ``{{params.x}}`` as a literal of its value.

        Raises:
            ParamProblem: naming the parameter, or a value no literal can hold.
        """
        if "{{" not in text:
            return text

        def lookup(ref: Any) -> Any:
            if ref.kind != "param":
                raise KeepTemplate
            return self.value(ref.name)

        try:
            return render_expression(text, lookup)
        except TemplateValueError as exc:
            raise ParamProblem(exc.message) from None
        except ReferenceSyntaxError:
            return text  # a malformed template: the plan phase names it

    def _text(self, text: str) -> Any:
        whole = TEMPLATE_RE.fullmatch(text)
        if whole and whole.group(1).startswith(PREFIX):
            return self.value(whole.group(1)[len(PREFIX):])

        def substitute(match: Any) -> str:
            inner = str(match.group(1))
            return str(self.value(inner[len(PREFIX):])) if inner.startswith(PREFIX) else str(match.group(0))

        return TEMPLATE_RE.sub(substitute, text)
