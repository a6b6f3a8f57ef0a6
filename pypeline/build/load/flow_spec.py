"""The loaded flow: what the build's load phase hands to its plan phase.

The loader turns YAML into a :class:`FlowSpec` (settings, context, modules
with resolved configs, raw connections); the planner
(:mod:`pypeline.build.plan.planner`) turns it into the job model,
:class:`pypeline.job.plan.JobPlan`. A FlowSpec never leaves the build.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pypeline.job.spec import ModuleSpec


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowSpec:
    """A loaded and checked flow (before planning)."""

    path: str
    name: str
    meta: dict[str, Any]
    settings: dict[str, Any]
    context: dict[str, dict[str, Any]]
    modules: tuple[ModuleSpec, ...]
    raw_data_connections: tuple[tuple[str, int | None], ...]
    raw_control_connections: tuple[tuple[Any, int | None], ...]
    source_text: str = ""
    config_lines: dict[tuple[str, str], int] = field(default_factory=dict)
    """``(module id, config key) -> line`` of each config written in the YAML (for messages)."""
