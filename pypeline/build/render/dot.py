"""The flow as a Graphviz DOT digraph (``dot -Tsvg flow.dot -o flow.svg``).

Each sub flow is a ``cluster_`` subgraph (drawn as a dashed box); modules
are boxes labelled with id, module name and category; data connections are
thin arrows labelled ``port -> port``; control connections are bold arrows
labelled ``(order|condition)`` plus the type (``start`` dashed, ``iterate``
doubled). Every id and label is a quoted DOT string with ``\\`` and ``"``
escaped, so any module id or condition is valid DOT.
"""

from __future__ import annotations

from pypeline.build.render.ascii import control_label
from pypeline.job.plan import JobPlan


def dot_string(text: str) -> str:
    """``text`` as a quoted DOT string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


_CONTROL_STYLE = {
    "normal": 'style=bold, color="#1f5fa6"',
    "iterate": 'style=bold, color="#1f5fa6:#1f5fa6"',
    "start": 'style="bold,dashed", color="#1f5fa6"',
}


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
        for wave in subflow.waves:
            for module_id in wave:
                spec = view.modules[module_id]
                backend = spec.execution.get("backend", "local")
                where = "" if backend == "local" else f"\non {backend}"
                label = f"{module_id}\n{spec.name} ({spec.type}){where}"
                lines.append(f"    {dot_string(module_id)} [label={dot_string(label)}];")
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
