"""Fingerprints of files: what the cache compares to know that an input or an output is unchanged.

A fingerprint is a small JSON-able dict. For a local file it holds the size,
the modification time (nanoseconds) and a hash of the first and last 64 KiB;
with ``strict`` the hash covers every byte instead (slower, but blind to
nothing: a rewrite that keeps size and time is still seen). For an object on
a store it holds the size, the modification time and the store's own content
tag (S3's ETag, GCS's md5) where the store gives one; ``strict`` hashes the
bytes there too. A folder's fingerprint lists those of its files.

Touching a file (a new modification time) therefore changes its fingerprint
even when the bytes are the same: the cache errs on the side of recomputing.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from pypeline.modules.storage import StoragePath, is_url, local_path, modified, resolve

EDGE = 64 << 10
"""Bytes hashed at each end of a file by a default (non-strict) fingerprint."""

_TAGS = ("ETag", "etag", "md5Hash", "content_md5", "crc32c")


def path_fingerprint(path: str, *, strict: bool, options: Any = None) -> dict[str, Any] | None:
    """The fingerprint of the file or folder ``path`` (a local path or URL); ``None`` when nothing is there."""
    if is_url(path):
        return _remote(resolve(path, options), strict)
    local = Path(local_path(path))
    if local.is_dir():
        files = sorted(p for p in local.rglob("*") if p.is_file())
        return {"folder": {str(p.relative_to(local)): _local_file(p, strict) for p in files}}
    if local.is_file():
        return _local_file(local, strict)
    return None


def _local_file(path: Path, strict: bool) -> dict[str, Any]:
    info = path.stat()
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        if strict:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        else:
            digest.update(fh.read(EDGE))
            if info.st_size > 2 * EDGE:
                fh.seek(-EDGE, os.SEEK_END)
                digest.update(fh.read(EDGE))
    return {"size": info.st_size, "mtime_ns": info.st_mtime_ns, "sha256": digest.hexdigest(), "strict": strict}


def _remote(base: StoragePath, strict: bool) -> dict[str, Any] | None:
    fs, key = base.fs, base.key.rstrip("/")
    if fs.isfile(key):
        return _remote_file(fs, key, fs.info(key), strict)
    if not fs.isdir(key):
        return None
    found = fs.find(key, detail=True)
    return {"folder": {n[len(key) + 1:]: _remote_file(fs, n, info, strict) for n, info in sorted(found.items())}}


def _remote_file(fs: Any, key: str, info: dict[str, Any], strict: bool) -> dict[str, Any]:
    result: dict[str, Any] = {"size": int(info.get("size") or 0), "mtime": modified(info), "strict": strict}
    tag = next((str(info[t]) for t in _TAGS if info.get(t)), None)
    if tag is not None:
        result["tag"] = tag
    if strict:
        digest = hashlib.sha256()
        with fs.open(key, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        result["sha256"] = digest.hexdigest()
    return result


def files_fingerprint(paths: list[str], *, strict: bool) -> dict[str, Any]:
    """Fingerprints of ``paths`` (files a source expanded; StoragePath objects reuse their file system)."""
    found: dict[str, Any] = {}
    for path in paths:
        if isinstance(path, StoragePath):
            found[str(path)] = _remote_file(path.fs, path.key, path.fs.info(path.key), strict)
        else:
            found[str(path)] = _local_file(Path(path), strict)
    return found
