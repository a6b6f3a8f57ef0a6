"""Expanding a URL to the files it names: one object, a folder (prefix) or a glob.

The rules are those of local paths (``pypeline.modules.frames.expand_paths``):
a glob gives the matching files, sorted; a folder gives its files (not
those of sub folders), without hidden names and without the ``_PYPELINE``
marker; nothing matching is an error naming the URL. One rule is added for
object stores: a folder that carries a PYpeline marker gives exactly the files
the marker lists (the last complete write, see
:mod:`pypeline.modules.storage.marker`), and so does a glob inside such a folder.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from pypeline.modules.storage.errors import MissingStorageError, StorageError, storage_error
from pypeline.modules.storage.locations import StoragePath, resolve
from pypeline.modules.storage.marker import MARKER, read_marker

GLOB_CHARS = "*?["


def has_glob(pattern: str) -> bool:
    return any(ch in pattern for ch in GLOB_CHARS)


def expand_url(pattern: str, options: Mapping[str, Any] | None = None) -> list[StoragePath]:
    """The files a URL names (see the module docstring), sorted.

    Raises:
        MissingStorageError: nothing matches (or the bucket does not exist).
        StorageError: the store cannot be listed (access, credentials, ...).
    """
    base = resolve(pattern, options)
    try:
        keys = _glob(base) if has_glob(base.key) else _path(base)
    except StorageError:
        raise
    except Exception as exc:
        raise storage_error(pattern, exc, "cannot list") from None
    if not keys:
        raise MissingStorageError(f"no file matches '{pattern}'")
    return [base.child(k) for k in sorted(keys)]


def folder_files(base: StoragePath) -> list[str] | None:
    """Keys of the files in the folder ``base`` (per its marker when it has one); ``None`` if not a folder."""
    fs, key = base.fs, base.key.rstrip("/")
    marker = read_marker(fs, key)
    if marker is not None:
        return [f"{key}/{name}" for name in marker["files"]]
    try:
        entries = fs.ls(key, detail=True)
    except FileNotFoundError:
        return None
    files = [e["name"] for e in entries if e.get("type") == "file" and _is_data(e["name"])]
    if not files and not any(e.get("type") == "directory" for e in entries) and not fs.isdir(key):
        return None
    return files


def _path(base: StoragePath) -> list[str]:
    fs = base.fs
    if not base.key.endswith("/") and fs.isfile(base.key):
        return [base.key]
    files = folder_files(base)
    if files is None:
        _check_bucket(base)
        raise MissingStorageError(f"no file matches '{base}'")
    if not files:
        raise MissingStorageError(f"folder '{base}' holds no files (expected the input files in it)")
    return files


def _glob(base: StoragePath) -> list[str]:
    fs = base.fs
    found = fs.glob(base.key, detail=True)
    matches = [name for name, info in found.items() if info.get("type") == "file" and _is_data(name)]
    if not matches:
        _check_bucket(base)
    listed: dict[str, set[str] | None] = {}
    kept = []
    for name in matches:
        parent = posixpath.dirname(name)
        if parent not in listed:
            marker = read_marker(fs, parent)
            listed[parent] = None if marker is None else {f"{parent}/{f}" for f in marker["files"]}
        allowed = listed[parent]
        if allowed is None or name in allowed:
            kept.append(name)
    return kept


def _is_data(name: str) -> bool:
    last = name.rstrip("/").rsplit("/", 1)[-1]
    return last != MARKER and not last.startswith(".")


def _check_bucket(base: StoragePath) -> None:
    """Fail naming the bucket when it is the bucket that is missing (a clearer message than "no file")."""
    bucket = base.key.split("/", 1)[0]
    if not bucket or base.scheme in ("http", "https", "memory"):
        return
    try:
        exists = base.fs.exists(bucket)
    except Exception as exc:
        raise storage_error(str(base), exc, "cannot list") from None
    if not exists:
        raise MissingStorageError(f"'{base}': the bucket '{bucket}' does not exist")


def list_folder(
    url: str, options: Mapping[str, Any] | None, *, recursive: bool
) -> list[tuple[StoragePath, int, float]]:
    """The files of the folder ``url`` (also in sub folders when ``recursive``): (path, size, mtime).

    Raises:
        MissingStorageError: the folder does not exist (or holds nothing: a store has no empty folders).
    """
    base = resolve(url, options)
    fs, key = base.fs, base.key.rstrip("/")
    try:
        if not fs.isdir(key):
            _check_bucket(base)
            what = "is a file, expected a folder" if fs.isfile(key) else "does not exist"
            raise MissingStorageError(f"directory '{url}' {what}")
        found = fs.find(key, detail=True, maxdepth=None if recursive else 1)
    except StorageError:
        raise
    except Exception as exc:
        raise storage_error(url, exc, "cannot list") from None
    return [
        (base.child(name), int(info.get("size") or 0), modified(info))
        for name, info in sorted(found.items())
        if info.get("type") == "file" and _is_data(name)
    ]


def modified(info: Mapping[str, Any]) -> float:
    """The modification time (epoch seconds) in an fsspec ``info`` entry, whatever the backend calls it."""
    for field in ("mtime", "LastModified", "last_modified", "updated", "modified", "created"):
        value = info.get(field)
        if value is None:
            continue
        if isinstance(value, (int, float)):
            return float(value)
        if hasattr(value, "timestamp"):
            return float(value.timestamp())
        try:
            from datetime import datetime

            return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
        except ValueError:
            continue
    return 0.0
