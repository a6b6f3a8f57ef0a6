"""Helpers for sinks: write under a temporary name, rename on success.

docs/resume.md: no half-written output is ever left under its final name. A
sink writes into the path :func:`atomic_output_path` yields; on a clean exit
the file (or folder) is renamed over the final name, on an error it is
removed and nothing else has changed.

The yielded path lies in a private folder made for this write beside the
final name (``.<name>.<random>.pype-tmp``, created exclusively, so it is never
a user's file; :mod:`pypeline.modules.sdk.temporaries` records it in the run
folder so that ``--resume`` removes exactly the leftovers of a killed run).
Renames stay in one folder, so they are atomic.

What the final name may replace is decided by proof of ownership
(:mod:`pypeline.modules.sdk.ownership`): a file, an empty folder, or a folder
carrying the ``_PYPELINE`` marker of the same job (a folder output gets that
marker as part of its publish). Everything else is refused with a
:class:`DataError` before the output is computed, and checked again before
the rename. A parent that is a file, a folder that cannot be created or
written, a full disk: a :class:`DataError` naming the output path.

An output path that is a URL (``s3://bucket/out.parquet``, docs/storage.md)
is written the same way into a local staging folder and then published to
the store (:mod:`pypeline.modules.sdk.remote_outputs`).

An output path ending with ``/`` names a folder: a sink that writes a folder
writes it there; a sink that writes one file refuses it (it never writes a
file named like the folder).
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from pypeline.core.jsonio import fsync_dir
from pypeline.modules.sdk.errors import DataError
from pypeline.modules.sdk.ownership import OutputOwner, owner_of, replace_refusal, write_marker
from pypeline.modules.sdk.remote_outputs import remote_output_path
from pypeline.modules.sdk.temporaries import make_temporary
from pypeline.modules.storage import is_url, local_path

# errors a user fixes on their side (rights, read-only mount, full disk, long names)
_USER_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENAMETOOLONG}


@contextmanager
def atomic_output_path(
    final: str | os.PathLike[str],
    ctx: Any = None,
    *,
    folder: bool | None = None,
    replace_output_of: Iterable[str] = (),
    storage_options: Mapping[str, Any] | None = None,
) -> Iterator[Path]:
    """Yield a temporary path for the output ``final``; rename it to ``final`` when the block succeeds.

    Args:
        final: the output path (a file, or a folder for partitioned output).
        ctx: the module's ``RunContext``: names the job and module in the marker of a
            folder output and records the temporary folder for ``--resume``'s clean-up.
            Without it the output is anonymous and a killed run's leftover is not removed.
        folder: ``True`` when the sink writes a folder, ``False`` for one file, ``None``
            when only the written output tells; ``False`` refuses a path ending with ``/`` at once.
        replace_output_of: other jobs whose output folder this one may replace (``*``: any).
        storage_options: for a URL output, the options of its store (docs/storage.md).

    Raises:
        DataError: the output may not or cannot be written there (one line naming the path and why).
    """
    shown = os.fspath(final)
    owner = owner_of(ctx, replace_output_of)
    if is_url(shown):
        with remote_output_path(shown, ctx, owner, folder=folder, storage_options=storage_options) as staged:
            yield staged
        return
    shown = local_path(shown)
    target = Path(shown)
    names_folder = shown.endswith(("/", os.sep))
    if names_folder and folder is False:
        raise DataError(_file_not_folder(shown))
    _check(target, owner, shown)
    created = _make_parent(target)
    published = False
    try:
        temp = _user_errors(shown, make_temporary, target.parent, target.name, getattr(ctx, "temp_ledger", None))
        try:
            output = temp / "output"
            report = getattr(ctx, "progress", None)
            if callable(report):
                report(writing=str(output))  # the live display follows its size (run/observe/progress.py)
            try:
                yield output
            except OSError as exc:
                if exc.errno in _USER_ERRNOS:
                    raise DataError(_cannot_write(shown, exc)) from exc
                raise
            _user_errors(shown, _publish, output, target, owner, shown, names_folder)
            published = True
        finally:
            _remove(temp)
    finally:
        if not published:
            _remove_folders(created)


def file_path_problems(configs: Mapping[str, Any], key: str = "output_path") -> list[str]:
    """Build-time check for a sink that writes one file: its path must not name a folder (end with ``/``)."""
    path = configs.get(key)
    if isinstance(path, str) and path.endswith(("/", os.sep)):
        return [
            f"config '{key}' ('{path}') ends with '/' (a folder), but this sink writes one file: name the file "
            f"in that folder (e.g. '{path}<name>')"
        ]
    return []


def _check(target: Path, owner: OutputOwner, shown: str) -> None:
    refusal = replace_refusal(target, owner, shown)
    if refusal is not None:
        raise DataError(refusal)


def _file_not_folder(shown: str) -> str:
    return (
        f"output path '{shown}' ends with '/' (a folder), but this sink writes one file: name the file "
        f"in that folder (e.g. '{shown}<name>')"
    )


def _make_parent(target: Path) -> list[Path]:
    """Create the parent folders of ``target``; return those that did not exist, deepest first."""
    parent = target.parent
    missing = [p for p in target.parents if not p.exists()]
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in reversed(target.parents) if p.exists() and not p.is_dir()), parent)
        raise DataError(f"output path '{target}': '{blocker}' is a file, expected a folder") from None
    except OSError as exc:
        raise DataError(f"output path '{target}': cannot create folder '{parent}': {exc.strerror or exc}") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        _remove_folders(missing)
        raise DataError(f"output path '{target}': folder '{parent}' is not writable")
    return missing


def _publish(output: Path, target: Path, owner: OutputOwner, shown: str, names_folder: bool) -> None:
    """Rename the complete ``output`` to ``target``, replacing what may be replaced there."""
    if not os.path.lexists(output):
        return
    is_folder = output.is_dir() and not output.is_symlink()
    if names_folder and not is_folder:
        raise DataError(_file_not_folder(shown))
    if is_folder:
        write_marker(output, owner)
    else:
        with open(output, "rb") as fh:
            os.fsync(fh.fileno())
    _check(target, owner, shown)  # again: the target may have changed while the output was written
    existing = os.path.lexists(target)
    if existing and is_folder and not target.is_dir() and target.suffix not in _suffixes(output):
        raise DataError(
            f"output path '{shown}' is an existing file; this sink writes a folder there "
            "(remove the file or choose another output_path)"
        )
    replaced = output.parent / "replaced"
    moved = existing and (is_folder or target.is_dir())  # os.replace swaps a file for a file only
    if moved:
        os.replace(target, replaced)
    try:
        os.replace(output, target)
    except OSError:
        if moved:
            os.replace(replaced, target)
        raise
    fsync_dir(target.parent)


def _user_errors(shown: str, fn: Any, *args: Any) -> Any:
    """``fn(*args)``, with an OS error the user fixes on their side turned into a :class:`DataError`."""
    try:
        return fn(*args)
    except OSError as exc:
        if exc.errno in _USER_ERRNOS:
            raise DataError(_cannot_write(shown, exc)) from exc
        raise


def _cannot_write(shown: str, exc: OSError) -> str:
    return f"cannot write output '{shown}': {exc.strerror or exc}"


def _suffixes(folder: Path) -> set[str]:
    return {p.suffix for p in folder.rglob("*") if p.is_file() and p.suffix}


def _remove(path: Path) -> None:
    """Best effort: what is left of a killed run is removed by ``--resume`` (sdk/temporaries.py)."""
    shutil.rmtree(path, ignore_errors=True)


def _remove_folders(folders: list[Path]) -> None:
    """Remove the parent folders this write created (deepest first), where they are still empty."""
    for folder in folders:
        with suppress(OSError):
            folder.rmdir()
