"""``{{ ... }}`` templates inside module configs.

A config value may be a string holding templates::

    file_path: "{{context.input_dir}}/{{iter.item}}"
    min_rows: "{{source_csv__row_count}}"

:func:`find_templates` lists the references a config uses (the build checks
them); :func:`render` substitutes values (the run does it when a module
starts). A string that is exactly one template keeps the value's type, so
``"{{source_csv__row_count}}"`` renders to an ``int``. A string that embeds a
secret-marked value (:class:`~pypeline.core.secret.SecretStr`) renders to a
``SecretStr`` as a whole, so the mark survives the substitution.

Configs that hold an expression (their schema type is ``expr``, see
:func:`pypeline.modules.sdk.config.expression_keys`) are rendered differently:
each template token becomes a literal of its value
(:mod:`pypeline.core.expr.literals`), never expression text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from typing import Any

from pypeline.core.expr.errors import ExpressionError
from pypeline.core.expr.literals import TemplateValueError, literal_text
from pypeline.core.expr.tokens import tokenize
from pypeline.core.references import Reference, parse_reference
from pypeline.core.secret import SecretStr

TEMPLATE_RE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


class KeepTemplate(Exception):
    """Raised by a ``lookup`` to leave a template as written (e.g. secrets for a remote side)."""


def iter_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Yield ``(dotted_key, text)`` for every string inside a nested config value."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key in sorted(value, key=str):
            yield from iter_strings(value[key], f"{path}.{key}" if path else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from iter_strings(item, f"{path}[{index}]")


def find_templates(value: Any) -> list[tuple[str, str, Reference]]:
    """Every template in ``value`` as ``(config_key, raw_text, reference)``.

    Raises:
        pypeline.core.references.ReferenceSyntaxError: for a template whose name is malformed.
    """
    found: list[tuple[str, str, Reference]] = []
    for key, text in iter_strings(value):
        for match in TEMPLATE_RE.finditer(text):
            found.append((key, match.group(1), parse_reference(match.group(1))))
    return found


def has_templates(value: Any) -> bool:
    """True when any string inside ``value`` holds a template (asked of every module when a job is read)."""
    if isinstance(value, str):
        return "{{" in value and TEMPLATE_RE.search(value) is not None
    if isinstance(value, dict):
        return any(has_templates(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(has_templates(item) for item in value)
    return False


def render(
    value: Any, lookup: Callable[[str, Reference], Any], path: str = "", *, expressions: Collection[str] = ()
) -> Any:
    """Return ``value`` with every template replaced; ``lookup(config_key, ref)`` gives values.

    Strings under a top-level key named in ``expressions`` are expressions:
    their templates become literals (see the module docstring).
    Returns a new structure; ``value`` is not changed.

    Raises:
        pypeline.core.expr.literals.TemplateValueError: a value that cannot be an expression literal.
    """
    as_expression = bool(path) and path.split(".")[0].split("[")[0] in expressions
    if isinstance(value, str):
        if as_expression:
            return render_expression(value, lambda ref: lookup(path, ref), key=path)
        return _render_string(value, lambda ref: lookup(path, ref))
    if isinstance(value, dict):
        return {
            k: render(v, lookup, f"{path}.{k}" if path else str(k), expressions=expressions)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [render(v, lookup, f"{path}[{i}]", expressions=expressions) for i, v in enumerate(value)]
    return value


def render_expression(text: str, lookup: Callable[[Reference], Any], *, key: str = "") -> str:
    """Expression ``text`` with each template token replaced by the literal of its value.

    Tokens come from the expression tokenizer, so a ``{{`` inside a quoted
    string is never substituted. Text that does not tokenize is returned
    unchanged (the module reports it when it parses it); a ``KeepTemplate``
    from ``lookup`` keeps that template as written.

    Raises:
        TemplateValueError: a value that cannot be a literal (naming ``key`` and the template).
    """
    try:
        tokens = [t for t in tokenize(text) if t.kind == "param"]
    except ExpressionError:
        return text
    parts: list[str] = []
    last = 0
    for token in tokens:
        parts.append(text[last : token.pos])
        try:
            value = lookup(parse_reference(str(token.value)))
        except KeepTemplate:
            parts.append(token.text)
        else:
            try:
                parts.append(literal_text(value))
            except TemplateValueError as exc:
                raise TemplateValueError(
                    f"the value of '{token.text}' cannot enter an expression: {exc.message}", key=key, ref=token.text
                ) from None
        last = token.pos + len(token.text)
    parts.append(text[last:])
    return "".join(parts)


def _render_string(text: str, lookup: Callable[[Reference], Any]) -> Any:
    whole = TEMPLATE_RE.fullmatch(text.strip()) if text.strip() == text else None
    if whole:
        try:
            return lookup(parse_reference(whole.group(1)))
        except KeepTemplate:
            return text

    secret = False

    def substitute(match: re.Match[str]) -> str:
        nonlocal secret
        try:
            value = lookup(parse_reference(match.group(1)))
        except KeepTemplate:
            return match.group(0)
        secret = secret or isinstance(value, SecretStr)
        return _as_text(value)

    rendered = TEMPLATE_RE.sub(substitute, text)
    return SecretStr(rendered) if secret else rendered


def _as_text(value: Any) -> str:
    return str(value)


def context_configs(configs: dict[str, Any], context_vars: dict[str, Any]) -> dict[str, Any]:
    """``configs`` with only ``{{context.x}}`` templates resolved; every other template stays as written.

    What a dry run and ``pype validate --with-data`` judge: no secret is fetched, no run-time value guessed.
    """

    def lookup(key: str, ref: Reference) -> Any:
        if ref.kind == "context" and ref.name in context_vars:
            return context_vars[ref.name]
        raise KeepTemplate

    result: dict[str, Any] = render(configs, lookup)
    return result
