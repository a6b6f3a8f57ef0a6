"""PYpeline: a Talend-style async DAG job builder and runner.

``pype build flow.yaml`` checks a flow and writes a job folder;
``pype run jobs/<name>`` runs it. Module authors import the SDK::

    from pypeline import BaseModule, RunContext
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from pypeline.modules.sdk import BaseModule, RunContext

try:
    __version__ = version("pypeline")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["BaseModule", "RunContext", "__version__"]
