"""Run the data nodes of one sub flow instance.

A node starts as soon as *its* inputs are ready (the planned waves are how
the plan is shown, not a barrier): the instance counts, per module, the data
connections whose producer has not finished. The modules without inputs
start first, each in a task of the instance's task group; when a node
finishes, the readers it made ready run next: the first in the same task
(a chain of modules runs in one task, with no task to create, schedule and
wake per module), any others in new tasks of the group, so the branches of a
fan-out run side by side. Each output is
registered once with the artifact manager and read by all its consumers
(fan-out computes once). The manager is told whether the output will *wait*
(a reader still waits for another input): only then may it be spilled, since
a frame its readers take at once would be read straight back. When the last consumer of an output has run, the
artifact is released; list outputs that drive iterate connections are kept
in the run state instead, because they cross the sub flow boundary.

What each module receives (the mode's kind of frame, or a conversion at its
boundary) is decided by :class:`~pypeline.run.nodes.boundary.FrameBoundary`.
In ``execution_mode: stream`` a module returns a stream without reading it:
the stream is named after the module (its errors say where they come from)
and registered with as many tee branches as it has readers, so the input is
read once however many modules read it; the sink that reads a stream does
the work of the stages before it.

A failing node makes the task group cancel its siblings; the sub flow then
fails with that node's :class:`ModuleError`.

In dask mode the instance's sinks compute their inputs together, in one
``dask.compute`` per batch (:mod:`pypeline.run.nodes.joint`): each node task
runs with the instance's :class:`SubflowComputes` as the target of
``ctx.compute``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pypeline.core.errors import ModuleError
from pypeline.job.plan import JobPlan
from pypeline.modules.kinds import is_stream
from pypeline.modules.sdk.globals import node_id_for
from pypeline.modules.sdk.joint import Joining
from pypeline.run.artifacts.manager import NOT_AT_HAND, ArtifactManager
from pypeline.run.artifacts.memory import StreamArtifact
from pypeline.run.nodes.boundary import FrameBoundary, collected_reason
from pypeline.run.nodes.joint import SubflowComputes
from pypeline.run.nodes.node import NodeRunner
from pypeline.run.state.records import RunState


class SubflowRunner:
    """Runs the data nodes of sub flow instances (see the module docstring)."""

    def __init__(
        self, plan: JobPlan, state: RunState, artifacts: ArtifactManager, nodes: NodeRunner, execution_mode: str
    ) -> None:
        self.plan = plan
        self.state = state
        self.artifacts = artifacts
        self.nodes = nodes
        self.mode = execution_mode
        self.boundary = FrameBoundary(execution_mode)

    async def __call__(self, subflow_id: str, iter_path: tuple[int, ...], iter_items: tuple[Any, ...]) -> None:
        """Run every module of ``subflow_id`` in iteration ``iter_path``.

        Raises:
            ModuleError: the first module failure (siblings are cancelled).
        """
        instance = _Instance(self, subflow_id, iter_path, iter_items)
        try:
            # the tasks made here inherit "no joint compute"; in dask mode run_node names each module's
            # (a context variable set once per instance, not once per node: docs/performance.md)
            with Joining(None):
                async with asyncio.TaskGroup() as group:
                    instance.group = group
                    for module_id in instance.order:
                        if not instance.pending[module_id]:
                            group.create_task(instance.run(module_id), name=f"node:{module_id}")
        except BaseExceptionGroup as group_error:
            raise _first_module_error(group_error) from None
        finally:
            for art in instance.made:
                self.artifacts.release(art, final=True)


class _Instance:
    """The bookkeeping of one sub flow instance: inputs still awaited, outputs and reference counts."""

    def __init__(
        self, runner: SubflowRunner, subflow_id: str, iter_path: tuple[int, ...], iter_items: tuple[Any, ...]
    ) -> None:
        plan = runner.plan
        subflow = plan.subflows[subflow_id]
        self.runner = runner
        self.iter_path = iter_path
        self.iter_items = iter_items
        self.order = [m for wave in subflow.waves for m in wave]
        self.position = {m: i for i, m in enumerate(self.order)}
        self.pending = {m: len(plan.inputs_of.get(m, ())) for m in self.order}
        """Module -> its data connections whose producer has not finished (0: ready or started)."""
        self.group: asyncio.TaskGroup | None = None
        self.produced: dict[str, dict[str, Any]] = {}
        self.remaining = dict(plan.subflow_consumers.get(subflow_id, {}))
        self.made: list[Any] = []
        self.joint = SubflowComputes.for_subflow(plan, subflow_id) if runner.mode == "dask" else None

    def waits(self, module_id: str, port: str) -> bool:
        """True when a reader of this output still waits for another of its inputs."""
        inputs_of = self.runner.plan.inputs_of
        return any(
            edge.src != module_id and edge.src not in self.produced
            for out in self.runner.plan.outputs_of.get(module_id, ())
            if out.src_port == port
            for edge in inputs_of.get(out.dst, ())
        )

    async def run(self, module_id: str | None) -> None:
        """Run ``module_id``, then, in this task, the first reader it made ready (see the module docstring)."""
        while module_id is not None:
            try:
                await self.run_node(module_id)
            finally:
                if self.joint is not None:
                    self.joint.finished(module_id)
            ready = self.made_ready(module_id)
            group = self.group
            assert group is not None  # set before the first task starts
            for other in ready[1:]:
                group.create_task(self.run(other), name=f"node:{other}")
            module_id = ready[0] if ready else None

    def made_ready(self, module_id: str) -> list[str]:
        """The readers of ``module_id`` whose last awaited input it was, in planned order."""
        ready = []
        pending = self.pending
        for edge in self.runner.plan.outputs_of.get(module_id, ()):
            pending[edge.dst] -= 1
            if not pending[edge.dst]:
                ready.append(edge.dst)
        if len(ready) > 1:
            ready.sort(key=self.position.__getitem__)
        return ready

    async def run_node(self, module_id: str) -> None:
        """Run ``module_id`` on its inputs, register its outputs, release what is read."""
        runner, plan = self.runner, self.runner.plan
        spec = plan.modules[module_id]
        in_edges = plan.inputs_of.get(module_id, ())
        want = runner.boundary.want(spec)
        inputs = {}
        for edge in in_edges:
            art = self.produced[edge.src][edge.src_port]
            if isinstance(art, StreamArtifact) and runner.boundary.collects(spec):
                runner.nodes.warn(spec, self.iter_path, "stream_collected", **collected_reason(spec, want))
            value = runner.artifacts.at_hand(art, want)
            inputs[edge.dst_port] = await runner.artifacts.fetch(art, want) if value is NOT_AT_HAND else value
        if self.joint is None:
            outputs = await runner.nodes.run(spec, inputs, self.iter_path, self.iter_items)
        else:
            with Joining(self.joint.for_module(module_id)):
                outputs = await runner.nodes.run(spec, inputs, self.iter_path, self.iter_items)
        inputs.clear()
        node_id = node_id_for(module_id, self.iter_path)
        registered: dict[str, Any] = {}
        for port, value in outputs.items():
            if port in spec.list_outputs:
                runner.state.lists[(node_id, port)] = list(value) if value is not None else []
            if (module_id, port) in plan.consumers_of:
                art = self._kept(module_id, port, value)
                registered[port] = art if art is not None else await self._store(module_id, port, value, node_id)
                self.made.append(registered[port])
            elif is_stream(value):  # nobody reads it: read it to its end, as an eager module would have
                value.claim(module_id)
                await asyncio.to_thread(_drain, value)
        self.produced[module_id] = registered
        for edge in in_edges:
            key = (edge.src, edge.src_port)
            self.remaining[key] -= 1
            if self.remaining[key] == 0:
                runner.artifacts.release(self.produced[edge.src].pop(edge.src_port))

    def _kept(self, module_id: str, port: str, value: Any) -> Any:
        """The in-memory artifact of an output that is no stream and stays in memory, else ``None``."""
        if is_stream(value):
            return None
        return self.runner.artifacts.kept_in_memory(value, waiting=self.waits(module_id, port))

    async def _store(self, module_id: str, port: str, value: Any, node_id: str) -> Any:
        """Register one output with the artifact manager (a stream: named, and teed for its readers)."""
        runner = self.runner
        if is_stream(value):
            value.claim(module_id)
            return runner.artifacts.store_stream(value, readers=runner.plan.consumers_of[(module_id, port)])
        waiting = self.waits(module_id, port)
        return await runner.artifacts.store(value, name=f"{node_id}.{port}", waiting=waiting)


def _drain(stream: Any) -> None:
    for _batch in stream:
        pass


def _first_module_error(group_error: BaseExceptionGroup[BaseException]) -> BaseException:
    """The ModuleError that caused the group to fail (other members are cancellations)."""
    for exc in group_error.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return _first_module_error(exc)
        if isinstance(exc, ModuleError):
            return exc
    return group_error.exceptions[0]
