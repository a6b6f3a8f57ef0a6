"""One attempt of a module: its context, its time limit, and what its failure means.

* :class:`AttemptContexts` builds the :class:`RunContext` a module sees in
  one attempt (its globals, the thread runner, the artifact manager, the
  iteration, the run's identity), from the run-wide parts it holds.
* :class:`AttemptLimits` submits an attempt to its backend under the
  module's ``timeout``. At the limit the loop cancels the attempt (its
  ``teardown`` still runs); calls it left on the thread pool are abandoned
  (``pool.py``); the watchdog process, told of the deadline, stops the run
  when the loop itself is wedged (``run/guard/``).
* :func:`failure_of` turns what an attempt raised into one line for the
  record and the log: our own errors as they are, a file-system error about
  a named path without a traceback, anything else with its type and a
  traceback for the log.
"""

from __future__ import annotations

import asyncio
import errno
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pypeline.backends.base import Backend, ModuleTask
from pypeline.core.errors import PypelineError
from pypeline.core.secret import SecretRegistry
from pypeline.job.plan import JobPlan
from pypeline.job.spec import ModuleSpec
from pypeline.modules.sdk.context import EventListener, ProgressListener, RunContext, ThreadRunner
from pypeline.modules.sdk.globals import GlobalStore
from pypeline.run.artifacts.manager import ArtifactManager
from pypeline.run.guard.link import WatchdogLink
from pypeline.run.nodes.boundary import context_mode
from pypeline.run.nodes.pool import AttemptThreads, RunPool


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptContexts:
    """The run-wide parts of every :class:`RunContext` (see the module docstring)."""

    run_id: str
    job_name: str
    origin_run_id: str
    """The first run of the resume chain (``output_key`` stays the same across resumes)."""
    globals_store: GlobalStore
    threads: ThreadRunner
    pool: RunPool | None
    artifacts: ArtifactManager
    execution_mode: str
    context_vars: dict[str, Any]
    events: EventListener
    secrets: SecretRegistry
    temp_ledger: str | None
    progress: ProgressListener | None = None
    """Where ``ctx.progress`` reports go (the run's observers: the progress display)."""

    def output_key(self, node_id: str) -> str:
        """``RunContext.output_key`` for ``node_id``: the same in this run and the runs that resume it."""
        return f"{self.job_name}/{self.origin_run_id}/{node_id}"

    def threads_for(self, spec: ModuleSpec) -> ThreadRunner:
        """The attempt's thread runner: one that can hand its calls in when a timed attempt expires."""
        return AttemptThreads(self.pool) if spec.timeout and self.pool is not None else self.threads

    def context(
        self, spec: ModuleSpec, node_id: str, iter_path: tuple[int, ...], iter_items: tuple[Any, ...],
        threads: ThreadRunner, logger: Any,
    ) -> RunContext:
        """A fresh context for one attempt of ``spec`` in iteration ``iter_path``."""
        return RunContext(
            run_id=self.run_id,
            module_id=spec.id,
            node_id=node_id,
            globals_store=self.globals_store,
            executor=threads,
            logger=logger,
            artifact_manager=self.artifacts,
            execution_mode=context_mode(self.execution_mode, spec),
            iter_path=iter_path,
            iter_items=iter_items,
            context_vars=self.context_vars,
            event_listener=self.events,
            output_key=self.output_key(node_id),
            secrets=self.secrets,
            job_name=self.job_name,
            temp_ledger=self.temp_ledger,
            progress_listener=self.progress,
        )


@dataclass(slots=True, kw_only=True)
class AttemptLimits:
    """Submits attempts under their module's ``timeout`` (see the module docstring)."""

    plan: JobPlan
    watchdog: WatchdogLink | None = None
    """Set once the run knows whether it has one (``pype run`` only)."""

    async def submit(self, spec: ModuleSpec, backend: Backend, task: ModuleTask, limit: asyncio.Timeout | None) -> Any:
        """``backend.submit(task)``, within ``limit`` when the module has a timeout."""
        if limit is None:
            return await backend.submit(task)
        watchdog = self.watchdog
        if watchdog is None:
            async with limit:
                return await backend.submit(task)
        watchdog.attempt_started(
            task.node_id, spec.id, self.plan.subflow_of[spec.id], backend.name, task.attempt, float(spec.timeout or 0)
        )
        try:
            async with limit:
                return await backend.submit(task)
        finally:
            watchdog.attempt_ended(task.node_id)


@dataclass(frozen=True, slots=True)
class Failure:
    """Why an attempt failed: one line, and for a bug, the traceback for the log."""

    cause: str
    timed_out: bool = False
    log_fields: dict[str, Any] = field(default_factory=dict)
    error_type: str = ""
    """The exception's class name (``TimeoutError`` for a timeout): ``{{module__error_type}}`` of handlers."""


_FILE_ERRNOS = {
    errno.EACCES, errno.EPERM, errno.ENOENT, errno.EISDIR, errno.ENOTDIR, errno.EROFS, errno.ENOSPC,
    errno.ELOOP, errno.ENAMETOOLONG, errno.EIO,
}


def failure_of(
    exc: Exception, spec: ModuleSpec, limit: asyncio.Timeout | None, redact: Callable[[str], str]
) -> Failure:
    """What ``exc``, raised by an attempt of ``spec`` under ``limit``, means (see the module docstring)."""
    kind = type(exc).__name__
    if isinstance(exc, TimeoutError):
        if limit is not None and limit.expired():
            return Failure(f"timed out after {spec.timeout:g}s", timed_out=True, error_type="TimeoutError")
        return Failure(redact(f"{kind}: {exc}"), error_type=kind)  # the module's own (a socket, ...)
    if isinstance(exc, PypelineError):
        return Failure(redact(exc.format_message()), error_type=kind)
    problem = file_problem(exc)  # the user's file system, not a bug: no traceback
    if problem is not None:
        return Failure(redact(problem), error_type=kind)
    return Failure(
        redact(f"{kind}: {exc}"), log_fields={"traceback": traceback.format_exc(limit=20)}, error_type=kind
    )


def file_problem(exc: BaseException) -> str | None:
    """``cannot access 'data/x.csv': Permission denied`` for an OSError about a named file, else None."""
    if isinstance(exc, OSError) and exc.filename and exc.errno in _FILE_ERRNOS:
        return f"cannot access '{exc.filename}': {exc.strerror}"
    return None
