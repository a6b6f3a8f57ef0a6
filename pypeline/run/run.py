"""Run orchestrator: job folder -> a finished (or failed) run with its manifest and log.

``run_job`` builds every service of a run (thread pool, log, globals,
templater, artifacts, executors), hands them to the scheduler, and records
the outcome. Resources are owned by one :class:`contextlib.AsyncExitStack`,
so they close in reverse order even when the run fails or is interrupted.
The CLI calls :func:`run_job_sync` (one ``asyncio.run``); library code awaits
:func:`run_job`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import secrets
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pypeline.core.errors import JobError, PypelineError, RunError
from pypeline.core.secret import SecretRegistry
from pypeline.executors.backends import backend_class
from pypeline.executors.base import Executor
from pypeline.job.plan import JobPlan
from pypeline.modules.sdk.context import ThreadRunner
from pypeline.modules.sdk.globals import GlobalStore
from pypeline.modules.sdk.temporaries import LEDGER_FILE
from pypeline.run.artifacts.manager import ArtifactManager
from pypeline.run.checkpoint.resume import ResumePlan, plan_resume
from pypeline.run.checkpoint.session import CheckpointSession
from pypeline.run.execution.dask_local import dask_mode
from pypeline.run.execution.pool import RunPool
from pypeline.run.execution.services import ObserverList, RunServices
from pypeline.run.execution.topo import run_subflow
from pypeline.run.guard.link import WatchdogLink
from pypeline.run.guard.signals import cancel_on_signals
from pypeline.run.job import load_context, load_job
from pypeline.run.observe.logging import RunLog
from pypeline.run.observe.manifest import manifest_document, write_manifest
from pypeline.run.observe.telemetry import telemetry_observer
from pypeline.run.scheduling.scheduler import Scheduler
from pypeline.run.scheduling.state import RunState, utc_now
from pypeline.run.templater.secrets import install_secret_resolver
from pypeline.run.templater.templater import ContextResolver, GlobalResolver, IterResolver, Templater

THREADS_ENV = "PYPELINE_THREADS"


@dataclass(slots=True, kw_only=True)
class RunOptions:
    """What ``pype run`` passes in."""

    env: str = "default"
    overrides: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    threads: int | None = None
    progress: str = "auto"
    """``auto`` (live on a TTY, plain otherwise), ``live``, ``plain`` or ``none``."""
    log_level: str = "info"
    echo_logs: bool = True
    otel: bool | None = None
    """OpenTelemetry spans: ``True`` on, ``False`` off, ``None`` on when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set."""
    tracer_provider: Any = None
    """An OpenTelemetry ``TracerProvider`` to use instead of the OTLP/HTTP one (tests, embedding)."""
    resume: str | None = None
    """Run id to resume, or ``latest`` (the latest failed run); ``None`` for a fresh run."""
    secrets: SecretRegistry | None = None
    """The registry the run's resolved secrets go to (the CLI's, so its output is redacted too); a new one if None."""
    guard: bool = False
    """The run owns its process (``pype run``): a watchdog process keeps its timeouts and signals even
    when the interpreter is wedged, and may SIGKILL it (``run/guard/``). Needs the run's own event loop."""


@dataclass(slots=True, kw_only=True)
class RunResult:
    """The outcome of a run."""

    run_id: str
    status: str
    run_dir: Path
    manifest: dict[str, Any]

    @property
    def exit_code(self) -> int:
        """0 on success, 1 when the run failed."""
        return 0 if self.status == "success" else 1


def new_run_id() -> str:
    """``20261123T112233-ab12cd``: sortable by time, unique enough."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def thread_count(option: int | None, settings: dict[str, Any]) -> int:
    """``--threads``, else ``settings.threads``, else ``$PYPELINE_THREADS``, else ``cpu_count*2``."""
    if option:
        return option
    if settings.get("threads"):
        return int(settings["threads"])
    env = os.environ.get(THREADS_ENV)
    if env:
        try:
            value = int(env)
        except ValueError:
            raise JobError(f"{THREADS_ENV}={env!r} is not a whole number") from None
        if value < 1:
            raise JobError(f"{THREADS_ENV}={env!r} must be at least 1")
        return value
    return (os.cpu_count() or 1) * 2


def run_job_sync(job_dir: str | Path, options: RunOptions | None = None) -> RunResult:
    """Run a job folder from synchronous code (the CLI's one ``asyncio.run``).

    The event loop is the run's own, so the run's thread pool also becomes the
    loop's default executor (``asyncio.to_thread`` and ``run_in_executor(None, ...)``
    in module code use the same pool).
    """
    try:
        return asyncio.run(run_job(job_dir, options or RunOptions(), own_loop=True))
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None  # SIGTERM: the manifest records it; the CLI exits 130


async def run_job(job_dir: str | Path, options: RunOptions, *, own_loop: bool = False) -> RunResult:
    """Run a job folder and return its result.

    Args:
        job_dir: the job folder ``pype build`` wrote.
        options: what ``pype run`` passes in.
        own_loop: True when the caller made the event loop for this run alone (then the
            run's pool becomes its default executor; a caller's loop is left alone).

    Raises:
        JobError: for a missing, stale or invalid job folder or bad options (nothing runs then).
    """
    job = load_job(job_dir)
    resume = plan_resume(job.runs_dir, options.resume, job.flow_hash) if options.resume else None
    if resume is not None:  # a resumed run uses the context of the run it resumes
        options = dataclasses.replace(options, env=resume.env, overrides=resume.overrides)
    context_vars = load_context(job, options.env, options.overrides)
    run_id = options.run_id or new_run_id()
    if not run_id.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise JobError(f"run id {run_id!r} may only hold letters, digits, '-', '_' and '.'")
    run_dir = job.runs_dir / run_id
    if run_dir.exists():
        raise JobError(f"{run_dir}: a run with id '{run_id}' already exists; choose another --run-id")
    threads = thread_count(options.threads, job.settings)
    try:
        run_dir.mkdir(parents=True)
    except OSError as exc:
        raise JobError(f"{run_dir}: cannot create the run folder: {exc.strerror or exc}") from None
    secrets_seen = options.secrets if options.secrets is not None else SecretRegistry()
    try:
        async with contextlib.AsyncExitStack() as stack:
            return await _run(
                job, options, context_vars, run_id, run_dir, threads, stack, secrets_seen, own_loop, resume
            )
    except Exception as exc:
        _redact_exception(exc, secrets_seen)
        raise


def _redact_exception(exc: Exception, secrets_seen: SecretRegistry) -> None:
    """Never let an error that escapes the run show a secret value (docs/secrets.md)."""
    text = str(exc)
    if not secrets_seen.count or not secrets_seen.contains_secret(text):
        return
    if isinstance(exc, PypelineError):
        exc.message = secrets_seen.redact_text(exc.message)
        exc.args = (exc.message,)
        return
    raise RunError(f"internal error: {type(exc).__name__}: {secrets_seen.redact_text(text)}") from None


async def _run(
    job: JobPlan,
    options: RunOptions,
    context_vars: dict[str, Any],
    run_id: str,
    run_dir: Path,
    threads: int,
    stack: contextlib.AsyncExitStack,
    secrets_seen: SecretRegistry,
    own_loop: bool = False,
    resume: ResumePlan | None = None,
) -> RunResult:
    observers = ObserverList()
    progress = _make_progress(options.progress, job.name, secrets_seen)
    if progress is not None:
        stack.callback(progress.close)
        observers.observers.append(progress)
    echo_fn = getattr(progress, "print_line", None)
    log = RunLog(
        run_id,
        run_dir / "log.jsonl",
        echo=sys.stderr if options.echo_logs else None,
        echo_level=options.log_level,
        echo_fn=echo_fn if options.echo_logs else None,
        secrets=secrets_seen,
    )
    stack.callback(log.close)
    pool = RunPool(max_workers=threads)
    stack.callback(pool.shutdown, wait=True, cancel_futures=True)  # never waits for an abandoned thread
    if own_loop:
        asyncio.get_running_loop().set_default_executor(pool)
    globals_store = GlobalStore()
    templater = Templater(
        {"context": ContextResolver(context_vars), "global": GlobalResolver(globals_store), "iter": IterResolver()}
    )
    install_secret_resolver(job.modules, templater, secrets_seen, stack)
    artifacts = ArtifactManager(job.settings.get("spill"), logger=log.logger())
    stack.callback(artifacts.close)
    stack.enter_context(dask_mode(job.settings))
    executors = await _open_executors(job, stack)
    state = RunState()
    if resume is not None:
        resume.restore(state, globals_store, templater.resolvers.get("secret"), job.modules)
    checkpoints = CheckpointSession(
        job=job, run_id=run_id, run_dir=run_dir, env=options.env, overrides=options.overrides,
        context_vars=context_vars, resume=resume, state=state,
        secrets=secrets_seen, logger=log.logger(),
    )
    stack.callback(checkpoints.close)
    checkpoints.open()
    services = RunServices(
        run_id=run_id,
        job=job,
        state=state,
        globals=globals_store,
        templater=templater,
        artifacts=artifacts,
        executors=executors,
        threads=ThreadRunner(pool),
        pool=pool,
        log=log,
        context_vars=context_vars,
        observers=observers,
        secrets=secrets_seen,
        on_subflow_done=checkpoints.on_subflow_done,
        origin_run_id=checkpoints.origin_run_id,
        temp_ledger=str(run_dir / LEDGER_FILE),
    )
    logger = log.logger()
    resume_command: str | None = None
    telemetry = telemetry_observer(
        options.otel, options.tracer_provider, job, run_id, options.env, secrets_seen,
        warn=lambda reason: logger.warning("tracing_off", reason=reason),
    )
    if telemetry is not None:
        stack.callback(telemetry.close)
        observers.observers.append(telemetry)
        log.listeners.append(telemetry.log_event)
    started, t0 = utc_now(), time.perf_counter()
    manifest_path = run_dir / "manifest.json"

    def manifest(status: str, ended: str | None) -> dict[str, Any]:
        return manifest_document(
            run_id=run_id,
            job_name=job.name,
            flow_hash=job.flow_hash,
            status=status,
            started=started,
            ended=ended,
            duration_ms=None if ended is None else round((time.perf_counter() - t0) * 1000, 3),
            env=options.env,
            execution_mode=services.execution_mode,
            state=state,
            spills=list(artifacts.spills),
            resume_command=resume_command,
            resumed_from=checkpoints.resumed_from,
            # nothing to walk when no secret was resolved (canonical_json masks marked values anyway)
            redact=secrets_seen.redact if secrets_seen.count else None,
        )

    write_manifest(manifest_path, manifest("running", None))
    logger.info(
        "run_started", job=job.name, env=options.env, threads=threads, mode=services.execution_mode,
        resumed_from=checkpoints.resumed_from, restored_instances=len(state.restored),
    )
    observers.emit("run_started", run_id)
    scheduler = Scheduler(services, run_subflow)
    timeout = job.settings.get("timeout")
    if own_loop:
        services.watchdog = _guard(stack, options.guard, run_dir, checkpoints.resume_command("failed"), logger)
        if services.watchdog is not None and timeout:
            services.watchdog.run_deadline(timeout)
    try:
        async with asyncio.timeout(timeout):
            await scheduler.run()
    except TimeoutError:
        state.errors.append(f"the run timed out after {timeout:g}s (settings.timeout)")
        logger.error("run_timeout", timeout=timeout)
    except asyncio.CancelledError:
        # Ctrl-C or SIGTERM: every module was cancelled and torn down; record it, then go on cancelling.
        state.errors.append("the run was interrupted (SIGINT/SIGTERM or cancelled by its caller)")
        logger.error("run_interrupted")
        resume_command = checkpoints.resume_command("failed")
        document = manifest("failed", utc_now())
        write_manifest(manifest_path, document)
        observers.emit("run_finished", "failed", document)
        raise
    status = "failed" if state.failed else "success"
    resume_command = checkpoints.resume_command(status)
    document = manifest(status, utc_now())
    write_manifest(manifest_path, document)
    checkpoints.finish(status)  # after the manifest: a kill in between leaves a complete record
    observers.emit("run_finished", status, document)
    logger.info("run_finished", status=status, duration_ms=document["duration_ms"])
    return RunResult(run_id=run_id, status=status, run_dir=run_dir, manifest=document)


def _guard(
    stack: contextlib.AsyncExitStack, guard: bool, run_dir: Path, resume_command: str | None, logger: Any
) -> WatchdogLink | None:
    """SIGTERM (and, with a watchdog, SIGINT) cancel the run; ``guard``: start the watchdog too.

    The watchdog's signal pipes chain to the loop's handlers, so they are registered after them
    and unregistered before them (the stack unwinds in reverse).
    """
    if not guard:
        cancel_on_signals(stack, (signal.SIGTERM,))
        return None
    link = WatchdogLink(logger)
    cancel_on_signals(stack, (signal.SIGTERM, signal.SIGINT), on_repeat=link.stop_now)
    link.open(run_dir, resume_command)
    stack.callback(link.close)
    return link


async def _open_executors(job: JobPlan, stack: contextlib.AsyncExitStack) -> dict[str, Executor]:
    names = sorted({str(m.execution.get("backend", "local")) for m in job.modules.values()})
    executors: dict[str, Executor] = {}
    for name in names:
        try:
            cls = backend_class(name)
        except KeyError as exc:
            raise JobError(str(exc.args[0])) from None
        backend_settings = {**job.settings, "backend_defaults": job.settings.get("backends", {}).get(name, {})}
        executors[name] = await stack.enter_async_context(cls(backend_settings))
    return executors


def _make_progress(mode: str, title: str, secrets: SecretRegistry) -> Any:
    from pypeline.run.observe.progress import LiveProgress, PlainProgress

    if mode == "none":
        return None
    if mode == "live" or (mode == "auto" and sys.stderr.isatty()):
        return LiveProgress(title)  # shows ids, statuses and counts only
    return PlainProgress(redact=secrets.redact_text)
