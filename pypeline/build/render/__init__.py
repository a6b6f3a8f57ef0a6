"""Drawing a flow before it runs: ASCII for the terminal, Mermaid and Graphviz DOT for documents.

``pype graph <flow.yaml|job folder>`` uses :func:`graph_view` to get a
:class:`~pypeline.build.render.view.GraphView` and one of the renderers:

* :func:`~pypeline.build.render.ascii.render_ascii`: sub flows boxed, data
  connections inside, control connections with valves and types;
* :func:`~pypeline.build.render.mermaid.render_mermaid`: a Mermaid flowchart;
* :func:`~pypeline.build.render.dot.render_dot`: a Graphviz digraph.

All three are deterministic: the same flow gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path

from pypeline.build.render.ascii import render_ascii
from pypeline.build.render.dot import render_dot
from pypeline.build.render.mermaid import render_mermaid
from pypeline.build.render.view import GraphView, view_from_job, view_from_plan

__all__ = ["GraphView", "graph_view", "render_ascii", "render_dot", "render_mermaid"]


def graph_view(target: str | Path) -> GraphView:
    """The view of a flow YAML (validated, nothing written) or of a job folder.

    Raises:
        FlowError: the flow YAML does not validate (file and line in the message).
        JobError: a folder that is not a job folder.
    """
    path = Path(target)
    if path.is_dir():
        return view_from_job(path)
    from pypeline.build.build import validate_flow

    return view_from_plan(validate_flow(path))
