"""Opening a module's input files, local or on a store, with the same call.

Readers are written against paths: ``open(path, "rb")``, ``pd.read_csv(path)``.
For a :class:`~pypeline.modules.storage.locations.StoragePath` they call
:func:`open_input` instead of ``open`` and pass :func:`reader_options` to pandas and dask,
which then open the URL through
the same fsspec file system (ranged reads, no local copy). Local paths take
the exact code path they always took.
"""

from __future__ import annotations

import io
import os
from typing import IO, Any

from pypeline.modules.storage.errors import storage_error
from pypeline.modules.storage.locations import StoragePath


def open_input(path: str, mode: str = "rb", *, encoding: str | None = None, newline: str | None = None) -> IO[Any]:
    """``open(path, mode)`` for a local path, the store's file object for a :class:`StoragePath`.

    Raises:
        StorageError: the object cannot be opened (naming the URL).
    """
    if not isinstance(path, StoragePath):
        if "b" in mode:
            return open(path, mode)
        return open(path, mode, encoding=encoding, newline=newline)
    try:
        raw = path.fs.open(path.key, "rb")
    except Exception as exc:
        raise storage_error(str(path), exc) from None
    if "b" in mode:
        return raw  # type: ignore[no-any-return]
    return io.TextIOWrapper(raw, encoding=encoding, newline=newline)


def size_of(path: str) -> int:
    """The size in bytes of a local file or an object."""
    if not isinstance(path, StoragePath):
        return os.path.getsize(path)
    try:
        return int(path.fs.size(path.key))
    except Exception as exc:
        raise storage_error(str(path), exc) from None


def reader_options(path: str) -> dict[str, Any]:
    """Extra keyword arguments for a pandas or dask reader of ``path``: ``storage_options`` for a URL."""
    return {"storage_options": path.options} if isinstance(path, StoragePath) else {}
