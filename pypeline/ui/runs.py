"""Runs of a job as the UI shows them, read from their run folders.

A run folder (``jobs/<name>/runs/<run_id>/``) holds ``manifest.json``
(written when the run starts, status ``running``, and again when it ends),
``log.jsonl`` (one JSON line per event, appended as the run goes),
``resumed_by.json`` once a later run resumed it successfully, and
``checkpoint/`` while it can be resumed. Everything here is read-only.

While a run is live its manifest says only ``running``: what it has done so
far is in its log, which :func:`read_log` serves from a byte offset, so the
page asks only for the lines written since its last look.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from pypeline.ui.cache import FileCache
from pypeline.ui.paths import JobsRoot, NotFound
from pypeline.ui.sources import RESUMED_BY_FILE, run_status

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}
LOG_CHUNK = 1 << 20
"""Bytes of log one request reads at most (the page asks again for the rest)."""


def _parse_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


class RunReader:
    """Reads the run folders of the jobs under one :class:`JobsRoot`."""

    def __init__(self, root: JobsRoot, cache: FileCache) -> None:
        self.root = root
        self.cache = cache

    def manifest(self, run_dir: Path) -> dict[str, Any] | None:
        """The run's manifest, or ``None`` when it is missing or unreadable (a run just starting)."""
        try:
            path = self.root.file(run_dir / "manifest.json")
            document = self.cache.get("manifest", path, _parse_json)
        except (NotFound, OSError, ValueError):
            return None
        return document if isinstance(document, dict) else None

    def status(self, run_dir: Path, manifest: dict[str, Any] | None) -> str:
        """``success``, ``failed``, ``running`` or ``killed`` (a ``running`` manifest nobody holds)."""
        if manifest is not None and manifest.get("status") in ("success", "failed"):
            return str(manifest["status"])
        return run_status(run_dir)

    def resumed_by(self, run_dir: Path) -> str | None:
        """The run that resumed this one successfully, if any."""
        try:
            path = self.root.file(run_dir / RESUMED_BY_FILE)
            data = self.cache.get("resumed_by", path, _parse_json)
        except (NotFound, OSError, ValueError):
            return None
        return str(data.get("resumed_by")) if isinstance(data, dict) and data.get("resumed_by") else None

    def summary(self, run_dir: Path, sinks: frozenset[str]) -> dict[str, Any]:
        """One line of the runs table."""
        manifest = self.manifest(run_dir) or {}
        status = self.status(run_dir, manifest or None)
        modules = _dict(manifest.get("modules"))
        return {
            "run_id": run_dir.name,
            "status": status,
            "started": manifest.get("started"),
            "ended": manifest.get("ended"),
            "duration_ms": manifest.get("duration_ms"),
            "context": manifest.get("context"),
            "execution_mode": manifest.get("execution_mode"),
            "resumed_from": manifest.get("resumed_from"),
            "resumed_by": self.resumed_by(run_dir),
            "rows_written": rows_written(modules, sinks),
            "failed_modules": list(manifest.get("failed_modules") or []),
            "resumable": status in ("failed", "killed") and (run_dir / "checkpoint" / "meta.json").is_file(),
        }

    def runs(self, job_dir: Path, sinks: frozenset[str], limit: int | None = None) -> list[dict[str, Any]]:
        """The job's runs, newest first (by start time, then id)."""
        found = [self.summary(d, sinks) for d in self.root.run_dirs(job_dir)]
        found.sort(key=lambda r: (r["started"] or "", r["run_id"]), reverse=True)
        return found if limit is None else found[:limit]

    def detail(self, run_dir: Path, modules_info: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """Everything the run page shows but the log."""
        manifest = self.manifest(run_dir) or {}
        sinks = frozenset(m for m, info in modules_info.items() if info.get("type") == "sink")
        summary = self.summary(run_dir, sinks)
        nodes = _dict(manifest.get("modules"))
        spills = [s for s in manifest.get("spills") or [] if isinstance(s, dict)]
        attempts = []
        for node_id, record in sorted(nodes.items(), key=lambda kv: (kv[1].get("started") or "~", kv[0])):
            info = modules_info.get(str(record.get("module_id")), {})
            attempts.append({
                **{k: record.get(k) for k in (
                    "node_id", "module_id", "subflow", "iter_path", "backend", "status", "attempts", "retries",
                    "rows_in", "rows_out", "started", "ended", "duration_ms", "error", "globals",
                    "files_read", "files_written", "restored_from",
                )},
                "name": info.get("name"),
                "type": info.get("type"),
                "spills": sum(1 for s in spills if str(s.get("artifact", "")).startswith(f"{node_id}.")),
            })
        subflows = [s for s in manifest.get("subflows") or [] if isinstance(s, dict)]
        return {
            **summary,
            "flow": manifest.get("flow"),
            "flow_hash": manifest.get("flow_hash"),
            "now": _utc_now(),
            "modules": attempts,
            "subflows": subflows,
            "skipped": [s for s in subflows if s.get("status") in ("skipped", "not_run")],
            "errors": [str(e) for e in manifest.get("errors") or []],
            "spills": spills,
            "resume_command": manifest.get("resume_command"),
            "log_size": self._size(run_dir / "log.jsonl"),
            "job_modules": sorted(modules_info),
        }

    def _size(self, path: Path) -> int:
        try:
            return self.root.file(path).stat().st_size
        except (NotFound, OSError):
            return 0

    def read_log(
        self, run_dir: Path, *, after: int = 0, module: str = "", level: str = "", limit: int = LOG_CHUNK
    ) -> dict[str, Any]:
        """Log lines written after byte ``after``, filtered by module and lowest level.

        Only whole lines are returned; ``next`` is the offset to ask from next
        time, ``more`` says the file holds more than this answer read.
        """
        try:
            path = self.root.file(run_dir / "log.jsonl")
        except NotFound:
            return {"lines": [], "next": 0, "more": False, "size": 0, "skipped": 0}
        floor = LEVELS.get(level, 0)
        with open(path, "rb") as fh:
            size = fh.seek(0, 2)
            start = min(max(after, 0), size)
            fh.seek(start)
            wanted = max(1, min(limit, LOG_CHUNK))
            chunk = fh.read(wanted)
        whole = chunk[: chunk.rfind(b"\n") + 1]
        if not whole and len(chunk) == wanted:  # one line longer than a chunk: step over it, and say so
            end_of_line = _find_newline(path, start + len(chunk))
            if end_of_line is not None:
                return {"lines": [], "next": end_of_line + 1, "more": end_of_line + 1 < size, "size": size,
                        "skipped": 1}
        lines = []
        for raw in whole.splitlines():
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(line, dict):
                continue
            if floor and LEVELS.get(str(line.get("level")), 0) < floor:
                continue
            if module and not _of_module(str(line.get("node_id", "")), module):
                continue
            lines.append(line)
        end = start + len(whole)
        return {"lines": lines, "next": end, "more": end < size and bool(whole), "size": size, "skipped": 0}


def rows_written(modules: dict[str, Any], sinks: frozenset[str]) -> int | None:
    """Rows the run's sinks took in (``None`` when no sink reported rows).

    Sinks restored from the run a resumed run continues wrote in that earlier run, not in this one.
    """
    counts = [
        r["rows_in"] for r in modules.values()
        if isinstance(r, dict) and r.get("module_id") in sinks and isinstance(r.get("rows_in"), int)
        and r.get("status") != "restored"
    ]
    return sum(counts) if counts else None


def _find_newline(path: Path, offset: int) -> int | None:
    """The offset of the first newline at or after ``offset``, or ``None`` (the line is still being written)."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        while True:
            block = fh.read(LOG_CHUNK)
            if not block:
                return None
            found = block.find(b"\n")
            if found >= 0:
                return offset + found
            offset += len(block)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _of_module(node_id: str, module: str) -> bool:
    """``load#2`` belongs to module ``load``; a full node id matches itself."""
    return node_id == module or node_id.split("#", 1)[0] == module


def _utc_now() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int((now % 1) * 1000):03d}Z"
