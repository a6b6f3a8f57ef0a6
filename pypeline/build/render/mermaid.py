"""The flow as a Mermaid ``flowchart`` (renders on GitHub, GitLab and in most Markdown tools).

Each sub flow is a ``subgraph``; modules are nodes labelled with their id,
module name and category; data connections are plain arrows labelled
``port -> port`` inside their sub flow; control connections are thick arrows
(``==>``; dotted ``-.->`` for ``start``, ``--x`` for ``on_error``, ``--o``
for ``always``) labelled with the valve ``(order|condition)`` and the type.
The modules an include brought into a sub flow form a nested subgraph
(``include east: parts/clean.yaml``); dots of included ids become ``__`` in
node ids. Labels are quoted and the characters
Mermaid gives a meaning to (``"``, ``|``, ``<``, ``>``, ``#``) are written as
entity codes, so a condition such as ``a__n > 0 and b == "x"`` shows as
written.
"""

from __future__ import annotations

from pypeline.build.render.ascii import control_label
from pypeline.build.render.groups import Group, include_file, include_groups
from pypeline.job.plan import JobPlan

_ENTITIES = {"#": "#35;", '"': "#quot;", "|": "#124;", "<": "#lt;", ">": "#gt;"}


def mermaid_text(text: str) -> str:
    """``text`` safe inside a quoted Mermaid label."""
    return "".join(_ENTITIES.get(ch, ch) for ch in text).replace("\n", " ")


def _node(module_id: str) -> str:
    """A Mermaid node id: the dots of an included module's id become ``__`` (no id written by hand has one)."""
    return "m_" + module_id.replace(".", "__")


_ARROWS = {"start": "-.->", "on_error": "--x", "always": "--o"}
"""Control connection arrows by type (others ``==>``): dotted for start, a cross for on_error, a circle for always."""


def _module_lines(view: JobPlan, group: Group, subflow_id: str, indent: str) -> list[str]:
    """The nodes of one include group, and its nested includes as subgraphs inside it."""
    lines = []
    for module_id in group.modules:
        spec = view.modules[module_id]
        backend = spec.execution.get("backend", "local")
        where = "" if backend == "local" else f" on {backend}"
        label = mermaid_text(f"{module_id}") + "<br/>" + mermaid_text(f"{spec.name} ({spec.type}){where}")
        lines.append(f'{indent}{_node(module_id)}["{label}"]')
    for child in group.children:
        name = "inc_" + (subflow_id + "__" + child.include).replace(".", "__")
        title = mermaid_text(f"include {child.include}: {include_file(view, child.include)}")
        lines.append(f'{indent}subgraph {name}["{title}"]')
        lines.extend(_module_lines(view, child, subflow_id, indent + "  "))
        lines.append(f"{indent}end")
    return lines


def render_mermaid(view: JobPlan) -> str:
    """The Mermaid flowchart of ``view`` (see the module docstring)."""
    version = f" {view.version}" if view.version else ""
    lines = [f"%% flow {view.name}{version}, drawn by pype graph", "flowchart TD"]
    for subflow_id in view.subflow_order():
        subflow = view.subflows[subflow_id]
        lines.append(f'  subgraph sf_{subflow_id.replace(".", "__")}["sub flow {mermaid_text(subflow_id)}"]')
        lines.append("    direction LR")
        members = [m for wave in subflow.waves for m in wave]
        lines.extend(_module_lines(view, include_groups(view, members), subflow_id, "    "))
        for module_id in members:
            for edge in view.outputs_of.get(module_id, ()):
                label = mermaid_text(f"{edge.src_port} -> {edge.dst_port}")
                lines.append(f'    {_node(edge.src)} -->|"{label}"| {_node(edge.dst)}')
        lines.append("  end")
    for subflow_id in view.subflow_order():
        for control in view.control_out(subflow_id):
            arrow = _ARROWS.get(control.type, "==>")
            label = mermaid_text(control_label(control))
            lines.append(f'  {_node(control.src)} {arrow}|"{label}"| {_node(control.dst)}')
    return "\n".join(lines) + "\n"
