"""The list of temporary folders a run created next to its sinks' outputs, so that only they are removed.

A sink writes into a private folder that :func:`make_temporary` creates
beside the final name (``.<name>.<random>.pype-tmp``, made with
:func:`tempfile.mkdtemp`: exclusive, so it can never be a folder that existed
before) and renames the output out of it when complete. A run killed while a
sink writes leaves that folder behind; ``pype run --resume`` removes it.

What proves a leftover is ours is this list, not its name: right after
creating a folder the run appends one JSON line to ``temporaries.jsonl`` in
its run folder (path, device and inode). A resumed run removes exactly the
folders listed by the runs it resumes whose device and inode still match
(:func:`remove_recorded`); a file or folder of the user's that merely looks
like a temporary is never touched. The line is written after the folder
exists: a kill between the two leaks one empty hidden folder, it never
deletes anything.
"""

from __future__ import annotations

import json
import os
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
    folder = Path(tempfile.mkdtemp(prefix=f".{name[:120]}.", suffix=TMP_SUFFIX, dir=parent))
    if ledger is not None:
        info = folder.lstat()
        line = json.dumps({"path": str(folder.absolute()), "dev": info.st_dev, "ino": info.st_ino})
        # one short write in append mode: lines of concurrent sinks never interleave
        with open(ledger, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
    return folder


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
        for entry in recorded(ledger):
            path = str(entry["path"])
            try:
                info = os.lstat(path)
            except OSError:
                continue
            same = info.st_dev == entry.get("dev") and info.st_ino == entry.get("ino")
            if same and stat.S_ISDIR(info.st_mode) and Path(path).name.endswith(TMP_SUFFIX):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed
