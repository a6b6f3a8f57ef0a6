"""Function modules where their code can travel: dask workers, Lambda (serverless-offline), Glue (moto).

The far sides import a module by its dotted path; for a function module that
is the function's own path (``tests.api.functions.scale``), importable there
because the repository is on their ``PYTHONPATH`` as a packaged module would be.
Each flow is built with the Python API and its result compared with the same
flow run locally.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pypeline.api import Flow, RunReport
from tests.api import functions as fn
from tests.backends.test_glue_backend import GlueWorker, glue
from tests.backends.test_lambda_backend import lam

pytestmark = pytest.mark.slow


def chain(name: str, out: Path, remote: dict[str, Any] | None) -> Flow:
    """numbers -> where -> scale (sync) -> shift (async, sets 'total') -> collect; the middle three on ``remote``."""
    flow = Flow(name).settings(dask={"n_workers": 2}, retries=0)
    source = flow.module("source", fn.numbers, configs={"count": 5})
    where = flow.module("where", fn.where, inputs={"frame": source}, execution=remote)
    scaled = flow.module("scaled", fn.scale, configs={"factor": 3}, inputs={"frame": where}, execution=remote)
    shifted = flow.module("shifted", fn.shift, configs={"offset": 2}, inputs={"frame": scaled}, execution=remote)
    flow.module("out", fn.collect, configs={"output_path": str(out)}, inputs={"frame": shifted})
    return flow


async def run_both(project: Path, remote: dict[str, Any]) -> tuple[RunReport, RunReport]:
    local = await chain("local", project / "local.csv", None).run_async(project / "jobs")
    away = await chain("away", project / "away.csv", remote).run_async(project / "jobs")
    assert local.ok and away.ok, (local.errors, away.errors)
    pd.testing.assert_frame_equal(pd.read_csv(project / "away.csv"), pd.read_csv(project / "local.csv"))
    assert pd.read_csv(project / "away.csv")["n"].tolist() == [5, 8, 11, 14, 17]
    assert away.modules["shifted"].globals == local.modules["shifted"].globals == {"total": 55}
    assert local.modules["where"].globals["pid"] == os.getpid()
    assert away.modules["where"].globals["pid"] != os.getpid()
    return local, away


async def test_on_dask_workers(project: Path) -> None:
    _local, away = await run_both(project, {"backend": "dask"})
    assert {m: r.backend for m, r in away.modules.items()} == {
        "source": "local", "where": "dask", "scaled": "dask", "shifted": "dask", "out": "local"}


async def test_on_lambda(project: Path, lambda_endpoint: str, moto_endpoint: str) -> None:
    _local, away = await run_both(project, json.loads(lam(lambda_endpoint, moto_endpoint)))
    assert away.modules["scaled"].backend == "lambda" and away.modules["shifted"].backend == "lambda"


async def test_on_glue(project: Path, moto_endpoint: str, tmp_path: Path) -> None:
    with GlueWorker(moto_endpoint, "pypeline-function-modules", tmp_path) as worker:
        _local, away = await run_both(project, json.loads(glue(moto_endpoint, worker.job)))
        assert worker.exit_codes == [0, 0, 0], worker.stderr
    assert away.modules["shifted"].backend == "glue"
