"""A flow as the YAML loader sees it: the YAML text, its parsed document and the sites of its parts.

A flow built in Python is written out as YAML (:func:`yaml_text`) and that
text is parsed by the build's own reader, so the build checks exactly what
``pype build`` would check in a file of that text, and the job folder's
``<name>.yaml`` holds it. The sites map JSON pointers to the Python lines
(or YAML lines of a loaded flow) that added each part, for error messages.

The text is deterministic: top-level sections in the order of
docs/flow-format.md (``flow``, ``settings``, ``context``, ``modules``,
``connections``), keys as they were given, block style, a blank line between
sections, multi-line text as literal blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from pypeline.api.sites import Site
from pypeline.build.load.yaml_source import YamlDocument, parse_yaml_text

SECTIONS = ("flow", "settings", "context", "modules", "connections")


class _FlowDumper(yaml.SafeDumper):  # type: ignore[misc]  # PyYAML ships no type hints here
    """Safe YAML, with lists indented under their key as people write them."""

    def increase_indent(self, flow: bool = False, **_indentless: Any) -> None:
        super().increase_indent(flow, False)  # never indentless


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_FlowDumper.add_representer(str, _text)


def yaml_text(data: dict[str, Any]) -> str:
    """The YAML text of flow ``data`` (see the module docstring)."""
    parts = []
    for section in SECTIONS:
        if section in data:
            parts.append(yaml.dump(
                {section: data[section]}, Dumper=_FlowDumper, sort_keys=False, allow_unicode=True,
                default_flow_style=False, width=2**31 - 1,
            ))
    return "\n".join(parts)


@dataclass(frozen=True, slots=True)
class FlowDocument:
    """What the build reads: the text, its parsed document, and where each part was added.

    ``sites`` is ``None`` for a flow loaded from YAML and left unchanged: its
    document is the file itself, and the build's messages already name its lines.
    """

    text: str
    doc: YamlDocument
    sites: dict[str, Site] | None
    origin: Site
    """Where the flow was made: the ``Flow(...)`` call, or the YAML file."""


def generated_document(data: dict[str, Any], sites: dict[str, Site], origin: Site) -> FlowDocument:
    """Write ``data`` as YAML and parse it back with the build's reader.

    The document's path is the file that made the flow, so a message without a
    line still names it.
    """
    text = yaml_text(data)
    return FlowDocument(text=text, doc=parse_yaml_text(text, origin.path), sites=sites, origin=origin)
