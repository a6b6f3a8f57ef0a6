"""The run engine: one object that owns a run's resources and runs it.

:class:`RunEngine` is an async context manager. Entering it opens, in this
order, everything a run holds, each registered on the engine's own
:class:`~contextlib.AsyncExitStack` so that leaving closes them in reverse
order, also when the run fails or is interrupted:

==================  ==========================================================
heap                what is alive when the run starts is left out of garbage collections (``heap.py``)
progress, log       the terminal display and ``runs/<id>/log.jsonl``
thread pool         ``ctx.executor``'s pool (also the loop's default, on the run's own loop)
templater           context, globals, iteration and Vault secrets for ``{{...}}``
artifacts           frames between modules, spilled to Parquet when large
dask mode           one shared dask pool and Arrow's system allocator (``execution_mode: dask``)
backends            one :class:`~pypeline.backends.base.Backend` per backend the job uses
state, checkpoints  the run's records, restored from the run it resumes; a checkpoint per sub flow
telemetry           OpenTelemetry spans, when on
==================  ==========================================================

Then it wires the parts that do the work, each given only what it uses:

::

    Scheduler ──(sub flow id, path)──▶ SubflowRunner ──(spec, inputs)──▶ NodeRunner ──ModuleTask──▶ Backend
       │ conditions: ConditionValues      │ artifacts, list outputs      │ ModuleConfigs, AttemptContexts,
       │ on done: CheckpointSession       │                              │ AttemptLimits, records, events
       └ events: ObserverList ────────────┴──────────────────────────────┘

:meth:`RunEngine.run` writes the manifest (``running``), runs the scheduler
under ``settings.timeout``, and writes the final manifest, then the
checkpoint's last word. ``pype run`` also starts the watchdog (``run/guard/``).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from pypeline.backends.base import Backend
from pypeline.backends.registry import backend_class
from pypeline.core.errors import JobError
from pypeline.core.secret import SecretRegistry
from pypeline.job.plan import JobPlan
from pypeline.modules.sdk.context import ThreadRunner
from pypeline.modules.sdk.globals import GlobalStore
from pypeline.modules.sdk.temporaries import LEDGER_FILE
from pypeline.run.artifacts.manager import ArtifactManager
from pypeline.run.checkpoint.resume import ResumePlan
from pypeline.run.checkpoint.session import CheckpointSession
from pypeline.run.engine.dask_mode import dask_mode
from pypeline.run.engine.heap import heap_frozen
from pypeline.run.engine.options import RunOptions, RunResult
from pypeline.run.guard.lifeline import Lifeline
from pypeline.run.guard.link import WatchdogLink
from pypeline.run.guard.signals import cancel_on_signals
from pypeline.run.nodes.attempt import AttemptContexts, AttemptLimits
from pypeline.run.nodes.cache import node_cache
from pypeline.run.nodes.configs import ModuleConfigs
from pypeline.run.nodes.node import NodeRunner
from pypeline.run.nodes.pool import RunPool
from pypeline.run.nodes.subflow import SubflowRunner
from pypeline.run.observe.console_log import echo_format, echo_level, human_line
from pypeline.run.observe.events import ObserverList
from pypeline.run.observe.logging import RunLog
from pypeline.run.observe.manifest import ManifestWriter
from pypeline.run.observe.telemetry import telemetry_observer
from pypeline.run.scheduling.conditions import ConditionValues
from pypeline.run.scheduling.scheduler import Scheduler
from pypeline.run.state.records import RunState, SubflowRecord
from pypeline.run.templater.secrets import install_secret_resolver
from pypeline.run.templater.templater import ContextResolver, GlobalResolver, IterResolver, Templater


@dataclass(frozen=True, slots=True, kw_only=True)
class PreparedRun:
    """A run checked and given its place before anything opens (``run/run.py`` prepares it)."""

    plan: JobPlan
    options: RunOptions
    context_vars: dict[str, Any]
    run_id: str
    run_dir: Path
    threads: int
    resume: ResumePlan | None
    secrets: SecretRegistry
    own_loop: bool
    """The caller made the event loop for this run alone (then the run's pool becomes its default executor)."""


class RunEngine:
    """Owns one run's resources and runs it (see the module docstring)."""

    def __init__(self, prepared: PreparedRun) -> None:
        self.prepared = prepared
        self.plan = prepared.plan
        self._stack = contextlib.AsyncExitStack()
        self.events = ObserverList()
        self.state = RunState()
        self.globals = GlobalStore()

    async def __aenter__(self) -> RunEngine:
        await self._stack.__aenter__()
        try:
            await self._open()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        return await self._stack.__aexit__(exc_type, exc, tb)

    # -- opening ------------------------------------------------------------------------------------

    async def _open(self) -> None:
        p, stack = self.prepared, self._stack
        stack.enter_context(heap_frozen())
        self.log = self._open_log()
        self.logger = self.log.logger()
        self.pool = RunPool(max_workers=p.threads)
        stack.callback(self.pool.shutdown, wait=True, cancel_futures=True)  # never waits for an abandoned thread
        if p.own_loop:
            asyncio.get_running_loop().set_default_executor(self.pool)
        self.templater = Templater({
            "context": ContextResolver(p.context_vars), "global": GlobalResolver(self.globals), "iter": IterResolver(),
        })
        install_secret_resolver(self.plan.modules, self.templater, p.secrets, stack)
        self.artifacts = ArtifactManager(self.plan.settings.get("spill"), logger=self.logger)
        stack.callback(self.artifacts.close)
        stack.enter_context(dask_mode(self.plan.settings))
        self.backends = await self._open_backends()
        if p.resume is not None:
            p.resume.restore(self.state, self.globals, self.templater.resolvers.get("secret"), self.plan.modules)
        self.checkpoints = CheckpointSession(
            job=self.plan, run_id=p.run_id, run_dir=p.run_dir, env=p.options.env, overrides=p.options.overrides,
            context_vars=p.context_vars, resume=p.resume, state=self.state, secrets=p.secrets, logger=self.logger,
        )
        stack.callback(self.checkpoints.close)
        self.checkpoints.open()
        self._open_telemetry()
        self.limits = AttemptLimits(plan=self.plan)
        self.scheduler = self._wire()

    def _open_log(self) -> RunLog:
        p = self.prepared
        progress = _make_progress(p.options.progress, self.plan.name, p.secrets)
        if progress is not None:
            self._stack.callback(progress.close)
            self.events.observers.append(progress)
        echo = p.options.echo_logs
        fmt = echo_format(p.options.log_format, sys.stderr.isatty())
        log = RunLog(
            p.run_id, p.run_dir / "log.jsonl", echo=sys.stderr if echo else None,
            echo_level=echo_level(p.options.log_level, fmt),
            echo_fn=getattr(progress, "print_line", None) if echo else None, secrets=p.secrets,
            echo_formatter=human_line if fmt == "human" else None,
        )
        self._stack.callback(log.close)
        return log

    async def _open_backends(self) -> dict[str, Backend]:
        settings = self.plan.settings
        names = sorted({str(m.execution.get("backend", "local")) for m in self.plan.modules.values()})
        backends: dict[str, Backend] = {}
        for name in names:
            try:
                cls = backend_class(name)
            except KeyError as exc:
                raise JobError(str(exc.args[0])) from None
            backend_settings = {**settings, "backend_defaults": settings.get("backends", {}).get(name, {})}
            backends[name] = await self._stack.enter_async_context(cls(backend_settings))
        return backends

    def _open_telemetry(self) -> None:
        p = self.prepared
        telemetry = telemetry_observer(
            p.options.otel, p.options.tracer_provider, self.plan, p.run_id, p.options.env, p.secrets,
            warn=lambda reason: self.logger.warning("tracing_off", reason=reason),
        )
        if telemetry is not None:
            self._stack.callback(telemetry.close)
            self.events.observers.append(telemetry)
            self.log.listeners.append(telemetry.log_event)

    def _wire(self) -> Scheduler:
        """The scheduler, the sub flow runner and the node runner, each given what it uses."""
        p, plan = self.prepared, self.plan
        mode = str(plan.settings.get("execution_mode", "pandas"))
        contexts = AttemptContexts(
            run_id=p.run_id, job_name=plan.name, origin_run_id=self.checkpoints.origin_run_id,
            globals_store=self.globals, threads=ThreadRunner(self.pool), pool=self.pool, artifacts=self.artifacts,
            execution_mode=mode, context_vars=p.context_vars, events=self.events.node_event, secrets=p.secrets,
            temp_ledger=str(p.run_dir / LEDGER_FILE), progress=self.events.node_progress,
        )
        configs = ModuleConfigs(plan, self.templater)
        nodes = NodeRunner(
            plan=plan, state=self.state, events=self.events, log=self.log,
            configs=configs, contexts=contexts, backends=self.backends,
            limits=self.limits, redact=p.secrets.redact_text,
            cache=node_cache(plan, configs, self.globals, self.log, p.run_dir.parent.parent.parent),
        )
        return Scheduler(
            plan, self.state, SubflowRunner(plan, self.state, self.artifacts, nodes, mode),
            values=ConditionValues(p.context_vars, self.globals, self.templater), events=self.events,
            logger=self.logger, on_subflow_done=self._subflow_done, globals_store=self.globals,
            redact=p.secrets.redact_text,
        )

    async def _subflow_done(self, record: SubflowRecord) -> None:
        """A sub flow instance finished: its log lines go to disk, then its checkpoint record."""
        self.log.flush()
        await self.checkpoints.on_subflow_done(record)

    # -- running ------------------------------------------------------------------------------------

    async def run(self) -> RunResult:
        """Run the job; the manifest records the outcome (also when the run is cancelled).

        Raises:
            asyncio.CancelledError: when the run was interrupted (after the manifest is written).
        """
        p = self.prepared
        manifest = ManifestWriter(
            path=p.run_dir / "manifest.json", run_id=p.run_id, job_name=self.plan.name,
            flow_hash=self.plan.flow_hash, env=p.options.env,
            execution_mode=str(self.plan.settings.get("execution_mode", "pandas")), state=self.state,
            spills=lambda: list(self.artifacts.spills), secrets=p.secrets,
            resumed_from=self.checkpoints.resumed_from, parent_run=p.options.parent_run,
        )
        manifest.write("running")
        self.logger.info(
            "run_started", job=self.plan.name, env=p.options.env, threads=p.threads, mode=manifest.execution_mode,
            resumed_from=self.checkpoints.resumed_from, restored_instances=len(self.state.restored),
        )
        reason = self.plan.settings.get("execution_mode_reason")
        if reason:
            self.logger.info("execution_mode", mode=manifest.execution_mode, reason=reason)
        self.events.emit("run_started", p.run_id)
        timeout = self.plan.settings.get("timeout")
        if p.own_loop:
            self.limits.watchdog = self._guard()
            if self.limits.watchdog is not None and timeout:
                self.limits.watchdog.run_deadline(timeout)
        try:
            async with asyncio.timeout(timeout):
                await self.scheduler.run()
        except TimeoutError:
            self.state.errors.append(f"the run timed out after {timeout:g}s (settings.timeout)")
            self.logger.error("run_timeout", timeout=timeout)
        except asyncio.CancelledError:
            # Ctrl-C or SIGTERM: every module was cancelled and torn down; record it, then go on cancelling.
            self.state.errors.append("the run was interrupted (SIGINT/SIGTERM or cancelled by its caller)")
            self.logger.error("run_interrupted")
            document = manifest.write("failed", ended=True, resume_command=self.checkpoints.resume_command("failed"))
            self.events.emit("run_finished", "failed", document)
            raise
        return self._finish(manifest)

    def _finish(self, manifest: ManifestWriter) -> RunResult:
        status = "failed" if self.state.failed else "success"
        # a mistake of the flow fails a resumed run the same way: offer no resume command then
        resume = None if self.state.flow_mistakes else self.checkpoints.resume_command(status)
        document = manifest.write(status, ended=True, resume_command=resume)
        self.checkpoints.finish(status)  # after the manifest: a kill in between leaves a complete record
        self.events.emit("run_finished", status, document)
        self.logger.info("run_finished", status=status, duration_ms=document["duration_ms"])
        return RunResult(run_id=self.prepared.run_id, status=status, run_dir=self.prepared.run_dir, manifest=document)

    def _guard(self) -> WatchdogLink | None:
        """SIGTERM (and, with a watchdog, SIGINT) cancel the run; ``options.guard``: start the watchdog too.

        The watchdog's signal pipes chain to the loop's handlers, so they are registered after them
        and unregistered before them (the stack unwinds in reverse). ``options.lifeline`` (a child
        run of ``run_job``): the end of standard input sends SIGTERM, once the handlers are there.
        """
        link = None
        if not self.prepared.options.guard:
            cancel_on_signals(self._stack, (signal.SIGTERM,))
        else:
            link = WatchdogLink(self.logger)
            cancel_on_signals(self._stack, (signal.SIGTERM, signal.SIGINT), on_repeat=link.stop_now)
            link.open(self.prepared.run_dir, self.checkpoints.resume_command("failed"))
            self._stack.callback(link.close)
        if self.prepared.options.lifeline:
            self._stack.callback(_started_lifeline().stop)
        return link


def _started_lifeline() -> Lifeline:
    lifeline = Lifeline()
    lifeline.start()
    return lifeline


def _make_progress(mode: str, title: str, secrets: SecretRegistry) -> Any:
    from pypeline.run.observe.progress import LiveProgress, PlainProgress

    if mode == "none":
        return None
    if mode == "live" or (mode == "auto" and sys.stderr.isatty()):
        return LiveProgress(title)  # shows ids, statuses and counts only
    return PlainProgress(redact=secrets.redact_text)
