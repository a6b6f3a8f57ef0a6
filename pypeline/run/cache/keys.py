"""Cache keys: one hash over everything that determines a module instance's outputs.

The key of a node (a module in one iteration) is the SHA-256 of the
canonical JSON of:

* the module: its name, import path and ``VERSION``, and a hash of its code:
  the source file of a project module (edit it and its key changes), the
  PYpeline version for a built-in;
* its configs with every template resolved except secrets, which stay as
  their ``{{vault...}}`` reference (a rotated password does not recompute,
  and no secret value enters a key);
* the execution mode (pandas and dask outputs differ in kind);
* the iteration items it runs under (per-iteration instances cache independently);
* its inputs: for each input port, the key of the upstream node and its port
  (so a changed upstream changes every key downstream of it);
* for a module reading files (a ``file_path`` or ``directory`` config), the
  fingerprints of those files (:mod:`pypeline.run.cache.fingerprints`).

What a key cannot see: a module that reads something else (a database, the
clock, a global through ``ctx.get_global`` rather than a template) gives the
same key for different outputs. docs/cache.md says which modules to cache.
"""

from __future__ import annotations

import hashlib
import inspect
import os
from functools import cache
from pathlib import Path
from typing import Any

from pypeline.core.jsonio import canonical_json
from pypeline.core.secret import mask
from pypeline.core.version import package_version


def node_key(parts: dict[str, Any]) -> str:
    """The key of a node from its parts (see the module docstring)."""
    return hashlib.sha256(canonical_json(mask(parts)).encode("utf-8")).hexdigest()


def code_hash(module_path: str) -> str:
    """What identifies a module's code: its source file's hash (a project module) or PYpeline's version."""
    if module_path.startswith("pypeline."):
        return f"pypeline {package_version()}"
    source = _source_file(module_path)
    try:
        info = os.stat(source) if source else None
    except OSError:
        info = None
    if source is None or info is None:
        return hashlib.sha256(module_path.encode("utf-8")).hexdigest()
    return _file_hash(source, (info.st_mtime_ns, info.st_size))


@cache
def _source_file(module_path: str) -> str | None:
    from pypeline.modules.loader import load_module_class

    try:
        return inspect.getsourcefile(load_module_class(module_path))
    except (OSError, TypeError):
        return None


@cache
def _file_hash(path: str, stamp: tuple[int, int]) -> str:
    """The file's hash; cached per (path, (mtime, size)), so an edited file is hashed again."""
    del stamp  # only part of the cache's key
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
