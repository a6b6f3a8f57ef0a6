"""Where the UI may read: inside ``JOBS_DIR``, and nowhere else.

Names in a URL (a job, a run) are never joined onto a path as given. A job
name must be the name of a folder directly inside ``JOBS_DIR`` and a run id
the name of a folder directly inside that job's ``runs/``; both are checked
against a strict spelling first (no separators, no ``..``, no leading dot),
and the folder found is resolved (symbolic links followed) and must still
lie inside ``JOBS_DIR``. A name that fails any check is simply *not found*
(404), so a probe learns nothing about the file system.

The one file the UI reads outside ``JOBS_DIR`` is the flow file a job
folder names as its source (``flow_path`` in its execution metadata), and
only to tell whether it changed since the build: its content is hashed and
compared, never returned (:func:`source_changed`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}$")
"""A job name or run id as ``pype build`` / ``pype run`` make them (no separators, no leading dot)."""


class NotFound(Exception):
    """A job, run or module that does not exist (or may not be read): HTTP 404."""


@dataclass(frozen=True, slots=True)
class JobsRoot:
    """``JOBS_DIR``, resolved once; every read goes through it."""

    root: Path

    @classmethod
    def at(cls, folder: str | Path) -> JobsRoot:
        """``folder`` resolved (it must exist: :mod:`pypeline.ui.server` checks that first)."""
        return cls(Path(folder).resolve(strict=True))

    def inside(self, path: Path) -> bool:
        """True when ``path`` (resolved, links followed) lies inside ``JOBS_DIR``."""
        try:
            path.resolve(strict=True).relative_to(self.root)
        except (OSError, ValueError, RuntimeError):
            return False
        return True

    def file(self, path: Path) -> Path:
        """``path`` when it is a regular file inside ``JOBS_DIR``.

        Raises:
            NotFound: missing, not a file, or a link that leads outside ``JOBS_DIR``.
        """
        if not path.is_file() or not self.inside(path):
            raise NotFound(path.name)
        return path

    def job_files_inside(self, job_dir: Path) -> bool:
        """True when no file of the job folder (top level and ``context/``) leads outside ``JOBS_DIR``."""
        try:
            entries = [*job_dir.iterdir(), *((job_dir / "context").iterdir() if (job_dir / "context").is_dir() else [])]
        except OSError:
            return False
        return all(self.inside(p) for p in entries if p.is_file())

    def job_dirs(self) -> list[Path]:
        """The folders directly inside ``JOBS_DIR`` that may be job folders, by name."""
        try:
            children = sorted(self.root.iterdir(), key=lambda p: p.name)
        except OSError:
            return []
        return [p for p in children if NAME_RE.match(p.name) and p.is_dir() and self.inside(p)]

    def job_dir(self, name: str) -> Path:
        """The folder of job ``name``.

        Raises:
            NotFound: a bad name, no such folder, or one that leads outside ``JOBS_DIR``.
        """
        return self._child(self.root, name)

    def run_dir(self, job_dir: Path, run_id: str) -> Path:
        """The folder of run ``run_id`` of the job in ``job_dir``.

        Raises:
            NotFound: a bad id, no such run, or a folder that leads outside ``JOBS_DIR``.
        """
        return self._child(job_dir / "runs", run_id)

    def run_dirs(self, job_dir: Path) -> list[Path]:
        """The run folders of a job (unsorted)."""
        runs = job_dir / "runs"
        try:
            children = list(runs.iterdir())
        except OSError:
            return []
        return [p for p in children if NAME_RE.match(p.name) and p.is_dir() and self.inside(p)]

    def _child(self, parent: Path, name: str) -> Path:
        if not NAME_RE.match(name):
            raise NotFound(name)
        path = parent / name
        if not path.is_dir() or not self.inside(path):
            raise NotFound(name)
        return path


def source_changed(flow_path: object, copy: Path) -> bool | None:
    """Whether the flow file at ``flow_path`` differs from the job folder's copy of it.

    ``None`` when that cannot be told: no path recorded (a folder built before
    PYpeline recorded it), or no readable YAML file there any more.
    """
    if not isinstance(flow_path, str) or not flow_path.endswith((".yaml", ".yml")):
        return None
    source = Path(flow_path)
    try:
        if not source.is_file():
            return None
        return _digest(source) != _digest(copy)
    except OSError:
        return None


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
