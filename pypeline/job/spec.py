"""The immutable parts of a job: modules, connections, sub flows, settings.

The build makes them (:mod:`pypeline.build`), the job folder stores their
``to_dict()`` forms (``dag.json``, the execution metadata), and the run reads
them back with ``from_dict``. :class:`pypeline.job.plan.JobPlan` puts them
together with the indexes both sides use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

ControlType = Literal["normal", "iterate", "start", "on_error", "always"]
CONTROL_TYPES: tuple[ControlType, ...] = ("normal", "iterate", "start", "on_error", "always")
ON_SUCCESS: frozenset[str] = frozenset({"normal", "iterate", "start", "always"})
"""Types that fire when the *from* sub flow instance succeeds."""
ON_FAILURE: frozenset[str] = frozenset({"on_error", "always"})
"""Types that fire when the *from* sub flow instance fails (after its retries)."""
ERROR_GLOBALS: tuple[str, ...] = ("error_message", "error_type", "error_module")
"""Globals the run sets on the *from* module of ``on_error`` / ``always`` connections (docs/flow-format.md)."""

DEFAULT_SETTINGS: dict[str, Any] = {
    "timeout": None,
    "retries": 0,
    "retry_delay": 1.0,
    "retry_max_delay": 60.0,
    "fail_strategy": "halt",
    "execution_mode": "auto",
    "threads": None,
    "spill": {"threshold_rows": 5_000_000, "max_ram_share": 0.6, "dir": None},
    "checkpoint": {"enabled": True},
    "cache": {"enabled": False, "store": None, "strict": False, "storage_options": {}},
    "dask": {"address": None, "n_workers": None, "threads_per_worker": None},
    "backends": {},
}


def merge_settings(given: dict[str, Any] | None) -> dict[str, Any]:
    """Defaults overlaid with the flow's settings (one level deep for nested blocks)."""
    merged: dict[str, Any] = {}
    given = given or {}
    for key, default in DEFAULT_SETTINGS.items():
        value = given.get(key, default)
        if isinstance(default, dict) and isinstance(value, dict):
            value = {**default, **value}
        merged[key] = value
    return merged


@dataclass(frozen=True, slots=True, kw_only=True)
class ModuleSpec:
    """One module of the flow, resolved against its class."""

    id: str
    name: str
    module_path: str
    type: str
    version: str
    category: str
    description: str
    input_ports: tuple[str, ...]
    optional_inputs: tuple[str, ...]
    output_ports: tuple[str, ...]
    list_outputs: tuple[str, ...]
    globals: tuple[str, ...] | None
    configs: dict[str, Any]
    execution: dict[str, Any]
    retries: int | None = None
    timeout: float | None = None
    line: int | None = None
    cache: bool | dict[str, Any] | None = None
    """``cache:`` of the module (docs/cache.md); ``None``: the flow's ``settings.cache.enabled``."""

    def to_dict(self) -> dict[str, Any]:
        """The node entry of ``dag.json``."""
        return {
            "id": self.id,
            "name": self.name,
            "module_path": self.module_path,
            "type": self.type,
            "version": self.version,
            "category": self.category,
            "description": self.description,
            "input_ports": list(self.input_ports),
            "optional_inputs": list(self.optional_inputs),
            "output_ports": list(self.output_ports),
            "list_outputs": list(self.list_outputs),
            "globals": None if self.globals is None else list(self.globals),
            "configs": self.configs,
            "execution": self.execution,
            "retries": self.retries,
            "timeout": self.timeout,
            "line": self.line,
            **({} if self.cache is None else {"cache": self.cache}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModuleSpec:
        """Inverse of :meth:`to_dict`."""
        return cls(
            id=data["id"],
            name=data["name"],
            module_path=data["module_path"],
            type=data["type"],
            version=data["version"],
            category=data.get("category", ""),
            description=data.get("description", ""),
            input_ports=tuple(data["input_ports"]),
            optional_inputs=tuple(data.get("optional_inputs", [])),
            output_ports=tuple(data["output_ports"]),
            list_outputs=tuple(data.get("list_outputs", [])),
            globals=None if data.get("globals") is None else tuple(data["globals"]),
            configs=data["configs"],
            execution=data.get("execution") or {"backend": "local"},
            retries=data.get("retries"),
            timeout=data.get("timeout"),
            line=data.get("line"),
            cache=data.get("cache"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DataEdge:
    """``src.src_port - dst.dst_port``."""

    src: str
    src_port: str
    dst: str
    dst_port: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.src}.{self.src_port} - {self.dst}.{self.dst_port}"

    def to_dict(self) -> dict[str, Any]:
        """The data edge entry of ``dag.json``."""
        return {"kind": "data", "from": self.src, "from_port": self.src_port, "to": self.dst, "to_port": self.dst_port}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataEdge:
        """Inverse of :meth:`to_dict`."""
        return cls(src=data["from"], src_port=data["from_port"], dst=data["to"], dst_port=data["to_port"])


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlEdge:
    """A control connection with its valve ``(order|condition)`` and type."""

    index: int
    src: str
    dst: str
    order: int
    condition: str | None
    type: ControlType = "normal"
    port: str | None = None
    line: int | None = None
    handled: bool = False
    """``on_error`` only: a failure its handler ran for counts as handled (the run may end ``success``)."""
    parallel: int = 1
    """``iterate`` only: how many items run at once."""

    def __str__(self) -> str:
        valve = f"({self.order}|{self.condition or ''})"
        options: list[str] = [self.type] if self.type != "normal" else []
        if self.handled:
            options.append("handled")
        if self.parallel != 1:
            options.append(f"parallel={self.parallel}")
        kind = f" [{', '.join(options)}]" if options else ""
        return f"{self.src} {valve} {self.dst}{kind}"

    def to_dict(self) -> dict[str, Any]:
        """The control edge entry of ``dag.json``."""
        return {
            "kind": "control",
            "index": self.index,
            "from": self.src,
            "to": self.dst,
            "order": self.order,
            "condition": self.condition,
            "type": self.type,
            "port": self.port,
            # written only when set, so the dag.json of a flow without them keeps its bytes
            **({"handled": True} if self.handled else {}),
            **({"parallel": self.parallel} if self.parallel != 1 else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ControlEdge:
        """Inverse of :meth:`to_dict`."""
        return cls(
            index=data["index"],
            src=data["from"],
            dst=data["to"],
            order=data["order"],
            condition=data.get("condition"),
            type=data.get("type", "normal"),
            port=data.get("port"),
            handled=bool(data.get("handled", False)),
            parallel=int(data.get("parallel", 1)),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SubFlow:
    """A connected component of the data graph, with its topological waves."""

    id: str
    modules: tuple[str, ...]
    waves: tuple[tuple[str, ...], ...]

    def to_dict(self) -> dict[str, Any]:
        """The sub flow entry of the execution metadata."""
        return {"id": self.id, "modules": list(self.modules), "waves": [list(w) for w in self.waves]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubFlow:
        """Inverse of :meth:`to_dict`."""
        return cls(
            id=data["id"], modules=tuple(data["modules"]), waves=tuple(tuple(w) for w in data["waves"])
        )
