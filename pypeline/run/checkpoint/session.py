"""``CheckpointSession``: how one run takes part in checkpointing and resuming.

The run orchestrator opens a session right after it built the run state:

1. ``open()`` takes the run lock (so a killed run can be told from a live
   one), and for a resumed run removes the temporary folders the runs it
   resumes recorded beside their sinks' outputs and left behind, and writes the carried-over instances into
   this run's own checkpoint, so that it can be resumed in turn;
2. the scheduler awaits ``on_subflow_done(record)`` after every successful
   sub flow instance, which appends that instance's record to the checkpoint
   journal (no fsync is awaited: ``store.py`` says what is durable when);
3. ``resume_command(status)`` gives the exact command that resumes a failed
   run (for its manifest); once the final manifest is written, ``finish(status)``
   removes the checkpoint after a success and marks the runs this one resumed
   as done, or settles it (fsync) after a failure;
4. ``close()`` settles the checkpoint if the run ends any other way (an
   exception, Ctrl-C), stops its committer thread, and releases the run lock
   (and the lock on the resumed run, which keeps a second ``--resume`` of the
   same run out while this one lives).

With ``settings.checkpoint.enabled: false`` nothing is written and a failed
run offers no resume command.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from pypeline.core.errors import CheckpointError
from pypeline.job.plan import JobPlan
from pypeline.modules.sdk.globals import node_id_for
from pypeline.run.checkpoint.resume import CHECKPOINT_DIR, ResumePlan, RunLock, mark_resumed
from pypeline.run.checkpoint.store import CheckpointWriter
from pypeline.run.checkpoint.tempfiles import forget_temporaries, remove_leftovers
from pypeline.run.state.records import RunState, SubflowRecord


class CheckpointSession:
    """See the module docstring."""

    def __init__(
        self,
        *,
        job: JobPlan,
        run_id: str,
        run_dir: Path,
        env: str,
        overrides: dict[str, Any],
        context_vars: dict[str, Any],
        resume: ResumePlan | None,
        state: RunState,
        secrets: Any = None,
        logger: Any = None,
    ) -> None:
        self.job = job
        self.run_id = run_id
        self.run_dir = run_dir
        self.env = env
        self.overrides = overrides
        self.context_vars = context_vars
        self.resume = resume
        self.state = state
        self.logger = logger
        self.enabled = bool((job.settings.get("checkpoint") or {}).get("enabled", True))
        self.writer = CheckpointWriter(run_dir / CHECKPOINT_DIR, secrets=secrets, logger=logger)
        self._lock = RunLock(run_dir)
        self._source_lock: RunLock | None = None

    @property
    def resumed_from(self) -> str | None:
        """The run this one resumes."""
        return self.resume.run_id if self.resume else None

    @property
    def origin_run_id(self) -> str:
        """The first run of the resume chain (this run's id when it resumes none)."""
        return self.resume.chain[-1] if self.resume else self.run_id

    def open(self) -> None:
        """Take the run lock; clean up after the resumed run; write the first checkpoint files."""
        self._lock.acquire()
        if self.resume is not None:
            try:
                self._source_lock = RunLock(self.resume.run_dir).acquire()
            except OSError:
                raise CheckpointError(
                    f"run '{self.resume.run_id}' is being resumed by another process right now"
                ) from None
            self._clean_temp_files()
        if self.enabled:
            meta = {
                "run_id": self.run_id,
                "job": self.job.name,
                "flow_hash": self.job.flow_hash,
                "env": self.env,
                "overrides": self.overrides,
                "resumed_from": self.resumed_from,
                "chain": self.resume.chain if self.resume else [],
            }
            self.writer.start(meta, self.resume.checkpoint if self.resume else None)
            if self.resume is not None and self.resume.checkpoint.dropped and self.logger is not None:
                self.logger.warning(
                    "checkpoint_tail_ignored", run=self.resume.run_id, reason=self.resume.checkpoint.dropped,
                    detail="that instance and the ones after it run again",
                )

    async def on_subflow_done(self, record: SubflowRecord) -> None:
        """Checkpoint a finished sub flow instance (the scheduler's hook)."""
        if self.enabled:
            modules = self.job.subflows[record.subflow].modules
            nodes = {node_id_for(m, record.iter_path): self.job.modules[m].list_outputs for m in modules}
            await self.writer.instance_done(record, self.state, nodes)

    def resume_command(self, status: str) -> str | None:
        """The command that resumes this run, when it failed and left a checkpoint."""
        if status == "success" or not self.enabled:
            return None
        return f"pype run {shlex.quote(str(self.job.folder))} --resume {shlex.quote(self.run_id)}"

    def finish(self, status: str) -> None:
        """Settle the checkpoint once the run ended and its manifest is written."""
        if status == "success":
            self.writer.remove()
            forget_temporaries(self.run_dir)
            if self.resume is not None:
                mark_resumed(self.job.runs_dir, self.resume.chain, self.run_id)
        elif self.enabled:
            self._settle()

    def close(self) -> None:
        """Settle what is left of the checkpoint, stop its thread, release the run locks."""
        try:
            if self.enabled:
                self._settle(close=True)
        finally:
            self._lock.release()
            if self._source_lock is not None:
                self._source_lock.release(unlink=False)

    def _settle(self, *, close: bool = False) -> None:
        try:
            if close:
                self.writer.close()
            else:
                self.writer.settle()
        except CheckpointError as exc:
            # the records are in the page cache (a killed process keeps them); only an OS crash could lose them
            if self.logger is not None:
                self.logger.warning("checkpoint_not_durable", error=exc.format_message())

    def _clean_temp_files(self) -> None:
        if self.resume is None:
            return
        removed = remove_leftovers(self.job.runs_dir, self.resume.chain)
        if removed and self.logger is not None:
            self.logger.info("temp_files_removed", count=len(removed), files=removed)
