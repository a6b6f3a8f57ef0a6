"""Run events fanned out to observers: the progress display and the OpenTelemetry spans.

The scheduler and the node runner announce what happens (``run_started``,
``subflow_started`` / ``_finished`` / ``_skipped``, ``node_started`` /
``_finished``, ``node_event`` for a module's ``ctx.emit_event``,
``node_progress`` for its ``ctx.progress``, ``run_finished``); each observer implements the methods it cares about. An
observer that fails never breaks the run: observing is best-effort by design.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class ObserverList:
    """Fans events out to several observers (see the module docstring)."""

    observers: list[Any] = field(default_factory=list)
    _handlers: dict[str, tuple[int, list[Any]]] = field(default_factory=dict, repr=False)
    """Event -> (observer count, their handlers): looked up once, not twice per module."""

    def emit(self, method: str, *args: Any) -> None:
        """Call ``method(*args)`` on every observer that has it."""
        known = self._handlers.get(method)
        if known is None or known[0] != len(self.observers):
            handlers = [h for h in (getattr(o, method, None) for o in self.observers) if h is not None]
            known = self._handlers[method] = (len(self.observers), handlers)
        for handler in known[1]:
            try:
                handler(*args)
            except Exception:  # observers are best-effort by design
                pass

    def node_event(self, node_id: str, name: str, attributes: dict[str, Any]) -> None:
        """Forward a module's ``ctx.emit_event`` (warnings, coercions) to the observers."""
        self.emit("node_event", node_id, name, attributes)

    def node_progress(self, node_id: str, report: dict[str, Any]) -> None:
        """Forward a module's ``ctx.progress`` (rows / bytes so far, a file being written) to the observers."""
        self.emit("node_progress", node_id, report)
