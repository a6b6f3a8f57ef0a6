"""Check and build a :class:`~pypeline.api.document.FlowDocument` with the build's own steps.

No twin of the build: the document goes through the same load
(:func:`~pypeline.build.load.flow_loader.load_document`: schema, modules,
configs, execution blocks), plan (:func:`~pypeline.build.plan.planner.plan_flow`:
connections, sub flows, cycles, references) and write
(:func:`~pypeline.job.folder.write_job`) steps as ``pype build``; only the
messages move to the lines that made each part (:mod:`pypeline.api.located`).
"""

from __future__ import annotations

from pathlib import Path

from pypeline.api.document import FlowDocument
from pypeline.api.located import python_lines
from pypeline.build.build import gc_paused
from pypeline.build.load.flow_loader import load_document
from pypeline.build.plan.planner import plan_flow
from pypeline.job.folder import write_job
from pypeline.job.plan import JobPlan
from pypeline.modules.registry import Registry


def plan_document(document: FlowDocument, registry: Registry) -> JobPlan:
    """Load and plan ``document`` without writing anything.

    Raises:
        FlowError: the first problem, at the file and line that made the part.
    """
    with gc_paused(), python_lines(document):
        return plan_flow(load_document(document.doc, registry))


def build_document(document: FlowDocument, out_dir: str | Path, registry: Registry) -> Path:
    """Validate ``document`` and write its job folder under ``out_dir``; return the folder.

    Raises:
        FlowError: the first problem, at the file and line that made the part; nothing is written then.
        JobError: when the folder cannot be written.
    """
    with gc_paused(), python_lines(document):
        flow = load_document(document.doc, registry)
        plan = plan_flow(flow)
        return write_job(plan, document.text, flow.context, out_dir, flow.path)
