"""``await ctx.compute(*collections)``: compute dask collections together with the other sinks of a sub flow.

In ``execution_mode: dask`` every sink computes its lazy input. Computed one
sink at a time, the work the sinks share (reading and parsing the source
files, the transforms before a fan-out) is done once per sink: the reference
job (rows to Parquet, and an aggregate of them to Parquet) parsed its CSV
files twice. A module that awaits ``ctx.compute(...)`` instead of calling
``dask.compute(...)`` hands its collections to the run, and the run computes
the collections of every module of the sub flow instance that asks at the
same moment in **one** ``dask.compute``: dask merges the graphs, so shared
work runs once (docs/dask-mode.md, "One compute per sub flow").

When "the same moment" is, and what a failure, a retry or a timeout of one
of them means, is the run's business (``pypeline/run/nodes/joint.py``); the
module sees ``dask.compute``'s results for its own collections, or the error
its own data raises. Collections must be expression-backed dask collections
(frames, series, ``to_parquet(..., compute=False)``, ``map_partitions``):
a ``Delayed`` made with ``frame.to_delayed()`` carries a graph optimised on
its own, so it cannot share the parsing with the others.

Outside a sub flow run (a module run on its own, a remote backend's far
side) there is nobody to join: the collections are computed at once, alone,
on the context's thread runner. The run tells a module's task which sub flow
instance it belongs to through a context variable (:class:`Joining`), so the
node runner in between needs no knowledge of it.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import Any, Protocol


class JointCompute(Protocol):
    """The run's side of ``ctx.compute``: computes a module's collections together with its siblings'."""

    async def compute(self, ctx: Any, collections: tuple[Any, ...]) -> tuple[Any, ...]:
        """The results of ``dask.compute(*collections)`` for the module of ``ctx``."""
        ...


_JOINT: ContextVar[JointCompute | None] = ContextVar("pypeline_joint_compute", default=None)


class Joining:
    """``with Joining(joint):`` within the block (and the tasks it starts), ``ctx.compute`` goes through ``joint``.

    A class, not a generator-based context manager: the run enters one per module run,
    and a generator costs a few microseconds more each time (benchmarks/module_overhead.py).
    """

    __slots__ = ("_joint", "_token")

    def __init__(self, joint: JointCompute | None) -> None:
        self._joint = joint
        self._token: Token[JointCompute | None] | None = None

    def __enter__(self) -> None:
        self._token = _JOINT.set(self._joint)

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _JOINT.reset(self._token)


async def compute(ctx: Any, collections: tuple[Any, ...]) -> tuple[Any, ...]:
    """``ctx.compute``: jointly when the module runs inside a sub flow run, else at once (module docstring)."""
    joint = _JOINT.get()
    if joint is None or not any(is_collection(c) for c in collections):
        results: tuple[Any, ...] = await ctx.executor.run_in_thread(compute_now, collections)
        return results
    return await joint.compute(ctx, collections)


def compute_now(collections: tuple[Any, ...] | list[Any]) -> tuple[Any, ...]:
    """``dask.compute(*collections)`` (values that are no dask collection come back as they are)."""
    if not any(is_collection(c) for c in collections):
        return tuple(collections)
    from dask.base import compute as dask_compute

    return tuple(dask_compute(*collections))


def is_collection(value: Any) -> bool:
    """True for a dask collection (dask is imported only when ``value`` comes from it)."""
    if not type(value).__module__.startswith("dask"):
        return False
    from dask.base import is_dask_collection

    return bool(is_dask_collection(value))
