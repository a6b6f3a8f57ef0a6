"""Run one node: templates -> config check -> attempts with backoff -> outputs.

For each attempt the node runner renders the module's configs (templates see
the current globals and iteration), re-checks their types, builds a fresh
:class:`RunContext`, and submits a :class:`ModuleTask` to the executor of the
module's backend under the module's timeout. A failed attempt is retried
after ``retry_delay * 2**(attempt-1)`` seconds (capped by
``retry_max_delay``), up to ``retries`` times (module value, else the
settings default). Template and config errors are not retried: they would
fail the same way again.

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

from pypeline.build.spec import ModuleSpec
from pypeline.core.errors import ModuleError, PypelineError, SecretError, TemplateError
from pypeline.executors.base import ModuleTask
from pypeline.modules.loader import load_module_class
from pypeline.modules.sdk.config import ConfigProblem, check_values, expression_keys
from pypeline.modules.sdk.context import RunContext
from pypeline.modules.sdk.globals import node_id_for
from pypeline.run.artifacts.artifact import is_dask, is_frame
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
    try:
        if spec.id in services.job.templated:
            await services.templater.prepare(spec.configs, services.threads.run_in_thread)
        for attempt in range(1, retries + 2):
            record.attempts = attempt
            ctx = RunContext(
                run_id=services.run_id,
                module_id=spec.id,
                node_id=node_id,
                globals_store=services.globals,
                executor=services.threads,
                logger=logger.bind(attempt=attempt),
                artifact_manager=services.artifacts,
                execution_mode=services.execution_mode,
                iter_path=iter_path,
                iter_items=iter_items,
                context_vars=services.context_vars,
                event_listener=services.observers.node_event,
                output_key=services.output_key(node_id),
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
                raw_configs=spec.configs,
                remote_configs=None if backend == "local" else _remote_configs(services, spec, scope),
            )
            try:
                if spec.timeout:
                    async with asyncio.timeout(spec.timeout):
                        outputs = await executor.submit(task)
                else:
                    outputs = await executor.submit(task)
                _check_outputs(spec, outputs, services)
                await count_rows_read_later(services, spec, outputs, ctx)
            except asyncio.CancelledError:
                raise
            except TimeoutError:
                cause = f"timed out after {spec.timeout:g}s"
                logger.error("module_timeout", attempt=attempt, timeout=spec.timeout)
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
        record.status = "failed"
        record.error = cause
        raise ModuleError(node_id, cause, attempt=record.attempts, backend=backend)
    except asyncio.CancelledError:
        record.status = "cancelled"
        raise
    except (ModuleError, TemplateError, SecretError) as exc:
        record.status = "failed"
        record.error = record.error or redact(exc.format_message())
        raise
    finally:
        record.ended = utc_now()
        record.duration_ms = round((time.perf_counter() - started) * 1000, 3)
        services.observers.emit("node_finished", record)


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
    cls = load_module_class(spec.module_path)
    # TemplateError names module and key; expression configs get literals, never text
    configs = services.templater.render(spec.configs, scope, expressions=expression_keys(cls.CONFIG_SCHEMA))
    if configs != spec.configs:
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
    expressions = expression_keys(load_module_class(spec.module_path).CONFIG_SCHEMA)
    return services.templater.render(spec.configs, scope, resolve_secrets=False, expressions=expressions)


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
