"""Helpers for sinks: write under a temporary name, rename on success.

DESIGN.md §5: no half-written output is ever left under its final name. A
sink writes into the path this context manager yields; on a clean exit the
file (or folder) is renamed over the final name, on an error it is removed.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pypeline.core.jsonio import fsync_dir

TMP_MARKER = ".pype-tmp"


@contextmanager
def atomic_output_path(final: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary sibling of ``final``; rename it to ``final`` when the block succeeds.

    Works for a file or a folder (partitioned output). An existing ``final`` is
    replaced only after the new output is complete.
    """
    target = Path(final)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}{TMP_MARKER}"
    try:
        yield tmp
        if tmp.is_file():
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        if tmp.is_dir():
            if target.exists():
                old = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.pype-old"
                os.replace(target, old)
                os.replace(tmp, target)
                _remove(old)
            else:
                os.replace(tmp, target)
        elif tmp.exists():
            if target.is_dir():
                _remove(target)
            os.replace(tmp, target)
        fsync_dir(target.parent)
    finally:
        _remove(tmp)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
