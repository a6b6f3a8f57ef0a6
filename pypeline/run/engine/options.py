"""What a run is asked to do (:class:`RunOptions`) and what it did (:class:`RunResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pypeline.core.secret import SecretRegistry


@dataclass(slots=True, kw_only=True)
class RunOptions:
    """What ``pype run`` passes in."""

    env: str = "default"
    overrides: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    threads: int | None = None
    progress: str = "auto"
    """``auto`` (live on a TTY, plain otherwise), ``live``, ``plain`` or ``none``."""
    log_level: str | None = None
    """Lowest level echoed to stderr; ``None``: ``warning`` for human lines, ``info`` for JSON lines."""
    log_format: str = "auto"
    """Echoed lines: ``human``, ``json``, or ``auto`` (human on a terminal, JSON otherwise; see console_log.py)."""
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
    parent_run: dict[str, Any] | None = None
    """The run that started this one with ``run_job`` (``job``, ``run_id``, ``node_id``, ``output_key``,
    ``depth``): written into the manifest as ``parent_run``."""
    lifeline: bool = False
    """End the run (as SIGTERM does) when standard input reaches its end: the parent process is gone
    (``run/guard/lifeline.py``). Needs the run's own event loop."""


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
