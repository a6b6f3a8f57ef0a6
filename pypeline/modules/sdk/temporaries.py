"""The list of temporary folders a run created next to its sinks' outputs, so that only they are removed.

A sink writes into a private folder that :func:`make_temporary` creates
beside the final name (``.<name>.<random>.pype-tmp``, made with
:func:`tempfile.mkdtemp`: exclusive, so it can never be a folder that existed
before) and renames the output out of it when complete. A run killed while a
sink writes leaves that folder behind; ``pype run --resume`` removes it.

What proves a leftover is ours is this list, not its name. The run appends
two JSON lines to ``temporaries.jsonl`` in its run folder: the folder's path
before it creates the folder (with a random name of its own, created
exclusively), and the path with its device and inode once it exists. A
resumed run removes exactly the folders listed by the runs it resumes
(:func:`remove_recorded`):

* a folder whose device and inode still match the second line, whatever it holds;
* a folder with only the first line (the run was killed between creating it
  and recording it) if it is empty: nothing was written into it yet, and an
  empty folder is all :func:`os.rmdir` removes.

A file or folder of the user's that merely looks like a temporary is never
touched, and a kill at any point leaves nothing behind that the resume does
not remove.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
import tempfile
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path

LEDGER_FILE = "temporaries.jsonl"
"""The list's name inside a run folder."""

TMP_SUFFIX = ".pype-tmp"


def make_temporary(parent: Path, name: str, ledger: str | os.PathLike[str] | None) -> Path:
    """Create a new private folder in ``parent`` for writing ``name``; record it in ``ledger`` (if any).

    Raises:
        OSError: the folder cannot be created (rights, full disk, ...).
    """
    # the final name in the prefix tells a person what it was for; cut so the name stays well under 255 bytes
    prefix = f".{name[:120]}."
    if ledger is None:
        return Path(tempfile.mkdtemp(prefix=prefix, suffix=TMP_SUFFIX, dir=parent))
    for _ in range(100):
        folder = (parent / f"{prefix}{secrets.token_hex(6)}{TMP_SUFFIX}").absolute()
        _append(ledger, {"path": str(folder)})  # announced before it exists (see the module docstring)
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:  # someone else's: never to be removed
            _append(ledger, {"path": str(folder), "taken": True})
            continue
        info = folder.lstat()
        _append(ledger, {"path": str(folder), "dev": info.st_dev, "ino": info.st_ino})
        return folder
    raise FileExistsError(f"{parent}: no free temporary name for {name}")


def _append(ledger: str | os.PathLike[str], entry: dict[str, object]) -> None:
    # one short write in append mode: lines of concurrent sinks never interleave
    with open(ledger, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry) + "\n")


def recorded(ledger: Path) -> list[dict[str, object]]:
    """The entries of ``ledger`` (none when it does not exist); a torn last line is ignored."""
    try:
        text = ledger.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    entries = []
    for line in text.splitlines():
        with suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                entries.append(entry)
    return entries


def remove_recorded(ledgers: Iterable[Path]) -> list[str]:
    """Remove the folders listed in ``ledgers`` that still are the very folders created then; return them.

    A listed path that is gone, is no longer a folder, or is another folder
    now (device or inode differ) is left alone.
    """
    removed: list[str] = []
    for ledger in ledgers:
        entries = recorded(ledger)
        created = {str(entry["path"]) for entry in entries if "ino" in entry or "taken" in entry}
        for entry in entries:
            path = str(entry["path"])
            if not Path(path).name.endswith(TMP_SUFFIX):
                continue
            if "ino" not in entry:  # only announced (or taken): removed if it exists and is still empty
                if path not in created and _remove_empty(path):
                    removed.append(path)
                continue
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if info.st_dev == entry.get("dev") and info.st_ino == entry.get("ino") and stat.S_ISDIR(info.st_mode):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed


def _remove_empty(path: str) -> bool:
    """Remove ``path`` if it is an empty folder (not a link): True when it was removed."""
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            return False
        os.rmdir(path)  # refuses a folder that holds anything
    except OSError:
        return False
    return True
