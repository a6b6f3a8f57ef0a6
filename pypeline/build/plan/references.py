"""Check the names templates and conditions use (docs/secrets.md).

* ``context.X`` must be defined by at least one environment of ``context:``;
* ``MODULE__VAR`` must name a module of the flow and, when that module
  declares its globals, one of them (case-insensitive); the *from* module of
  an ``on_error`` / ``always`` connection also has ``error_message``,
  ``error_type`` and ``error_module``;
* ``iter.item`` / ``iter.index`` in a module's configs need the module's sub
  flow to be reachable through an ``iterate`` connection (otherwise there is
  never an iteration to read);
* ``vault.PATH#KEY`` is only checked for its spelling (secrets exist at run time).
"""

from __future__ import annotations

from dataclasses import replace

from pypeline.build.load.flow_spec import FlowSpec
from pypeline.core.errors import PlanError
from pypeline.core.expressions import parse_expression
from pypeline.core.references import Reference, ReferenceSyntaxError
from pypeline.core.templates import find_templates
from pypeline.core.text import did_you_mean
from pypeline.job.spec import ERROR_GLOBALS, ON_FAILURE, ControlEdge, ModuleSpec


def check_references(
    flow: FlowSpec,
    modules: dict[str, ModuleSpec],
    control_edges: tuple[ControlEdge, ...],
    subflow_of: dict[str, str] | None = None,
) -> None:
    """Raise a :class:`PlanError` for the first unknown name.

    Raises:
        PlanError: naming the module and config key (or the connection) and the unknown name.
    """
    context_names = {name for env in flow.context.values() for name in env}
    lower_ids = {m.lower(): m for m in modules}
    handled = {e.src for e in control_edges if e.type in ON_FAILURE}
    if handled:  # the scheduler sets these on them (run/scheduling/failures.py)
        modules = {
            m: (replace(spec, globals=(*spec.globals, *ERROR_GLOBALS)) if m in handled and spec.globals is not None
                else spec)
            for m, spec in modules.items()
        }
    in_iteration = _iterated_subflows(control_edges, subflow_of) if subflow_of is not None else None
    for spec in modules.values():
        for top_key in sorted(spec.configs):
            line = flow.config_lines.get((spec.id, top_key), spec.line)
            try:
                found = find_templates({top_key: spec.configs[top_key]})
            except ReferenceSyntaxError as exc:
                raise PlanError(
                    f"module '{spec.id}', config '{top_key}': bad template: {exc}", **flow.module_at(spec.id, line)
                ) from None
            for key, _raw, ref in found:
                problem = _problem(ref, context_names, lower_ids, modules)
                if ref.kind == "iter" and in_iteration is not None and subflow_of is not None:
                    if subflow_of[spec.id] not in in_iteration:
                        problem = (
                            f"'{{{{{ref}}}}}' is only known inside an iteration, and no iterate connection "
                            f"leads to sub flow '{subflow_of[spec.id]}'"
                        )
                if problem:
                    raise PlanError(f"module '{spec.id}', config '{key}': {problem}", **flow.module_at(spec.id, line))
    for edge in control_edges:
        if not edge.condition:
            continue
        for ref in parse_expression(edge.condition).references:
            problem = _problem(ref, context_names, lower_ids, modules)
            if problem:
                raise PlanError(f"control connection '{edge}': {problem}", **flow.control_at(edge.index, edge.line))


def _iterated_subflows(control_edges: tuple[ControlEdge, ...], subflow_of: dict[str, str]) -> set[str]:
    """Sub flows that can run inside an iteration: iterate targets and everything downstream of them."""
    downstream: dict[str, set[str]] = {}
    for edge in control_edges:
        downstream.setdefault(subflow_of[edge.src], set()).add(subflow_of[edge.dst])
    seen: set[str] = set()
    stack = [subflow_of[e.dst] for e in control_edges if e.type == "iterate"]
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(downstream.get(current, ()))
    return seen


def _problem(
    ref: Reference, context_names: set[str], lower_ids: dict[str, str], modules: dict[str, ModuleSpec]
) -> str | None:
    if ref.kind == "context" and ref.name not in context_names:
        defined = ", ".join(sorted(context_names)) or "none"
        return (
            f"unknown context variable '{ref.name}'{did_you_mean(ref.name, context_names)} "
            f"(defined: {defined}; add it under 'context:')"
        )
    if ref.kind == "param":
        return f"'{{{{{ref}}}}}' is unknown here: parameters belong to a flow that declares them under 'params:'"
    if ref.kind == "global":
        module_id = lower_ids.get(ref.module.lower())
        if module_id is None:
            return f"'{ref}' names an unknown module '{ref.module}'{did_you_mean(ref.module, modules)}"
        declared = modules[module_id].globals
        if declared is not None and ref.name.lower() not in {g.lower() for g in declared}:
            listed = ", ".join(declared) or "none"
            return (
                f"module '{module_id}' sets no global '{ref.name}'{did_you_mean(ref.name, declared)} "
                f"(its globals: {listed})"
            )
    return None
