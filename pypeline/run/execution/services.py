"""``RunServices``: the shared machinery the scheduler and node runner use during one run.

It is built once by the run orchestrator (``run/run.py``) and handed down, so
that nothing below reaches for globals: the job plan, the mutable run state,
the global store, the templater, the artifact manager, the executors, the
thread pool, the log, the progress/telemetry observers and the secret
registry that redacts every resolved secret value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pypeline.core.secret import SecretRegistry
from pypeline.executors.base import Executor
from pypeline.job.plan import JobPlan
from pypeline.modules.sdk.context import ThreadRunner
from pypeline.modules.sdk.globals import GlobalStore
from pypeline.run.artifacts.manager import ArtifactManager
from pypeline.run.execution.pool import RunPool
from pypeline.run.guard.link import WatchdogLink
from pypeline.run.observe.logging import RunLog
from pypeline.run.scheduling.state import RunState, SubflowRecord
from pypeline.run.templater.templater import Templater


@dataclass(slots=True)
class ObserverList:
    """Fans events out to several observers; a failing observer never breaks the run."""

    observers: list[Any] = field(default_factory=list)

    def emit(self, method: str, *args: Any) -> None:
        for observer in self.observers:
            handler = getattr(observer, method, None)
            if handler is None:
                continue
            try:
                handler(*args)
            except Exception:  # observers are best-effort by design
                pass

    def node_event(self, node_id: str, name: str, attributes: dict[str, Any]) -> None:
        """Forward a module's ``ctx.emit_event`` (warnings, coercions) to the observers."""
        self.emit("node_event", node_id, name, attributes)


@dataclass(slots=True, kw_only=True)
class RunServices:
    """See the module docstring."""

    run_id: str
    job: JobPlan
    state: RunState
    globals: GlobalStore
    templater: Templater
    artifacts: ArtifactManager
    executors: dict[str, Executor]
    threads: ThreadRunner
    log: RunLog
    context_vars: dict[str, Any]
    observers: ObserverList = field(default_factory=ObserverList)
    secrets: SecretRegistry = field(default_factory=SecretRegistry)
    """Every secret value resolved in this run; redacts free text (docs/secrets.md)."""
    on_subflow_done: Callable[[SubflowRecord], Any] | None = None
    """Called after each successful sub flow instance (checkpoints hook in here)."""
    origin_run_id: str | None = None
    """The first run of the resume chain this run belongs to (``run_id`` when it resumes none)."""
    pool: RunPool | None = None
    """The pool behind ``threads``; attempts with a timeout track their calls on it."""
    watchdog: WatchdogLink | None = None
    """Told when attempts with a timeout start and end (``pype run`` only; see ``run/guard/``)."""
    temp_ledger: str | None = None
    """Where sinks record their temporary folders (``runs/<run_id>/temporaries.jsonl``)."""

    def output_key(self, node_id: str) -> str:
        """``RunContext.output_key`` for ``node_id``: the same in this run and the runs that resume it."""
        return f"{self.job.name}/{self.origin_run_id or self.run_id}/{node_id}"

    @property
    def execution_mode(self) -> str:
        """``pandas`` or ``dask``."""
        return str(self.job.settings.get("execution_mode", "pandas"))
