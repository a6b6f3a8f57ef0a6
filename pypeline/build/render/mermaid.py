"""The flow as a Mermaid ``flowchart`` (renders on GitHub, GitLab and in most Markdown tools).

Each sub flow is a ``subgraph``; modules are nodes labelled with their id,
module name and category; data connections are plain arrows labelled
``port -> port`` inside their sub flow; control connections are thick arrows
(``==>``; dotted ``-.->`` for ``start``) labelled with the valve
``(order|condition)`` and the type. Labels are quoted and the characters
Mermaid gives a meaning to (``"``, ``|``, ``<``, ``>``, ``#``) are written as
entity codes, so a condition such as ``a__n > 0 and b == "x"`` shows as
written.
"""

from __future__ import annotations

from pypeline.build.render.ascii import control_label
from pypeline.job.plan import JobPlan

_ENTITIES = {"#": "#35;", '"': "#quot;", "|": "#124;", "<": "#lt;", ">": "#gt;"}


def mermaid_text(text: str) -> str:
    """``text`` safe inside a quoted Mermaid label."""
    return "".join(_ENTITIES.get(ch, ch) for ch in text).replace("\n", " ")


def _node(module_id: str) -> str:
    return f"m_{module_id}"


def render_mermaid(view: JobPlan) -> str:
    """The Mermaid flowchart of ``view`` (see the module docstring)."""
    version = f" {view.version}" if view.version else ""
    lines = [f"%% flow {view.name}{version}, drawn by pype graph", "flowchart TD"]
    for subflow_id in view.subflow_order():
        subflow = view.subflows[subflow_id]
        lines.append(f'  subgraph sf_{subflow_id}["sub flow {mermaid_text(subflow_id)}"]')
        lines.append("    direction LR")
        members = [m for wave in subflow.waves for m in wave]
        for module_id in members:
            spec = view.modules[module_id]
            backend = spec.execution.get("backend", "local")
            where = "" if backend == "local" else f" on {backend}"
            label = mermaid_text(f"{module_id}") + "<br/>" + mermaid_text(f"{spec.name} ({spec.type}){where}")
            lines.append(f'    {_node(module_id)}["{label}"]')
        for module_id in members:
            for edge in view.outputs_of.get(module_id, ()):
                label = mermaid_text(f"{edge.src_port} -> {edge.dst_port}")
                lines.append(f'    {_node(edge.src)} -->|"{label}"| {_node(edge.dst)}')
        lines.append("  end")
    for subflow_id in view.subflow_order():
        for control in view.control_out(subflow_id):
            arrow = "-.->" if control.type == "start" else "==>"
            label = mermaid_text(control_label(control))
            lines.append(f'  {_node(control.src)} {arrow}|"{label}"| {_node(control.dst)}')
    return "\n".join(lines) + "\n"
