"""The job model: one planned flow, as the build makes it and the run reads it.

:class:`JobPlan` is what ``dag.json`` and the execution metadata hold (the
modules, the data and control connections, the sub flows with their waves,
the root sub flows and the planned order) plus the indexes every consumer
needs, built once when the plan is made:

=====================  ==========================================================
``outgoing``           sub flow -> its control connections as they fire (:mod:`pypeline.job.order`)
``planned_order``      the priority-DFS walk of the sub flows, by the same policy
``scopes``             iterate connection -> the sub flows it repeats (:mod:`pypeline.job.scopes`)
``inputs_of``          module -> the data connections into it
``outputs_of``         module -> the data connections out of it, by port then target
``consumers_of``       (module, output port) -> how many data connections read it
``subflow_consumers``  sub flow -> ``consumers_of`` of its modules (one instance's reference counts)
``connected_outputs``  module -> output ports something reads (data or iterate connections)
``templated``          modules whose configs hold ``{{templates}}``
``globals_read``       module -> its globals a template or condition reads (dask mode only)
=====================  ==========================================================

The build makes one (no folder yet); the run and ``pype graph`` read one
from a job folder (:mod:`pypeline.job.folder`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pypeline.core.templates import has_templates
from pypeline.job.globals_read import globals_read
from pypeline.job.order import FiringGroups, firing_groups, planned_order
from pypeline.job.scopes import iteration_scopes
from pypeline.job.spec import ControlEdge, DataEdge, ModuleSpec, SubFlow

DEFAULT_ENV = "default"


@dataclass(frozen=True, slots=True, kw_only=True)
class JobPlan:
    """A planned flow and its indexes (see the module docstring)."""

    name: str
    meta: dict[str, Any]
    settings: dict[str, Any]
    modules: dict[str, ModuleSpec]
    data_edges: tuple[DataEdge, ...]
    control_edges: tuple[ControlEdge, ...]
    subflows: dict[str, SubFlow]
    subflow_of: dict[str, str]
    root_subflows: tuple[str, ...]
    environments: tuple[str, ...] = (DEFAULT_ENV,)
    flow_hash: str = ""
    flow_path: str | None = None
    """The flow YAML the job was built from (absolute), so a reader can tell it changed since."""
    folder: Path | None = None
    """The job folder the plan was read from (``None`` for a plan the build has not written)."""
    warnings: tuple[str, ...] = field(default=(), compare=False)
    """What the build found doubtful but not wrong (an output nobody reads); not part of the job folder."""
    includes: tuple[dict[str, Any], ...] = ()
    """The flows inlined by ``include:`` (``id``, ``file``, ``in``, ``line``); their modules are ``<id>.<module>``."""

    outgoing: dict[str, FiringGroups] = field(init=False, repr=False, compare=False)
    planned_order: tuple[dict[str, Any], ...] = field(init=False, repr=False, compare=False)
    scopes: dict[int, frozenset[str]] = field(init=False, repr=False, compare=False)
    inputs_of: dict[str, tuple[DataEdge, ...]] = field(init=False, repr=False, compare=False)
    outputs_of: dict[str, tuple[DataEdge, ...]] = field(init=False, repr=False, compare=False)
    consumers_of: dict[tuple[str, str], int] = field(init=False, repr=False, compare=False)
    subflow_consumers: dict[str, dict[tuple[str, str], int]] = field(init=False, repr=False, compare=False)
    connected_outputs: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)
    templated: frozenset[str] = field(init=False, repr=False, compare=False)
    globals_read: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        inputs_of: dict[str, list[DataEdge]] = defaultdict(list)
        outputs_of: dict[str, list[DataEdge]] = defaultdict(list)
        consumers: dict[tuple[str, str], int] = defaultdict(int)
        for edge in self.data_edges:
            inputs_of[edge.dst].append(edge)
            outputs_of[edge.src].append(edge)
            consumers[(edge.src, edge.src_port)] += 1
        connected: dict[str, set[str]] = defaultdict(set)
        per_subflow: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)
        for (module_id, port), count in consumers.items():
            connected[module_id].add(port)
            per_subflow[self.subflow_of[module_id]][(module_id, port)] = count
        for control in self.control_edges:
            if control.type == "iterate" and control.port:
                connected[control.src].add(control.port)
        templated = frozenset(m for m, spec in self.modules.items() if has_templates(spec.configs))
        outgoing = firing_groups(self.control_edges, self.subflow_of)
        derived = {
            "outgoing": outgoing,
            "planned_order": planned_order(self.root_subflows, outgoing, self.subflow_of),
            "scopes": iteration_scopes(self.control_edges, self.subflow_of),
            "inputs_of": {k: tuple(v) for k, v in inputs_of.items()},
            "outputs_of": {
                k: tuple(sorted(v, key=lambda e: (e.src_port, e.dst, e.dst_port))) for k, v in outputs_of.items()
            },
            "consumers_of": dict(consumers),
            "subflow_consumers": dict(per_subflow),
            "connected_outputs": {k: frozenset(v) for k, v in connected.items()},
            "templated": templated,
            # only a dask-mode run has lazy outputs whose rows may need counting
            "globals_read": (
                globals_read(self.modules, self.control_edges, templated)
                if self.settings.get("execution_mode") == "dask" else {}
            ),
        }
        for name, value in derived.items():
            object.__setattr__(self, name, value)

    @property
    def version(self) -> str:
        """The flow's ``version`` (empty when absent)."""
        return str(self.meta.get("version") or "")

    @property
    def runs_dir(self) -> Path:
        """``jobs/<name>/runs``."""
        return self._folder() / "runs"

    def context_path(self, env: str) -> Path:
        """``jobs/<name>/context/<name>_<env>.json``."""
        return self._folder() / "context" / f"{self.name}_{env}.json"

    def subflow_order(self) -> list[str]:
        """Sub flows in planned order, then any the planned order does not reach."""
        ordered = [entry["subflow"] for entry in self.planned_order]
        return ordered + [sf for sf in self.subflows if sf not in ordered]

    def depth_of(self) -> dict[str, int]:
        """Sub flow -> its depth in the planned order (0 for roots)."""
        return {entry["subflow"]: int(entry.get("depth") or 0) for entry in self.planned_order}

    def control_out(self, subflow_id: str) -> list[ControlEdge]:
        """Control connections leaving ``subflow_id``, in firing order."""
        return [edge for _order, edges in self.outgoing.get(subflow_id, ()) for edge in edges]

    def _folder(self) -> Path:
        if self.folder is None:
            raise ValueError(f"the plan of '{self.name}' has no job folder yet (it was not built)")
        return self.folder
