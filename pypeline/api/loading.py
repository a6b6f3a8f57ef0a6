"""``pypeline.load("flow.yaml")``: a YAML flow as a :class:`~pypeline.api.flow.Flow`.

The file is read and checked against the flow schema by the build's own
reader (so a syntax or schema mistake is reported now, at its line); the rest
of the checks run when the flow is built. Each part keeps the YAML line it
came from, so a message about it still names that line after the flow was
extended in Python. Left unchanged, the flow builds from the file itself:
``load(path).build()`` writes the same job folder as ``pype build path``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pypeline.api.document import FlowDocument
from pypeline.api.flow import Flow
from pypeline.api.parts import ModulePart, Parts
from pypeline.api.sites import Site
from pypeline.build.load.schema_check import validate_against_schema
from pypeline.build.load.yaml_source import YamlDocument, pointer_join, read_yaml_file
from pypeline.core.errors import PlanError
from pypeline.modules.registry import Registry


def load(path: str | Path, registry: Registry | None = None) -> Flow:
    """Read the flow YAML at ``path`` into a :class:`Flow` (see the module docstring).

    Args:
        path: the flow YAML file.
        registry: where module names resolve (the project's ``ModRegistry.json`` by default).

    Raises:
        FlowError: for a file that is missing, not YAML, or breaks the flow schema (with its line).
    """
    doc = read_yaml_file(path)
    validate_against_schema(doc)
    registry = registry or Registry()
    origin = Site(doc.path, doc.line_of(""))
    parts = Parts(meta=dict(doc.data["flow"]), origin=origin)
    parts.finer_sites = {pointer: Site(doc.path, line) for pointer, (line, _col) in doc.positions.items()}
    _load_settings_and_context(doc, parts)
    _load_modules(doc, parts)
    connections = doc.data.get("connections") or {}
    for kind, target in (("data", parts.data), ("control", parts.control)):
        for index, item in enumerate(connections.get(kind) or []):
            target.append((item, _site(doc, f"/connections/{kind}/{index}")))
    source = FlowDocument(text=doc.text, doc=doc, sites=None, origin=origin)
    return Flow.from_parts(parts, source=source, registry=registry)


def _site(doc: YamlDocument, pointer: str) -> Site:
    return Site(doc.path, doc.line_of(pointer))


def _load_settings_and_context(doc: YamlDocument, parts: Parts) -> None:
    for key, value in (doc.data.get("settings") or {}).items():
        parts.settings[key] = value
        parts.setting_sites[key] = _site(doc, pointer_join("/settings", key))
    for env, values in (doc.data.get("context") or {}).items():
        env_pointer = pointer_join("/context", env)
        parts.context[env] = dict(values or {})
        parts.context_sites[env] = _site(doc, env_pointer)
        for key in values or {}:
            parts.context_sites[f"{env}/{key}"] = _site(doc, pointer_join(env_pointer, key))


def _load_modules(doc: YamlDocument, parts: Parts) -> None:
    items: list[dict[str, Any]] = doc.data["modules"]
    for index, item in enumerate(items):
        site = _site(doc, f"/modules/{index}")
        known = parts.modules.get(item["id"])
        if known is not None:
            raise PlanError(f"module id '{item['id']}' is used twice (first at line {known.site.line})",
                            path=doc.path, line=doc.line_of(f"/modules/{index}/id"), expected="unique module ids")
        parts.modules[item["id"]] = ModulePart(dict(item), site, None)  # its class is looked up when needed
