"""``wait_for_file``: a sensor that waits until a file (or a file matching a glob) is there.

It checks every ``poll_interval`` seconds until a matching file exists, is at
least ``min_size`` bytes, and (with ``stable_seconds``) has not changed size
for that long, so a file still being copied is not taken too early. After
``timeout`` seconds it fails (``on_timeout: fail``) or finishes with
``found = false`` (``on_timeout: skip``), which a control connection's
condition can test (``wait__found``). Waiting is an ``asyncio.sleep``: it
holds no thread while it waits.
"""

from __future__ import annotations

import asyncio
import glob as globlib
import os
import time
from collections.abc import Mapping
from typing import Any

from pypeline.modules.sdk import BaseModule, DataError, RunContext
from pypeline.modules.storage import (
    STORAGE_OPTIONS_CONFIG,
    MissingStorageError,
    expand_url,
    is_url,
    local_path,
    size_of,
)


class WaitForFile(BaseModule):
    """Wait for a file to appear."""

    TYPE = "solo"
    VERSION = "1.0.0"
    DESCRIPTION = "Waits until a file (path or glob) exists and is stable, with a poll interval and a timeout"
    CATEGORY = "Utility"
    GLOBALS = ["found", "file_path", "waited_seconds"]
    CONFIG_SCHEMA = {
        "required": {
            "file_path": {"type": "str", "description": "File to wait for, or a glob (`incoming/*.csv`)"},
        },
        "optional": {
            **STORAGE_OPTIONS_CONFIG,
            "timeout": {"type": "number", "default": 300, "description": "Seconds to wait at most"},
            "poll_interval": {"type": "number", "default": 5, "description": "Seconds between checks"},
            "min_size": {"type": "int", "default": 0, "description": "Smallest size in bytes that counts"},
            "stable_seconds": {
                "type": "number",
                "default": 0,
                "description": "The size must stay the same this long (file fully written)",
            },
            "on_timeout": {
                "type": "str",
                "default": "fail",
                "enum": ["fail", "skip"],
                "description": "After the timeout: fail the module, or finish with found = false",
            },
        },
    }

    @classmethod
    def check_configs(cls, configs: Mapping[str, Any]) -> list[str]:
        problems = []
        for key in ("timeout", "poll_interval", "stable_seconds", "min_size"):
            value = configs.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                problems.append(f"'{key}' must not be negative, got {value}")
        if isinstance(configs.get("poll_interval"), (int, float)) and configs["poll_interval"] == 0:
            problems.append("'poll_interval' must be greater than 0")
        return problems

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        c = self.configs
        started = time.monotonic()
        deadline = started + float(c["timeout"])
        sizes: dict[str, tuple[int, float]] = {}
        checks = 0
        while True:
            checks += 1
            found = self._ready(sizes)
            if found is not None:
                waited = round(time.monotonic() - started, 3)
                ctx.set_global("found", True)
                ctx.set_global("file_path", found)
                ctx.set_global("waited_seconds", waited)
                ctx.add_stat("checks", checks)
                return {}
            now = time.monotonic()
            if now >= deadline:
                break
            await asyncio.sleep(min(float(c["poll_interval"]), max(0.0, deadline - now)))
        waited = round(time.monotonic() - started, 3)
        ctx.add_stat("checks", checks)
        if c["on_timeout"] == "skip":
            ctx.set_global("found", False)
            ctx.set_global("file_path", None)
            ctx.set_global("waited_seconds", waited)
            ctx.emit_event("file_not_found", file_path=c["file_path"], waited_seconds=waited)
            return {}
        raise DataError(
            f"no file matching '{c['file_path']}' (at least {c['min_size']} bytes"
            f"{', stable for ' + str(c['stable_seconds']) + 's' if c['stable_seconds'] else ''}) "
            f"appeared within {c['timeout']}s ({checks} checks)"
        )

    def _ready(self, sizes: dict[str, tuple[int, float]]) -> str | None:
        """The first matching file that is big enough and stable, or ``None``."""
        c = self.configs
        now = time.monotonic()
        for path, size in self._candidates(c["file_path"]):
            if size < c["min_size"]:
                continue
            previous = sizes.get(path)
            if previous is None or previous[0] != size:
                sizes[path] = (size, now)
                previous = sizes[path]
            if now - previous[1] >= float(c["stable_seconds"]):
                return str(path)
        return None

    def _candidates(self, pattern: str) -> list[tuple[str, int]]:
        """(path, size) of the regular files matching ``pattern`` now (a URL's objects on its store)."""
        if is_url(pattern):
            try:
                return [(str(p), size_of(p)) for p in expand_url(pattern, self.configs["storage_options"])]
            except MissingStorageError:
                return []
        pattern = local_path(pattern)
        found = []
        for path in sorted(globlib.glob(pattern)) if any(ch in pattern for ch in "*?[") else [pattern]:
            try:
                size = os.stat(path).st_size
            except OSError:
                continue
            if os.path.isfile(path):
                found.append((path, size))
        return found
