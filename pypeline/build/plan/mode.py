"""``execution_mode: auto``: the build picks the fastest mode that runs the flow correctly, and says why.

The rule (docs/performance.md, "Which mode runs"):

1. ``stream`` when every module of a data sub flow streams natively: its class
   declares ``STREAMS``, its configs raise no limit for stream mode
   (``mode_limits``: a ``csv_source`` without ``dtypes``, whose column types
   only whole files tell), it runs on the local backend, and no template of a
   module reads a global of another module of its own sub flow (in stream mode
   that global is set when the stream ends, after the reader started);
2. else ``arrow``: Arrow tables between built-in modules, pandas frames for
   the others (a conversion at their boundary, never a wrong result);
3. ``pandas`` only when a module's configs say arrow cannot hold them.

``dask`` is never chosen: it is for data larger than memory on a cluster, and
is asked for by name. An explicit mode is kept as it is; for ``stream`` the
modules whose input is read whole (they do not stream) are listed.

The build writes the chosen mode into the job's settings
(``execution_mode``), with ``execution_mode_requested`` and
``execution_mode_reason``; ``pype build`` prints the reason and the run logs
it (``execution_mode`` event).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pypeline.core.references import Reference
from pypeline.core.templates import find_templates
from pypeline.job.spec import ModuleSpec
from pypeline.modules.loader import load_module_class
from pypeline.modules.sdk.base import BaseModule

MAX_REASONS = 3


@dataclass(frozen=True, slots=True)
class ModeChoice:
    """The mode a flow runs in, what was asked, and why (empty when nothing needs saying)."""

    mode: str
    requested: str
    reason: str

    def settings(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """``given`` with the choice written in."""
        return {**given, "execution_mode": self.mode, "execution_mode_requested": self.requested,
                "execution_mode_reason": self.reason}


def choose_mode(requested: str, modules: Mapping[str, ModuleSpec], subflow_of: Mapping[str, str]) -> ModeChoice:
    """The execution mode for a flow whose settings ask for ``requested`` (see the module docstring)."""
    data_modules = [spec for spec in modules.values() if _carries_frames(spec)]
    if not data_modules:
        return ModeChoice("pandas" if requested == "auto" else requested, requested, "")
    if requested == "stream":
        collected = [_name(spec) for spec in data_modules if _stream_problem(spec) is not None]
        reason = f"{_listed(collected)} read their input whole (they do not stream)" if collected else ""
        return ModeChoice("stream", requested, reason)
    if requested != "auto":
        return ModeChoice(requested, requested, "")
    arrow_problems = [p for spec in data_modules if (p := _limit(spec, "arrow")) is not None]
    if arrow_problems:
        return ModeChoice("pandas", requested, f"auto: pandas, not arrow: {_listed(arrow_problems)}")
    problems = [p for spec in data_modules if (p := _stream_problem(spec)) is not None]
    problems += _same_subflow_reads(modules, subflow_of)
    if problems:
        return ModeChoice("arrow", requested, f"auto: arrow, not stream: {_listed(problems)}")
    return ModeChoice("stream", requested, "auto: stream (every module streams)")


def _carries_frames(spec: ModuleSpec) -> bool:
    """True for a module with a frame port (list outputs feed iterate connections, not frames)."""
    return bool(spec.input_ports) or any(port not in spec.list_outputs for port in spec.output_ports)


def _stream_problem(spec: ModuleSpec) -> str | None:
    cls = _class(spec)
    if cls is None:
        return None
    if not cls.STREAMS:
        return f"module '{spec.id}' ({spec.name}) does not stream"
    backend = str(spec.execution.get("backend", "local"))
    if backend != "local":
        return f"module '{spec.id}' runs on backend '{backend}'"
    return _limit(spec, "stream")


def _limit(spec: ModuleSpec, mode: str) -> str | None:
    cls = _class(spec)
    reason = cls.mode_limits(spec.configs).get(mode) if cls is not None else None
    return f"module '{spec.id}' ({spec.name}): {reason}" if reason else None


def _same_subflow_reads(modules: Mapping[str, ModuleSpec], subflow_of: Mapping[str, str]) -> list[str]:
    """Templates reading a global of a module of their own sub flow (set only when its stream ends)."""
    by_lower = {module_id.lower(): module_id for module_id in modules}
    found = []
    for module_id, spec in modules.items():
        for _key, _raw, ref in find_templates(spec.configs):
            source = _global_source(ref, by_lower)
            if source is not None and source != module_id and subflow_of.get(source) == subflow_of.get(module_id):
                found.append(f"module '{module_id}' reads {{{{{ref.module}__{ref.name}}}}} of its own sub flow")
    return found


def _global_source(ref: Reference, by_lower: Mapping[str, str]) -> str | None:
    if ref.kind != "global":
        return None
    return by_lower.get(ref.module.lower())


def _class(spec: ModuleSpec) -> type[BaseModule] | None:
    try:
        return load_module_class(spec.module_path)
    except ImportError:
        return None


def _name(spec: ModuleSpec) -> str:
    return f"'{spec.id}' ({spec.name})"


def _listed(items: list[str]) -> str:
    shown = "; ".join(items[:MAX_REASONS])
    more = len(items) - MAX_REASONS
    return f"{shown}; and {more} more" if more > 0 else shown
