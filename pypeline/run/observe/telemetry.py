"""Whether a run is traced with OpenTelemetry, decided without importing it.

Tracing is on when ``pype run --otel`` is given, or when the standard
``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``)
environment variable is set, or when the caller passes its own
``TracerProvider`` (tests, programs embedding PYpeline). ``--no-otel`` turns
it off whatever the environment says. When it is off, nothing of
OpenTelemetry is imported and no observer is added, so tracing costs
nothing. When it is on, :mod:`pypeline.run.observe.spans` does the work.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from pypeline.core.errors import JobError
from pypeline.core.secret import SecretRegistry

ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
INSTALL_HINT = "tracing needs the 'otel' extra: pip install 'pypeline[otel]'"


def tracing_enabled(option: bool | None, env: Mapping[str, str] | None = None) -> bool:
    """``option`` when given, else whether an OTLP endpoint variable is set."""
    if option is not None:
        return option
    env = os.environ if env is None else env
    return any(env.get(name, "").strip() for name in ENDPOINT_VARS)


def telemetry_observer(
    option: bool | None,
    provider: Any,
    job: Any,
    run_id: str,
    context_env: str,
    secrets: SecretRegistry,
    warn: Callable[[str], None] | None = None,
) -> Any:
    """A span observer for this run, or ``None`` when tracing is off.

    Raises:
        JobError: ``--otel`` was asked for but OpenTelemetry is not installed.
    """
    if provider is None and not tracing_enabled(option):
        return None
    if option is False:
        return None
    try:
        from pypeline.run.observe.spans import SpanObserver, otlp_provider
    except ImportError:
        if option:
            raise JobError(f"--otel: {INSTALL_HINT}") from None
        if warn is not None:
            warn(f"an OTLP endpoint is set but {INSTALL_HINT}; this run is not traced")
        return None
    owns = provider is None
    if provider is None:
        provider = otlp_provider()
    return SpanObserver(provider, job=job, run_id=run_id, context_env=context_env, secrets=secrets, owns=owns)
