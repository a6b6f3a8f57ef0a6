"""Compile the repository's Python files before a benchmark starts its child processes.

The children import PYpeline from this source tree (``PYTHONPATH``), not from an
installed copy. An installed package and the libraries it is compared with
(pandas, dask, pyarrow) come with their bytecode, written by pip at install time.
A source tree has none until Python writes it on a first import, and it never
does where ``PYTHONDONTWRITEBYTECODE`` is set (some CI machines and sandboxes):
then every child compiled about a hundred of PYpeline's modules again, 0.1-0.2 s
per run, a cost no installed ``pype`` pays. Compiling them once here gives the
children what an install gives.
"""

from __future__ import annotations

import compileall
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def compile_sources() -> None:
    """Write the bytecode of ``pypeline/`` and ``benchmarks/`` (``__pycache__``, as an import would)."""
    for folder in ("pypeline", "benchmarks"):
        compileall.compile_dir(str(REPO / folder), quiet=1)
