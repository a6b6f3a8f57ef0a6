"""What a failed sub flow instance tells its ``on_error`` and ``always`` handlers.

When an instance fails (after its retries), the scheduler publishes three
globals on the *from* module of each of its ``on_error`` / ``always``
connections, in the failed instance's iteration, before the handlers fire::

    {{load__error_message}}   the failure, one line, secrets redacted
    {{load__error_type}}      the kind of error (FileNotFoundError, TimeoutError, ModuleError, ...)
    {{load__error_module}}    the id of the module that failed (may differ from 'load': any module of the sub flow)

When the instance succeeds, the *from* modules of its ``always`` connections
get the same three globals as empty strings, so a post-job handler reads
them either way (``load__error_type == ""`` tells success).

A failure is *handled* when one of its ``on_error`` connections marked
``handled: true`` fired and its handler instance succeeded (or ran in an
earlier run of the resume chain): :func:`handled_by_edge`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pypeline.core.errors import ModuleError, PypelineError
from pypeline.job.plan import JobPlan
from pypeline.job.scopes import frames_for
from pypeline.job.spec import ERROR_GLOBALS, ControlEdge
from pypeline.modules.sdk.globals import GlobalStore, node_id_for
from pypeline.run.state.records import RunState, SubflowKey


@dataclass(frozen=True, slots=True)
class ErrorFacts:
    """One failure as handlers see it."""

    message: str
    type: str
    module: str


NO_ERROR = ErrorFacts(message="", type="", module="")


def error_facts(exc: BaseException, redact: Callable[[str], str]) -> ErrorFacts:
    """The facts of what a sub flow instance raised (a module's error, or a bug below the scheduler)."""
    if isinstance(exc, PypelineError):
        message = exc.format_message()
        module = str(getattr(exc, "module_id", "") or "")
        kind = exc.error_type if isinstance(exc, ModuleError) else type(exc).__name__
    else:
        message, module, kind = f"{type(exc).__name__}: {exc}", "", type(exc).__name__
    return ErrorFacts(message=redact(message), type=kind, module=module.split("#", 1)[0])


def publish(store: GlobalStore, edges: Iterable[ControlEdge], path: tuple[int, ...], facts: ErrorFacts) -> None:
    """Set the error globals on the *from* module of each connection, in iteration ``path``."""
    for module_id in dict.fromkeys(edge.src for edge in edges):
        node_id = node_id_for(module_id, path)
        for name, value in zip(ERROR_GLOBALS, (facts.message, facts.type, facts.module), strict=True):
            store.set(node_id, name, value)


def handled_by_edge(
    plan: JobPlan, state: RunState, key: SubflowKey, frames: tuple[int, ...], handlers: Iterable[ControlEdge]
) -> ControlEdge | None:
    """The first ``handled: true`` connection of failed instance ``key`` whose handler instance succeeded."""
    for edge in handlers:
        if not edge.handled:
            continue
        target = plan.subflow_of[edge.dst]
        t_path, _items, _frames = frames_for(target, key[1], key[1], frames, plan.scopes)
        handler = state.subflows.get((target, t_path))
        if handler is not None and handler.status in ("success", "restored"):
            return edge
    return None
