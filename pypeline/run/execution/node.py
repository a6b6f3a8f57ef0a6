"""Run one node: templates -> config check -> attempts with backoff -> outputs.

For each attempt the node runner renders the module's configs (templates see
the current globals and iteration), re-checks their types, builds a fresh
:class:`RunContext`, and submits a :class:`ModuleTask` to the executor of the
module's backend under the module's timeout. A failed attempt is retried
after ``retry_delay * 2**(attempt-1)`` seconds (capped by
``retry_max_delay``), up to ``retries`` times (module value, else the
settings default). Template and config errors are not retried: they would
fail the same way again.

Timeouts: the attempt is cancelled at its limit (its ``teardown`` runs) and
counts as failed; when the last attempt timed out, the node's status is
``timed_out``. Calls the attempt left running on the thread pool are
abandoned (``pool.py``); when the event loop itself is wedged, the watchdog
process, told of each deadline, stops the run (``run/guard/``).

Cancellation (``fail_strategy: halt``) propagates untouched; the executor
awaits the module's ``teardown`` on the way out.

Secrets: before the first attempt the templater prefetches the secrets the
configs use (off the event loop); every failure text that leaves this runner
(record, log, :class:`ModuleError`) goes through the run's secret registry.
"""

from __future__ import annotations

import asyncio
import errno
import time
import traceback
from typing import Any

from pypeline.core.errors import ModuleError, PypelineError, SecretError, TemplateError
from pypeline.executors.base import Executor, ModuleTask
from pypeline.job.spec import ModuleSpec
from pypeline.modules.loader import load_module_class
from pypeline.modules.sdk.config import ConfigProblem, check_values
from pypeline.modules.sdk.context import RunContext
from pypeline.modules.sdk.globals import node_id_for
from pypeline.run.artifacts.artifact import is_dask, is_frame
from pypeline.run.execution.pool import AttemptThreads
from pypeline.run.execution.services import RunServices
from pypeline.run.scheduling.state import NodeRecord, utc_now
from pypeline.run.templater.templater import Scope


def retry_delay(settings: dict[str, Any], attempt: int) -> float:
    """Seconds to wait before retrying after failed attempt number ``attempt`` (1-based)."""
    base = float(settings.get("retry_delay", 1.0))
    cap = float(settings.get("retry_max_delay", 60.0))
    return float(min(cap, base * (2 ** (attempt - 1))))


def _rows(value: Any) -> int | None:
    if isinstance(value, list):
        return None
    if not type(value).__module__.startswith("dask") and is_frame(value):
        return len(value)
    return None


def _sum_rows(values: dict[str, Any]) -> int | None:
    counts = [_rows(v) for v in values.values()]
    known = [c for c in counts if c is not None]
    return sum(known) if known else None


async def run_node(
    services: RunServices,
    spec: ModuleSpec,
    inputs: dict[str, Any],
    iter_path: tuple[int, ...],
    iter_items: tuple[Any, ...],
) -> dict[str, Any]:
    """Run ``spec`` in the iteration ``iter_path`` and return its outputs.

    Raises:
        ModuleError: when every attempt failed (or a template/config error occurred).
        asyncio.CancelledError: when the run halts.
    """
    node_id = node_id_for(spec.id, iter_path)
    backend = str(spec.execution.get("backend", "local"))
    record = NodeRecord(
        node_id=node_id,
        module_id=spec.id,
        subflow=services.job.subflow_of[spec.id],
        iter_path=iter_path,
        backend=backend,
    )
    services.state.add_node(record)
    record.status = "running"
    record.started = utc_now()
    record.rows_in = _sum_rows(inputs)
    services.observers.emit("node_started", record)
    logger = services.log.logger(node_id=node_id, module=spec.name)
    settings = services.job.settings
    retries = spec.retries if spec.retries is not None else int(settings.get("retries", 0))
    executor = services.executors[backend]
    scope = Scope(module_id=spec.id, iter_path=iter_path, iter_items=iter_items)
    redact = services.secrets.redact_text
    started = time.perf_counter()
    timed_out = False
    try:
        if spec.id in services.job.templated:
            await services.templater.prepare(spec.configs, services.threads.run_in_thread)
        for attempt in range(1, retries + 2):
            record.attempts = attempt
            threads = AttemptThreads(services.pool) if spec.timeout and services.pool else services.threads
            ctx = RunContext(
                run_id=services.run_id,
                module_id=spec.id,
                node_id=node_id,
                globals_store=services.globals,
                executor=threads,
                logger=logger.bind(attempt=attempt),
                artifact_manager=services.artifacts,
                execution_mode=services.execution_mode,
                iter_path=iter_path,
                iter_items=iter_items,
                context_vars=services.context_vars,
                event_listener=services.observers.node_event,
                output_key=services.output_key(node_id),
                secrets=services.secrets,
                job_name=services.job.name,
                temp_ledger=services.temp_ledger,
            )
            configs = (
                _render_configs(services, spec, scope, node_id, attempt, backend)
                if spec.id in services.job.templated else spec.configs
            )
            task = ModuleTask(
                module_path=spec.module_path,
                module_id=spec.id,
                node_id=node_id,
                configs=configs,
                inputs=inputs,
                ctx=ctx,
                options={**settings.get("backends", {}).get(backend, {}), **spec.execution},
                attempt=attempt,
                remote_configs=None if backend == "local" else _remote_configs(services, spec, scope),
            )
            limit = asyncio.timeout(spec.timeout) if spec.timeout else None
            timed_out = False
            try:
                if limit is None:
                    outputs = await executor.submit(task)
                else:
                    outputs = await _submit_within(limit, spec, executor, task, services)
                _check_outputs(spec, outputs, services)
                await count_rows_read_later(services, spec, outputs, ctx)
            except asyncio.CancelledError:
                raise
            except TimeoutError as exc:
                if limit is None or not limit.expired():  # the module's own TimeoutError (a socket, ...)
                    cause = redact(f"{type(exc).__name__}: {exc}")
                    logger.error("module_failed", attempt=attempt, error=cause)
                else:
                    timed_out = True
                    cause = f"timed out after {spec.timeout:g}s"
                    stuck = threads.abandon() if isinstance(threads, AttemptThreads) else 0
                    logger.error("module_timeout", attempt=attempt, timeout=spec.timeout,
                                 **({"threads_abandoned": stuck} if stuck else {}))
            except PypelineError as exc:
                cause = redact(exc.format_message())
                logger.error("module_failed", attempt=attempt, error=cause)
            except Exception as exc:
                problem = _file_problem(exc)  # the user's file system, not a bug: no traceback
                cause = redact(problem or f"{type(exc).__name__}: {exc}")
                trace = {} if problem else {"traceback": traceback.format_exc(limit=20)}
                logger.error("module_failed", attempt=attempt, error=cause, **trace)
            else:
                record.status = "success"
                record.rows_out = _sum_rows(outputs)
                logger.info("module_finished", attempts=attempt, rows_in=record.rows_in, rows_out=record.rows_out)
                return outputs
            finally:
                record.facts = ctx.stats.to_dict()
                record.globals = dict(ctx.globals_set)
            if attempt <= retries:
                delay = retry_delay(settings, attempt)
                logger.warning("module_retry", attempt=attempt, next_attempt=attempt + 1, delay_s=delay)
                await asyncio.sleep(delay)
        record.status = "timed_out" if timed_out else "failed"
        record.error = cause
        raise ModuleError(node_id, cause, attempt=record.attempts, backend=backend)
    except asyncio.CancelledError:
        record.status = "cancelled"
        raise
    except (ModuleError, TemplateError, SecretError) as exc:
        if record.status != "timed_out":
            record.status = "failed"
        record.error = record.error or redact(exc.format_message())
        raise
    finally:
        record.ended = utc_now()
        record.duration_ms = round((time.perf_counter() - started) * 1000, 3)
        services.observers.emit("node_finished", record)


async def _submit_within(
    limit: asyncio.Timeout, spec: ModuleSpec, executor: Executor, task: ModuleTask, services: RunServices
) -> dict[str, Any]:
    """``executor.submit(task)`` under ``limit``, with the watchdog told of the attempt's deadline.

    The loop's timeout cancels the attempt at its limit; the watchdog stops the
    process if the loop cannot (code holding the GIL), see ``run/guard/watchdog.py``.
    """
    watchdog = services.watchdog
    if watchdog is None:
        async with limit:
            return await executor.submit(task)
    subflow, backend = services.job.subflow_of[spec.id], str(spec.execution.get("backend", "local"))
    watchdog.attempt_started(task.node_id, spec.id, subflow, backend, task.attempt, float(spec.timeout or 0))
    try:
        async with limit:
            return await executor.submit(task)
    finally:
        watchdog.attempt_ended(task.node_id)


_FILE_ERRNOS = {
    errno.EACCES, errno.EPERM, errno.ENOENT, errno.EISDIR, errno.ENOTDIR, errno.EROFS, errno.ENOSPC,
    errno.ELOOP, errno.ENAMETOOLONG, errno.EIO,
}


def _file_problem(exc: BaseException) -> str | None:
    """``cannot access 'data/x.csv': Permission denied`` for an OSError about a named file, else None."""
    if isinstance(exc, OSError) and exc.filename and exc.errno in _FILE_ERRNOS:
        return f"cannot access '{exc.filename}': {exc.strerror}"
    return None


def _render_configs(
    services: RunServices, spec: ModuleSpec, scope: Scope, node_id: str, attempt: int, backend: str
) -> dict[str, Any]:
    configs = services.templater.render(spec.configs, scope)  # TemplateError names module and key
    if configs != spec.configs:
        cls = load_module_class(spec.module_path)
        known = {**cls.CONFIG_SCHEMA.get("optional", {}), **cls.CONFIG_SCHEMA.get("required", {})}
        try:
            check_values(known, configs)
        except ConfigProblem as exc:
            raise ModuleError(
                node_id, f"after templates were resolved: {exc.message} (expected {exc.expected})",
                attempt=attempt, backend=backend,
            ) from None
    return configs


def _remote_configs(services: RunServices, spec: ModuleSpec, scope: Scope) -> dict[str, Any]:
    """What a remote payload may carry: every template resolved except secrets (see the templater)."""
    return services.templater.render(spec.configs, scope, resolve_secrets=False)


async def count_rows_read_later(
    services: RunServices, spec: ModuleSpec, outputs: dict[str, Any], ctx: RunContext
) -> None:
    """Set ``row_count`` from a lazy (dask) output when the flow reads it and the module left it unset.

    Counting computes the frame up to this module, an extra pass over its data,
    so it happens only for a count a template or condition uses.
    """
    if "row_count" in ctx.globals_set or "row_count" not in services.job.globals_read.get(spec.id, ()):
        return
    frame = outputs.get(spec.output_ports[0]) if spec.output_ports else None
    if frame is None or not is_dask(frame) or not is_frame(frame):
        return
    ctx.logger.info(
        "row_count_counted", port=spec.output_ports[0],
        reason=f"the flow reads {spec.id}__row_count and the output is lazy: its rows are counted (one more pass)",
    )
    ctx.set_global("row_count", await services.threads.run_in_thread(len, frame))


def _check_outputs(spec: ModuleSpec, outputs: dict[str, Any], services: RunServices) -> None:
    unknown = sorted(set(outputs) - set(spec.output_ports))
    if unknown:
        raise TypeError(
            f"run() returned unknown output port(s) {unknown}; declared: {list(spec.output_ports)}"
        )
    missing = sorted(services.job.connected_outputs.get(spec.id, frozenset()) - set(outputs))
    if missing:
        raise TypeError(f"run() returned no value for connected output port(s) {missing}")
