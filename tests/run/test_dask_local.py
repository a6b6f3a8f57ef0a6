"""A dask-mode run shares one dask thread pool and uses the system allocator for Arrow; both restored after."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import dask
import dask.dataframe as dd
import pandas as pd
import pyarrow as pa
import pytest

from pypeline.run.engine.dask_mode import dask_mode
from tests.conftest import FlowHarness


def test_pandas_mode_changes_nothing() -> None:
    with dask_mode({"execution_mode": "pandas"}) as workers:
        assert workers is None and dask.config.get("pool", None) is None


def test_concurrent_computations_share_the_run_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    before = pa.default_memory_pool().backend_name
    seen: set[str] = set()

    def where(part: pd.DataFrame) -> pd.DataFrame:
        seen.add(threading.current_thread().name)
        return part

    frame = dd.from_pandas(pd.DataFrame({"x": range(40)}), npartitions=8)
    with dask.config.set(num_workers=2), dask_mode({"execution_mode": "dask"}) as workers:
        assert workers == 2
        assert pa.default_memory_pool().backend_name == "system"
        job = frame.map_partitions(where, meta=frame._meta)
        threads = [threading.Thread(target=job.compute) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert seen and all(name.startswith("pypeline-dask") for name in seen) and len(seen) <= 2
    assert dask.config.get("pool", None) is None
    assert pa.default_memory_pool().backend_name == before


@pytest.mark.parametrize(("mode", "expected"), [("dask", "system"), ("pandas", "unset")])
def test_pype_run_picks_the_system_arrow_allocator_for_dask_jobs(
    flows: FlowHarness, mode: str, expected: str
) -> None:
    job = flows.build(f"""
        flow: {{name: alloc_{mode}}}
        settings: {{execution_mode: {mode}}}
        modules: [{{id: e, name: empty_source}}]
        """)
    probe = (
        "import os, sys; from pypeline.run.engine.dask_mode import prepare_process; "
        "prepare_process(sys.argv[1]); import pyarrow; "
        "print(os.environ.get('ARROW_DEFAULT_MEMORY_POOL', 'unset'))"
    )
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    done = subprocess.run([sys.executable, "-c", probe, str(job)], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.strip() == expected
