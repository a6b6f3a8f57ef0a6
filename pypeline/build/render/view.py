"""What a flow diagram shows, read from a planned flow or from a job folder.

:class:`GraphView` is the one input of the three renderers (ASCII, Mermaid,
DOT). It holds the modules, the data connections, the control connections
with their valves and types, the sub flows with their waves and the planned
priority-DFS order. Renderers walk it only in fixed orders (sub flows in
planned order, modules by wave and id, connections sorted), never in the
order of a dict, so the same flow draws the same bytes whether it comes
from the YAML or from the job folder.

It comes from a flow YAML (:func:`view_from_plan` after the build's load and
plan phases, nothing written) or from a job folder that ``pype build`` wrote
(:func:`view_from_job`, reading ``<name>_dag.json`` and
``<name>_execution_metadata.json``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypeline.build.job_files import read_job_folder
from pypeline.build.spec import ControlEdge, DataEdge, ModuleSpec, Plan, SubFlow


@dataclass(frozen=True, slots=True, kw_only=True)
class GraphView:
    """A flow as the diagrams show it (see the module docstring)."""

    name: str
    version: str
    modules: dict[str, ModuleSpec]
    data_edges: tuple[DataEdge, ...]
    control_edges: tuple[ControlEdge, ...]
    subflows: dict[str, SubFlow]
    subflow_of: dict[str, str]
    root_subflows: tuple[str, ...]
    planned_order: tuple[dict[str, Any], ...]

    def subflow_order(self) -> list[str]:
        """Sub flows in planned order, then any the planned order does not reach."""
        ordered = [entry["subflow"] for entry in self.planned_order]
        return ordered + [sf for sf in self.subflows if sf not in ordered]

    def depth_of(self) -> dict[str, int]:
        """Sub flow -> its depth in the planned order (0 for roots)."""
        return {entry["subflow"]: int(entry.get("depth") or 0) for entry in self.planned_order}

    def data_out(self, module_id: str) -> list[DataEdge]:
        """Data connections leaving ``module_id``, sorted by port then target."""
        return sorted(
            (e for e in self.data_edges if e.src == module_id), key=lambda e: (e.src_port, e.dst, e.dst_port)
        )

    def control_out(self, subflow_id: str) -> list[ControlEdge]:
        """Control connections leaving ``subflow_id``, in firing order (order, then declaration)."""
        edges = [e for e in self.control_edges if self.subflow_of[e.src] == subflow_id]
        return sorted(edges, key=lambda e: (e.order, e.index))


def view_from_plan(plan: Plan) -> GraphView:
    """The view of a planned flow."""
    return GraphView(
        name=plan.flow.name,
        version=str(plan.flow.meta.get("version") or ""),
        modules=dict(plan.modules),
        data_edges=tuple(plan.data_edges),
        control_edges=tuple(plan.control_edges),
        subflows=dict(plan.subflows),
        subflow_of=dict(plan.subflow_of),
        root_subflows=tuple(plan.root_subflows),
        planned_order=tuple(plan.planned_order),
    )


def view_from_job(folder: str | Path) -> GraphView:
    """The view of a job folder written by ``pype build``.

    Raises:
        JobError: when ``folder`` is not a readable job folder.
    """
    files = read_job_folder(
        folder, check_hash=False, hint="; give a flow YAML or a folder written by 'pype build'"
    )
    return GraphView(
        name=files.name,
        version=files.version,
        modules=files.modules,
        data_edges=files.data_edges,
        control_edges=files.control_edges,
        subflows=files.subflows,
        subflow_of=dict(files.metadata["subflow_of"]),
        root_subflows=tuple(files.metadata["root_subflows"]),
        planned_order=tuple(files.metadata["planned_order"]),
    )
