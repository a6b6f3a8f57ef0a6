"""Sub flows, topological waves, cycle detection and root sub flows.

* **Sub flows** are the connected components of the data graph
  (docs/flow-format.md). A sub flow is named after its first module in declaration
  order, so ids are stable and readable.
* **Waves** come from :class:`graphlib.TopologicalSorter`: wave *k* holds the
  modules whose inputs are all produced in waves < *k*, sorted by id. They
  show the plan; at run time a module starts as soon as its own inputs are
  ready.
* **Cycles** in the data graph or in the control graph (between sub flows)
  are build errors that name the cycle.
* **Root sub flows** have no incoming control connection; the planned order
  walks from them by the scheduler's own policy (:mod:`pypeline.job.order`).
"""

from __future__ import annotations

import graphlib
import itertools
from collections import defaultdict

from pypeline.build.load.flow_spec import FlowSpec
from pypeline.core.errors import CycleError
from pypeline.job.spec import ControlEdge, DataEdge, ModuleSpec, SubFlow


def find_subflows(modules: dict[str, ModuleSpec], data_edges: tuple[DataEdge, ...]) -> dict[str, str]:
    """Map each module id to its sub flow id (the first declared module of its component)."""
    parent = {m: m for m in modules}
    rank = {m: i for i, m in enumerate(modules)}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for edge in data_edges:
        a, b = find(edge.src), find(edge.dst)
        if a != b:
            # the root is always the earlier declared module: ids stay stable
            if rank[a] < rank[b]:
                parent[b] = a
            else:
                parent[a] = b
    return {m: find(m) for m in modules}


def build_subflows(
    flow: FlowSpec, modules: dict[str, ModuleSpec], data_edges: tuple[DataEdge, ...], subflow_of: dict[str, str]
) -> dict[str, SubFlow]:
    """The sub flows with their waves, in declaration order of their first module.

    Raises:
        CycleError: when data connections form a cycle.
    """
    members: dict[str, list[str]] = defaultdict(list)
    for module_id in modules:
        members[subflow_of[module_id]].append(module_id)
    preds: dict[str, set[str]] = {m: set() for m in modules}
    for edge in data_edges:
        preds[edge.dst].add(edge.src)
    result: dict[str, SubFlow] = {}
    for sf_id, ids in members.items():
        sorter = graphlib.TopologicalSorter({m: preds[m] for m in ids})
        try:
            sorter.prepare()
        except graphlib.CycleError as exc:
            # graphlib lists the cycle in edge direction, first node repeated at the end
            cycle = list(exc.args[1])
            steps = list(itertools.pairwise(cycle))
            edges = [next(e for e in data_edges if (e.src, e.dst) == step) for step in steps]
            # data edges keep the order of the raw connections, so an edge's position is its index there
            where = [flow.data_at(data_edges.index(e), e.line) for e in edges]
            raise CycleError(
                "data connections form a cycle: " + " -> ".join(cycle)
                + " (" + ", ".join(f"'{e}'" for e in edges) + ")",
                **min(where, key=lambda w: ("chain" in w, w["line"] is None, w["line"] or 0)),
                expected="a data graph without cycles",
            ) from None
        waves: list[tuple[str, ...]] = []
        while sorter.is_active():
            ready = tuple(sorted(sorter.get_ready()))
            waves.append(ready)
            sorter.done(*ready)
        result[sf_id] = SubFlow(id=sf_id, modules=tuple(sorted(ids)), waves=tuple(waves))
    return result


def check_control_cycles(flow: FlowSpec, control_edges: tuple[ControlEdge, ...], subflow_of: dict[str, str]) -> None:
    """Raise when control connections form a cycle between sub flows.

    Raises:
        CycleError: naming the sub flows of the cycle and a line.
    """
    graph: dict[str, set[str]] = defaultdict(set)
    for edge in control_edges:
        graph[subflow_of[edge.dst]].add(subflow_of[edge.src])
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        cycle = list(exc.args[1])
        steps = list(itertools.pairwise(cycle))
        edges = [
            next(e for e in control_edges if (subflow_of[e.src], subflow_of[e.dst]) == step) for step in steps
        ]
        where = [flow.control_at(e.index, e.line) for e in edges]
        raise CycleError(
            "control connections form a cycle between sub flows " + " -> ".join(cycle)
            + " (" + ", ".join(f"'{e}'" for e in edges) + ")",
            **min(where, key=lambda w: ("chain" in w, w["line"] is None, w["line"] or 0)),
            expected="control connections without cycles",
        ) from None


def root_subflows(
    subflows: dict[str, SubFlow], control_edges: tuple[ControlEdge, ...], subflow_of: dict[str, str]
) -> tuple[str, ...]:
    """Sub flows without incoming control connections, in declaration order."""
    targets = {subflow_of[e.dst] for e in control_edges}
    return tuple(sf for sf in subflows if sf not in targets)
