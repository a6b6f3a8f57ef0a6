"""Helpers for sinks: write under a temporary name, rename on success.

docs/resume.md: no half-written output is ever left under its final name. A
sink writes into the path this context manager yields; on a clean exit the
file (or folder) is renamed over the final name, on an error it is removed.

What the final name may replace (docs/flow-format.md, "Errors and exit codes", no data lost): a file, or a
folder that looks like an earlier output of a sink, i.e. every file in it
(names starting with ``.`` or ``_`` aside, such as dask's ``_metadata``) has
the suffix of the new output's files (``.parquet``, ``.csv``, ...); an empty
folder too. Any other folder (``output_path: data`` pointing at the input
folder, say) is refused with a :class:`DataError` before anything is
touched. A parent that is a file, a folder that cannot be created or
written, a full disk: a :class:`DataError` naming the output path.
"""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from pypeline.core.jsonio import fsync_dir
from pypeline.modules.sdk.errors import DataError

TMP_MARKER = ".pype-tmp"

# errors a user fixes on their side (rights, read-only mount, full disk, long names)
_USER_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENAMETOOLONG}


@contextmanager
def atomic_output_path(final: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary sibling of ``final``; rename it to ``final`` when the block succeeds.

    Works for a file or a folder (partitioned output). An existing ``final`` is
    replaced only after the new output is complete, and only when it is a file
    or a folder of earlier output (see the module docstring).

    Raises:
        DataError: the output cannot be written there (the message names the path and why).
    """
    target = Path(final)
    _make_parent(target)
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}{TMP_MARKER}"
    try:
        try:
            yield tmp
        except OSError as exc:
            if exc.errno in _USER_ERRNOS:
                raise DataError(f"cannot write output '{final}': {exc.strerror or exc}") from exc
            raise
        if tmp.is_file():
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        _install(tmp, target, str(final))
        fsync_dir(target.parent)
    finally:
        _remove(tmp)


def _make_parent(target: Path) -> None:
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in reversed(target.parents) if p.exists() and not p.is_dir()), parent)
        raise DataError(f"output path '{target}': '{blocker}' is a file, expected a folder") from None
    except OSError as exc:
        raise DataError(f"output path '{target}': cannot create folder '{parent}': {exc.strerror or exc}") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DataError(f"output path '{target}': folder '{parent}' is not writable")


def _install(tmp: Path, target: Path, shown: str) -> None:
    """Rename ``tmp`` to ``target``, replacing an earlier output there."""
    if not tmp.exists():
        return
    if target.is_dir() and not target.is_symlink():
        refusal = folder_refusal(target, _suffixes(tmp) if tmp.is_dir() else {target.suffix} - {""}, shown)
        if refusal is not None:
            raise DataError(refusal)
        old = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.pype-old"
        os.replace(target, old)
        os.replace(tmp, target)
        _remove(old)
    elif tmp.is_dir() and target.exists():
        if target.suffix not in _suffixes(tmp):
            raise DataError(
                f"output path '{shown}' is an existing file; this sink writes a folder there "
                "(remove the file or choose another output_path)"
            )
        target.unlink()
        os.replace(tmp, target)
    else:
        os.replace(tmp, target)


def folder_refusal(target: Path, suffixes: set[str], shown: str) -> str | None:
    """Why new output with files of ``suffixes`` may not replace the folder ``target`` (None when it may).

    None too when ``target`` is no folder (or a symlink). Pure: only reads the
    file system; ``pype run --dry-run`` asks it before anything runs.
    """
    if not target.is_dir() or target.is_symlink():
        return None
    foreign = _foreign_file(target, suffixes)
    if foreign is None:
        return None
    return (
        f"output path '{shown}' is an existing folder that holds other files ('{foreign}'); "
        "expected a new path, a file or an earlier output of this sink (remove the folder or "
        "choose another output_path)"
    )


def _suffixes(folder: Path) -> set[str]:
    return {p.suffix for p in folder.rglob("*") if p.is_file() and p.suffix}


def _foreign_file(folder: Path, suffixes: set[str]) -> Path | None:
    """The first file in ``folder`` that is not sink output with one of ``suffixes``, if any."""
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith((".", "_")) and path.suffix not in suffixes:
            return path
    return None


def _remove(path: Path) -> None:
    """Best effort: a leftover temporary is cleaned by the next run (run/checkpoint/tempfiles.py)."""
    with suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
