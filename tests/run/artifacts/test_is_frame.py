"""Telling frames from other port values must never make dask compute."""

from __future__ import annotations

from typing import Any

import dask
import dask.dataframe as dd
import pandas as pd
from dask.local import get_sync

from pypeline.run.artifacts.artifact import is_frame


class _CountingScheduler:
    """A dask scheduler that counts the graphs it is asked to compute."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, dsk: Any, keys: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return get_sync(dsk, keys, **kwargs)


class TestIsFrame:
    def test_pandas_and_dask_frames_are_frames(self) -> None:
        frame = pd.DataFrame({"a": [1, 2]})
        assert is_frame(frame)
        assert is_frame(dd.from_pandas(frame, npartitions=1))

    def test_other_values_are_not(self) -> None:
        frame = pd.DataFrame({"a": [1, 2]})
        assert not is_frame(frame["a"])
        assert not is_frame(dd.from_pandas(frame, npartitions=1)["a"])
        assert not is_frame(["a.csv"])

    def test_a_sorted_dask_frame_is_recognised_without_computing(self) -> None:
        frame = dd.from_pandas(pd.DataFrame({"a": range(100, 0, -1)}), npartitions=4).sort_values("a")
        scheduler = _CountingScheduler()
        with dask.config.set(scheduler=scheduler):
            assert is_frame(frame)
        assert scheduler.calls == 0
