"""Helpers to write small probe flows inline in tests."""

from __future__ import annotations

import json
from typing import Any

PROBE = "tests.run.probes.Probe"
PROBE_SOURCE = "tests.run.probes.ProbeSource"
PROBE_SINK = "tests.run.probes.ProbeSink"
PROBE_MOD = "tests.run.probes.ProbeMod"


def mod(module_id: str, name: str = PROBE, *, retries: int | None = None, timeout: float | None = None,
        **optional: Any) -> str:
    """One module line of a flow's ``modules:`` list (flow YAML accepts JSON)."""
    entry: dict[str, Any] = {"id": module_id, "name": name}
    if optional:
        entry["configs"] = {"optional": optional}
    if retries is not None:
        entry["retries"] = retries
    if timeout is not None:
        entry["timeout"] = timeout
    return "  - " + json.dumps(entry)


def flow(name: str, modules: list[str], control: list[Any] | None = None, data: list[str] | None = None,
         settings: dict[str, Any] | None = None, context: dict[str, Any] | None = None) -> str:
    """A complete flow YAML text."""
    lines = [f"flow: {{name: {name}}}"]
    if settings:
        lines.append(f"settings: {json.dumps(settings)}")
    if context:
        lines.append(f"context: {json.dumps(context)}")
    lines.append("modules:")
    lines.extend(modules)
    if control or data:
        lines.append("connections:")
        if data:
            lines.append(f"  data: {json.dumps(data)}")
        if control:
            lines.append(f"  control: {json.dumps(control)}")
    return "\n".join(lines) + "\n"
