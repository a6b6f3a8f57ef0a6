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


@dataclass(frozen=True, slots=True)
class Origin:
    """The file an included part of a flow was read from, and the includes that led there (innermost first)."""

    path: str
    chain: tuple[str, ...]


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
    module_origins: dict[str, Origin] = field(default_factory=dict)
    """Module id -> where it was written, for the modules of included flows (their lines are in that file)."""
    data_origins: tuple[Origin | None, ...] = ()
    """Per raw data connection, where it was written (``None``: this flow's file)."""
    control_origins: tuple[Origin | None, ...] = ()
    """Per raw control connection, where it was written (``None``: this flow's file)."""
    includes: tuple[dict[str, Any], ...] = ()
    """The includes inlined into this flow (``id``, ``file``, ``line``, ``in``), for the job folder and graphs."""

    def at(self, line: int | None, origin: Origin | None = None) -> dict[str, Any]:
        """The ``path``, ``line`` and ``chain`` of a :class:`FlowError` about something written at ``line``."""
        if origin is None:
            return {"path": self.path, "line": line}
        return {"path": origin.path, "line": line, "chain": origin.chain}

    def module_at(self, module_id: str, line: int | None) -> dict[str, Any]:
        """:meth:`at` for something of module ``module_id``."""
        return self.at(line, self.module_origins.get(module_id))

    def data_at(self, index: int, line: int | None) -> dict[str, Any]:
        """:meth:`at` for raw data connection ``index``."""
        return self.at(line, self.data_origins[index] if index < len(self.data_origins) else None)

    def control_at(self, index: int, line: int | None) -> dict[str, Any]:
        """:meth:`at` for raw control connection ``index``."""
        return self.at(line, self.control_origins[index] if index < len(self.control_origins) else None)
