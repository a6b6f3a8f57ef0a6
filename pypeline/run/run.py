"""Run a job folder: the entry point of ``pype run`` and of library callers.

:func:`run_job` checks what can be checked before anything opens (the job
folder, the run it resumes, the context and ``--set`` overrides, the run id
and the thread count), makes the run folder, and hands a
:class:`~pypeline.run.engine.engine.PreparedRun` to the
:class:`~pypeline.run.engine.engine.RunEngine`, which owns the run's
resources and records its outcome. The CLI calls :func:`run_job_sync` (one
``asyncio.run``); library code awaits :func:`run_job`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import secrets
import time
from pathlib import Path
from typing import Any

from pypeline.core.errors import JobError, PypelineError, RunError
from pypeline.core.secret import SecretRegistry
from pypeline.run.checkpoint.resume import plan_resume
from pypeline.run.engine.engine import PreparedRun, RunEngine
from pypeline.run.engine.heap import heap_frozen
from pypeline.run.engine.options import RunOptions, RunResult
from pypeline.run.job import load_context, load_job

__all__ = ["RunOptions", "RunResult", "new_run_id", "run_job", "run_job_sync", "thread_count"]

THREADS_ENV = "PYPELINE_THREADS"


def new_run_id() -> str:
    """``20261123T112233-ab12cd``: sortable by time, unique enough."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def thread_count(option: int | None, settings: dict[str, Any]) -> int:
    """``--threads``, else ``settings.threads``, else ``$PYPELINE_THREADS``, else ``cpu_count*2``."""
    if option:
        return option
    if settings.get("threads"):
        return int(settings["threads"])
    env = os.environ.get(THREADS_ENV)
    if env:
        try:
            value = int(env)
        except ValueError:
            raise JobError(f"{THREADS_ENV}={env!r} is not a whole number") from None
        if value < 1:
            raise JobError(f"{THREADS_ENV}={env!r} must be at least 1")
        return value
    return (os.cpu_count() or 1) * 2


def run_job_sync(job_dir: str | Path, options: RunOptions | None = None) -> RunResult:
    """Run a job folder from synchronous code (the CLI's one ``asyncio.run``).

    The event loop is the run's own, so the run's thread pool also becomes the
    loop's default executor (``asyncio.to_thread`` and ``run_in_executor(None, ...)``
    in module code use the same pool).
    """
    try:
        return asyncio.run(run_job(job_dir, options or RunOptions(), own_loop=True))
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None  # SIGTERM: the manifest records it; the CLI exits 130


async def run_job(job_dir: str | Path, options: RunOptions, *, own_loop: bool = False) -> RunResult:
    """Run a job folder and return its result.

    Args:
        job_dir: the job folder ``pype build`` wrote.
        options: what ``pype run`` passes in.
        own_loop: True when the caller made the event loop for this run alone (then the
            run's pool becomes its default executor; a caller's loop is left alone).

    Raises:
        JobError: for a missing, stale or invalid job folder or bad options (nothing runs then).
    """
    with heap_frozen():  # what is alive now stays out of the run's garbage collections (engine/heap.py)
        return await _run_job(job_dir, options, own_loop)


async def _run_job(job_dir: str | Path, options: RunOptions, own_loop: bool) -> RunResult:
    job = load_job(job_dir)
    resume = plan_resume(job.runs_dir, options.resume, job.flow_hash) if options.resume else None
    if resume is not None:  # a resumed run uses the context of the run it resumes
        options = dataclasses.replace(options, env=resume.env, overrides=resume.overrides)
    context_vars = load_context(job, options.env, options.overrides)
    run_id = options.run_id or new_run_id()
    if not run_id.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise JobError(f"run id {run_id!r} may only hold letters, digits, '-', '_' and '.'")
    run_dir = job.runs_dir / run_id
    if run_dir.exists():
        raise JobError(f"{run_dir}: a run with id '{run_id}' already exists; choose another --run-id")
    threads = thread_count(options.threads, job.settings)
    try:
        run_dir.mkdir(parents=True)
    except OSError as exc:
        raise JobError(f"{run_dir}: cannot create the run folder: {exc.strerror or exc}") from None
    secrets_seen = options.secrets if options.secrets is not None else SecretRegistry()
    prepared = PreparedRun(
        plan=job, options=options, context_vars=context_vars, run_id=run_id, run_dir=run_dir, threads=threads,
        resume=resume, secrets=secrets_seen, own_loop=own_loop,
    )
    try:
        async with RunEngine(prepared) as engine:
            return await engine.run()
    except Exception as exc:
        _redact_exception(exc, secrets_seen)
        raise


def _redact_exception(exc: Exception, secrets_seen: SecretRegistry) -> None:
    """Never let an error that escapes the run show a secret value (docs/secrets.md)."""
    text = str(exc)
    if not secrets_seen.count or not secrets_seen.contains_secret(text):
        return
    if isinstance(exc, PypelineError):
        exc.message = secrets_seen.redact_text(exc.message)
        exc.args = (exc.message,)
        return
    raise RunError(f"internal error: {type(exc).__name__}: {secrets_seen.redact_text(text)}") from None
