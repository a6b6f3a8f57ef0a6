"""Checking a module's configs against its ``CONFIG_SCHEMA``.

The flow YAML gives configs in two sections::

    configs:
      required: {file_path: data/in.csv}
      optional: {encoding: latin-1}

:func:`resolve_configs` merges them into one flat dict, checks that every
required parameter is present, that no unknown key is given (with a "did you
mean"), that each value has the declared type, and fills in the defaults of
optional parameters. A value that holds a ``{{template}}`` cannot be type
checked before the run; the run checks it again after rendering.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from typing import Any

from pypeline.core.templates import has_templates
from pypeline.core.text import did_you_mean

SIMPLE_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "expr": (str,),
    "int": (int,),
    "float": (int, float),
    "number": (int, float),
    "bool": (bool,),
    "list": (list,),
    "dict": (dict,),
    "any": (object,),
}


EXPRESSION_TYPE = "expr"
"""The type of a config that holds an expression (text): its templates render as literals."""


def expression_keys(schema: Mapping[str, Any]) -> frozenset[str]:
    """Config keys whose type mentions ``expr`` (``expr``, ``dict[expr]|list``): rendered as expressions.

    A ``{{template}}`` in such a config enters the expression as a literal of
    its value, never as expression text (:func:`pypeline.core.templates.render`).
    """
    found = set()
    for section in ("required", "optional"):
        for key, spec in (schema.get(section) or {}).items():
            words = str(spec.get("type", "")).replace("[", " ").replace("]", " ").replace("|", " ").split()
            if EXPRESSION_TYPE in words:
                found.add(key)
    return frozenset(found)


class ConfigProblem(ValueError):
    """One problem with one config key. ``section`` is ``required``/``optional`` or ``''``."""

    def __init__(self, key: str, message: str, *, section: str = "", expected: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.section = section
        self.message = message
        self.expected = expected


def check_type(value: Any, type_spec: str) -> bool:
    """True when ``value`` matches ``type_spec`` (``str``, ``list[str]``, ``str|list[str]``, ...)."""
    for alternative in (t.strip() for t in type_spec.split("|")):
        if alternative == "null" and value is None:
            return True
        if alternative.startswith("list[") and alternative.endswith("]"):
            inner = alternative[5:-1]
            if isinstance(value, list) and all(check_type(v, inner) for v in value):
                return True
            continue
        if alternative.startswith("dict[") and alternative.endswith("]"):
            inner = alternative[5:-1]
            if isinstance(value, dict) and all(check_type(v, inner) for v in value.values()):
                return True
            continue
        python_types = SIMPLE_TYPES.get(alternative)
        if python_types is None:
            continue
        if isinstance(value, bool) and alternative in ("int", "float", "number"):
            continue  # True is an int in Python, never in a config
        if isinstance(value, python_types):
            return True
    return False


def valid_type_spec(type_spec: str) -> bool:
    """True when every alternative of ``type_spec`` is a known type name."""
    for alternative in (t.strip() for t in type_spec.split("|")):
        if alternative.startswith(("list[", "dict[")) and alternative.endswith("]"):
            if not valid_type_spec(alternative[5:-1]):
                return False
        elif alternative not in SIMPLE_TYPES and alternative != "null":
            return False
    return True


def check_config_schema(schema: Mapping[str, Any]) -> list[str]:
    """Problems with a CONFIG_SCHEMA itself (a module author's mistake); empty when fine."""
    problems: list[str] = []
    if not isinstance(schema, Mapping) or set(schema) - {"required", "optional"}:
        return ["CONFIG_SCHEMA must be a dict with the keys 'required' and 'optional'"]
    for section in ("required", "optional"):
        params = schema.get(section, {})
        if not isinstance(params, Mapping):
            problems.append(f"CONFIG_SCHEMA['{section}'] must be a dict")
            continue
        for name, spec in params.items():
            if not isinstance(spec, Mapping):
                problems.append(f"CONFIG_SCHEMA['{section}']['{name}'] must be a dict")
                continue
            type_spec = spec.get("type", "any")
            if not isinstance(type_spec, str) or not valid_type_spec(type_spec):
                problems.append(f"CONFIG_SCHEMA['{section}']['{name}'] has an unknown type {type_spec!r}")
    return problems


def resolve_configs(schema: Mapping[str, Any], configs: Mapping[str, Any] | None) -> dict[str, Any]:
    """Merge, check and default-fill ``configs`` (see the module docstring).

    Raises:
        ConfigProblem: for the first problem found (sorted by key for stable messages).
    """
    configs = configs or {}
    required_spec: Mapping[str, Any] = schema.get("required", {})
    optional_spec: Mapping[str, Any] = schema.get("optional", {})
    known = {**optional_spec, **required_spec}
    merged: dict[str, Any] = {}
    for section in ("required", "optional"):
        given = configs.get(section) or {}
        for key in sorted(given, key=str):
            if key not in known:
                raise ConfigProblem(
                    key,
                    f"unknown config '{key}'{did_you_mean(str(key), known)}",
                    section=section,
                    expected="one of: " + ", ".join(sorted(known)) if known else "no configs",
                )
            if key in merged:
                raise ConfigProblem(key, f"config '{key}' is given twice (required and optional)", section=section)
            merged[key] = given[key]
    for key in sorted(required_spec):
        if key not in merged:
            raise ConfigProblem(
                key,
                f"missing required config '{key}'",
                section="required",
                expected=_describe(required_spec[key]),
            )
    check_values(known, merged, configs)
    for key in sorted(optional_spec):
        if key not in merged and "default" in optional_spec[key]:
            merged[key] = optional_spec[key]["default"]
    return merged


def check_values(
    known: Mapping[str, Any], merged: Mapping[str, Any], configs: Mapping[str, Any] | None = None
) -> None:
    """Type and enum checks of already merged values; templated values are skipped.

    Raises:
        ConfigProblem: for the first bad value.
    """
    for key in sorted(merged):
        value = merged[key]
        if has_templates(value):
            continue
        spec = known[key]
        section = _section_of(key, configs) if configs is not None else ""
        type_spec = spec.get("type", "any")
        if not check_type(value, type_spec):
            raise ConfigProblem(
                key,
                f"config '{key}' has the wrong type: got {type(value).__name__} {_short(value)}",
                section=section,
                expected=_describe(spec),
            )
        choices = spec.get("enum")
        if choices is not None and value not in choices:
            raise ConfigProblem(
                key,
                f"config '{key}' has the value {_short(value)}{did_you_mean(str(value), map(str, choices))}",
                section=section,
                expected="one of: " + ", ".join(repr(c) for c in choices),
            )


def _section_of(key: str, configs: Mapping[str, Any]) -> str:
    for section in ("required", "optional"):
        if key in (configs.get(section) or {}):
            return section
    return ""


def _describe(spec: Mapping[str, Any]) -> str:
    text = f"type {spec.get('type', 'any')}"
    if spec.get("enum") is not None:
        text += " in " + ", ".join(repr(c) for c in spec["enum"])
    if spec.get("description"):
        text += f": {spec['description']}"
    return text


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def encoding_problems(configs: Mapping[str, Any]) -> list[str]:
    """Problems with configs named ``encoding`` (or ``*_encoding``): each must name a Python codec.

    A templated value is checked when the run renders it (the reader then fails naming it).
    """
    problems = []
    for key, value in configs.items():
        if (key == "encoding" or key.endswith("_encoding")) and isinstance(value, str) and not has_templates(value):
            try:
                codecs.lookup(value)
            except LookupError:
                problems.append(f"config '{key}': unknown encoding {value!r} (expected a Python codec name: "
                                "utf-8, latin-1, cp1252, utf-16, ...)")
    return problems
