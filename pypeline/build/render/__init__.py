"""Drawing a flow before it runs: ASCII for the terminal, Mermaid and Graphviz DOT for documents.

``pype graph <flow.yaml|job folder>`` uses :func:`graph_plan` to get the
flow's :class:`~pypeline.job.plan.JobPlan` and one of the renderers:

* :func:`~pypeline.build.render.ascii.render_ascii`: sub flows boxed, data
  connections inside, control connections with valves and types;
* :func:`~pypeline.build.render.mermaid.render_mermaid`: a Mermaid flowchart;
* :func:`~pypeline.build.render.dot.render_dot`: a Graphviz digraph.

All three walk the plan only in fixed orders (sub flows in planned order,
modules by wave and id, connections sorted), never in the order of a dict,
so the same flow draws the same bytes from its YAML or from its job folder.
"""

from __future__ import annotations

from pathlib import Path

from pypeline.build.render.ascii import render_ascii
from pypeline.build.render.dot import render_dot
from pypeline.build.render.mermaid import render_mermaid
from pypeline.job.folder import read_job_folder
from pypeline.job.plan import JobPlan

__all__ = ["graph_plan", "render_ascii", "render_dot", "render_mermaid"]


def graph_plan(target: str | Path) -> JobPlan:
    """The plan of a flow YAML (validated, nothing written) or of a job folder.

    Raises:
        FlowError: the flow YAML does not validate (file and line in the message).
        JobError: a folder that is not a job folder.
    """
    path = Path(target)
    if path.is_dir():
        return read_job_folder(path, check_hash=False, hint="; give a flow YAML or a folder written by 'pype build'")
    from pypeline.build.build import validate_flow

    return validate_flow(path)
