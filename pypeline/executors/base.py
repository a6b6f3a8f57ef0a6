"""The executor interface: a tiny ABC, like an HTTP transport.

An :class:`Executor` turns one module attempt (a :class:`ModuleTask`) into
its outputs. The local executor awaits the module in this process; remote
executors serialise the task, run the same module class on the far side
through an entry point PYpeline ships, and bring outputs, globals and stats
back. Retries, timeouts and error wrapping stay in the scheduler, identical
for every backend.

Executors are async context managers: ``start()`` acquires what they need
(a cluster client, a boto3 session), ``aclose()`` releases it. A closed
executor refuses new tasks.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pypeline.modules.sdk.context import RunContext


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
    raw_configs: dict[str, Any] = field(default_factory=dict)
    """The configs as built, templates unresolved."""
    remote_configs: dict[str, Any] | None = None
    """For remote backends: the configs with every template resolved *except* secrets
    (``{{vault...}}`` stays as written; the far side resolves it). This, never
    ``configs``, is what may be put in a payload."""


class ExecutorState(enum.Enum):
    """Life cycle of an executor."""

    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


class Executor(ABC):
    """Runs module attempts somewhere. Subclasses set :attr:`name` and :attr:`OPTIONS_SCHEMA`."""

    name: ClassVar[str] = ""
    OPTIONS_SCHEMA: ClassVar[dict[str, Any]] = {"type": "object", "properties": {}, "additionalProperties": False}
    """JSON Schema of the execution block's options (``backend`` itself excluded)."""

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self.settings = settings or {}
        self.state = ExecutorState.NEW

    async def start(self) -> None:
        """Acquire resources; called once before the first task."""

    @abstractmethod
    async def submit(self, task: ModuleTask) -> dict[str, Any]:
        """Run one attempt and return the module's outputs (port -> value)."""

    async def aclose(self) -> None:
        """Release resources; the executor takes no task afterwards."""

    async def __aenter__(self) -> Executor:
        if self.state is ExecutorState.CLOSED:
            raise RuntimeError(f"the {self.name} executor is closed and cannot be reused")
        if self.state is ExecutorState.NEW:
            await self.start()
            self.state = ExecutorState.OPEN
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self.state is not ExecutorState.CLOSED:
            self.state = ExecutorState.CLOSED
            await self.aclose()
