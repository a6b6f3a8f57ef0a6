"""The flow as plain ASCII text: one box per sub flow, control connections between them.

::

    flow demo (version 1.0): 5 modules in 3 sub flows, 2 control connections

    +- sub flow read (root) ---------------+
    | wave 1  read    csv_source (source)  |
    |           data -> adults.input       |
    | wave 2  adults  filter_mod (mod)     |
    |           output -> write.input      |
    | wave 3  write   csv_sink (sink)      |
    +--------------------------------------+
      write -(1|read__rows > 0)-> report
      write -(2|)-[start]-> archive

      +- sub flow report ---------------+
      ...

Sub flows come in the planned priority-DFS order, indented by their depth in
it. Inside a box, modules are listed by wave (a module's inputs come from
earlier waves), each followed by its outgoing data connections
(``port -> module.port``). Under a box, its control connections in firing
order: ``from -(order|condition)-> to``, with the type and its options in
brackets (``[iterate PORT parallel=4]``, ``[start]``, ``[on_error handled]``,
``[always]``). Each include is listed under the title line with its file;
its modules' ids carry its id (``east.load``). Only ASCII characters are
used, so the output reads the same in any terminal, log or file.
"""

from __future__ import annotations

from pypeline.job.plan import JobPlan
from pypeline.job.spec import ControlEdge


def control_kind(edge: ControlEdge) -> str:
    """The type and its options (``iterate files parallel=4``, ``on_error handled``); ``""`` for normal."""
    if edge.type == "normal":
        return ""
    words: list[str] = [edge.type]
    if edge.type == "iterate" and edge.port:
        words.append(edge.port)
    if edge.handled:
        words.append("handled")
    if edge.parallel != 1:
        words.append(f"parallel={edge.parallel}")
    return " ".join(words)


def control_label(edge: ControlEdge) -> str:
    """``(order|condition)`` plus the type when it is not ``normal``."""
    valve = f"({edge.order}|{edge.condition or ''})"
    kind = control_kind(edge)
    return f"{valve} {kind}" if kind else valve


def _control_line(view: JobPlan, edge: ControlEdge) -> str:
    valve = f"-({edge.order}|{edge.condition or ''})-"
    kind = f"[{control_kind(edge)}]-" if edge.type != "normal" else ""
    target = view.subflow_of[edge.dst]
    where = f"  (sub flow {target})" if target != edge.dst else ""
    return f"{edge.src} {valve}{kind}> {edge.dst}{where}"


def _box(view: JobPlan, subflow_id: str) -> list[str]:
    subflow = view.subflows[subflow_id]
    members = [m for wave in subflow.waves for m in wave]
    width_id = max(len(m) for m in members)
    label_width = len(f"wave {len(subflow.waves)}")
    content: list[str] = []
    for number, wave in enumerate(subflow.waves, start=1):
        for position, module_id in enumerate(wave):
            spec = view.modules[module_id]
            backend = spec.execution.get("backend", "local")
            where = "" if backend == "local" else f" @{backend}"
            label = f"wave {number}" if position == 0 else ""
            content.append(f"{label:<{label_width}}  {module_id:<{width_id}}  {spec.name} ({spec.type}){where}")
            for edge in view.outputs_of.get(module_id, ()):
                content.append(f"{'':<{label_width}}    {edge.src_port} -> {edge.dst}.{edge.dst_port}")
    tag = " (root)" if subflow_id in view.root_subflows else ""
    title = f"+- sub flow {subflow_id}{tag} "
    inner = max(max(len(line) for line in content), len(title) - 2)
    top = title + "-" * (inner + 3 - len(title)) + "+"
    return [top, *(f"| {line:<{inner}} |" for line in content), "+" + "-" * (inner + 2) + "+"]


def render_ascii(view: JobPlan) -> str:
    """The ASCII drawing of ``view`` (see the module docstring)."""
    version = f" (version {view.version})" if view.version else ""
    n_mod, n_sf, n_ctl = len(view.modules), len(view.subflows), len(view.control_edges)
    lines = [
        f"flow {view.name}{version}: {n_mod} module{'s' * (n_mod != 1)} in {n_sf} sub flow{'s' * (n_sf != 1)}, "
        f"{n_ctl} control connection{'s' * (n_ctl != 1)}",
        *(f"include {i['id']}: {i['file']} (modules {i['id']}.*)" for i in view.includes),
        "",
    ]
    depth = view.depth_of()
    for subflow_id in view.subflow_order():
        indent = "  " * depth.get(subflow_id, 0)
        lines.extend(indent + line for line in _box(view, subflow_id))
        lines.extend(f"{indent}  {_control_line(view, edge)}" for edge in view.control_out(subflow_id))
        lines.append("")
    lines.append("planned order: " + " > ".join(view.subflow_order()))
    return "\n".join(lines) + "\n"
