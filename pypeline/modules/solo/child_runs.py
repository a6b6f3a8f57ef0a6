"""The runs a ``run_job`` module started, found again and read back (``run_job.py``).

A child run's manifest names the node that started it (``parent_run``),
with that node's ``output_key`` (``job/first-run-of-the-resume-chain/node``,
the same in a run and in every run that resumes it). So when a parent run is
resumed and its ``run_job`` node runs again, the latest child run with the
same key tells what to do: it succeeded (reuse it, run nothing), it failed
or was killed with a checkpoint (resume it), it is still shutting down (its
parent was killed a moment ago: wait for it), or there is none (start one).

Globals come back from the child's manifest (each node's ``globals``); a
manifest is redacted, so a secret never crosses, as ``***`` at most.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypeline.job.runs import run_status
from pypeline.modules.sdk.errors import DataError

CHECKPOINT_META = Path("checkpoint") / "meta.json"


class ChildJobError(DataError):
    """A child job that could not be started, or that failed."""


@dataclass(frozen=True, slots=True)
class ChildRun:
    """One run of a child job folder."""

    run_dir: Path
    status: str
    """``success``, ``failed``, ``killed`` or ``running`` (``job/runs.py``)."""

    @property
    def run_id(self) -> str:
        """The run's id (its folder's name)."""
        return self.run_dir.name

    @property
    def resumable(self) -> bool:
        """Failed or killed, with a checkpoint to resume from."""
        return self.status in ("failed", "killed") and (self.run_dir / CHECKPOINT_META).is_file()

    def manifest(self) -> dict[str, Any]:
        """The run's manifest (``{}`` when it cannot be read)."""
        try:
            document = json.loads((self.run_dir / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return document if isinstance(document, dict) else {}


def latest_child_run(job_dir: Path, output_key: str) -> ChildRun | None:
    """The child run of ``job_dir`` started last by the node whose ``output_key`` is given."""
    found: list[tuple[str, str, Path]] = []
    runs = job_dir / "runs"
    for manifest in runs.glob("*/manifest.json") if runs.is_dir() else ():
        try:
            document = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        parent = document.get("parent_run") if isinstance(document, dict) else None
        if isinstance(parent, dict) and parent.get("output_key") == output_key:
            found.append((str(document.get("started") or ""), manifest.parent.name, manifest.parent))
    if not found:
        return None
    run_dir = max(found)[2]
    return ChildRun(run_dir=run_dir, status=run_status(run_dir))


def child_run_id(job_dir: Path, parent_run_id: str, node_id: str) -> str:
    """``<parent run id>.<node id>`` (``#`` becomes ``-``): a child run's id, unique since the parent's is;
    ``-2``, ``-3``, ... appended for the node's next attempts in the same parent run (``retries``)."""
    base = re.sub(r"[^A-Za-z0-9_.-]", "-", f"{parent_run_id}.{node_id}")
    run_id, attempt = base, 1
    while (job_dir / "runs" / run_id).exists():
        attempt += 1
        run_id = f"{base}-{attempt}"
    return run_id


def child_globals(manifest: dict[str, Any], wanted: dict[str, str], job: str) -> dict[str, Any]:
    """Parent global name -> value of the child global (``module__var``) it names.

    A module that ran in several iterations gives the value it set last (by end time), as a
    ``{{module__var}}`` read after the iteration would.

    Raises:
        ChildJobError: a child global that was never set.
    """
    nodes = manifest.get("modules") or {}
    values: dict[str, Any] = {}
    for name, reference in wanted.items():
        module, _, var = reference.partition("__")
        candidates = sorted(
            (str(node.get("ended") or ""), node_id, node)
            for node_id, node in nodes.items()
            if str(node.get("module_id", "")).lower() == module.lower()
        )
        found = [
            value for _, _, node in candidates
            for key, value in (node.get("globals") or {}).items() if key.lower() == var.lower()
        ]
        if not found:
            raise ChildJobError(
                f"child job '{job}': global '{reference}' was not set in run {manifest.get('run_id')} "
                f"(globals: {name} -> {reference})"
            )
        values[name] = found[-1]
    return values
