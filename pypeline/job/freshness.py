"""Has the flow YAML changed since its job folder was built?

A job folder keeps a copy of the flow it was built from (``<name>.yaml``) and
the flow's path (``flow_path`` in the execution metadata). ``pype run`` runs
the job folder as built; when the flow file was edited since, the run would
silently use the old flow, so ``pype run`` warns (``cli/cmd_run.py``) and
names the two ways out: ``pype build FLOW``, or ``pype run FLOW``, which
builds and runs in one step. The copy and the file are compared as YAML
reads them (:func:`~pypeline.job.folder.hashed_text`: a byte order mark or
CRLF line ends are no change).
"""

from __future__ import annotations

from pathlib import Path

from pypeline.job.folder import hashed_text
from pypeline.job.plan import JobPlan


def flow_edited_since_build(plan: JobPlan) -> Path | None:
    """The flow file ``plan`` was built from, when its text differs from the job folder's copy; else ``None``.

    ``None`` too when it cannot be told: a plan without a recorded flow path (built by an
    older ``pype``), a flow written in Python (its file holds the code that made the flow,
    not the flow's YAML: docs/python-api.md), or a flow file that is gone or unreadable
    (moving or deleting a flow after the build is no reason to warn).
    """
    if plan.flow_path is None or plan.folder is None:
        return None
    source = Path(plan.flow_path)
    if source.suffix == ".py":
        return None
    try:
        now = source.read_text(encoding="utf-8")
        built = (plan.folder / f"{plan.name}.yaml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return source if hashed_text(now) != hashed_text(built) else None
