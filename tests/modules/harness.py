"""Run one built-in module directly (no flow), as the runtime would, in every execution mode.

``run_module("csv_source", {"file_path": ...}, mode="dask")`` resolves the
configs against the module's CONFIG_SCHEMA (defaults, types, enums), runs the
module's ``check_configs`` like the build does, converts pandas inputs to the
mode's kind of frame (dask frames; Arrow tables in arrow mode; streams of
several batches in stream mode, for the modules that declare they take them,
as the run's frame boundary does), and returns a :class:`ModuleRun` whose
``outputs`` are pandas again (dask results computed, streams read to their
end, which sets the globals a streaming module reports then), with the
globals, stats and events the module reported.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pypeline.modules.builtins import BUILTIN_MODULES
from pypeline.modules.frames import is_dask
from pypeline.modules.kinds import BatchStream, kind_of
from pypeline.modules.kinds.convert import to_table
from pypeline.modules.loader import load_module_class
from pypeline.modules.sdk import GlobalStore, RunContext, ThreadRunner
from pypeline.modules.sdk.config import resolve_configs

MODES = ["pandas", "dask", "arrow", "stream"]
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
    given = {port: _as_mode(value, mode, partitions, cls) for port, value in (inputs or {}).items()}
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
        if isinstance(value, BatchStream):
            value.claim(module_id)
        outputs[port] = kind_of(value).to_pandas(value) if _is_frame(value) and not is_dask(value) else (
            value.compute() if is_dask(value) else value
        )
    return ModuleRun(outputs=outputs, raw_outputs=raw, ctx=ctx, logger=logger)


def _is_frame(value: Any) -> bool:
    try:
        kind_of(value)
    except TypeError:
        return False
    return True


def _as_mode(value: Any, mode: str, partitions: int, cls: Any) -> Any:
    """A pandas input as the module receives it in ``mode`` (see the module docstring)."""
    if not isinstance(value, pd.DataFrame):
        return value
    if mode == "dask":
        import dask.dataframe as dd

        return dd.from_pandas(value, npartitions=max(1, min(partitions, len(value) or 1)))
    if mode == "arrow" and cls.ACCEPTS_ARROW:
        return to_table(value)
    if mode == "stream" and cls.STREAMS:
        rows = max(1, -(-len(value) // max(1, partitions)))
        return BatchStream.from_table(to_table(value), origin="input", batch_rows=rows)
    return value
