"""Plan phase orchestrator: FlowSpec -> JobPlan.

Order of checks (each raises the first problem as a :class:`PlanError`):
data connections (ids, ports, categories, fan-in) -> sub flows and data
cycles -> control connections (categories, same sub flow, valves, iterate
lists) -> control cycles -> template and condition names -> sink paths ->
column names (``columns.py``) -> child jobs calling back (``run_job``) ->
planned order; outputs nobody reads become warnings (``outputs.py``); then the
execution mode (``auto`` resolved, :mod:`.mode`).
"""

from __future__ import annotations

from pathlib import Path

from pypeline.build.load.flow_spec import FlowSpec
from pypeline.build.plan.child_jobs import check_child_jobs
from pypeline.build.plan.columns import check_flow_columns
from pypeline.build.plan.connections import parse_control_edges, parse_data_edges
from pypeline.build.plan.graph import build_subflows, check_control_cycles, find_subflows, root_subflows
from pypeline.build.plan.mode import choose_mode
from pypeline.build.plan.outputs import check_sink_paths, unread_outputs
from pypeline.build.plan.references import check_references
from pypeline.job.folder import context_files
from pypeline.job.plan import JobPlan


def plan_flow(flow: FlowSpec) -> JobPlan:
    """Plan a loaded flow.

    Raises:
        PlanError: the first rule the flow breaks, with file and line.
    """
    modules = {m.id: m for m in flow.modules}
    data_edges = parse_data_edges(flow, modules)
    subflow_of = find_subflows(modules, data_edges)
    subflows = build_subflows(flow, modules, data_edges, subflow_of)
    control_edges = parse_control_edges(flow, modules, subflow_of)
    check_control_cycles(flow, control_edges, subflow_of)
    check_references(flow, modules, control_edges, subflow_of)
    check_sink_paths(flow, modules)
    check_flow_columns(flow, modules, data_edges, subflows)
    check_child_jobs(flow, modules)
    roots = root_subflows(subflows, control_edges, subflow_of)
    mode = choose_mode(str(flow.settings["execution_mode"]), modules, subflow_of)
    return JobPlan(
        name=flow.name,
        meta=flow.meta,
        settings=mode.settings(flow.settings),
        modules=modules,
        data_edges=data_edges,
        control_edges=control_edges,
        subflows=subflows,
        subflow_of=subflow_of,
        root_subflows=roots,
        environments=tuple(sorted(context_files(flow.context))),
        flow_path=str(Path(flow.path).resolve()) if flow.path else None,
        warnings=tuple(unread_outputs(modules, data_edges, control_edges)),
        includes=flow.includes,
    )
