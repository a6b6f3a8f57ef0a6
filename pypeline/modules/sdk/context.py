"""``RunContext``: what a running module sees of the run.

The run builds one context per node instance (a module in one iteration) and
passes it to ``setup``, ``run`` and ``teardown``. Module code uses it to

* log: ``ctx.logger.info("read", rows=n)`` (structlog, tagged with run and node ids);
* do blocking work off the event loop: ``await ctx.executor.run_in_thread(fn, *args)``
  on the one process-wide thread pool;
* share values: ``ctx.set_global("row_count", n)`` and ``ctx.get_global("mod", "row_count")``;
* know its iteration: ``ctx.iter_item`` / ``ctx.iter_index`` (``None`` outside iterations);
* report what it did: ``ctx.record_file_read(path)``, ``ctx.record_file_written(path)``,
  ``ctx.add_stat("rows_dropped", 3)``, ``ctx.emit_event("missing_column", column="x")``;
* say how far a long read or write is: ``ctx.progress(rows=n, nbytes=size)`` (totals so far;
  the progress display shows them while the module runs; ``atomic_output_path`` reports the
  file a sink writes, whose size the live display follows);
* write to an external system once: ``ctx.output_key`` names this module instance's
  output in the run *and in every run that resumes it*, so a sink that appends can
  record it in the same transaction and skip the write when a resumed run comes
  back to an instance whose write had committed before the kill (``sql_sink``);
* write files: ``with atomic_output_path(path, ctx) as tmp`` (``ctx.job_name`` goes into
  the ownership marker of a folder output, ``ctx.temp_ledger`` lists the temporary
  folder so that ``--resume`` removes it after a kill);
* compute lazy (dask) data: ``results = await ctx.compute(*collections)``, in one
  ``dask.compute`` with the other sinks of the sub flow, so work they share runs once
  (``sdk/joint.py``).

The context never knows which backend runs the module: a remote backend
builds its own context on the far side and ships the recorded facts back.
"""

from __future__ import annotations

import asyncio
import functools
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pypeline.core.secret import SecretRegistry
from pypeline.modules.sdk.globals import GlobalStore
from pypeline.modules.sdk.joint import compute as joint_compute

T = TypeVar("T")

EventListener = Callable[[str, str, dict[str, Any]], None]
"""Called as ``listener(node_id, event_name, attributes)`` for every ``emit_event``."""

ProgressListener = Callable[[str, dict[str, Any]], None]
"""Called as ``listener(node_id, {"rows": ..., "nbytes": ..., "writing": ...})`` for every ``progress``."""


class ThreadRunner:
    """Runs blocking callables on a shared :class:`concurrent.futures.Executor`."""

    def __init__(self, pool: Executor | None) -> None:
        self._pool = pool

    @property
    def pool(self) -> Executor | None:
        """The pool this runner submits to (``None``: the event loop's default)."""
        return self._pool

    @property
    def max_workers(self) -> int | None:
        """Size of the pool (``--threads`` / ``settings.threads`` / ``PYPELINE_THREADS``), if known."""
        size = getattr(self._pool, "_max_workers", None)
        return size if isinstance(size, int) else None

    async def run_in_thread(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Await ``fn(*args, **kwargs)`` run on the pool (the default loop pool if none)."""
        loop = asyncio.get_running_loop()
        call = functools.partial(fn, *args, **kwargs) if kwargs else functools.partial(fn, *args)
        return await loop.run_in_executor(self._pool, call)


def full_facts(facts: Mapping[str, Any]) -> dict[str, Any]:
    """``facts`` (:meth:`NodeStats.compact`) with the parts it left out, empty: the :meth:`NodeStats.to_dict` form."""
    return {"files_read": [], "files_written": [], "events": [], "stats": {}, **facts}


@dataclass(slots=True)
class NodeStats:
    """Facts a module reports about itself, collected into the manifest."""

    files_read: list[str] = field(default_factory=list)
    files_written: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return full_facts(self.compact())

    def compact(self) -> dict[str, Any]:
        """:meth:`to_dict` without its empty parts: what a node record keeps (:func:`full_facts` puts them back).

        A run keeps a record per module; empty lists in each are thousands of objects
        the garbage collector walks for nothing.
        """
        facts: dict[str, Any] = {}
        if self.files_read:
            facts["files_read"] = list(self.files_read)
        if self.files_written:
            facts["files_written"] = list(self.files_written)
        if self.events:
            facts["events"] = list(self.events)
        if self.extra:
            facts["stats"] = dict(self.extra)
        return facts

    def merge(self, other: Mapping[str, Any]) -> None:
        """Add facts reported by a remote run (the :meth:`to_dict` form)."""
        self.files_read.extend(other.get("files_read", []))
        self.files_written.extend(other.get("files_written", []))
        self.events.extend(other.get("events", []))
        self.extra.update(other.get("stats", {}))


def _job_of(output_key: str) -> str:
    """The job part of an ``output_key`` of a run (``job/run/node``); ``''`` for other keys."""
    parts = output_key.split("/")
    return parts[0] if len(parts) >= 3 else ""


class RunContext:
    """The run as one module instance sees it (see the module docstring)."""

    def __init__(
        self,
        *,
        run_id: str,
        module_id: str,
        node_id: str,
        globals_store: GlobalStore,
        executor: ThreadRunner,
        logger: Any,
        artifact_manager: Any = None,
        execution_mode: str = "pandas",
        iter_path: tuple[int, ...] = (),
        iter_items: tuple[Any, ...] = (),
        context_vars: Mapping[str, Any] | None = None,
        event_listener: EventListener | None = None,
        output_key: str | None = None,
        secrets: SecretRegistry | None = None,
        job_name: str | None = None,
        temp_ledger: str | None = None,
        progress_listener: ProgressListener | None = None,
    ) -> None:
        self.run_id = run_id
        self.module_id = module_id
        self.node_id = node_id
        self.executor = executor
        self.logger = logger
        self.artifact_manager = artifact_manager
        self.execution_mode = execution_mode
        self.iter_path = iter_path
        self.iter_items = iter_items
        self.context_vars: Mapping[str, Any] = dict(context_vars or {})
        self.stats = NodeStats()
        self._globals = globals_store
        self._event_listener = event_listener
        self.globals_set: dict[str, Any] = {}
        self.output_key = output_key or f"{run_id}/{node_id}"
        """``job/first-run-of-the-resume-chain/node_id`` in a run (see the module docstring)."""
        self.secrets = secrets
        """The run's secret registry (remote backends write secrets in payloads as references through it)."""
        self.job_name = job_name if job_name is not None else _job_of(self.output_key)
        """The job this run belongs to (from ``output_key`` when not given: a remote far side)."""
        self.temp_ledger = temp_ledger
        """The run's list of temporary folders (``None``: not recorded, e.g. on a remote far side)."""
        self._progress_listener = progress_listener

    @contextmanager
    def scratch_dir(self, prefix: str = "scratch_") -> Iterator[Path]:
        """An empty folder for temporary files, removed on leaving the block.

        Inside the run's spill folder when the run has an artifact manager, so a
        killed process's leftovers are swept by the next run; the system
        temporary folder otherwise (a module run on its own, a remote worker).
        """
        if self.artifact_manager is None:
            with tempfile.TemporaryDirectory(prefix=prefix) as folder:
                yield Path(folder)
            return
        folder = self.artifact_manager.scratch_dir(prefix)
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    async def compute(self, *collections: Any) -> tuple[Any, ...]:
        """``dask.compute(*collections)``, together with the other sinks of the sub flow (``sdk/joint.py``).

        Raises:
            Exception: what the computation of this module's collections raised.
        """
        return await joint_compute(self, collections)

    @property
    def iter_item(self) -> Any:
        """The innermost iteration's item, or ``None`` outside iterations."""
        return self.iter_items[-1] if self.iter_items else None

    @property
    def iter_index(self) -> int | None:
        """The innermost iteration's index, or ``None`` outside iterations."""
        return self.iter_path[-1] if self.iter_path else None

    def set_global(self, key: str, value: Any) -> None:
        """Publish ``value`` as ``{node_id}.{key}``; others read it as ``{{module__key}}``."""
        self._globals.set(self.node_id, key, value)
        self.globals_set[key] = value

    def get_global(self, module_id: str, key: str, default: Any = None) -> Any:
        """Read ``module_id__key`` as seen from this node's iteration (``default`` if unset)."""
        return self._globals.get(module_id, key, self.iter_path, default=default)

    def globals_snapshot(self) -> dict[str, Any]:
        """Every global set so far, as ``node_id.var`` -> value (what a remote far side may read)."""
        return self._globals.snapshot()

    def record_file_read(self, path: str) -> None:
        """Note a file this module read (manifest ``files_read``)."""
        self.stats.files_read.append(str(path))

    def record_file_written(self, path: str) -> None:
        """Note a file this module wrote (manifest ``files_written``)."""
        self.stats.files_written.append(str(path))

    def add_stat(self, name: str, value: Any) -> None:
        """Record a module-specific figure (``rows_dropped``, ``rows_unmatched``, ...)."""
        self.stats.extra[name] = value

    def emit_event(self, name: str, **attributes: Any) -> None:
        """Record a warning-level event (missing column, coercion, ...): log, manifest and span."""
        event = {"name": name, **attributes}
        self.stats.events.append(event)
        self.logger.warning(name, **attributes)
        if self._event_listener is not None:
            self._event_listener(self.node_id, name, attributes)

    def progress(self, *, rows: int | None = None, nbytes: int | None = None, writing: str | None = None) -> None:
        """Report how far a long read or write is, for the progress display (never the log or the manifest).

        Args:
            rows: rows read or written so far (a total, not an increment).
            nbytes: bytes read or written so far.
            writing: a file or folder being written; the live display follows its size.

        Safe to call from a worker thread, and costs nothing when nobody listens (a remote far side).
        """
        if self._progress_listener is None:
            return
        report = {k: v for k, v in (("rows", rows), ("nbytes", nbytes), ("writing", writing)) if v is not None}
        if report:
            self._progress_listener(self.node_id, report)
