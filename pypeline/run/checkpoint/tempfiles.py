"""Clean up the temporary files a killed run left next to its sinks' outputs.

Sinks write through ``atomic_output_path`` (``modules/sdk/outputs.py``): into
``.<name>.<random>.pype-tmp`` (a file, a folder, or a ``.parts.pype-tmp``
folder of partition files) beside the final ``<name>``, renamed over it on
success; a folder output being replaced passes through ``.<name>.<random>.pype-old``.
A run killed mid-write leaves those behind, never a partial file under the
final name. A resumed run removes them before it starts.

Where to look comes from the flow itself: every string config of every sink
is read as a potential output path. ``{{context.*}}`` templates are filled
in; any other template (``{{iter.item}}``, a global) becomes a glob wildcard,
so ``out/part_{{iter.index}}.csv`` finds ``out/.part_3.csv.1a2b3c4d.pype-tmp``.
Only names of that exact shape are removed, and only when no other run of
the job is running (it could be writing the same folder).
"""

from __future__ import annotations

import glob
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pypeline.core.references import ReferenceSyntaxError, parse_reference
from pypeline.core.templates import TEMPLATE_RE, iter_strings

SUFFIXES = (".pype-tmp", ".pype-old")


def temp_patterns(sink_configs: Iterable[dict[str, Any]], context_vars: dict[str, Any]) -> list[str]:
    """Glob patterns that match the temporary names of every possible sink output."""
    patterns: set[str] = set()
    for configs in sink_configs:
        for _key, text in iter_strings(configs):
            path = _as_glob(text, context_vars)
            if not path or path.endswith("/"):
                continue
            parent, _, name = path.rpartition("/")
            for suffix in SUFFIXES:
                patterns.add(f"{parent + '/' if parent else ''}.{name}.*{suffix}")
    return sorted(patterns)


def remove_temp_files(patterns: Iterable[str]) -> list[str]:
    """Remove every file or folder matching ``patterns``; return what was removed."""
    removed: list[str] = []
    for pattern in patterns:
        for match in sorted(glob.glob(pattern)):
            path = Path(match)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(match)
    return removed


def _as_glob(text: str, context_vars: dict[str, Any]) -> str:
    parts: list[str] = []
    position = 0
    for match in TEMPLATE_RE.finditer(text):
        parts.append(glob.escape(text[position : match.start()]))
        parts.append(_template_glob(match.group(1), context_vars))
        position = match.end()
    parts.append(glob.escape(text[position:]))
    return "".join(parts).rstrip("/")


def _template_glob(inner: str, context_vars: dict[str, Any]) -> str:
    try:
        ref = parse_reference(inner)
    except ReferenceSyntaxError:
        return "*"
    if ref.kind == "context" and ref.name in context_vars:
        return glob.escape(str(context_vars[ref.name]))
    return "*"
