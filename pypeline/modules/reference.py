"""The generated parts of ``docs/modules.md``: each module's facts and configs table, from its class.

``docs/modules.md`` is written by hand, except between markers::

    <!-- generated: csv_source -->
    ...            (ports, globals, dask support, configs table)
    <!-- /generated: csv_source -->

:func:`render_document` rewrites every such block from the module's
declarations (``CONFIG_SCHEMA``, ports, ``GLOBALS``), so the reference cannot
drift from the code; ``scripts/gen_modules_doc.py`` runs it, and a test fails
when the committed document differs from its rendering.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pypeline.modules.builtins import BUILTIN_MODULES
from pypeline.modules.loader import load_module_class

_BLOCK_RE = re.compile(r"<!-- generated: (\w+) -->\n.*?<!-- /generated: \1 -->", re.S)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(spec: Mapping[str, Any]) -> str:
    if "default" not in spec:
        return ""
    return f"`{json.dumps(spec['default'], ensure_ascii=False)}`"


def config_table(schema: Mapping[str, Any]) -> str:
    """A Markdown table of a CONFIG_SCHEMA: required parameters first, each section sorted by name."""
    rows = ["| config | type | default | description |", "| --- | --- | --- | --- |"]
    for section in ("required", "optional"):
        for name in sorted(schema.get(section, {})):
            spec = schema[section][name]
            kind = f"`{spec.get('type', 'any')}`"
            if spec.get("enum"):
                kind += " (" + ", ".join(f"`{v}`" for v in spec["enum"]) + ")"
            default = "required" if section == "required" else _default(spec)
            rows.append(f"| `{name}` | {_cell(kind)} | {_cell(default)} | {_cell(spec.get('description', ''))} |")
    if len(rows) == 2:
        return "This module has no configs."
    return "\n".join(rows)


def module_block(name: str) -> str:
    """The generated text of one module's section (without the markers)."""
    cls = load_module_class(BUILTIN_MODULES[name])
    inputs = [f"`{p}`" + (" (optional)" if p in cls.OPTIONAL_INPUTS else "") for p in cls.INPUT_PORTS]
    outputs = [f"`{p}`" + (" (list)" if p in cls.LIST_OUTPUTS else "") for p in cls.OUTPUT_PORTS]
    facts = [
        f"- **{cls.TYPE}** ({cls.CATEGORY}), version {cls.VERSION}: {cls.DESCRIPTION}",
        f"- input ports: {', '.join(inputs) or 'none'}; output ports: {', '.join(outputs) or 'none'}",
        f"- globals: {', '.join(f'`{g}`' for g in cls.GLOBALS) or 'none'}",
        f"- dask mode: {'yes' if cls.SUPPORTS_DASK else 'no (the build refuses it)'}",
        f"- arrow mode: {_arrow_fact(cls)}; stream mode: {_stream_fact(cls)}",
    ]
    if cls.PACKAGES:
        facts.append(f"- packages: {', '.join(cls.PACKAGES)}")
    return "\n".join(facts) + "\n\n" + config_table(cls.CONFIG_SCHEMA) + "\n"


def _solo(cls: Any) -> bool:
    return not cls.INPUT_PORTS and all(p in cls.LIST_OUTPUTS for p in cls.OUTPUT_PORTS)


def _arrow_fact(cls: Any) -> str:
    """What the module does with Arrow tables (docs/performance.md)."""
    if _solo(cls):
        return "no frames"
    if cls.TYPE == "source":
        return "Arrow tables" if cls.ACCEPTS_ARROW else "pandas frames"
    if cls.ACCEPTS_ARROW:
        return "Arrow tables, as they come"
    return "pandas frames (converted at its boundary)"


def _stream_fact(cls: Any) -> str:
    """What the module does with streams (docs/performance.md, stream mode)."""
    if _solo(cls):
        return "no frames"
    if cls.TYPE == "source":
        return "a stream, read when a sink reads it" if cls.STREAMS else "pandas frames (read whole)"
    if cls.STREAMS:
        return "streams" if cls.TYPE != "sink" else "writes as batches arrive"
    return "its input is read whole first (it does not stream)"


def render_document(text: str) -> str:
    """``text`` with every generated block rewritten from the module classes.

    Raises:
        KeyError: for a block naming a module that is not built in.
    """

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"<!-- generated: {name} -->\n{module_block(name)}<!-- /generated: {name} -->"

    return _BLOCK_RE.sub(replace, text)


def documented_modules(text: str) -> list[str]:
    """The module names that have a generated block in ``text``, in document order."""
    return [m.group(1) for m in _BLOCK_RE.finditer(text)]
