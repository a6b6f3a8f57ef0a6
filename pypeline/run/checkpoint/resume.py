"""``pype run JOB --resume [RUN_ID]``: pick the run to resume, check it, and restore its state.

Which run
---------
``--resume RUN_ID`` names it; plain ``--resume`` takes the latest failed run
of the job (by start time) that left a checkpoint. A run killed outright
(``kill -9``, power loss) never wrote its final manifest: its manifest still
says ``running`` while no process holds its run lock, and it counts as
failed.

Refusals (:class:`CheckpointError`, exit code 2, nothing runs): an unknown
run id; a run that succeeded; a run still running; a run already resumed by
a run that succeeded; a run without a checkpoint; a checkpoint whose flow
hash differs from the job folder's (the flow changed since: rebuilding it
makes the recorded instances meaningless for the new flow).

What a resumed run is
---------------------
A **new run** with its own id and folder, whose manifest names the run it
resumes in ``resumed_from``; the old run's folder (manifest, log) stays as
the record of what happened then. The new run uses the old run's context
(environment and ``--set`` overrides), starts from its finished instances
(``RunState.restored``: the scheduler does not run them again but fires
their control connections as usual, so conditions are re-evaluated on the
restored globals), its iterate lists and its globals. Its manifest lists the
restored modules with status ``restored`` and ``attempts: 0``; what ran
again has ``attempts >= 1``. When the resumed run succeeds, the runs it
resumed are marked ``resumed_by`` and their checkpoints removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypeline.core.errors import CheckpointError
from pypeline.core.jsonio import atomic_write_json
from pypeline.core.templates import find_templates
from pypeline.job.runs import LOCK_FILE, fcntl_module, is_locked
from pypeline.job.runs import run_status as run_status  # read here by pype ui (ui/sources.py)
from pypeline.modules.sdk.globals import GlobalStore
from pypeline.run.checkpoint.reading import read_checkpoint
from pypeline.run.checkpoint.store import Checkpoint, InstanceData
from pypeline.run.state.records import NodeRecord, RunState
from pypeline.secrets.transport import forgiving, from_wire

CHECKPOINT_DIR = "checkpoint"
RESUMED_BY_FILE = "resumed_by.json"
LATEST = "latest"

_RECORD_FIELDS = {"node_id", "module_id", "subflow", "iter_path", "backend", "status", "attempts", "retries",
                  "rows_in", "rows_out", "started", "ended", "duration_ms", "error", "globals"}


@dataclass(slots=True, kw_only=True)
class ResumePlan:
    """A checked checkpoint to resume from."""

    run_id: str
    run_dir: Path
    checkpoint: Checkpoint

    @property
    def env(self) -> str:
        """The context environment of the resumed run."""
        return str(self.checkpoint.meta.get("env", "default"))

    @property
    def overrides(self) -> dict[str, Any]:
        """The ``--set`` overrides of the resumed run."""
        return dict(self.checkpoint.meta.get("overrides", {}))

    @property
    def chain(self) -> list[str]:
        """This run id and the ids it resumed itself, newest first."""
        return [self.run_id, *self.checkpoint.meta.get("chain", [])]

    def restore(
        self, state: RunState, store: GlobalStore, secret_resolver: Any = None, modules: Mapping[str, Any] | None = None
    ) -> None:
        """Put the finished instances, their lists, globals and node records into a fresh run.

        Secrets were checkpointed as references (``{"$vault": PATH#KEY}``, or
        ``{"$vault_text": [...]}`` for a string built around secrets); they are read
        again through ``secret_resolver`` (the run's Vault resolver), so a restored
        global or iterate item holds the exact value, marked, without the checkpoint
        ever holding it. The secrets the restored modules' configs name (``modules``:
        the job's module specs) are read again too: the resumed run's redaction then
        knows every secret the instances it carries on had, although none of them
        runs again. A secret that cannot be read now is not an error here; a module
        that needs it fails with its path (see ``UnreadSecret``).
        """
        resolve = forgiving(secret_resolver)
        for instance in self.checkpoint.instances:
            state.restored.add(instance.key)
            state.lists.update({key: from_wire(values, resolve) for key, values in instance.lists.items()})
            for key, value in instance.globals:
                node_id, var = key.rsplit(".", 1)
                store.set(node_id, var, from_wire(value, resolve))
            for data in instance.nodes.values():
                state.add_node(_restored_record(data, self.run_id))
        if secret_resolver is not None and modules:
            restored = {str(data.get("module_id")) for i in self.checkpoint.instances for data in i.nodes.values()}
            for module_id in sorted(restored & set(modules)):
                for _key, _raw, ref in find_templates(getattr(modules[module_id], "configs", {})):
                    if ref.kind == "secret":
                        resolve(ref.name)

    @property
    def instances(self) -> list[InstanceData]:
        """The finished instances, in completion order."""
        return self.checkpoint.instances


def plan_resume(runs_dir: Path, run_id: str, flow_hash: str) -> ResumePlan:
    """Choose and check the run to resume (``run_id`` may be ``latest``).

    Raises:
        CheckpointError: the run cannot be resumed (see the module docstring for the cases).
    """
    if run_id == LATEST:
        run_id = _latest_failed(runs_dir)
    run_dir = runs_dir / run_id
    if not (run_dir / "manifest.json").is_file():
        known = ", ".join(sorted(p.name for p in _run_dirs(runs_dir))[-5:]) or "none"
        raise CheckpointError(f"{run_dir}: no run '{run_id}' in {runs_dir} (latest runs: {known})")
    status = run_status(run_dir)
    if status == "success":
        raise CheckpointError(f"run '{run_id}' succeeded; there is nothing to resume")
    if status == "running":
        raise CheckpointError(f"run '{run_id}' is still running (its process holds {run_dir / LOCK_FILE})")
    if is_locked(run_dir):
        raise CheckpointError(f"run '{run_id}' is being resumed by another process right now")
    resumed_by = _resumed_by(run_dir)
    if resumed_by:
        raise CheckpointError(f"run '{run_id}' was already resumed by run '{resumed_by}', which succeeded")
    checkpoint = read_checkpoint(run_dir / CHECKPOINT_DIR)
    if checkpoint is None:
        raise CheckpointError(
            f"run '{run_id}' has no checkpoint in {run_dir / CHECKPOINT_DIR} "
            "(checkpoints were disabled, or the run ended before its first one); start a new run"
        )
    recorded = checkpoint.meta.get("flow_hash")
    if recorded != flow_hash:
        raise CheckpointError(
            f"run '{run_id}' cannot be resumed: the job folder changed since its checkpoint "
            f"(flow hash {str(recorded)[:12]} then, {flow_hash[:12]} now); start a new run with 'pype run' "
            "(without --resume)"
        )
    return ResumePlan(run_id=run_id, run_dir=run_dir, checkpoint=checkpoint)


def mark_resumed(runs_dir: Path, chain: list[str], by_run: str) -> None:
    """After ``by_run`` succeeded: mark every run it resumed and drop their checkpoints."""
    for run_id in chain:
        run_dir = runs_dir / run_id
        atomic_write_json(run_dir / RESUMED_BY_FILE, {"resumed_by": by_run, "status": "success"})
        shutil.rmtree(run_dir / CHECKPOINT_DIR, ignore_errors=True)


# -- the run lock ------------------------------------------------------------------------------


class RunLock:
    """An exclusive ``flock`` on ``<run_dir>/.run.lock`` held while the run's process lives.

    The kernel drops it when the process dies, however it dies, so a manifest
    that still says ``running`` without a lock holder belongs to a killed run.
    """

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        """Take the lock (no-op where ``fcntl`` does not exist).

        Raises:
            OSError: another process holds it.
        """
        fcntl = fcntl_module()
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise
        self._fd = fd
        return self

    def release(self, *, unlink: bool = True) -> None:
        """Drop the lock (and remove the lock file of a run that is over)."""
        if self._fd is not None:
            if unlink:
                with contextlib.suppress(OSError):
                    self.path.unlink()
            os.close(self._fd)
            self._fd = None


# -- helpers ----------------------------------------------------------------------------------


def _run_dirs(runs_dir: Path) -> list[Path]:
    return [d for d in runs_dir.iterdir() if d.is_dir()] if runs_dir.is_dir() else []


def _started(run_dir: Path) -> str:
    try:
        return str(json.loads((run_dir / "manifest.json").read_text(encoding="utf-8")).get("started") or "")
    except (OSError, ValueError):
        return ""


def _latest_failed(runs_dir: Path) -> str:
    candidates = [
        d for d in _run_dirs(runs_dir)
        if (d / CHECKPOINT_DIR / "meta.json").is_file()
        and not _resumed_by(d)
        and run_status(d) in ("failed", "killed")
    ]
    if not candidates:
        raise CheckpointError(f"{runs_dir}: no failed run with a checkpoint to resume; start a new run")
    return max(candidates, key=lambda d: (_started(d), d.name)).name


def _resumed_by(run_dir: Path) -> str | None:
    path = run_dir / RESUMED_BY_FILE
    if not path.is_file():
        return None
    try:
        return str(json.loads(path.read_text(encoding="utf-8"))["resumed_by"])
    except (OSError, ValueError, KeyError):
        return "another run"


def _restored_record(data: dict[str, Any], from_run: str) -> NodeRecord:
    facts = {k: v for k, v in data.items() if k not in _RECORD_FIELDS}
    facts["restored_from"] = from_run
    return NodeRecord(
        node_id=data["node_id"],
        module_id=data["module_id"],
        subflow=data["subflow"],
        iter_path=tuple(data["iter_path"]),
        backend=data.get("backend", "local"),
        status="restored",
        attempts=0,
        rows_in=data.get("rows_in"),
        rows_out=data.get("rows_out"),
        started=data.get("started"),
        ended=data.get("ended"),
        duration_ms=data.get("duration_ms"),
        globals=dict(data.get("globals") or {}),
        facts=facts,
    )
