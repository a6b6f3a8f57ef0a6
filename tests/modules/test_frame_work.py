"""pandas work of the built-in transforms on large frames runs on the run's thread pool, not on the event loop.

Run on the loop, a module's pandas work on a large frame stalls every other
module of the run: the other branch of a fan-out (the group-by and the write
of the filtered rows in the reference job) waits instead of using the second
core. On a small frame the work takes less than the hand-off to a thread, so
it runs inline. In dask mode the same modules only build a graph, which stays
on the loop.
"""

from __future__ import annotations

import threading
from typing import Any

import pandas as pd
import pytest

from pypeline.modules.kinds.eager_work import INLINE_CELLS
from pypeline.modules.sdk import ThreadRunner
from tests.modules.harness import run_module

FRAME = pd.DataFrame({"k": ["a", "b", "a"], "v": [1, 2, 3]})
LARGE = pd.DataFrame({"k": ["a", "b"] * (INLINE_CELLS // 2), "v": range(INLINE_CELLS)})
"""Twice the cells below which work runs inline."""
CASES = [
    ("filter_mod", {"condition": "v > 1"}),
    ("derive_mod", {"columns": {"w": "v * 2"}}),
    ("aggregate_mod", {"aggregations": {"total": "sum(v)"}, "group_by": ["k"]}),
]
INLINE = CASES
"""Every eager kind decides by frame size (``kinds/eager_work.py``)."""


class RecordingRunner(ThreadRunner):
    """The real thread runner, remembering which threads ran its calls."""

    def __init__(self) -> None:
        super().__init__(None)
        self.threads: list[str] = []

    async def run_in_thread(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        def call() -> Any:
            self.threads.append(threading.current_thread().name)
            return fn(*args, **kwargs)

        return await super().run_in_thread(call)


@pytest.mark.parametrize(("name", "configs"), CASES, ids=[c[0] for c in CASES])
async def test_pandas_work_on_a_large_frame_runs_on_the_pool(name: str, configs: dict[str, Any]) -> None:
    runner = RecordingRunner()
    run = await run_module(name, configs, {"input": LARGE}, executor=runner)
    assert len(run.outputs["output"]) > 0
    assert runner.threads and threading.main_thread().name not in runner.threads


@pytest.mark.parametrize(("name", "configs"), INLINE, ids=[c[0] for c in INLINE])
async def test_pandas_work_on_a_small_frame_runs_inline(name: str, configs: dict[str, Any]) -> None:
    runner = RecordingRunner()
    run = await run_module(name, configs, {"input": FRAME}, executor=runner)
    assert len(run.outputs["output"]) > 0
    assert runner.threads == []


@pytest.mark.parametrize(("name", "configs"), CASES, ids=[c[0] for c in CASES])
async def test_dask_graphs_are_built_on_the_loop(name: str, configs: dict[str, Any]) -> None:
    runner = RecordingRunner()
    run = await run_module(name, configs, {"input": FRAME}, mode="dask", executor=runner)
    assert len(run.outputs["output"]) > 0
    assert runner.threads == []
