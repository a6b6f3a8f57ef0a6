"""The ``dask`` backend: run modules on a dask.distributed cluster.

Which cluster: the ``address`` in the module's execution block, else
``settings.dask.address``, else ``$PYPELINE_DASK_ADDRESS``; with none of
them the run starts a ``LocalCluster`` on 127.0.0.1 (``settings.dask``
``n_workers`` / ``threads_per_worker``, worker processes) the first time a
module needs it, and closes it when the run ends. One client per address is
opened lazily and closed with the backend.

How a module runs depends on the execution mode:

* ``execution_mode: pandas``: the module itself runs **on a worker**.
  Input frames are *scattered* to the cluster and the task receives them
  from worker memory (frames under 1 MB travel inside the task instead,
  which saves a round trip); the task (:func:`pypeline.backends.dask_worker.run_on_worker`)
  runs the same life cycle as the local backend and returns its outputs
  with the globals it set, its stats and its log lines, which are applied to
  the local context here. Scattered data rather than Parquet on shared
  storage, because a dask cluster gives us a data plane already: no shared
  file system or bucket needs to be configured for workers on other hosts,
  and a frame is serialised once (pickle-5 buffers) instead of encoded to
  Parquet and decoded again. The cost is that frames live in worker memory
  while the task runs, and the output crosses back to this process.
* ``execution_mode: dask``: the module's code runs here, on the run's event
  loop, with the cluster's client as *its* dask scheduler (a context variable,
  so concurrently running local modules keep theirs): every ``compute`` /
  ``persist`` the module or its frames do, in its coroutine or in
  ``ctx.executor`` threads, runs on the cluster. The graphs carry the data,
  so nothing is staged.

Secrets: in pandas mode the task carries ``remote_configs`` (secret templates
unresolved) and the worker resolves secrets itself, as Lambda and Glue do;
in dask mode nothing leaves this process but graphs.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import uuid
from typing import Any

from pypeline.backends.base import Backend, ModuleTask
from pypeline.backends.dask_probe import probe_scheduler
from pypeline.backends.local import run_module_lifecycle
from pypeline.core.compat import lock_free_cached_property
from pypeline.core.errors import BackendError
from pypeline.modules.frames import is_dask
from pypeline.modules.sdk.context import ThreadRunner

ADDRESS_ENV = "PYPELINE_DASK_ADDRESS"
SCATTER_MIN_BYTES = 1_000_000
"""Frames at least this large are scattered first; smaller ones ride inside the task (one round trip less)."""
LOCAL = "local"


class _ContextThreadRunner(ThreadRunner):
    """``ctx.executor`` that carries the caller's context variables (the dask client) into the thread."""

    async def run_in_thread(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        context = contextvars.copy_context()
        return await super().run_in_thread(context.run, fn, *args, **kwargs)


class DaskBackend(Backend):
    """Runs module attempts on a dask.distributed cluster (see the module docstring)."""

    name = "dask"
    OPTIONS_SCHEMA = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "address": {"type": "string", "minLength": 1, "description": "scheduler address, tcp://host:8786"},
            "n_workers": {"type": "integer", "minimum": 1, "description": "workers of a LocalCluster"},
            "threads_per_worker": {"type": "integer", "minimum": 1},
            "processes": {"type": "boolean", "description": "LocalCluster workers as processes (default true)"},
            "connect_timeout": {
                "type": "number",
                "exclusiveMinimum": 0,
                "description": "seconds to wait for the scheduler (default 30)",
            },
        },
    }

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)
        self._clients: dict[str, Any] = {}
        self._opening: dict[str, asyncio.Task[Any]] = {}
        self._cluster: Any = None

    def address_for(self, options: dict[str, Any]) -> str | None:
        """The scheduler address a module with these options uses (``None``: a LocalCluster)."""
        dask_settings = self.settings.get("dask") or {}
        return options.get("address") or dask_settings.get("address") or os.environ.get(ADDRESS_ENV) or None

    async def client_for(self, options: dict[str, Any]) -> Any:
        """The (shared) client of the cluster a module with these options runs on."""
        address = self.address_for(options)
        key = address or LOCAL
        if key in self._clients:
            return self._clients[key]
        if key not in self._opening or (self._opening[key].done() and self._opening[key].exception()):
            self._opening[key] = asyncio.ensure_future(self.blocking(self._open, address, options))
        client = await asyncio.shield(self._opening[key])
        self._clients[key] = client
        return client

    def _open(self, address: str | None, options: dict[str, Any]) -> Any:
        from distributed import Client, LocalCluster

        lock_free_cached_property()  # the client builds graphs from the run's threads (pypeline.core.compat)

        if address is None:
            merged = {**(self.settings.get("dask") or {}), **options}
            import dask

            # Worker processes get a copy of the dask config; a dask-mode run keeps its
            # thread pool there (run/engine/dask_mode.py), which cannot be pickled.
            with dask.config.set(pool=None):
                self._cluster = LocalCluster(
                    n_workers=int(merged.get("n_workers") or 2),
                    threads_per_worker=int(merged.get("threads_per_worker") or 1),
                    processes=bool(options.get("processes", True)),
                    host="127.0.0.1",
                    # ":0" picks a free port: ``None`` still means 8787, which another cluster may hold.
                    dashboard_address=":0",
                )
            return Client(self._cluster, set_as_default=False)
        timeout = float(options.get("connect_timeout", 30))
        probe_scheduler(address, timeout)
        try:
            return Client(address, set_as_default=False, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            raise BackendError(f"the dask scheduler at {address} cannot be reached: {exc}") from None

    async def submit(self, task: ModuleTask) -> dict[str, Any]:
        try:
            client = await self.client_for(task.options)
        except BackendError:
            raise
        except Exception as exc:
            raise BackendError(f"module '{task.node_id}': no dask cluster: {type(exc).__name__}: {exc}") from None
        if task.ctx.execution_mode == "dask":
            return await self._run_here(task, client)
        return await self._run_on_worker(task, client)

    async def _run_here(self, task: ModuleTask, client: Any) -> dict[str, Any]:
        from distributed.client import _current_client

        task.ctx.executor = _ContextThreadRunner(task.ctx.executor.pool)
        token = _current_client.set(client)
        try:
            return await run_module_lifecycle(task.module_path, task.configs, task.inputs, task.ctx)
        finally:
            _current_client.reset(token)

    async def _run_on_worker(self, task: ModuleTask, client: Any) -> dict[str, Any]:
        from pypeline.backends.dask_worker import run_on_worker
        from pypeline.secrets.transport import to_wire

        ctx = task.ctx
        frames = {
            port: value
            for port, value in task.inputs.items()
            if _is_pandas(value) and value.memory_usage(index=True).sum() >= SCATTER_MIN_BYTES
        }
        plain = {port: value for port, value in task.inputs.items() if port not in frames}
        scattered = await self.blocking(client.scatter, frames, hash=False) if frames else {}
        meta = {
            "run_id": ctx.run_id,
            "module_id": task.module_id,
            "node_id": task.node_id,
            "attempt": task.attempt,
            "iter_path": list(ctx.iter_path),
            "iter_items": to_wire(list(ctx.iter_items)),
            "globals": to_wire(ctx.globals_snapshot()),  # a secret travels as its reference, never its value
            "context": dict(ctx.context_vars),
            "output_key": ctx.output_key,
        }
        if task.remote_configs is None:  # never fall back to ``configs``: they may hold secret values
            raise BackendError(f"module '{task.node_id}': no remote configs were prepared for the dask backend")
        configs = task.remote_configs
        key = f"pypeline-{task.node_id}-{task.attempt}-{uuid.uuid4().hex[:8]}"
        future = client.submit(run_on_worker, task.module_path, configs, scattered, plain, meta, key=key, pure=False)
        try:
            answer = await self.blocking(future.result)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            raise BackendError(f"dask task {key} failed: {type(exc).__name__}: {exc}") from None
        finally:
            for value in scattered.values():
                value.release()
        _replay(ctx.logger, answer.get("logs", []))
        if answer["status"] == "error":
            error = answer["error"]
            ctx.logger.error("remote_error", backend=self.name, error_type=error["type"], traceback=error["traceback"])
            raise BackendError(f"dask worker {answer.get('worker', '?')} reported {error['type']}: {error['message']}")
        for name, value in answer["globals"].items():
            ctx.set_global(name, value)
        ctx.stats.merge(answer["stats"])
        return dict(answer["outputs"])

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await self.blocking(client.close)
        if self._cluster is not None:
            cluster, self._cluster = self._cluster, None
            await self.blocking(cluster.close)


def _is_pandas(value: Any) -> bool:
    return hasattr(value, "columns") and hasattr(value, "to_parquet") and not is_dask(value)


def _replay(logger: Any, lines: list[dict[str, Any]]) -> None:
    for line in lines:
        fields = {k: v for k, v in line.items() if k not in ("level", "event", "run_id", "node_id")}
        level = str(line.get("level", "info"))
        method = getattr(logger, level if level in ("debug", "info", "warning", "error") else "info")
        method(str(line.get("event", "remote_log")), remote=True, **fields)
