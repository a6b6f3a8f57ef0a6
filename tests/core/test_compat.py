"""The Python 3.11 work-around for functools.cached_property's shared lock (see pypeline.core.compat)."""

from __future__ import annotations

import functools
import threading

import pytest

from pypeline.core.compat import lock_free_cached_property
from pypeline.run.engine.dask_mode import dask_mode

ORIGINAL_GET = functools.cached_property.__get__


class Slow:
    def __init__(self, started: threading.Event, release: threading.Event) -> None:
        self.started = started
        self.release = release

    @functools.cached_property
    def value(self) -> int:
        self.started.set()
        assert self.release.wait(5), "the other instance never got its value"
        return 1


@pytest.fixture(autouse=True, scope="module")
def work_around() -> None:
    lock_free_cached_property()  # what a dask-mode run and the dask backend apply when they start


def test_a_dask_mode_run_applies_it() -> None:
    if functools.cached_property.__get__.__module__ == "pypeline.core.compat":
        functools.cached_property.__get__ = ORIGINAL_GET  # type: ignore[method-assign]
    with dask_mode({"execution_mode": "dask"}):
        assert functools.cached_property.__get__.__module__ == "pypeline.core.compat"


def test_one_instance_computing_does_not_block_another_instance() -> None:
    # with 3.11's per-descriptor lock, the second instance waits for the first one, which waits for
    # the second: a deadlock (the wait above times out); without the lock both finish at once
    first_started, release = threading.Event(), threading.Event()
    first = Slow(first_started, release)
    second = Slow(threading.Event(), threading.Event())
    second.release.set()
    results: list[int] = []
    worker = threading.Thread(target=lambda: results.append(first.value))
    worker.start()
    assert first_started.wait(5)
    assert second.value == 1  # must not wait for the first instance's computation
    release.set()
    worker.join(5)
    assert results == [1]
    assert first.__dict__["value"] == 1 and second.__dict__["value"] == 1
