"""The far side of a remote boundary: run one payload, answer with a result document.

:func:`execute_payload` is what the shipped entry points call (the Lambda
handler in :mod:`pypeline.backends.aws_lambda`, the Glue script in
:mod:`pypeline.backends.glue_entry`). It never raises: every failure, from
a malformed payload to the module's own exception, becomes a result with
``"status": "error"`` and the remote traceback, so the caller can report a
clear module error at once (instead of, say, a Lambda runtime timing out on
an unhandled exception).

The module runs exactly as it does locally (:func:`run_module_lifecycle`: a
fresh instance, ``setup`` -> ``run`` -> ``teardown`` always) with a
:class:`RunContext` built here: a global store seeded with the payload's
globals snapshot (so ``ctx.get_global`` sees what the module could see
locally), a logger that writes JSON lines to stderr (CloudWatch) and keeps
them for the result, and the iteration of the payload. Globals the module
sets and stats it records travel back in the result; the local backend
applies them to the local context.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, TextIO

from pypeline.backends.local import run_module_lifecycle
from pypeline.backends.remote_payload import RESULT_VERSION, check_payload, json_safe
from pypeline.backends.remote_secrets import resolve_far_side_secrets
from pypeline.backends.remote_staging import Stage
from pypeline.core.secret import SecretRegistry
from pypeline.modules.frames import is_dask
from pypeline.modules.sdk.context import RunContext, ThreadRunner
from pypeline.modules.sdk.globals import GlobalStore
from pypeline.secrets.transport import from_wire, lookup_from_env, to_wire

MAX_LOG_LINES = 500
"""Log lines kept for the result (all of them still go to stderr)."""

_LEVELS = ("debug", "info", "warning", "error", "critical")


class FarLogger:
    """A structlog-like logger for the far side: JSON lines to ``stream``, copies kept for the result."""

    def __init__(
        self,
        lines: list[dict[str, Any]],
        *,
        bound: dict[str, Any] | None = None,
        stream: TextIO | None = None,
        redact: Callable[[str], str] | None = None,
    ) -> None:
        self._lines = lines
        self._bound = dict(bound or {})
        self._stream = stream if stream is not None else sys.stderr
        self._redact = redact or (lambda text: text)

    def bind(self, **values: Any) -> FarLogger:
        """A logger that adds ``values`` to every line (shares the same sink)."""
        return FarLogger(self._lines, bound={**self._bound, **values}, stream=self._stream, redact=self._redact)

    def _log(self, level: str, event: str, **values: Any) -> None:
        line = {"level": level, "event": str(event), **self._bound, **values}
        text = self._redact(json.dumps(line, default=str))
        try:
            print(text, file=self._stream, flush=True)
        except (OSError, ValueError):  # a closed stderr must not fail the module
            pass
        if len(self._lines) < MAX_LOG_LINES:
            self._lines.append(json.loads(text))

    def __getattr__(self, name: str) -> Callable[..., None]:
        level = {"warn": "warning", "exception": "error", "msg": "info", "fatal": "critical"}.get(name, name)
        if level not in _LEVELS:
            raise AttributeError(name)
        return lambda event="", *args, **values: self._log(level, event, **values)


def _plain(value: Any) -> Any:
    """A JSON-able copy of stats and events (unknown objects become their text)."""
    return json.loads(json.dumps(value, default=str))


def error_result(
    exc: BaseException, *, logs: list[dict[str, Any]], redact: Callable[[str], str], started: float
) -> dict[str, Any]:
    """The result document for a failure (with the redacted traceback)."""
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return {
        "pypeline_result": RESULT_VERSION,
        "status": "error",
        "error": {"type": type(exc).__name__, "message": redact(str(exc)), "traceback": redact(tb)},
        "logs": logs,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
    }


class FarAttempt:
    """One module attempt on the far side: its log lines, the secrets it read, its RunContext.

    Every far side (the Lambda and Glue payloads here, a dask worker in
    :mod:`pypeline.backends.dask_worker`) builds the module's context the same
    way and redacts what it sends back by the same rule: the secret values its
    configs resolved, and those of globals and iteration items that arrived as
    references.
    """

    def __init__(self, *, stream: TextIO | None = None) -> None:
        self.started = time.perf_counter()
        self.logs: list[dict[str, Any]] = []
        self.stream = stream
        self._secrets = SecretRegistry()
        self._resolve = lookup_from_env(self._secrets)

    def redact(self, text: str) -> str:
        """``text`` with every form of every secret value this attempt knows replaced by ``***``."""
        return self._secrets.redact_text(text)

    def context(
        self, meta: dict[str, Any], configs: dict[str, Any], *, execution_mode: str, **log_fields: Any
    ) -> tuple[RunContext, dict[str, Any]]:
        """The module's RunContext and its configs with secrets resolved, from a payload or dask task ``meta``."""
        logger = FarLogger(self.logs, stream=self.stream, redact=self.redact).bind(
            run_id=meta["run_id"], node_id=meta["node_id"], attempt=meta["attempt"], side="remote", **log_fields
        )
        resolved, found = resolve_far_side_secrets(configs, meta["node_id"])
        for value in found:
            self._secrets.add(value)
        ctx = RunContext(
            run_id=meta["run_id"],
            module_id=meta["module_id"],
            node_id=meta["node_id"],
            globals_store=GlobalStore(from_wire(meta["globals"], self._resolve)),
            executor=ThreadRunner(None),
            logger=logger,
            execution_mode=execution_mode,
            iter_path=tuple(meta["iter_path"]),
            iter_items=tuple(from_wire(meta["iter_items"], self._resolve)),
            context_vars=meta["context"],
            output_key=meta["output_key"],
        )
        return ctx, resolved

    def duration_ms(self) -> float:
        return round((time.perf_counter() - self.started) * 1000, 3)

    def error(self, exc: BaseException) -> dict[str, Any]:
        """The result document for ``exc``, redacted."""
        return error_result(exc, logs=self.logs, redact=self.redact, started=self.started)


async def execute_payload(doc: Any, stage: Stage, *, stream: TextIO | None = None) -> dict[str, Any]:
    """Run the module attempt ``doc`` describes and return the result document (never raises).

    Args:
        doc: the decoded payload (see :mod:`pypeline.backends.remote_payload`).
        stage: access to inputs and outputs (S3, or the container's mounted folder).
        stream: where log lines go (stderr by default).
    """
    attempt = FarAttempt(stream=stream)
    try:
        payload = check_payload(doc)
        ctx, configs = attempt.context(payload, payload["configs"], execution_mode=payload["execution_mode"])
        inputs = await _load_inputs(payload, stage, ctx)
        ctx.logger.info("remote_module_started", module=payload["module_path"], inputs=sorted(inputs))
        outputs = await run_module_lifecycle(payload["module_path"], configs, inputs, ctx)
        refs = await _stage_outputs(outputs, payload, stage, ctx)
        result = {
            "pypeline_result": RESULT_VERSION,
            "status": "ok",
            "outputs": refs,
            "globals": json_safe(to_wire(ctx.globals_set), f"module '{payload['node_id']}' globals"),
            "stats": _plain(ctx.stats.to_dict()),
            "duration_ms": attempt.duration_ms(),
        }
        ctx.logger.info("remote_module_finished", outputs=sorted(refs), duration_ms=result["duration_ms"])
        result["logs"] = attempt.logs
        redacted: dict[str, Any] = json.loads(attempt.redact(json.dumps(result)))
        return redacted
    except Exception as exc:
        return attempt.error(exc)


async def _load_inputs(payload: dict[str, Any], stage: Stage, ctx: RunContext) -> dict[str, Any]:
    inputs: dict[str, Any] = {}
    for port, ref in payload["inputs"].items():
        if ref["kind"] == "json":
            inputs[port] = ref["value"]
            continue
        frame = await ctx.executor.run_in_thread(stage.get_frame, stage.parse(ref["uri"]), f"input '{port}'")
        if payload["execution_mode"] == "dask":
            from pypeline.modules.frames import to_dask

            frame = to_dask(frame)
        inputs[port] = frame
    return inputs


async def _stage_outputs(
    outputs: dict[str, Any], payload: dict[str, Any], stage: Stage, ctx: RunContext
) -> dict[str, Any]:
    import pandas as pd

    prefix = stage.parse(payload["output_prefix"])
    refs: dict[str, Any] = {}
    for port, value in outputs.items():
        if is_dask(value) and hasattr(value, "compute"):
            value = await ctx.executor.run_in_thread(value.compute)
        if isinstance(value, pd.DataFrame):
            uri = prefix.join(f"{port}{stage.frame_suffix}")
            rows = await ctx.executor.run_in_thread(stage.put_frame, uri, value)
            refs[port] = {"kind": "frame", "uri": str(uri), "rows": rows}
        else:
            refs[port] = {"kind": "json", "value": json_safe(value, f"output port '{port}'")}
    return refs
