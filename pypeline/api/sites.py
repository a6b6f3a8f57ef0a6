"""Where in the user's Python code a part of a flow was added.

Every builder call records its *site*: the file and line of the first frame
outside this package, i.e. the user's own call. A flow loaded from YAML
records the YAML file and line of each part instead, so one map from JSON
pointers (``/modules/2``, ``/connections/data/0``) to sites serves both, and
an error of the build names the line a user wrote, whichever language it is in
(:mod:`pypeline.api.located`).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

_API_DIR = str(Path(__file__).resolve().parent) + os.sep


@dataclass(frozen=True, slots=True)
class Site:
    """A file and a line (1-based; ``None`` when unknown)."""

    path: str
    line: int | None = None

    def __str__(self) -> str:
        return self.path if self.line is None else f"{self.path}:{self.line}"


def shown_path(filename: str) -> str:
    """``filename`` relative to the current folder when it lies inside it (shorter messages), else as it is."""
    if filename.startswith("<"):  # <stdin>, <string>: no file to point at
        return filename
    try:
        relative = os.path.relpath(filename)
    except ValueError:  # another drive (Windows)
        return filename
    return filename if relative.startswith(os.pardir) else relative


def caller_site() -> Site:
    """The site of the nearest caller outside :mod:`pypeline.api`."""
    frame = sys._getframe(1)
    while frame.f_back is not None and os.path.abspath(frame.f_code.co_filename).startswith(_API_DIR):
        frame = frame.f_back
    return Site(shown_path(frame.f_code.co_filename), frame.f_lineno)
