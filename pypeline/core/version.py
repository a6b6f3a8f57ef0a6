"""The installed package's version and folder, for code that must not import the ``pypeline`` facade.

The top-level ``pypeline`` package re-exports the public API, which sits above
every layer; a layer that imported it for its version would import itself in
a circle. Layers ask here instead.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
"""The folder of the ``pypeline`` package (what the packagers copy)."""


@cache
def package_version() -> str:
    """The installed version of ``pypeline`` (``0.0.0`` in a source tree that is not installed).

    Looked up on first use: importlib.metadata costs every ``pype run`` ~20 ms otherwise.
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pypeline")
    except PackageNotFoundError:
        return "0.0.0"
