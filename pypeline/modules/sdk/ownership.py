"""What a sink may replace at its output path: ownership by proof, never by guess.

A sink's output path may name

* nothing yet: the output is created (with its parent folders);
* a regular file: replaced by the complete new output;
* an empty folder: replaced;
* a folder a PYpeline sink wrote, carrying its marker :data:`MARKER`
  (``_PYPELINE``): replaced when the marker names **the same job** (a rerun,
  or another sink of that job in a later run) and the folder holds nothing
  but the files the marker lists. A sink's ``replace_output_of`` config names
  other jobs whose output it may replace as well (``*``: any job).

Everything else is refused with one line naming a file in it, before
anything is written: a folder without the marker (whatever its files are
called: ``.env``, ``_README``, ``.git/``, ``*.parquet`` are the user's files),
a marked folder of another job, a marked folder that also holds a file the
output did not write, a folder another module wrote earlier in the same run,
a symbolic link (to anything), a device, a FIFO, a socket, and the system
folders (``/``, ``/etc``, ``/usr``, ..., the home folder, anything under
``/proc``, ``/sys`` or ``/dev`` but ``/dev/shm``). Those last ones are refused
from the path alone and one ``lstat``: nothing is walked. A folder without the
marker costs one pass over its top-level entries (to name the first); only a
marked folder is walked, to compare it with the list in its marker.

The marker is written into the new folder before the folder is renamed to
its final name, so it is part of the atomic publish: a folder is never
visible under its final name without it. Its content (JSON)::

    {"pypeline_output": 1, "job": "daily", "module": "write", "run_id": "20261123T101010-ab12cd",
     "files": ["part.0.parquet", "year=2024/part-0.parquet"], "folders": ["year=2024"], "about": "..."}

Readers skip it: pyarrow, dask and Spark ignore names starting with ``_``,
and ``csv_source`` skips ``_PYPELINE`` when it reads a folder.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypeline.modules.storage.marker import MARKER, MARKER_VERSION
from pypeline.modules.storage.marker import MARKER_LIMIT as _MARKER_LIMIT

_DOCS = "docs/security.md#sinks-and-your-files"

SYSTEM_FOLDERS = frozenset({
    "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/media", "/mnt",
    "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var",
})
"""Folders no sink output replaces, whatever they hold."""

_PSEUDO_TREES = ("/proc", "/sys", "/dev")
_PSEUDO_EXCEPT = ("/dev/shm",)


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputOwner:
    """Who writes an output: the job and module (and run) named in the marker of a folder output."""

    job: str
    module: str
    run_id: str | None = None
    replace_output_of: tuple[str, ...] = ()
    """Other jobs whose marked output this writer may replace (``*``: any)."""

    def may_replace(self, job: Any) -> bool:
        """True when output of ``job`` (from a marker) may be replaced by this writer."""
        return job == self.job or "*" in self.replace_output_of or job in self.replace_output_of


def owner_of(ctx: Any, replace_output_of: Iterable[str] = ()) -> OutputOwner:
    """The owner of the outputs a module writes, from its ``RunContext`` (``None``: an anonymous writer)."""
    if ctx is None:
        return OutputOwner(job="", module="", replace_output_of=tuple(replace_output_of))
    return OutputOwner(
        job=str(getattr(ctx, "job_name", "") or ""),
        module=str(ctx.module_id),
        run_id=str(ctx.run_id),
        replace_output_of=tuple(replace_output_of),
    )


def path_refusal(target: Path, shown: str) -> str | None:
    """Why ``target`` can never be an output path, from the path alone (``None`` when it can be one)."""
    last = shown.rstrip("/").rsplit("/", 1)[-1]  # as written: pathlib drops a trailing '/.'
    named = last not in ("", ".", "..")
    resolved = os.path.join(os.path.realpath(target.parent), target.name) if named else os.path.realpath(target)
    if resolved in SYSTEM_FOLDERS or resolved == _home():
        return f"output path '{shown}' is the system folder '{resolved}'; a sink never replaces it"
    for tree in _PSEUDO_TREES:
        inside = resolved == tree or resolved.startswith(tree + "/")
        if inside and not any(resolved == ok or resolved.startswith(ok + "/") for ok in _PSEUDO_EXCEPT):
            return f"output path '{shown}' is under '{tree}' (a system file system); a sink never writes there"
    if not named:
        return f"output path '{shown}' does not name a file or folder (it ends with '{last or '/'}')"
    return None


def replace_refusal(target: Path, owner: OutputOwner, shown: str) -> str | None:
    """Why ``owner`` may not replace what is at ``target`` now (``None`` when it may, or nothing is there).

    Pure: only reads the file system (``pype run --dry-run`` asks it too).
    """
    refusal = path_refusal(target, shown)
    if refusal is not None:
        return refusal
    try:
        info = os.lstat(target)
    except (FileNotFoundError, NotADirectoryError):  # a parent that is a file: said when the parent is made
        return None
    except OSError as exc:
        return f"cannot write output '{shown}': {exc.strerror or exc}"
    mode = info.st_mode
    if stat.S_ISLNK(mode):
        return (
            f"output path '{shown}' is a symbolic link (to '{os.readlink(target)}'); a sink neither replaces "
            "a link nor writes through one: give the real path, or remove the link"
        )
    if stat.S_ISREG(mode):
        return None
    if not stat.S_ISDIR(mode):
        return (
            f"output path '{shown}' is a {_kind(mode)}; a sink replaces only a regular file, an empty folder "
            f"or a folder its job wrote ({_DOCS})"
        )
    return _folder_refusal(target, owner, shown)


def _home() -> str | None:
    try:
        return os.path.realpath(Path.home())
    except (RuntimeError, KeyError):  # no HOME and no passwd entry
        return None


def _kind(mode: int) -> str:
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    if stat.S_ISFIFO(mode):
        return "FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


def _folder_refusal(folder: Path, owner: OutputOwner, shown: str) -> str | None:
    first = _first_entry(folder)
    if first is None:
        return None
    marker = _read_marker(folder)
    if marker is None:
        return (
            f"output path '{shown}' is an existing folder that holds other files ('{_show(shown, first)}'); "
            f"expected a new path, a file, an empty folder or an earlier output of this job (with its {MARKER} "
            f"marker, {_DOCS}): remove the folder or choose another output_path"
        )
    job, module, run_id = marker.get("job"), marker.get("module"), marker.get("run_id")
    if not owner.may_replace(job):
        return (
            f"output path '{shown}' is the output of job '{job}' (module '{module}', per its {MARKER} marker); "
            f"job '{owner.job}' replaces only its own outputs: name '{job}' in replace_output_of to allow it, "
            "or choose another output_path"
        )
    if owner.run_id is not None and run_id == owner.run_id and module != owner.module:
        return (
            f"output path '{shown}' was written earlier in this run by module '{module}'; two sinks of one "
            "run cannot share an output path"
        )
    extra = _unlisted(folder, marker)
    if extra is not None:
        return (
            f"output path '{shown}' is an earlier output of job '{job}' but also holds '{_show(shown, extra)}', "
            "which that output did not write: move that file away, or choose another output_path"
        )
    return None


def _show(shown: str, relative: str) -> str:
    return f"{shown.rstrip('/')}/{relative}"


def _first_entry(folder: Path) -> str | None:
    """The first entry of ``folder`` by name, followed down through folders to a file where there is one."""
    relative: list[str] = []
    current = folder
    for _ in range(32):
        with os.scandir(current) as entries:
            first = min((e.name for e in entries), default=None)
        if first is None:
            break
        relative.append(first)
        current = current / first
        if not current.is_dir() or current.is_symlink():
            break
    return "/".join(relative) or None


def _read_marker(folder: Path) -> dict[str, Any] | None:
    """The marker of ``folder`` when it is a regular file holding one (``None`` otherwise)."""
    path = folder / MARKER
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MARKER_LIMIT:
            return None
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("pypeline_output") != MARKER_VERSION:
        return None
    files = doc.get("files")
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    return doc


def _unlisted(folder: Path, marker: dict[str, Any]) -> str | None:
    """The first entry of ``folder`` (relative path) that the marker does not list (its files and folders)."""
    files: list[str] = marker["files"]
    listed = set(files)
    folders = {str(p) for f in files for p in Path(f).parents}
    folders.update(f for f in marker.get("folders") or [] if isinstance(f, str))
    for root, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        base = Path(root).relative_to(folder)
        for name in sorted(dirnames):
            rel = str(base / name)
            if rel not in folders or os.path.islink(os.path.join(root, name)):
                return rel
        for name in sorted(filenames):
            rel = str(base / name)
            if rel == MARKER:
                continue
            if rel not in listed or not stat.S_ISREG(os.lstat(os.path.join(root, name)).st_mode):
                return rel
    return None


def write_marker(folder: Path, owner: OutputOwner) -> None:
    """Write the marker into the new output ``folder`` (before it is published), listing its files and folders."""
    files: list[str] = []
    folders: list[str] = []
    for root, dirs, names in os.walk(folder):
        base = Path(root).relative_to(folder)
        folders.extend(str(base / d) for d in dirs)
        files.extend(str(base / n) for n in names)
    doc = {
        "pypeline_output": MARKER_VERSION,
        "job": owner.job,
        "module": owner.module,
        "run_id": owner.run_id,
        "files": sorted(f for f in files if f != MARKER),
        "folders": sorted(folders),
        "about": "PYpeline wrote this folder and replaces it when the same job writes it again; "
        f"it refuses to replace a folder without this marker ({_DOCS})",
    }
    with open(folder / MARKER, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1, sort_keys=True)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
