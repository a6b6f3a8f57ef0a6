"""The one place where ``pype ui`` reaches into the rest of PYpeline.

The UI reads job folders and run folders through their file formats, with
the readers that ``pype build``, ``pype graph`` and ``pype run`` already use,
so a job folder is parsed one way everywhere. Every such import lives here:
when those modules move, this file is the one to follow them.

* job folders: :func:`read_job` (``job/folder.py``: the plan the run and
  ``pype graph`` read; no module class is imported, so a job whose custom
  module is missing still shows);
* staleness: :func:`folder_matches_hash` recomputes the flow hash the build
  recorded (``job/folder.py``);
* configs for a context: :func:`render_for_context` renders templates the
  way ``pype run --dry-run`` does (``run/dryrun.py``): context values filled
  in, ``{{vault...}}`` shown as ``***`` and never fetched, run-time names
  (globals, the iteration) kept as ``<name>``;
* run status: :func:`run_status` tells a live run from a killed one by its
  run lock (``run/checkpoint/resume.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pypeline.build.render.ascii import control_label
from pypeline.core.errors import JobError
from pypeline.core.templates import render
from pypeline.job.folder import compute_flow_hash, read_job_folder, read_json_file
from pypeline.job.plan import JobPlan
from pypeline.run.checkpoint.resume import RESUMED_BY_FILE, run_status
from pypeline.run.dryrun import dry_lookup

__all__ = [
    "RESUMED_BY_FILE",
    "JobError",
    "JobPlan",
    "control_label",
    "folder_matches_hash",
    "read_job",
    "read_json",
    "render_for_context",
    "run_status",
]


def read_job(folder: Path) -> JobPlan:
    """The plan a job folder holds, stale or not.

    Raises:
        JobError: not a job folder, or a file of it missing or unreadable.
    """
    return read_job_folder(folder, check_hash=False)


def read_json(path: Path) -> Any:
    """One JSON file of a job folder.

    Raises:
        JobError: missing or unreadable.
    """
    return read_json_file(path)


def folder_matches_hash(job: JobPlan) -> bool:
    """True when the folder's flow YAML and dag.json still give the flow hash recorded at build time."""
    if job.folder is None:
        return False
    try:
        yaml_text = (job.folder / f"{job.name}.yaml").read_text(encoding="utf-8")
        dag_text = (job.folder / f"{job.name}_dag.json").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return compute_flow_hash(yaml_text, dag_text) == job.flow_hash


def render_for_context(configs: dict[str, Any], context_vars: dict[str, Any]) -> dict[str, Any]:
    """``configs`` as a dry run shows them for ``context_vars`` (secrets as ``***``, never fetched)."""
    rendered: dict[str, Any] = render(configs, dry_lookup(context_vars))
    return rendered
