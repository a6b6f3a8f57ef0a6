"""Read a job folder back into typed objects, refusing stale or invalid ones.

A job folder is what ``pype build`` wrote (DESIGN.md §9). It is *stale* when
its flow YAML or dag.json no longer match the flow hash recorded at build
time (someone edited the folder by hand), and *invalid* when a file is
missing or unreadable. Both are :class:`JobError` (exit code 2) with a
message that says to rebuild.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pypeline.build.job_files import read_job_folder, read_json_file
from pypeline.build.output import DEFAULT_ENV
from pypeline.build.spec import ControlEdge, DataEdge, ModuleSpec, SubFlow
from pypeline.core.errors import JobError
from pypeline.core.templates import has_templates
from pypeline.core.text import did_you_mean
from pypeline.modules.loader import ModuleImportError, load_module_class
from pypeline.run.globals_read import globals_read


@dataclass(frozen=True, slots=True, kw_only=True)
class JobPlan:
    """Everything the run needs from a job folder."""

    folder: Path
    name: str
    flow_hash: str
    settings: dict[str, Any]
    modules: dict[str, ModuleSpec]
    data_edges: tuple[DataEdge, ...]
    control_edges: tuple[ControlEdge, ...]
    subflows: dict[str, SubFlow]
    subflow_of: dict[str, str]
    root_subflows: tuple[str, ...]
    planned_order: tuple[dict[str, Any], ...]
    environments: tuple[str, ...]
    outgoing: dict[str, tuple[tuple[int, tuple[ControlEdge, ...]], ...]] = field(default_factory=dict)
    """Sub flow -> its outgoing control connections grouped by ascending order."""
    inputs_of: dict[str, tuple[DataEdge, ...]] = field(default_factory=dict)
    consumers_of: dict[tuple[str, str], int] = field(default_factory=dict)
    """(module, output port) -> number of data connections reading it."""
    connected_outputs: dict[str, frozenset[str]] = field(default_factory=dict)
    """Module -> output ports something reads (data connections and iterate connections)."""
    meta: dict[str, Any] = field(default_factory=dict)
    """The flow's ``flow:`` block (name, version, authors, ...)."""
    subflow_consumers: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)
    """Sub flow -> ``consumers_of`` restricted to its modules (reference counts of one instance)."""
    templated: frozenset[str] = frozenset()
    """Modules whose configs hold ``{{templates}}`` (the others need no rendering at run time)."""
    globals_read: dict[str, frozenset[str]] = field(default_factory=dict)
    """Module id -> its globals that a template or condition reads (:mod:`pypeline.run.globals_read`);
    filled in dask mode only, the one mode with lazy outputs."""

    @property
    def runs_dir(self) -> Path:
        """``jobs/<name>/runs``."""
        return self.folder / "runs"

    def context_path(self, env: str) -> Path:
        """``jobs/<name>/context/<name>_<env>.json``."""
        return self.folder / "context" / f"{self.name}_{env}.json"


def load_job(folder: str | Path) -> JobPlan:
    """Load and check a job folder.

    Raises:
        JobError: missing, invalid or stale folder.
    """
    files = read_job_folder(folder, check_hash=True)
    root, name, metadata = files.root, files.name, files.metadata
    modules = files.modules
    _check_module_classes(root, modules)
    data_edges = files.data_edges
    control_edges = files.control_edges
    subflows = files.subflows
    subflow_of = dict(metadata["subflow_of"])
    grouped: dict[str, dict[int, list[ControlEdge]]] = defaultdict(lambda: defaultdict(list))
    for edge in control_edges:
        grouped[subflow_of[edge.src]][edge.order].append(edge)
    outgoing = {
        sf: tuple((order, tuple(edges)) for order, edges in sorted(by_order.items()))
        for sf, by_order in grouped.items()
    }
    inputs_of: dict[str, list[DataEdge]] = defaultdict(list)
    consumers: dict[tuple[str, str], int] = defaultdict(int)
    for data_edge in data_edges:
        inputs_of[data_edge.dst].append(data_edge)
        consumers[(data_edge.src, data_edge.src_port)] += 1
    connected: dict[str, set[str]] = defaultdict(set)
    for module_id, port in consumers:
        connected[module_id].add(port)
    for edge in control_edges:
        if edge.type == "iterate" and edge.port:
            connected[edge.src].add(edge.port)
    per_subflow: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)
    for (module_id, port), count in consumers.items():
        per_subflow[subflow_of[module_id]][(module_id, port)] = count
    templated = frozenset(m for m, spec in modules.items() if has_templates(spec.configs))
    return JobPlan(
        folder=root,
        name=name,
        flow_hash=metadata["flow_hash"],
        settings=metadata["settings"],
        modules=modules,
        data_edges=data_edges,
        control_edges=control_edges,
        subflows=subflows,
        subflow_of=subflow_of,
        root_subflows=tuple(metadata["root_subflows"]),
        planned_order=tuple(metadata["planned_order"]),
        environments=tuple(metadata.get("environments", [DEFAULT_ENV])),
        outgoing=outgoing,
        inputs_of={k: tuple(v) for k, v in inputs_of.items()},
        consumers_of=dict(consumers),
        connected_outputs={k: frozenset(v) for k, v in connected.items()},
        meta=dict(files.dag.get("flow") or {}),
        subflow_consumers=dict(per_subflow),
        templated=templated,
        # only a dask-mode run has lazy outputs whose rows may need counting (node.count_rows_read_later)
        globals_read=(
            globals_read(modules, control_edges, templated)
            if metadata["settings"].get("execution_mode") == "dask" else {}
        ),
    )


def _check_module_classes(root: Path, modules: dict[str, ModuleSpec]) -> None:
    """Every module class still imports, so a moved or broken module file stops the run before it starts."""
    for module_id, spec in modules.items():
        try:
            load_module_class(spec.module_path)
        except ModuleImportError as exc:
            raise JobError(
                f"{root}: module '{module_id}' uses {spec.module_path}, which cannot be loaded: {exc} "
                "(restore the module file, or fix the flow and rebuild it with 'pype build <flow.yaml>')"
            ) from None


def load_context(job: JobPlan, env: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The context variables of ``env`` with ``--set`` overrides applied.

    Raises:
        JobError: for an unknown environment or an override of an undefined variable.
    """
    if env not in job.environments:
        raise JobError(
            f"unknown context environment '{env}'{did_you_mean(env, job.environments)} "
            f"(the job defines: {', '.join(job.environments)})"
        )
    contexts = {e: read_json_file(job.context_path(e)) for e in job.environments}
    for e, content in contexts.items():
        if not isinstance(content, dict):
            raise JobError(
                f"{job.context_path(e)}: expected a JSON object of context variables, got "
                f"{type(content).__name__}; rebuild it with 'pype build <flow.yaml>'"
            )
    values: dict[str, Any] = contexts[env]
    known = {k for content in contexts.values() for k in content}
    for key in overrides:
        if key not in known:
            raise JobError(
                f"--set {key}=...: unknown context variable '{key}'{did_you_mean(key, known)} "
                f"(defined: {', '.join(sorted(known)) or 'none'})"
            )
    return {**values, **overrides}
