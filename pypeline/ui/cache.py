"""Parsed files kept while they do not change on disk.

The jobs page and the runs page are polled while a run is live, and a large
job's dag.json or a long run's manifest takes a while to parse: each parsed
file is kept under its path and reused while its size and modification time
stay the same. The cache is bounded (least recently used entries go first)
and holds only what the UI would send anyway.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any


class FileCache:
    """Path -> value computed from the file, recomputed when the file changes."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[str, Path], tuple[tuple[int, ...], Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, kind: str, path: Path, load: Callable[[Path], Any], *, stamp_of: tuple[Path, ...] = ()) -> Any:
        """``load(path)``, or the value kept from the last call while the file is unchanged.

        Args:
            kind: what is kept (two readers of one file keep separate values).
            path: the file (or folder) read.
            load: reads it.
            stamp_of: the files whose sizes and times say whether ``path`` changed (default ``path``).

        Raises:
            OSError: the file cannot be looked at (``load``'s own errors pass through too).
        """
        stamp = tuple(n for p in (stamp_of or (path,)) for n in _stamp(p))
        key = (kind, path)
        with self._lock:
            kept = self._entries.get(key)
            if kept is not None and kept[0] == stamp:
                self._entries.move_to_end(key)
                return kept[1]
        value = load(path)
        with self._lock:
            self._entries[key] = (stamp, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value


def _stamp(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_mtime_ns, info.st_size
