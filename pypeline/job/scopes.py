"""Iteration scopes: which sub flows an ``iterate`` connection repeats per item.

The scope of an iterate connection (docs/flow-format.md, "Valves, types and
the once-per-instance rule") is its target sub flow and everything reachable
*only through it*. Formally, with ``preds(X)`` the sub
flows that have a control connection into ``X``::

    scope(e) = {target(e)} + {X reachable from target(e) | preds(X) is a subset of scope(e)}

computed as a fixed point. A sub flow that can also be reached from outside
the scope (a join of the iteration with the rest of the flow) is not in it,
so it is not repeated per item: it runs once, in the instance of the
enclosing level, like any other sub flow reached by two connections.

At run time an instance carries one *frame* per iteration it is in (the
iterate connection and the item index). When a connection fires, the target
keeps only the frames whose scope contains it (:func:`frames_for`), and an
iterate connection adds one frame per item::

    lst ──iterate──▶ each ─(1)─▶ per_item        scope = {each, per_item}
      └──────(2)───────────────▶ shared ◀─(2)── each

    each#0, per_item#0, shared, each#1, per_item#1     (shared: once)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from pypeline.job.spec import ControlEdge


def iteration_scopes(
    control_edges: Iterable[ControlEdge], subflow_of: Mapping[str, str]
) -> dict[int, frozenset[str]]:
    """Iterate connection index -> the sub flows of its scope (see the module docstring)."""
    edges = list(control_edges)
    succs: dict[str, set[str]] = defaultdict(set)
    preds: dict[str, set[str]] = defaultdict(set)
    for edge in edges:
        src, dst = subflow_of[edge.src], subflow_of[edge.dst]
        succs[src].add(dst)
        preds[dst].add(src)
    scopes: dict[int, frozenset[str]] = {}
    for edge in edges:
        if edge.type != "iterate":
            continue
        target = subflow_of[edge.dst]
        scope = {target}
        changed = True
        while changed:
            changed = False
            for member in list(scope):
                for nxt in succs[member]:
                    if nxt not in scope and preds[nxt] <= scope:
                        scope.add(nxt)
                        changed = True
        scopes[edge.index] = frozenset(scope)
    return scopes


def frames_for(
    target: str,
    path: tuple[int, ...],
    items: tuple[object, ...],
    frames: tuple[int, ...],
    scopes: Mapping[int, frozenset[str]],
) -> tuple[tuple[int, ...], tuple[object, ...], tuple[int, ...]]:
    """The iteration path, items and frames an instance of ``target`` inherits from its trigger.

    ``frames[i]`` is the iterate connection that produced ``path[i]``; a frame is
    kept when ``target`` lies in that connection's scope.
    """
    if not frames:
        return path, items, frames
    keep = [i for i, edge_index in enumerate(frames) if target in scopes[edge_index]]
    if len(keep) == len(frames):
        return path, items, frames
    return (
        tuple(path[i] for i in keep),
        tuple(items[i] for i in keep),
        tuple(frames[i] for i in keep),
    )
