"""The backend interface: a tiny ABC, like an HTTP transport.

A :class:`Backend` turns one module attempt (a :class:`ModuleTask`) into
its outputs. The local backend awaits the module in this process; remote
backends serialise the task, run the same module class on the far side
through an entry point PYpeline ships, and bring outputs, globals and stats
back. Retries, timeouts and error wrapping stay in the scheduler, identical
for every backend.

Backends are async context managers: ``start()`` acquires what they need
(a cluster client, a boto3 session), ``aclose()`` releases it. A closed
backend refuses new tasks.
"""

from __future__ import annotations

import asyncio
import enum
import functools
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from pypeline.modules.sdk.context import RunContext

T = TypeVar("T")


@dataclass(slots=True, kw_only=True)
class ModuleTask:
    """One attempt of one module instance."""

    module_path: str
    module_id: str
    node_id: str
    configs: dict[str, Any]
    inputs: dict[str, Any]
    ctx: RunContext
    options: dict[str, Any] = field(default_factory=dict)
    """The module's ``execution`` block (backend options), merged over settings defaults."""
    attempt: int = 1
    """The configs as built, templates unresolved."""
    remote_configs: dict[str, Any] | None = None
    """For remote backends: the configs with every template resolved *except* secrets
    (``{{vault...}}`` stays as written; the far side resolves it). This, never
    ``configs``, is what may be put in a payload."""


class BackendState(enum.Enum):
    """Life cycle of a backend."""

    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


class Backend(ABC):
    """Runs module attempts somewhere. Subclasses set :attr:`name` and :attr:`OPTIONS_SCHEMA`."""

    name: ClassVar[str] = ""
    OPTIONS_SCHEMA: ClassVar[dict[str, Any]] = {"type": "object", "properties": {}, "additionalProperties": False}
    """JSON Schema of the execution block's options (``backend`` itself excluded)."""

    WAIT_THREADS: ClassVar[int] = 64
    """Threads of the backend's own pool for blocking calls (:meth:`blocking`)."""

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self.settings = settings or {}
        self.state = BackendState.NEW
        self._wait_pool: ThreadPoolExecutor | None = None

    async def blocking(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Await a blocking call (an AWS request, a dask result) on this backend's own threads.

        Remote backends spend most of an attempt waiting. Their own pool keeps
        those waits from occupying the run's thread pool (``settings.threads``),
        which modules need for their work, and lets more remote attempts wait
        at once than the run has threads.
        """
        if self._wait_pool is None:
            self._wait_pool = ThreadPoolExecutor(self.WAIT_THREADS, thread_name_prefix=f"pypeline-{self.name}")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._wait_pool, functools.partial(fn, *args, **kwargs))

    async def start(self) -> None:
        """Acquire resources; called once before the first task."""

    @abstractmethod
    async def submit(self, task: ModuleTask) -> dict[str, Any]:
        """Run one attempt and return the module's outputs (port -> value)."""

    async def aclose(self) -> None:
        """Release resources; the backend takes no task afterwards."""

    async def __aenter__(self) -> Backend:
        if self.state is BackendState.CLOSED:
            raise RuntimeError(f"the {self.name} backend is closed and cannot be reused")
        if self.state is BackendState.NEW:
            await self.start()
            self.state = BackendState.OPEN
        return self

    async def __aexit__(self, *_exc_info: object) -> None:
        if self.state is not BackendState.CLOSED:
            self.state = BackendState.CLOSED
            try:
                await self.aclose()
            finally:
                if self._wait_pool is not None:
                    self._wait_pool.shutdown(wait=False, cancel_futures=True)
