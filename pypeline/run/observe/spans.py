"""OpenTelemetry spans for a run: run -> sub flow instance -> module (docs/observability.md).

A :class:`SpanObserver` is a run observer (see ``ObserverList`` in
``run/observe/events.py``). It opens and closes spans as the scheduler
reports life-cycle events, always with an explicit parent, so the tree does
not depend on which asyncio task or thread reports an event::

    run sample_etl                    pipeline.name, pipeline.version, run.id, run.status
    ├── subflow load                  subflow.id, subflow.instance, iter.path, subflow.status
    │   ├── module read               module.id, node.id, backend, attempt, rows.in, rows.out, duration.ms
    │   │     events: missing_column {column=...}, attempt_failed {...}
    │   └── module write
    └── subflow report (skipped)      zero-length span with subflow.reason

Module warnings and coercions (``ctx.emit_event``) become span events (for a
module on a remote backend, when its result comes back); a
failed attempt becomes an ``attempt_failed`` event; a failed module or sub
flow gets status ERROR and an ``exception`` event. Every attribute and event
value goes through the run's secret registry first, so a resolved secret
never reaches a span.

:func:`otlp_provider` builds the provider used by ``pype run --otel``: an
OTLP/HTTP exporter (endpoint from ``OTEL_EXPORTER_OTLP_ENDPOINT``, default
``http://localhost:4318``) behind a batch processor, flushed when the run ends.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, Status, StatusCode

from pypeline.core.secret import SecretRegistry
from pypeline.run.state.records import FAILED, NodeRecord, SubflowRecord, subflow_key_str

TRACER_NAME = "pypeline"
LOG_EVENTS = {"module_failed": "attempt_failed", "module_timeout": "attempt_timed_out", "module_retry": "retry"}
"""Run-log events copied onto the module span (log event -> span event name)."""


def otlp_provider() -> TracerProvider:
    """A provider exporting over OTLP/HTTP (protobuf) as the ``OTEL_*`` variables say."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": "pypeline"}
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def _clean(value: Any, secrets: SecretRegistry) -> Any:
    """A value OpenTelemetry accepts as an attribute, redacted; ``None`` to drop it."""
    if value is None:
        return None
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, (list, tuple)):
        items = [_clean(v, secrets) for v in value]
        items = [v for v in items if v is not None]
        if all(isinstance(v, int) and not isinstance(v, bool) for v in items):
            return items
        return [str(v) for v in items]
    return secrets.redact_text(str(secrets.redact(value)))


class SpanObserver:
    """Turns run events into spans (see the module docstring)."""

    def __init__(
        self,
        provider: Any,
        *,
        job: Any,
        run_id: str,
        context_env: str,
        secrets: SecretRegistry,
        owns: bool = False,
    ) -> None:
        from pypeline.core.version import package_version

        self.provider = provider
        self.owns = owns
        self.tracer = provider.get_tracer(TRACER_NAME, package_version())
        self.secrets = secrets
        self.job = job
        self.run_id = run_id
        self.context_env = context_env
        self._lock = threading.Lock()
        self._run: Span | None = None
        self._subflows: dict[tuple[str, tuple[int, ...]], Span] = {}
        self._nodes: dict[str, Span] = {}
        self._closed = False
        self._base = self._attrs(
            {"pipeline.name": job.name, "pipeline.version": str(job.meta.get("version", "")) or None}
        )

    def _attrs(self, values: dict[str, Any]) -> dict[str, Any]:
        cleaned = {key: _clean(value, self.secrets) for key, value in values.items()}
        return {key: value for key, value in cleaned.items() if value is not None}

    def _start(self, name: str, parent: Span | None, attributes: dict[str, Any]) -> Span:
        context = trace.set_span_in_context(parent) if parent is not None else None
        span: Span = self.tracer.start_span(name, context=context, attributes={**self._base, **self._attrs(attributes)})
        return span

    def _fail(self, span: Span, error: str | None, kind: str) -> None:
        message = self.secrets.redact_text(error or "failed")
        span.set_status(Status(StatusCode.ERROR, message))
        span.add_event("exception", {"exception.type": kind, "exception.message": message})

    # -- run ----------------------------------------------------------------------------------

    def run_started(self, run_id: str) -> None:
        self._run = self._start(
            f"run {self.job.name}",
            None,
            {
                "run.id": run_id,
                "run.context": self.context_env,
                "run.execution_mode": self.job.settings.get("execution_mode", "pandas"),
                "pipeline.flow_hash": self.job.flow_hash,
            },
        )

    def run_finished(self, status: str, manifest: dict[str, Any]) -> None:
        if self._run is None:
            return
        for entry in manifest.get("subflows", []):
            if entry["status"] in ("skipped", "not_run"):
                span = self._start(
                    f"subflow {entry['subflow']}",
                    self._run,
                    {
                        "subflow.id": entry["subflow"],
                        "subflow.instance": entry["instance"],
                        "iter.path": entry["iter_path"],
                        "subflow.status": entry["status"],
                        "subflow.reason": entry.get("reason"),
                    },
                )
                span.end()
        self._run.set_attribute("run.status", status)
        self._run.set_attribute("duration.ms", float(manifest.get("duration_ms") or 0.0))
        if status != "success":
            errors = manifest.get("errors") or []
            self._fail(self._run, "; ".join(errors[:3]) or "the run failed", "RunError")
        self._run.end()
        self._run = None

    # -- sub flows ----------------------------------------------------------------------------

    def subflow_started(self, record: SubflowRecord) -> None:
        key = (record.subflow, record.iter_path)
        span = self._start(
            f"subflow {record.subflow}",
            self._run,
            {
                "subflow.id": record.subflow,
                "subflow.instance": subflow_key_str(key),
                "iter.path": list(record.iter_path),
            },
        )
        with self._lock:
            self._subflows[key] = span

    def subflow_finished(self, record: SubflowRecord) -> None:
        with self._lock:
            span = self._subflows.pop((record.subflow, record.iter_path), None)
        if span is None:
            return
        span.set_attribute("subflow.status", record.status)
        if record.status == "failed":
            self._fail(span, record.error, "SubflowError")
        span.end()

    # -- modules ------------------------------------------------------------------------------

    def node_started(self, record: NodeRecord) -> None:
        with self._lock:
            parent = self._subflows.get((record.subflow, record.iter_path), self._run)
        spec = self.job.modules.get(record.module_id)
        span = self._start(
            f"module {record.module_id}",
            parent,
            {
                "module.id": record.module_id,
                "module.name": getattr(spec, "name", None),
                "module.type": getattr(spec, "type", None),
                "node.id": record.node_id,
                "subflow.id": record.subflow,
                "iter.path": list(record.iter_path),
                "backend": record.backend,
                "rows.in": record.rows_in,
            },
        )
        with self._lock:
            self._nodes[record.node_id] = span

    def node_event(self, node_id: str, name: str, attributes: dict[str, Any]) -> None:
        with self._lock:
            span = self._nodes.get(node_id)
        if span is not None:
            span.add_event(self.secrets.redact_text(name), self._attrs(attributes))

    def log_event(self, event: dict[str, Any]) -> None:
        """Run-log listener: copy attempt failures and retries onto the module span."""
        name = LOG_EVENTS.get(str(event.get("event")))
        if name is None:
            return
        with self._lock:
            span = self._nodes.get(str(event.get("node_id")))
        if span is not None:
            fields = {k: v for k, v in event.items() if k in ("attempt", "error", "timeout", "delay_s", "next_attempt")}
            span.add_event(name, self._attrs(fields))

    def node_finished(self, record: NodeRecord) -> None:
        with self._lock:
            span = self._nodes.pop(record.node_id, None)
        if span is None:
            return
        facts = record.facts or {}
        span.set_attributes(
            self._attrs(
                {
                    "module.status": record.status,
                    "attempt": record.attempts,
                    "rows.in": record.rows_in,
                    "rows.out": record.rows_out,
                    "duration.ms": record.duration_ms,
                    "files.read": facts.get("files_read") or None,
                    "files.written": facts.get("files_written") or None,
                }
            )
        )
        if record.backend != "local":  # events a remote far side reported arrive with its stats
            for event in facts.get("events") or []:
                attributes = {k: v for k, v in event.items() if k != "name"}
                span.add_event(self.secrets.redact_text(str(event.get("name", "event"))), self._attrs(attributes))
        if record.status in FAILED:
            self._fail(span, record.error, "ModuleError")
        span.end()

    # -- shutdown -----------------------------------------------------------------------------

    def close(self) -> None:
        """End spans left open (a cancelled or crashed run), then flush the exporter."""
        if self._closed:
            return
        self._closed = True
        with self._lock:
            open_spans = [*self._nodes.values(), *self._subflows.values()]
            self._nodes.clear()
            self._subflows.clear()
        for span in open_spans:
            span.set_attribute("cancelled", True)
            span.end()
        if self._run is not None:
            self._run.set_attribute("run.status", "interrupted")
            self._run.end()
            self._run = None
        if self.owns:
            self.provider.force_flush()
            self.provider.shutdown()
