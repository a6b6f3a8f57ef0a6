"""The ``_PYPELINE`` marker of a folder output, as sources read it on an object store.

A sink that writes a folder puts a marker file ``_PYPELINE`` in it (its
format and the ownership rules: ``pypeline/modules/sdk/ownership.py``). On a
local disk the folder appears under its final name by one rename, marker
included. An object store has no such rename, so there the marker is also
the folder's *commit record*: its ``files`` list names the objects of the
last complete write, and it is replaced (one object, atomically) only after
every object of a new write is stored. Sources read a marked folder on an
object store as exactly the files its marker lists, so they never see a
half-written folder (docs/storage.md#what-is-atomic).

A write in progress (or one that failed) is listed in ``pending`` by its
write id; its objects carry that id in their names
(``part.0.pype-1a2b3c4d5e6f.parquet``), so the next write of the same job
can remove a killed write's leftovers without guessing.
"""

from __future__ import annotations

import json
import re
from typing import Any

MARKER = "_PYPELINE"
MARKER_VERSION = 1
MARKER_LIMIT = 64 << 20
"""A marker larger than this is not one PYpeline wrote."""

WRITE_ID = re.compile(r"pype-[0-9a-f]{12}")


def parse_marker(data: bytes) -> dict[str, Any] | None:
    """The marker document in ``data`` when it is one PYpeline wrote (``None`` otherwise)."""
    if len(data) > MARKER_LIMIT:
        return None
    try:
        doc = json.loads(data.decode("utf-8"))
    except ValueError:
        return None
    if not isinstance(doc, dict) or doc.get("pypeline_output") != MARKER_VERSION:
        return None
    files = doc.get("files")
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    return doc


def read_marker(fs: Any, folder_key: str) -> dict[str, Any] | None:
    """The marker of the folder ``folder_key`` on ``fs`` (``None`` when there is none, or it is not ours)."""
    try:
        data = fs.cat_file(f"{folder_key.rstrip('/')}/{MARKER}")
    except FileNotFoundError:
        return None
    return parse_marker(bytes(data))


def pending_ids(marker: dict[str, Any]) -> list[str]:
    """The write ids a marker lists as in progress (or failed)."""
    pending = marker.get("pending") or []
    return [p for p in pending if isinstance(p, str) and WRITE_ID.fullmatch(p)]


def with_write_id(relative: str, write_id: str) -> str:
    """``year=2024/part.0.parquet`` -> ``year=2024/part.0.pype-....parquet`` (the id before the last suffix)."""
    folder, _, name = relative.rpartition("/")
    stem, dot, suffix = name.rpartition(".")
    named = f"{stem}.{write_id}.{suffix}" if dot and stem else f"{name}.{write_id}"
    return f"{folder}/{named}" if folder else named


def write_id_of(relative: str) -> str | None:
    """The write id in an object's name (``None`` for a name without one)."""
    found = WRITE_ID.findall(relative.rpartition("/")[2])
    return found[-1] if found else None
