"""What a run did, typed: :class:`RunReport` and one :class:`ModuleReport` per node.

Both are read from the run's ``manifest.json`` (docs/running.md), the record
``pype run`` writes too, so a report and the manifest never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypeline.core.errors import RunError

MANIFEST_FILE = "manifest.json"


class RunFailed(RunError):
    """Raised by :meth:`RunReport.raise_for_status` for a run that did not succeed."""

    def __init__(self, report: RunReport) -> None:
        self.report = report
        causes = "; ".join(report.errors) or "see its manifest"
        hint = f"; resume with: {report.resume_command}" if report.resume_command else ""
        super().__init__(f"run {report.run_id} of {report.job_dir}: {report.status}: {causes}{hint}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ModuleReport:
    """One node of a run: a module, in one iteration (``load#2``) or none (``load``)."""

    node_id: str
    module_id: str
    status: str
    """``success``, ``failed``, ``skipped``, ``restored`` (done by the run this one resumed), ..."""
    rows_in: int | None
    rows_out: int | None
    attempts: int
    duration_ms: float | None
    backend: str | None
    error: str | None
    globals: Mapping[str, Any]
    """The globals the node set (``row_count``, ...); templates read them as ``{{module__name}}``."""
    stats: Mapping[str, Any]

    @classmethod
    def from_manifest(cls, node_id: str, record: Mapping[str, Any]) -> ModuleReport:
        """The report of one entry of the manifest's ``modules``."""
        return cls(
            node_id=node_id,
            module_id=str(record.get("module_id", node_id.split("#")[0])),
            status=str(record.get("status")),
            rows_in=record.get("rows_in"),
            rows_out=record.get("rows_out"),
            attempts=int(record.get("attempts") or 0),
            duration_ms=record.get("duration_ms"),
            backend=record.get("backend"),
            error=record.get("error"),
            globals=dict(record.get("globals") or {}),
            stats=dict(record.get("stats") or {}),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RunReport:
    """The outcome of one run of a job folder (see the module docstring)."""

    run_id: str
    status: str
    """``success`` or ``failed`` (``interrupted`` after a signal)."""
    job_dir: Path
    run_dir: Path
    manifest_path: Path
    modules: Mapping[str, ModuleReport]
    """Node id -> its report."""
    errors: tuple[str, ...]
    resume_command: str | None
    """After a failure, the ``pype run ... --resume RUN_ID`` command that resumes it."""
    manifest: Mapping[str, Any]
    """The whole manifest, as ``manifest.json`` holds it."""

    @property
    def ok(self) -> bool:
        """True when the run succeeded."""
        return self.status == "success"

    @property
    def globals(self) -> dict[str, Any]:
        """Every global the run's nodes set, as ``node_id.name`` -> value."""
        return {
            f"{node}.{name}": value for node, module in self.modules.items() for name, value in module.globals.items()
        }

    def raise_for_status(self) -> RunReport:
        """Return the report when the run succeeded.

        Raises:
            RunFailed: naming the errors and the resume command otherwise.
        """
        if not self.ok:
            raise RunFailed(self)
        return self

    @classmethod
    def from_manifest(cls, job_dir: Path, run_dir: Path, manifest: Mapping[str, Any]) -> RunReport:
        """The report of a run from its manifest."""
        return cls(
            run_id=str(manifest["run_id"]),
            status=str(manifest["status"]),
            job_dir=job_dir,
            run_dir=run_dir,
            manifest_path=run_dir / MANIFEST_FILE,
            modules={node: ModuleReport.from_manifest(node, record)
                     for node, record in (manifest.get("modules") or {}).items()},
            errors=tuple(str(e) for e in manifest.get("errors") or ()),
            resume_command=manifest.get("resume_command"),
            manifest=manifest,
        )
