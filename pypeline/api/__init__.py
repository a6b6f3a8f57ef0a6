"""The Python API: build flows in code, load YAML flows, run job folders.

::

    import pypeline

    flow = pypeline.Flow("etl")
    read = flow.module("read", "csv_source", configs={"file_path": "data/in.csv"})
    keep = flow.module("keep", "filter_mod", configs={"condition": "age > 18"}, inputs={"input": read["data"]})
    flow.module("write", "parquet_sink", configs={"output_path": "out/adults.parquet"}, inputs={"input": keep})
    report = flow.run()          # build jobs/etl/, run it, return a RunReport

A flow built here goes through the build's own checks (its messages name the
Python lines that added each part) and writes the job folder ``pype build``
would write for its YAML (:meth:`Flow.to_yaml`); ``pype run`` runs either.
See docs/python-api.md.
"""

from pypeline.api.flow import Flow, ModuleLike
from pypeline.api.loading import load
from pypeline.api.refs import ModuleRef, Port, PortLike
from pypeline.api.report import ModuleReport, RunFailed, RunReport
from pypeline.api.running import run, run_async
from pypeline.modules.functions import module

__all__ = [
    "Flow",
    "ModuleLike",
    "ModuleRef",
    "ModuleReport",
    "Port",
    "PortLike",
    "RunFailed",
    "RunReport",
    "load",
    "module",
    "run",
    "run_async",
]
