"""The cache store: entries of module outputs, keyed by content, in a local folder or at a URL.

Layout (the same on a disk and on an object store)::

    <store>/<job>/<key>/entry.json      what the entry holds (written last: it commits the entry)
    <store>/<job>/<key>/<port>.parquet  a pandas output frame or an Arrow table
    <store>/<job>/<key>/<port>/         a dask output frame (one file per partition)

``entry.json``::

    {"pypeline_cache": 1, "key": "...", "job": "daily", "module_id": "clean", "node_id": "clean#2",
     "module": "filter_mod", "created": 1733300000.0,
     "outputs": {"output": {"kind": "frame", "file": "output.parquet", "rows": 12},
                 "files": {"kind": "json", "value": ["a.csv"]}},
     "globals": {"row_count": 12}, "facts": {...}, "sink_outputs": {"out/x.csv": {fingerprint}}}

An entry without ``entry.json`` is an unfinished write: never read, removed
by ``pype cache clear``. Two runs writing the same key write the same
content, so the last ``entry.json`` to land wins harmlessly.
"""

from __future__ import annotations

import json
import posixpath
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pypeline.modules.storage import is_url, local_path, resolve

ENTRY = "entry.json"
CACHE_VERSION = 1


@dataclass(frozen=True, slots=True)
class EntryInfo:
    """One entry as ``pype cache ls`` shows it."""

    job: str
    key: str
    module_id: str
    node_id: str
    created: float
    size: int


class CacheStore:
    """Reads and writes cache entries under ``root`` (a local folder or a URL)."""

    def __init__(self, root: str, storage_options: Mapping[str, Any] | None = None) -> None:
        self.root = root.rstrip("/")
        if is_url(root):
            where = resolve(root, storage_options, write=True)
            self.fs: Any = where.fs
            self.base = where.key.rstrip("/")
            self.options = where.options
        else:
            import fsspec

            self.fs = fsspec.filesystem("file", auto_mkdir=True)
            self.base = local_path(root).rstrip("/") or "/"
            self.options = {}

    def folder(self, job: str, key: str) -> str:
        """The path of an entry's folder inside the store's file system."""
        return posixpath.join(self.base, job, key)

    def url(self, path: str) -> str:
        """``path`` (inside the store's file system) as a URL or local path readers accept."""
        if is_url(self.root):
            return f"{self.root.split('://', 1)[0]}://{path}"
        return path

    def get(self, job: str, key: str) -> dict[str, Any] | None:
        """The committed entry ``key`` of ``job`` (``None`` when there is none or it is unreadable)."""
        try:
            doc = json.loads(self.fs.cat_file(posixpath.join(self.folder(job, key), ENTRY)))
        except (FileNotFoundError, ValueError):
            return None
        if not isinstance(doc, dict) or doc.get("pypeline_cache") != CACHE_VERSION or doc.get("key") != key:
            return None
        return doc

    def write_frame(self, job: str, key: str, port: str, frame: Any) -> dict[str, Any]:
        """Store a pandas or dask output frame, or an Arrow table; return its entry in ``outputs``."""
        folder = self.folder(job, key)
        if type(frame).__module__.startswith("dask"):
            path = posixpath.join(folder, port)
            frame.to_parquet(self.url(path), write_index=False, storage_options=self.options or None)
            return {"kind": "dask", "folder": port}
        path = posixpath.join(folder, f"{port}.parquet")
        self.fs.makedirs(folder, exist_ok=True)
        with self.fs.open(path, "wb") as fh:
            if hasattr(frame, "to_parquet"):
                frame.to_parquet(fh)
            else:  # an Arrow table (arrow mode): restored as a pandas frame, which every module accepts
                import pyarrow.parquet as pq

                pq.write_table(frame, fh)
        return {"kind": "frame", "file": f"{port}.parquet", "rows": len(frame)}

    def read_output(self, job: str, key: str, ref: Mapping[str, Any]) -> Any:
        """An output of an entry as the module returned it (a pandas or lazy dask frame, or a JSON value)."""
        folder = self.folder(job, key)
        if ref["kind"] == "json":
            return ref["value"]
        if ref["kind"] == "dask":
            import dask.dataframe as dd

            return dd.read_parquet(self.url(posixpath.join(folder, ref["folder"])),
                                   storage_options=self.options or None)
        import pandas as pd

        with self.fs.open(posixpath.join(folder, ref["file"]), "rb") as fh:
            return pd.read_parquet(fh)

    def commit(self, job: str, key: str, doc: dict[str, Any]) -> None:
        """Write ``entry.json`` last: from now on the entry is read."""
        folder = self.folder(job, key)
        self.fs.makedirs(folder, exist_ok=True)
        data = json.dumps({"pypeline_cache": CACHE_VERSION, "key": key, "job": job, "created": time.time(), **doc},
                          sort_keys=True, indent=1).encode("utf-8")
        if is_url(self.root):
            self.fs.pipe_file(posixpath.join(folder, ENTRY), data)
            return
        from pypeline.core.jsonio import atomic_write_bytes

        atomic_write_bytes(posixpath.join(folder, ENTRY), data)

    def entries(self, job: str | None = None) -> list[EntryInfo]:
        """Every committed entry (of ``job`` only, when given), oldest first."""
        found = []
        for folder in self._entry_folders(job):
            job_name, key = folder.rsplit("/", 2)[-2:]
            doc = self.get(job_name, key)
            if doc is None:
                continue
            size = sum(int(i.get("size") or 0) for i in self.fs.find(folder, detail=True).values())
            found.append(EntryInfo(job=job_name, key=key, module_id=str(doc.get("module_id", "")),
                                   node_id=str(doc.get("node_id", "")), created=float(doc.get("created", 0)),
                                   size=size))
        return sorted(found, key=lambda e: (e.created, e.job, e.key))

    def clear(self, job: str | None = None, older_than: float | None = None) -> int:
        """Remove entries (of ``job``; created more than ``older_than`` seconds ago); return how many."""
        now = time.time()
        removed = 0
        for folder in self._entry_folders(job):
            job_name, key = folder.rsplit("/", 2)[-2:]
            doc = self.get(job_name, key)
            created = float(doc.get("created", 0)) if doc else 0.0
            if older_than is not None and doc is not None and now - created < older_than:
                continue
            self.fs.rm(folder, recursive=True)
            removed += 1
        return removed

    def _entry_folders(self, job: str | None) -> list[str]:
        if not self.fs.exists(self.base):
            return []
        jobs = [posixpath.join(self.base, job)] if job else [
            e["name"] for e in self.fs.ls(self.base, detail=True) if e.get("type") == "directory"
        ]
        folders = []
        for job_folder in jobs:
            if self.fs.isdir(job_folder):
                folders += [e["name"].rstrip("/") for e in self.fs.ls(job_folder, detail=True)
                            if e.get("type") == "directory"]
        return sorted(folders)
