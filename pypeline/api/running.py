"""Run a job folder from Python: :func:`run` (synchronous) and :func:`run_async`.

Both go through :func:`pypeline.run.run.run_job`, the run ``pype run`` makes,
and return a :class:`~pypeline.api.report.RunReport` read from the run's
manifest. Unlike ``pype run`` they print nothing by default (the log still
goes to the run folder's ``log.jsonl``) and start no watchdog process: the
run shares the caller's process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pypeline.api.report import RunReport
from pypeline.run.run import RunOptions, RunResult, run_job, run_job_sync


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSettings:
    """The options of :func:`run` (docs/python-api.md, 'Running')."""

    env: str = "default"
    overrides: Mapping[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    resume: bool | str = False
    threads: int | None = None
    progress: str = "none"
    echo_logs: bool = False
    log_level: str = "info"

    def options(self) -> RunOptions:
        """The run's :class:`~pypeline.run.run.RunOptions`."""
        resume = "latest" if self.resume is True else (self.resume or None)
        return RunOptions(
            env=self.env, overrides=dict(self.overrides), run_id=self.run_id, resume=resume, threads=self.threads,
            progress=self.progress, echo_logs=self.echo_logs, log_level=self.log_level,
        )


def _report(job: Path, result: RunResult) -> RunReport:
    return RunReport.from_manifest(job, result.run_dir, result.manifest)


def run(
    job: str | Path,
    *,
    env: str = "default",
    overrides: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    resume: bool | str = False,
    threads: int | None = None,
    progress: str = "none",
    echo_logs: bool = False,
    log_level: str = "info",
) -> RunReport:
    """Run the job folder ``job`` (what ``pype build`` or :meth:`Flow.build` wrote) and wait for it.

    Args:
        job: the job folder, ``jobs/<name>``.
        env: the context environment (``--context``).
        overrides: context variables to set (``--set name=value``).
        run_id: the run's id (a new one by default).
        resume: ``True`` resumes the latest failed run, a run id resumes that run (``--resume``).
        threads: the size of the run's thread pool (``--threads``).
        progress: ``none`` (default), ``plain``, ``live`` or ``auto``, as ``pype run --progress``.
        echo_logs: also print the log lines to stderr.
        log_level: the least level logged.

    Returns:
        The run's report; a failed run is a report with ``status == "failed"`` (see ``raise_for_status``).

    Raises:
        JobError: for a missing, stale or invalid job folder, an unknown context or bad options.
        RuntimeError: when called from a running event loop (await :func:`run_async` there).
    """
    settings = RunSettings(
        env=env, overrides=dict(overrides or {}), run_id=run_id, resume=resume, threads=threads, progress=progress,
        echo_logs=echo_logs, log_level=log_level,
    )
    return run_with(Path(job), settings)


def run_with(job: Path, settings: RunSettings) -> RunReport:
    """:func:`run` with its options gathered (what :meth:`Flow.run` calls)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _report(job, run_job_sync(job, settings.options()))
    raise RuntimeError("pypeline.run() blocks; inside a running event loop, await pypeline.api.run_async(...)")


async def run_async(
    job: str | Path,
    *,
    env: str = "default",
    overrides: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    resume: bool | str = False,
    threads: int | None = None,
    progress: str = "none",
    echo_logs: bool = False,
    log_level: str = "info",
) -> RunReport:
    """:func:`run` for async code: the run shares the caller's event loop (same arguments)."""
    settings = RunSettings(
        env=env, overrides=dict(overrides or {}), run_id=run_id, resume=resume, threads=threads, progress=progress,
        echo_logs=echo_logs, log_level=log_level,
    )
    return await run_with_async(Path(job), settings)


async def run_with_async(job: Path, settings: RunSettings) -> RunReport:
    """:func:`run_async` with its options gathered (what :meth:`Flow.run_async` calls)."""
    return _report(job, await run_job(job, settings.options()))
