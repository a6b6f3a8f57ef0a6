"""PYpeline: a Talend-style async DAG job builder and runner.

``pype build flow.yaml`` checks a flow and writes a job folder;
``pype run jobs/<name>`` runs it. Module authors import the SDK::

    from pypeline import BaseModule, RunContext
"""

from __future__ import annotations

from typing import Any

from pypeline.modules.sdk import BaseModule, RunContext

__all__ = ["BaseModule", "RunContext", "__version__"]


def __getattr__(name: str) -> Any:
    # the version is looked up on first use: importlib.metadata costs every `pype run` ~20 ms otherwise
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("pypeline")
        except PackageNotFoundError:  # running from a source tree that is not installed
            value = "0.0.0"
        globals()["__version__"] = value
        return value
    raise AttributeError(f"module 'pypeline' has no attribute {name!r}")
