"""``file_list``: list files for an ``iterate`` connection (Talend's tFileList).

Its ``files`` port carries a Python list of paths, so an iterate control
connection from it runs the target sub flow once per file, with
``{{iter.item}}`` (or ``ctx.iter_item``) set to the path. When the folder
comes from a secret (``directory: "data/{{vault.kv/app#dir}}"``) the paths
are secret-marked too; a checkpoint stores them as references to that
secret and a resumed run rebuilds them exactly (``secrets/transport.py``).
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pypeline.core.secret import SecretStr, is_secret
from pypeline.core.text import relative_note
from pypeline.modules.frames import MissingInputError
from pypeline.modules.sdk import BaseModule, RunContext
from pypeline.modules.storage import STORAGE_OPTIONS_CONFIG, is_url, list_folder, local_path


class FileList(BaseModule):
    """List the files of a folder that match a glob, sorted and filtered."""

    TYPE = "source"
    DESCRIPTION = "Lists files in a folder (glob, sort, size and age filters) for iterate connections"
    CATEGORY = "File Sources"
    OUTPUT_PORTS = ["files"]
    LIST_OUTPUTS = ["files"]
    GLOBALS = ["file_count", "row_count"]
    CONFIG_SCHEMA = {
        "required": {"directory": {"type": "str", "description": "Folder to list"}},
        "optional": {
            **STORAGE_OPTIONS_CONFIG,
            "pattern": {"type": "str", "default": "*", "description": "Glob matched against file names"},
            "recursive": {"type": "bool", "default": False, "description": "Descend into sub folders"},
            "sort": {"type": "str", "default": "name", "enum": ["name", "size", "mtime"], "description": "Sort key"},
            "reverse": {"type": "bool", "default": False, "description": "Sort in descending order"},
            "min_size": {"type": "int|null", "default": None, "description": "Smallest size in bytes"},
            "max_size": {"type": "int|null", "default": None, "description": "Largest size in bytes"},
            "min_age_seconds": {"type": "number|null", "default": None, "description": "Only files at least this old"},
            "max_age_seconds": {"type": "number|null", "default": None, "description": "Only files at most this old"},
            "fail_if_empty": {"type": "bool", "default": False, "description": "Fail when no file matches"},
        },
    }

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        files = await ctx.executor.run_in_thread(self.list_files)
        if not files and self.configs["fail_if_empty"]:
            raise MissingInputError(f"no file matches '{self.configs['pattern']}' in {self.configs['directory']}")
        ctx.set_global("file_count", len(files))
        ctx.set_global("row_count", len(files))
        if is_secret(self.configs["directory"]):  # a path under a secret folder is a secret too
            files = [SecretStr(path) for path in files]
        return {"files": files}

    def list_files(self) -> list[str]:
        """The matching files as paths (URLs for a store, docs/storage.md), sorted and filtered by the configs."""
        c = self.configs
        if is_url(c["directory"]):
            listed = list_folder(c["directory"], c["storage_options"], recursive=c["recursive"])
            return self._filtered(listed)
        folder = Path(local_path(c["directory"]))
        if not folder.is_dir():
            what = "is a file, expected a folder" if folder.exists() else f"does not exist{relative_note(str(folder))}"
            raise MissingInputError(f"directory '{folder}' {what}")
        walker = folder.rglob("*") if c["recursive"] else folder.iterdir()
        entries = []
        for path in walker:
            if path.is_file():
                st = path.stat()
                entries.append((str(path), st.st_size, st.st_mtime))
        return self._filtered(entries)

    def _filtered(self, entries: Sequence[tuple[str, int, float]]) -> list[str]:
        """Paths of ``entries`` (path, size, mtime) matching the pattern and filters, sorted."""
        c = self.configs
        now = time.time()
        found: list[tuple[str, int, float]] = []
        for path, size, mtime in entries:
            if not fnmatch.fnmatch(path.rsplit("/", 1)[-1], c["pattern"]):
                continue
            age = now - mtime
            if c["min_size"] is not None and size < c["min_size"]:
                continue
            if c["max_size"] is not None and size > c["max_size"]:
                continue
            if c["min_age_seconds"] is not None and age < c["min_age_seconds"]:
                continue
            if c["max_age_seconds"] is not None and age > c["max_age_seconds"]:
                continue
            found.append((path, size, mtime))
        keys: dict[str, Callable[[tuple[str, int, float]], Any]] = {
            "name": lambda item: item[0],
            "size": lambda item: (item[1], item[0]),
            "mtime": lambda item: (item[2], item[0]),
        }
        found.sort(key=keys[c["sort"]], reverse=c["reverse"])
        return [str(p) for p, _, _ in found]
