"""Run one node (a module instance): attempts with backoff -> outputs, and its record.

For each attempt the :class:`NodeRunner` renders the module's configs
(``configs.py``: templates see the current globals and iteration, rendered
values are re-checked), builds a fresh :class:`RunContext` (``attempt.py``)
and submits a :class:`ModuleTask` to the module's backend under its timeout.
A failed attempt is retried after ``retry_delay * 2**(attempt-1)`` seconds
(capped by ``retry_max_delay``), up to ``retries`` times (module value, else
the settings default). Template and config errors are not retried: they
would fail the same way again.

When the last attempt timed out, the node's status is ``timed_out``; else a
failure is ``failed``. Cancellation (``fail_strategy: halt``) propagates
untouched, recorded ``cancelled``; the backend awaits the module's
``teardown`` on the way out.

Secrets: before the first attempt the templater prefetches the secrets the
configs use (off the event loop); every failure text that leaves this runner
(record, log, :class:`ModuleError`) goes through the run's secret registry.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

from pypeline.backends.base import Backend, ModuleTask
from pypeline.core.errors import ModuleError, RenderedConfigError, SecretError, TemplateError
from pypeline.job.plan import JobPlan
from pypeline.job.spec import ModuleSpec
from pypeline.modules.frames import is_dask
from pypeline.modules.kinds import STREAM, is_stream, kind_of
from pypeline.modules.sdk.context import RunContext
from pypeline.modules.sdk.globals import node_id_for
from pypeline.run.artifacts.artifact import is_frame
from pypeline.run.nodes.attempt import AttemptContexts, AttemptLimits, Failure, failure_of
from pypeline.run.nodes.cache import NodeCache
from pypeline.run.nodes.configs import ModuleConfigs
from pypeline.run.nodes.pool import AttemptThreads
from pypeline.run.observe.events import ObserverList
from pypeline.run.observe.logging import RunLog
from pypeline.run.state.records import NodeRecord, RunState, utc_now
from pypeline.run.templater.templater import Scope


def retry_delay(settings: Mapping[str, Any], attempt: int) -> float:
    """Seconds to wait before retrying after failed attempt number ``attempt`` (1-based)."""
    base = float(settings.get("retry_delay", 1.0))
    cap = float(settings.get("retry_max_delay", 60.0))
    return float(min(cap, base * (2 ** (attempt - 1))))


class NodeRunner:
    """Runs module instances for the sub flow runner (see the module docstring)."""

    def __init__(
        self,
        *,
        plan: JobPlan,
        state: RunState,
        events: ObserverList,
        log: RunLog,
        configs: ModuleConfigs,
        contexts: AttemptContexts,
        backends: Mapping[str, Backend],
        limits: AttemptLimits,
        redact: Callable[[str], str],
        cache: NodeCache | None = None,
    ) -> None:
        self._plan = plan
        self._state = state
        self._events = events
        self._log = log
        self._configs = configs
        self._contexts = contexts
        self._backends = backends
        self._limits = limits
        self._redact = redact
        self._cache = cache
        """The output cache (docs/cache.md; ``None`` when the job caches nothing): ``cache.py``."""
        self._retries = int(plan.settings.get("retries", 0))
        self._options: dict[str, dict[str, Any]] = {}
        """Module id -> its backend options (settings defaults under its ``execution`` block), merged once."""

    async def run(
        self, spec: ModuleSpec, inputs: dict[str, Any], iter_path: tuple[int, ...], iter_items: tuple[Any, ...]
    ) -> dict[str, Any]:
        """Run ``spec`` in the iteration ``iter_path`` and return its outputs.

        Raises:
            ModuleError: when every attempt failed (or a template/config error occurred).
            asyncio.CancelledError: when the run halts.
        """
        record = self._start(spec, inputs, iter_path)
        started = time.perf_counter()
        try:
            if self._configs.templated(spec):
                await self._configs.prepare(spec, self._contexts.threads.run_in_thread)
            if self._cache is None:
                outputs = await self._attempts(spec, record, inputs, iter_path, iter_items)
            else:
                outputs = await self._cached(spec, record, inputs, iter_path, iter_items, self._cache)
            if record.rows_in is None:
                record.rows_in = sum_rows(inputs)  # input streams the module read to their end
            return outputs
        except asyncio.CancelledError:
            record.status = "cancelled"
            raise
        except (ModuleError, TemplateError, SecretError) as exc:
            if isinstance(exc, (TemplateError, RenderedConfigError)):
                self._state.flow_mistakes.append(record.node_id)  # a resume would fail the same way
            if record.status != "timed_out":
                record.status = "failed"
            record.error = record.error or self._redact(exc.format_message())
            raise
        finally:
            record.ended = utc_now()
            record.duration_ms = round((time.perf_counter() - started) * 1000, 3)
            if self._events.observers:  # none unless progress or tracing is on: no call per module then
                self._events.emit("node_finished", record)

    async def _cached(
        self, spec: ModuleSpec, record: NodeRecord, inputs: dict[str, Any],
        iter_path: tuple[int, ...], iter_items: tuple[Any, ...], cache: NodeCache,
    ) -> dict[str, Any]:
        """The stored outputs on a cache hit, else the attempts' outputs, stored (``cache.py``)."""
        scope = Scope(module_id=spec.id, iter_path=iter_path, iter_items=iter_items)
        threads = self._contexts.threads.run_in_thread
        restored = await cache.restore(spec, record, scope, threads)
        if restored is not None:
            return dict(restored)
        inputs = await cache.load_inputs(inputs, threads)
        outputs = await self._attempts(spec, record, inputs, iter_path, iter_items)
        return dict(await cache.save(spec, record, outputs, threads))

    def _start(self, spec: ModuleSpec, inputs: dict[str, Any], iter_path: tuple[int, ...]) -> NodeRecord:
        record = NodeRecord(
            node_id=node_id_for(spec.id, iter_path),
            module_id=spec.id,
            subflow=self._plan.subflow_of[spec.id],
            iter_path=iter_path,
            backend=backend_of(spec),
        )
        self._state.add_node(record)
        record.status = "running"
        record.started = utc_now()
        record.rows_in = sum_rows(inputs)
        if self._events.observers:
            self._events.emit("node_started", record)
        return record

    async def _attempts(
        self, spec: ModuleSpec, record: NodeRecord, inputs: dict[str, Any],
        iter_path: tuple[int, ...], iter_items: tuple[Any, ...],
    ) -> dict[str, Any]:
        """Attempt after attempt until one succeeds or the retries are spent."""
        retries = spec.retries if spec.retries is not None else self._retries
        scope = Scope(module_id=spec.id, iter_path=iter_path, iter_items=iter_items)
        failure = None
        for attempt in range(1, retries + 2):
            record.attempts = attempt
            outcome = await self._attempt(spec, record, inputs, scope, attempt)
            if not isinstance(outcome, Failure):
                record.status = "success"
                record.rows_out = sum_rows(outcome)
                self._log.line("info", "module_finished", node_id=record.node_id, module=spec.name,
                               attempts=attempt, rows_in=record.rows_in, rows_out=record.rows_out)
                return outcome
            failure = outcome
            if attempt <= retries:
                delay = retry_delay(self._plan.settings, attempt)
                self._log.line("warning", "module_retry", node_id=record.node_id, module=spec.name,
                               attempt=attempt, next_attempt=attempt + 1, delay_s=delay)
                await asyncio.sleep(delay)
        failure = failure or Failure("no attempt ran")
        record.status = "timed_out" if failure.timed_out else "failed"
        record.error = failure.cause
        raise ModuleError(
            record.node_id, failure.cause, attempt=record.attempts, backend=record.backend,
            error_type=failure.error_type,
        )

    async def _attempt(
        self, spec: ModuleSpec, record: NodeRecord, inputs: dict[str, Any], scope: Scope, attempt: int,
    ) -> dict[str, Any] | Failure:
        """One attempt: its outputs, or why it failed (logged). Template errors propagate (no retry)."""
        threads = self._contexts.threads_for(spec)
        logger = self._log.logger(node_id=record.node_id, module=spec.name, attempt=attempt)
        ctx = self._contexts.context(spec, record.node_id, scope.iter_path, scope.iter_items, threads, logger)
        task = ModuleTask(
            module_path=spec.module_path,
            module_id=spec.id,
            node_id=record.node_id,
            configs=self._configs.render(spec, scope, record.node_id, attempt, record.backend),
            inputs=inputs,
            ctx=ctx,
            options=self._options_of(spec, record.backend),
            attempt=attempt,
            remote_configs=None if record.backend == "local" else self._configs.remote(spec, scope),
        )
        limit = asyncio.timeout(spec.timeout) if spec.timeout else None
        backend = self._backends[record.backend]
        try:
            outputs = await (backend.submit(task) if limit is None else self._limits.submit(spec, backend, task, limit))
            check_outputs(spec, outputs, self._plan)
            if spec.id in self._plan.globals_read:
                await self._count_rows_read_later(spec, outputs, ctx)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failure = failure_of(exc, spec, limit, self._redact)
            self._log_failure(failure, spec, threads, attempt, logger)
            return failure
        finally:
            record.facts = ctx.stats.compact()
            record.globals = dict(ctx.globals_set)
        _follow_streams(inputs, outputs, record, ctx)
        return dict(outputs)

    def _options_of(self, spec: ModuleSpec, backend: str) -> dict[str, Any]:
        """The backend options of ``spec``'s attempts: settings defaults, then its ``execution`` block."""
        options = self._options.get(spec.id)
        if options is None:
            options = {**self._plan.settings.get("backends", {}).get(backend, {}), **spec.execution}
            self._options[spec.id] = options
        return dict(options)

    def warn(self, spec: ModuleSpec, iter_path: tuple[int, ...], event: str, **fields: Any) -> None:
        """Log a warning about ``spec`` in iteration ``iter_path`` (tagged with its node id)."""
        self._log.line("warning", event, **{"node_id": node_id_for(spec.id, iter_path), "module": spec.name, **fields})

    @staticmethod
    def _log_failure(failure: Failure, spec: ModuleSpec, threads: Any, attempt: int, logger: Any) -> None:
        if not failure.timed_out:
            logger.error("module_failed", attempt=attempt, error=failure.cause, **failure.log_fields)
            return
        stuck = threads.abandon() if isinstance(threads, AttemptThreads) else 0
        logger.error("module_timeout", attempt=attempt, timeout=spec.timeout,
                     **({"threads_abandoned": stuck} if stuck else {}))

    async def _count_rows_read_later(self, spec: ModuleSpec, outputs: dict[str, Any], ctx: RunContext) -> None:
        """Set ``row_count`` from a lazy (dask) output when the flow reads it and the module left it unset.

        Counting computes the frame up to this module, an extra pass over its data,
        so it happens only for a count a template or condition uses.
        """
        if "row_count" in ctx.globals_set or "row_count" not in self._plan.globals_read.get(spec.id, ()):
            return
        frame = outputs.get(spec.output_ports[0]) if spec.output_ports else None
        if frame is None or not is_dask(frame) or not is_frame(frame):
            return
        ctx.logger.info(
            "row_count_counted", port=spec.output_ports[0],
            reason=f"the flow reads {spec.id}__row_count and the output is lazy: its rows are counted (one more pass)",
        )
        ctx.set_global("row_count", await self._contexts.threads.run_in_thread(len, frame))


def backend_of(spec: ModuleSpec) -> str:
    """The name of the backend ``spec`` runs on (``local`` by default)."""
    return str(spec.execution.get("backend", "local"))


def sum_rows(values: Mapping[str, Any]) -> int | None:
    """Rows of the eager frames and ended streams among ``values`` (dask frames and lists are not counted)."""
    total = None
    for value in values.values():
        if not is_frame(value):
            continue
        kind = kind_of(value)
        if kind is STREAM:
            if not value.ended:
                continue
            rows = int(value.rows)
        elif kind.lazy:
            continue
        else:  # len() of a table is its rows too; hasattr(frame, "num_rows") would cost a pandas column lookup
            rows = len(value)
        total = rows if total is None else total + rows
    return total


def _follow_streams(
    inputs: Mapping[str, Any], outputs: Mapping[str, Any], record: NodeRecord, ctx: RunContext
) -> None:
    """Update ``record`` when the module's output streams end: their rows and the globals set meanwhile.

    A module that returns a stream sets its row globals when the stream ends (the
    stream is read after the module returned), so its record catches up then; so do
    its rows in, when its input streams were read only through its output (a stage
    on them, or the stream passed on as it is): they have ended by then.
    """
    streams = [value for value in outputs.values() if is_stream(value)]
    if not streams:
        return
    unread = {port: value for port, value in inputs.items() if is_stream(value)} if record.rows_in is None else {}

    def caught_up() -> None:
        if all(stream.ended for stream in streams):
            record.rows_out = sum(int(stream.rows) for stream in streams)
            if unread and record.rows_in is None:
                record.rows_in = sum_rows(unread)
            record.globals = dict(ctx.globals_set)
            record.facts = ctx.stats.compact()

    for stream in streams:
        stream.on_end(caught_up)


def check_outputs(spec: ModuleSpec, outputs: Any, plan: JobPlan) -> None:
    """Refuse outputs that are not the module's declared, connected ports.

    Raises:
        TypeError: naming the unknown or missing ports (a module bug: reported with its traceback).
    """
    declared = spec.output_ports
    for port in outputs:
        if port not in declared:
            unknown = sorted(set(outputs) - set(declared))
            raise TypeError(f"run() returned unknown output port(s) {unknown}; declared: {list(declared)}")
    for port in plan.connected_outputs.get(spec.id, ()):
        if port not in outputs:
            missing = sorted(set(plan.connected_outputs[spec.id]) - set(outputs))
            raise TypeError(f"run() returned no value for connected output port(s) {missing}")
