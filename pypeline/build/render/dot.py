"""The flow as a Graphviz DOT digraph (``dot -Tsvg flow.dot -o flow.svg``).

Each sub flow is a ``cluster_`` subgraph (drawn as a dashed box); modules
are boxes labelled with id, module name and category; data connections are
thin arrows labelled ``port -> port``; control connections are bold arrows
labelled ``(order|condition)`` plus the type (``start`` dashed, ``iterate``
doubled, ``on_error`` dashed red, ``always`` dotted grey). The modules an
include brought into a sub flow sit in a grey cluster of their own inside it
(``include east: parts/clean.yaml``), nested as the includes nest. Every id
and label is a quoted DOT string with ``\\`` and ``"`` escaped, so any module
id or condition is valid DOT.
"""

from __future__ import annotations

from pypeline.build.render.ascii import control_label
from pypeline.build.render.groups import Group, include_file, include_groups
from pypeline.job.plan import JobPlan


def dot_string(text: str) -> str:
    """``text`` as a quoted DOT string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


_CONTROL_STYLE = {
    "normal": 'style=bold, color="#1f5fa6"',
    "iterate": 'style=bold, color="#1f5fa6:#1f5fa6"',
    "start": 'style="bold,dashed", color="#1f5fa6"',
    "on_error": 'style="bold,dashed", color="#b3261e", fontcolor="#b3261e"',
    "always": 'style="bold,dotted", color="#6b6b6b"',
}


def _module_lines(view: JobPlan, group: Group, subflow_id: str, indent: str) -> list[str]:
    """The module nodes of one include group, and its nested includes as clusters inside it."""
    lines = []
    for module_id in group.modules:
        spec = view.modules[module_id]
        backend = spec.execution.get("backend", "local")
        where = "" if backend == "local" else f"\non {backend}"
        label = f"{module_id}\n{spec.name} ({spec.type}){where}"
        lines.append(f"{indent}{dot_string(module_id)} [label={dot_string(label)}];")
    for child in group.children:
        title = f"include {child.include}: {include_file(view, child.include)}"
        lines.append(f"{indent}subgraph {dot_string('cluster_' + subflow_id + '/' + child.include)} {{")
        lines.append(f'{indent}  label={dot_string(title)}; style="rounded,filled"; fillcolor="#f3f3f3";')
        lines.extend(_module_lines(view, child, subflow_id, indent + "  "))
        lines.append(f"{indent}}}")
    return lines


def render_dot(view: JobPlan) -> str:
    """The DOT digraph of ``view`` (see the module docstring)."""
    version = f" {view.version}" if view.version else ""
    lines = [
        f"digraph {dot_string(view.name)} {{",
        f"  graph [rankdir=LR, labelloc=t, fontname=Helvetica, label={dot_string('flow ' + view.name + version)}];",
        "  node [shape=box, style=rounded, fontname=Helvetica];",
        "  edge [fontname=Helvetica, fontsize=10];",
    ]
    for subflow_id in view.subflow_order():
        subflow = view.subflows[subflow_id]
        lines.append(f"  subgraph {dot_string('cluster_' + subflow_id)} {{")
        lines.append(f"    label={dot_string('sub flow ' + subflow_id)};")
        lines.append("    style=dashed;")
        members = [module_id for wave in subflow.waves for module_id in wave]
        lines.extend(_module_lines(view, include_groups(view, members), subflow_id, "    "))
        lines.append("  }")
    for subflow_id in view.subflow_order():
        for wave in view.subflows[subflow_id].waves:
            for module_id in wave:
                for edge in view.outputs_of.get(module_id, ()):
                    label = dot_string(f"{edge.src_port} -> {edge.dst_port}")
                    lines.append(f"  {dot_string(edge.src)} -> {dot_string(edge.dst)} [label={label}];")
    for subflow_id in view.subflow_order():
        for control in view.control_out(subflow_id):
            style = _CONTROL_STYLE.get(control.type, _CONTROL_STYLE["normal"])
            label = dot_string(control_label(control))
            lines.append(f"  {dot_string(control.src)} -> {dot_string(control.dst)} [label={label}, {style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
