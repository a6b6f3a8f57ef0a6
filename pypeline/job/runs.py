"""The runs of a job folder, as anyone may read them: ``jobs/<name>/runs/<run_id>/``.

A run's ``manifest.json`` says ``running`` from its start until its end. A run
killed outright (``kill -9``, power loss) never writes its final manifest, so
the run also holds an exclusive ``flock`` on ``<run_dir>/.run.lock`` while its
process lives; the kernel drops the lock when the process dies, however it
dies. A manifest that says ``running`` without a lock holder belongs to a
killed run. The run writes and takes the lock (``run/checkpoint/resume.py``);
``--resume``, ``pype ui`` and ``run_job`` read it here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

LOCK_FILE = ".run.lock"


def fcntl_module() -> Any:
    """The ``fcntl`` module, or ``None`` where it does not exist (Windows)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on Windows
        return None
    return fcntl


def run_status(run_dir: Path) -> str:
    """``success``, ``failed``, ``running`` (a live process holds the lock) or ``killed``."""
    try:
        status = str(json.loads((run_dir / "manifest.json").read_text(encoding="utf-8")).get("status"))
    except (OSError, ValueError):
        status = "running"
    if status == "running":
        return "running" if is_locked(run_dir) else "killed"
    return status


def is_locked(run_dir: Path) -> bool:
    """True when a live process holds ``run_dir``'s run lock."""
    fcntl = fcntl_module()
    path = run_dir / LOCK_FILE
    if fcntl is None or not path.exists():
        return False
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
