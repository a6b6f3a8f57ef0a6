"""Run one built-in module directly (no flow), as the runtime would, in pandas or dask mode.

``run_module("csv_source", {"file_path": ...}, mode="dask")`` resolves the
configs against the module's CONFIG_SCHEMA (defaults, types, enums), runs the
module's ``check_configs`` like the build does, converts pandas inputs to dask
frames in dask mode, and returns a :class:`ModuleRun` whose ``outputs`` are
pandas again (dask results computed), with the globals, stats and events the
module reported.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pypeline.modules.builtins import BUILTIN_MODULES
from pypeline.modules.frames import is_dask
from pypeline.modules.loader import load_module_class
from pypeline.modules.sdk import GlobalStore, RunContext, ThreadRunner
from pypeline.modules.sdk.config import resolve_configs

MODES = ["pandas", "dask"]
_RUN_NUMBERS = itertools.count(1)


@dataclass
class RecordingLogger:
    """A structlog-like logger that keeps what it was told."""

    lines: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def bind(self, **_kw: Any) -> RecordingLogger:
        return self

    def _log(self, level: str, event: str, **kw: Any) -> None:
        self.lines.append((level, event, kw))

    def info(self, event: str, **kw: Any) -> None:
        self._log("info", event, **kw)

    def warning(self, event: str, **kw: Any) -> None:
        self._log("warning", event, **kw)

    def error(self, event: str, **kw: Any) -> None:
        self._log("error", event, **kw)

    def debug(self, event: str, **kw: Any) -> None:
        self._log("debug", event, **kw)


@dataclass
class ModuleRun:
    outputs: dict[str, Any]
    raw_outputs: dict[str, Any]
    ctx: RunContext
    logger: RecordingLogger

    @property
    def globals(self) -> dict[str, Any]:
        return dict(self.ctx.globals_set)

    @property
    def stats(self) -> dict[str, Any]:
        return dict(self.ctx.stats.extra)

    @property
    def events(self) -> list[dict[str, Any]]:
        return list(self.ctx.stats.events)


class ConfigRejected(ValueError):
    """The schema or ``check_configs`` refused the configs (what the build would report)."""


def module_class(name: str) -> Any:
    return load_module_class(BUILTIN_MODULES[name])


def check(name: str, configs: dict[str, Any]) -> dict[str, Any]:
    """Resolve ``configs`` as the build does; raise :class:`ConfigRejected` with the build's reason."""
    cls = module_class(name)
    required = set(cls.CONFIG_SCHEMA.get("required", {}))
    sections = {
        "required": {k: v for k, v in configs.items() if k in required},
        "optional": {k: v for k, v in configs.items() if k not in required},
    }
    from pypeline.modules.sdk.config import ConfigProblem

    try:
        resolved = resolve_configs(cls.CONFIG_SCHEMA, sections)
    except ConfigProblem as exc:
        raise ConfigRejected(f"{exc.message} (expected {exc.expected})") from None
    problems = cls.check_configs(resolved)
    if problems:
        raise ConfigRejected("; ".join(problems))
    return resolved


async def run_module(
    name: str,
    configs: dict[str, Any] | None = None,
    inputs: dict[str, Any] | None = None,
    *,
    mode: str = "pandas",
    partitions: int = 2,
    module_id: str = "mod",
    globals_store: GlobalStore | None = None,
    executor: ThreadRunner | None = None,
    run_id: str | None = None,
    job: str = "test-job",
) -> ModuleRun:
    """Run the built-in ``name`` once (setup, run, teardown) and return what it produced."""
    cls = module_class(name)
    resolved = check(name, configs or {})
    logger = RecordingLogger()
    ctx = RunContext(
        run_id=run_id or f"test-run-{next(_RUN_NUMBERS)}",  # each call is a run of its own by default
        module_id=module_id,
        node_id=module_id,
        globals_store=globals_store or GlobalStore(),
        executor=executor or ThreadRunner(None),
        logger=logger,
        execution_mode=mode,
        job_name=job,
    )
    given = {}
    for port, value in (inputs or {}).items():
        if mode == "dask" and isinstance(value, pd.DataFrame):
            import dask.dataframe as dd

            value = dd.from_pandas(value, npartitions=max(1, min(partitions, len(value) or 1)))
        given[port] = value
    module = cls(resolved)
    await module.setup(ctx)
    try:
        raw = await module.run(given, ctx) or {}
    finally:
        await module.teardown(ctx)
    outputs = {}
    for port, value in raw.items():
        if mode == "dask" and isinstance(value, pd.DataFrame):
            raise AssertionError(f"port '{port}' returned a pandas frame in dask mode")
        outputs[port] = value.compute() if is_dask(value) else value
    return ModuleRun(outputs=outputs, raw_outputs=raw, ctx=ctx, logger=logger)
