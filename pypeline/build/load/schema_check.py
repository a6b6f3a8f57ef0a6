"""Validate flow data against ``flow.schema.json`` with messages that name the YAML line.

Two validators share the one schema file. A valid flow (the common case) is
only checked by a validator that fastjsonschema compiles to Python code once
per process, several times faster than jsonschema on a 10,000-module flow.
When that check fails, jsonschema reports every violation; we keep the one
that comes first in the file (so fixing errors top to bottom works) and
rephrase the common validators (unknown key, missing key, wrong type, not one
of) into the "what, where, expected" shape of every PYpeline message.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files
from typing import Any

import fastjsonschema
import jsonschema
from jsonschema.exceptions import ValidationError

from pypeline.build.load.yaml_source import YamlDocument, pointer_join
from pypeline.core.errors import FlowSchemaError
from pypeline.core.text import did_you_mean

SCHEMA_RESOURCE = "schema/flow.schema.json"

_JSON_TYPES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


@lru_cache(maxsize=1)
def flow_schema() -> dict[str, Any]:
    """The flow JSON Schema shipped inside the package."""
    text = files("pypeline").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    schema = flow_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@lru_cache(maxsize=1)
def _fast_check() -> Any:
    # fastjsonschema knows drafts 4, 6 and 7; the schema uses no 2020-12-only keyword
    # (``$defs`` is only reached through ``$ref`` JSON pointers), which a test pins.
    schema = {**flow_schema(), "$schema": "http://json-schema.org/draft-07/schema#"}
    return fastjsonschema.compile(schema)


def validate_against_schema(doc: YamlDocument) -> None:
    """Raise the first (by line) schema violation of ``doc`` as a :class:`FlowSchemaError`."""
    if not isinstance(doc.data, dict):
        raise FlowSchemaError(
            f"the flow must be a mapping, got {_kind(doc.data)}",
            path=doc.path,
            line=doc.line_of(""),
            expected="a mapping with the keys 'flow', 'modules' and optionally 'settings', 'context', 'connections'",
        )
    try:
        _fast_check()(doc.data)
    except fastjsonschema.JsonSchemaException as exc:
        fast_problem = str(exc)
    else:
        return
    errors = list(_validator().iter_errors(doc.data))
    if not errors:  # the two validators disagree: still refuse, with the fast one's words
        raise FlowSchemaError(fast_problem, path=doc.path, line=doc.line_of(""))
    problems = sorted(
        (doc.line_of(pointer) or 0, priority, pointer, what, expected)
        for what, expected, pointer, priority in map(_explain, errors)
    )
    _, _, pointer, what, expected = problems[0]
    more = len(problems) - 1
    if more:
        what += f" (and {more} more schema problem{'s' if more > 1 else ''})"
    raise FlowSchemaError(
        what,
        path=doc.path,
        line=doc.line_of(pointer),
        pointer=_dotted(pointer) or "(top level)",
        expected=expected,
    )


# Of several problems on one line, an unknown key explains a missing one ("flwo:" for "flow:").
_PRIORITY = {"additionalProperties": 0, "required": 1}


def _explain(error: ValidationError) -> tuple[str, str | None, str, int]:
    """``(what, expected, pointer, priority)`` of one violation, descending into ``oneOf``."""
    while error.validator in ("oneOf", "anyOf") and error.context:
        schema = error.schema if isinstance(error.schema, dict) else {}
        here = [e for e in error.context if list(e.absolute_path) == list(error.absolute_path)]
        if schema.get("description") and len(here) == len(error.context):
            # every alternative failed on the value itself: say what the value should be
            return f"{_shown(error.instance)} is not a valid value", schema["description"], _pointer(error), 5
        if all(e.validator == "type" for e in here) and len(here) == len(error.context):
            wanted = [_JSON_TYPES.get(t, t) for e in here for t in _as_list(e.validator_value)]
            return f"wrong type: got {_kind(error.instance)}", " or ".join(wanted), _pointer(error), 5
        candidates = [e for e in error.context if e.validator != "type"] or list(error.context)
        error = max(candidates, key=lambda e: (len(e.absolute_path), -_PRIORITY.get(str(e.validator), 9)))
    what, expected, pointer = _describe(error)
    return what, expected, pointer, _PRIORITY.get(str(error.validator), 9)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, (str, int, float, bool)) or value is None else _kind(value)


def _pointer(error: ValidationError) -> str:
    pointer = ""
    for part in error.absolute_path:
        pointer = pointer_join(pointer, part)
    return pointer


def _dotted(pointer: str) -> str:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    text = ""
    for part in parts:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text


_BOUNDS = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}


def _describe(error: ValidationError) -> tuple[str, str | None, str]:
    pointer = _pointer(error)
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed)) if isinstance(error.instance, dict) else []
        key = extra[0] if extra else "?"
        return (
            f"unknown key '{key}'{did_you_mean(key, allowed)}",
            "one of: " + ", ".join(allowed) if allowed else None,
            pointer_join(pointer, key) if extra else pointer,
        )
    if error.validator == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else "?"
        keys = ", ".join(map(str, error.validator_value)) if isinstance(error.validator_value, list) else None
        return f"missing required key '{missing}'", f"the keys {keys}" if keys else None, pointer
    if error.validator == "type":
        wanted = error.validator_value
        wanted_list = wanted if isinstance(wanted, list) else [wanted]
        return (
            f"wrong type: got {_kind(error.instance)}",
            " or ".join(_JSON_TYPES.get(str(t), str(t)) for t in wanted_list),
            pointer,
        )
    if error.validator == "enum":
        choices = error.validator_value
        return (
            f"{error.instance!r} is not allowed{did_you_mean(str(error.instance), map(str, choices))}",
            "one of: " + ", ".join(repr(c) for c in choices),
            pointer,
        )
    if error.validator == "pattern":
        description = schema.get("description") or f"a match of {schema.get('pattern')}"
        if "propertyNames" in error.schema_path:
            return f"invalid name {error.instance!r}", description, pointer
        return f"{error.instance!r} is not a valid value", description, pointer
    if error.validator == "propertyNames":
        return f"invalid name {error.instance!r}", "letters, digits and underscores, starting with a letter", pointer
    if error.validator in _BOUNDS:
        bound = f"a value {_BOUNDS[error.validator]} {error.validator_value}"
        return f"value {error.instance!r} is out of range", bound, pointer
    if error.validator == "minItems":
        return "the list is empty", f"at least {error.validator_value} item", pointer
    if error.validator == "const":
        return f"{error.instance!r} is not allowed", repr(error.validator_value), pointer
    return error.message, None, pointer


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    return f"the string {value!r}" if isinstance(value, str) else type(value).__name__
