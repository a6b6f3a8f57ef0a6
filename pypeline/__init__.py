"""PYpeline: a Talend-style async DAG job builder and runner.

``pype build flow.yaml`` checks a flow and writes a job folder;
``pype run jobs/<name>`` runs it. Module authors import the SDK::

    from pypeline import BaseModule, RunContext

Flows can also be written, loaded and run from Python (docs/python-api.md)::

    import pypeline

    flow = pypeline.Flow("etl")              # or pypeline.load("flow.yaml")
    ...
    report = flow.run()                      # or pypeline.run("jobs/etl")

    @pypeline.module(inputs=["input"], outputs=["output"])
    def double(input): ...

The Python API (:mod:`pypeline.api`) is imported on first use, so ``pype
run`` and module code do not pay for it when they import ``pypeline``. This
package is the public face only: no layer of PYpeline imports it (they would
import the API above them in a circle).

``pypeline.run`` is both the run layer's package and the function that runs
a job folder: Python makes a subpackage an attribute of its parent, so the
package object itself is made callable (:class:`_CallableRunPackage`).
"""

from __future__ import annotations

import types
from importlib import import_module
from typing import TYPE_CHECKING, Any

import pypeline.run as _run_package  # its __init__ only holds a docstring
from pypeline.modules.sdk import BaseModule, RunContext

if TYPE_CHECKING:
    from pypeline.api import Flow as Flow
    from pypeline.api import RunReport as RunReport
    from pypeline.api import load as load
    from pypeline.api import run as run
    from pypeline.modules.functions import module as module

__all__ = ["BaseModule", "Flow", "RunContext", "RunReport", "__version__", "load", "module", "run"]

_LAZY = {
    "Flow": "pypeline.api",
    "RunReport": "pypeline.api",
    "load": "pypeline.api",
    "module": "pypeline.modules.functions",
}


class _CallableRunPackage(types.ModuleType):
    """The ``pypeline.run`` package, callable as :func:`pypeline.api.run` (see the module docstring)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from pypeline.api import run as run_job_folder

        return run_job_folder(*args, **kwargs)


_run_package.__class__ = _CallableRunPackage


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name == "__version__":
        from pypeline.core.version import package_version

        value = package_version()
        globals()["__version__"] = value
        return value
    raise AttributeError(f"module 'pypeline' has no attribute {name!r}")
