"""Which configs of a module name files, and whether the module reads or writes them.

A config whose key names a path (``file_path``, ``output_path``, ``path``,
``paths``, ``files``, ``directory``, ``dir``, ``folder``, ``glob``, or any key
ending in ``_path``, ``_paths``, ``_file``, ``_files``, ``_dir``) and holds a
string or a list of strings. Sources read them; sinks write them; for solo
modules and transforms a key starting with ``output``, ``out_`` or ``target``
is written and the others are read.

``pype run --dry-run`` lists them (``run/dryrun.py``); the build refuses two
sinks that write one path (``build/plan/outputs.py``).
"""

from __future__ import annotations

import re
from typing import Any

PATH_KEY = re.compile(
    r"^(?:file_path|output_path|input_path|path|paths|file|files|directory|dir|folder|glob)$"
    r"|(?:_path|_paths|_file|_files|_dir)$"
)
WRITE_KEY = re.compile(r"^(?:output|out_|target)")


def file_configs(module_type: str, configs: dict[str, Any]) -> tuple[list[str], list[str]]:
    """``(reads, writes)``: the file paths a module's configs name (see the module docstring)."""
    reads: list[str] = []
    writes: list[str] = []
    for key in sorted(configs):
        if not PATH_KEY.search(key):
            continue
        value = configs[key]
        paths = [value] if isinstance(value, str) else [v for v in value if isinstance(v, str)] if isinstance(
            value, list
        ) else []
        if not paths:
            continue
        if module_type == "sink" or (module_type != "source" and WRITE_KEY.match(key)):
            writes.extend(paths)
        else:
            reads.extend(paths)
    return reads, writes
