"""The priority-DFS policy: in which order a sub flow's control connections fire.

One rule, used by the scheduler when it runs a job and by the build when it
writes the planned order into the execution metadata (and by ``pype graph``
and ``--dry-run`` when they show it):

* a finished sub flow fires its outgoing control connections *group by
  group* in ascending ``order``; the connections of one group fire together
  (in declaration order), and the whole downstream of a group finishes
  before the next group fires;
* root sub flows (no incoming control connection) start in declaration order.

The planned order is that walk done on paper, depth first, first visits only::

    load ─(1)─▶ clean ─(1)─▶ report
      └──(2)─▶ archive            planned: load, clean, report, archive
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from pypeline.job.spec import ControlEdge

FiringGroups = tuple[tuple[int, tuple[ControlEdge, ...]], ...]
"""``((order, connections of that order in declaration order), ...)`` by ascending order."""


def firing_groups(
    control_edges: Iterable[ControlEdge], subflow_of: Mapping[str, str]
) -> dict[str, FiringGroups]:
    """Sub flow -> its outgoing control connections grouped as they fire (see the module docstring)."""
    grouped: dict[str, dict[int, list[ControlEdge]]] = defaultdict(lambda: defaultdict(list))
    for edge in sorted(control_edges, key=lambda e: e.index):
        grouped[subflow_of[edge.src]][edge.order].append(edge)
    return {
        subflow: tuple((order, tuple(edges)) for order, edges in sorted(by_order.items()))
        for subflow, by_order in grouped.items()
    }


def planned_order(
    roots: Iterable[str], groups: Mapping[str, FiringGroups], subflow_of: Mapping[str, str]
) -> tuple[dict[str, Any], ...]:
    """The priority-DFS visiting order of sub flows (first visits only), walked iteratively.

    Each entry: ``{"subflow", "depth", "via"}`` where ``via`` names the control
    connection that first reaches it (``None`` for roots).
    """
    order: list[dict[str, Any]] = []
    seen: set[str] = set()
    stack: list[tuple[str, int, str | None]] = [(root, 0, None) for root in reversed(tuple(roots))]
    while stack:
        subflow, depth, via = stack.pop()
        if subflow in seen:
            continue
        seen.add(subflow)
        order.append({"subflow": subflow, "depth": depth, "via": via})
        fired = [edge for _order, edges in groups.get(subflow, ()) for edge in edges]
        for edge in reversed(fired):
            stack.append((subflow_of[edge.dst], depth + 1, str(edge)))
    return tuple(order)
