"""Run the data nodes of one sub flow instance.

Every module of the sub flow gets a task that waits for the tasks producing
its inputs, then runs; so a node starts as soon as *its* inputs are ready
(the planned waves are how the plan is shown, not a barrier). Each output is
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
"""

from __future__ import annotations

import asyncio
from typing import Any

from pypeline.core.errors import ModuleError
from pypeline.job.plan import JobPlan
from pypeline.modules.sdk.globals import node_id_for
from pypeline.run.artifacts.artifact import is_stream
from pypeline.run.artifacts.manager import ArtifactManager
from pypeline.run.artifacts.memory import StreamArtifact
from pypeline.run.nodes.boundary import FrameBoundary, collected_reason
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
            async with asyncio.TaskGroup() as group:
                for module_id in instance.order:
                    instance.tasks[module_id] = group.create_task(instance.run(module_id), name=f"node:{module_id}")
        except BaseExceptionGroup as group_error:
            raise _first_module_error(group_error) from None
        finally:
            for art in instance.made:
                self.artifacts.release(art, final=True)


class _Instance:
    """The bookkeeping of one sub flow instance: its node tasks, outputs and reference counts."""

    def __init__(
        self, runner: SubflowRunner, subflow_id: str, iter_path: tuple[int, ...], iter_items: tuple[Any, ...]
    ) -> None:
        plan = runner.plan
        subflow = plan.subflows[subflow_id]
        self.runner = runner
        self.iter_path = iter_path
        self.iter_items = iter_items
        self.order = [m for wave in subflow.waves for m in wave]
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.produced: dict[str, dict[str, Any]] = {}
        self.remaining = dict(plan.subflow_consumers.get(subflow_id, {}))
        self.made: list[Any] = []
        self.readers = _readers(plan.inputs_of, subflow.modules)

    def waits(self, module_id: str, port: str) -> bool:
        """True when a reader of this output still waits for another of its inputs."""
        inputs_of = self.runner.plan.inputs_of
        return any(
            not self.tasks[edge.src].done()
            for reader in self.readers.get((module_id, port), ())
            for edge in inputs_of.get(reader, ())
            if edge.src != module_id
        )

    async def run(self, module_id: str) -> None:
        """Wait for the inputs of ``module_id``, run it, register its outputs, release what is read."""
        runner, plan = self.runner, self.runner.plan
        spec = plan.modules[module_id]
        in_edges = plan.inputs_of.get(module_id, ())
        for edge in in_edges:
            await self.tasks[edge.src]
        want = runner.boundary.want(spec)
        inputs = {}
        for edge in in_edges:
            art = self.produced[edge.src][edge.src_port]
            if isinstance(art, StreamArtifact) and runner.boundary.collects(spec):
                runner.nodes.warn(spec, self.iter_path, "stream_collected", **collected_reason(spec, want))
            inputs[edge.dst_port] = await runner.artifacts.fetch(art, want)
        outputs = await runner.nodes.run(spec, inputs, self.iter_path, self.iter_items)
        inputs.clear()
        node_id = node_id_for(module_id, self.iter_path)
        registered: dict[str, Any] = {}
        for port, value in outputs.items():
            if port in spec.list_outputs:
                runner.state.lists[(node_id, port)] = list(value) if value is not None else []
            if (module_id, port) in plan.consumers_of:
                registered[port] = await self._store(module_id, port, value, node_id)
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


def _readers(inputs_of: Any, modules: Any) -> dict[tuple[str, str], list[str]]:
    """(module, output port) -> the modules reading it, inside one sub flow.

    Data edges never leave a sub flow, so the inputs of its own modules are all
    its edges: O(size of the sub flow), not O(edges of the job), per instance.
    """
    readers: dict[tuple[str, str], list[str]] = {}
    for module_id in modules:
        for edge in inputs_of.get(module_id, ()):
            readers.setdefault((edge.src, edge.src_port), []).append(edge.dst)
    return readers


def _first_module_error(group_error: BaseExceptionGroup[BaseException]) -> BaseException:
    """The ModuleError that caused the group to fail (other members are cancellations)."""
    for exc in group_error.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return _first_module_error(exc)
        if isinstance(exc, ModuleError):
            return exc
    return group_error.exceptions[0]
