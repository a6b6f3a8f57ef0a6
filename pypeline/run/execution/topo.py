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

A failing node makes the task group cancel its siblings; the sub flow then
fails with that node's :class:`ModuleError`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pypeline.core.errors import ModuleError
from pypeline.modules.sdk.globals import node_id_for
from pypeline.run.execution.node import run_node
from pypeline.run.execution.services import RunServices


async def run_subflow(
    services: RunServices, subflow_id: str, iter_path: tuple[int, ...], iter_items: tuple[Any, ...]
) -> None:
    """Run every module of ``subflow_id`` in iteration ``iter_path``.

    Raises:
        ModuleError: the first module failure (siblings are cancelled).
    """
    job = services.job
    subflow = job.subflows[subflow_id]
    artifacts = services.artifacts
    mode = services.execution_mode
    produced: dict[str, dict[str, Any]] = {}
    remaining = dict(job.subflow_consumers.get(subflow_id, {}))
    tasks: dict[str, asyncio.Task[None]] = {}
    made: list[Any] = []
    readers = _readers(job.inputs_of, subflow.modules)

    def waits(module_id: str, port: str) -> bool:
        """True when a reader of this output still waits for another of its inputs."""
        return any(
            not tasks[edge.src].done()
            for reader in readers.get((module_id, port), ())
            for edge in job.inputs_of.get(reader, ())
            if edge.src != module_id
        )

    async def node_task(module_id: str) -> None:
        spec = job.modules[module_id]
        in_edges = job.inputs_of.get(module_id, ())
        for edge in in_edges:
            await tasks[edge.src]
        inputs = {edge.dst_port: await artifacts.fetch(produced[edge.src][edge.src_port], mode) for edge in in_edges}
        outputs = await run_node(services, spec, inputs, iter_path, iter_items)
        inputs.clear()
        node_id = node_id_for(module_id, iter_path)
        registered: dict[str, Any] = {}
        for port, value in outputs.items():
            if port in spec.list_outputs:
                services.state.lists[(node_id, port)] = list(value) if value is not None else []
            if (module_id, port) in job.consumers_of:
                waiting = waits(module_id, port)
                registered[port] = await artifacts.store(value, name=f"{node_id}.{port}", waiting=waiting)
                made.append(registered[port])
        produced[module_id] = registered
        for edge in in_edges:
            key = (edge.src, edge.src_port)
            remaining[key] -= 1
            if remaining[key] == 0:
                artifacts.release(produced[edge.src].pop(edge.src_port))

    order = [m for wave in subflow.waves for m in wave]
    try:
        async with asyncio.TaskGroup() as group:
            for module_id in order:
                tasks[module_id] = group.create_task(node_task(module_id), name=f"node:{module_id}")
    except BaseExceptionGroup as group_error:
        raise _first_module_error(group_error) from None
    finally:
        for art in made:
            artifacts.release(art, final=True)


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
