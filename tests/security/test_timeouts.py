"""A timeout is a promise: an attempt past its limit is stopped and recorded ``timed_out``, CPU-bound or not.

Real ``pype run`` processes (``stalled_runs.py``) with a module that gets
stuck in each way a module can: a pure-Python busy loop or ``time.sleep`` in
a thread (the event loop stays alive: the run records the timeout itself and
goes on), and a busy loop on the event loop, ``pow(9, 9**9)`` or a
backtracking ``re`` that hold the GIL (the loop is wedged: the watchdog
process stops the run and writes the manifest). Every case ends well within
the limit plus a few seconds, with a manifest that is not ``running``, and
``pype run --resume`` then finishes the job with the outputs of a run that
never stalled.

The bounds are generous for a loaded 2-core machine (limit + 5 s to the
process's end), yet a broken promise fails them: the stuck work runs for an
hour or more.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import FlowHarness
from tests.security.stalled_runs import STALL, StallProject, stall_flow

LIMIT = 2.0
SLACK = 5.0
"""The process must be gone within LIMIT + SLACK seconds of the stall."""

CASES = [
    # how, where, exit code: 1 when the run handled the timeout, -9 when the watchdog stopped the process
    ("python", "thread", 1),
    ("sleep", "thread", 1),
    ("gil", "thread", -9),
    ("python", "loop", -9),
    ("gil", "loop", -9),
    ("regex", "loop", -9),
]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Outputs of the flow when nothing stalls (the same for every case: the stall module writes nothing)."""
    root = tmp_path_factory.mktemp("baseline") / "p"
    return StallProject.baseline(root, stall_flow("sleep", "thread", timeout=LIMIT))


@pytest.mark.slow
@pytest.mark.parametrize(("how", "where", "code"), CASES, ids=[f"{h}-{w}" for h, w, _ in CASES])
def test_module_timeout_holds(tmp_path: Path, baseline: dict[str, bytes], how: str, where: str, code: int) -> None:
    project = StallProject(tmp_path / "p", stall_flow(how, where, timeout=LIMIT))
    project.start()
    stalled = project.wait_for_stall()
    returncode, _out, err, ended = project.finish(timeout=LIMIT + 60)
    assert LIMIT - 0.2 < ended - stalled < LIMIT + SLACK, err
    assert returncode == code, err
    assert "Traceback" not in err
    assert f"error: module 'a': timed out after {LIMIT:g}s" in err
    assert "resume with: pype run jobs/stalled --resume first" in err

    manifest = project.manifest()
    assert manifest["status"] == "failed"
    node = manifest["modules"]["a"]
    assert node["status"] == "timed_out"
    assert node["error"] == f"timed out after {LIMIT:g}s"
    assert manifest["failed_modules"] == ["a"]
    assert manifest["errors"][0].startswith(f"module 'a': timed out after {LIMIT:g}s")
    # recorded about a second after the limit at most (plus scheduling noise on a loaded machine)
    assert LIMIT * 1000 <= node["duration_ms"] < (LIMIT + 2.5) * 1000, node
    if code == -9:
        assert manifest["stopped_by"] == "watchdog"
        assert "so the watchdog stopped it" in manifest["errors"][0]
    else:
        assert "teardown a" in project.log_lines()  # the loop was alive: the module was torn down
        assert {s["instance"]: s["status"] for s in manifest["subflows"]}["a"] == "failed"
    assert "start src2" not in project.log_lines()

    resumed = project.resume()
    assert resumed.returncode == 0, resumed.stderr
    assert project.outputs() == baseline


@pytest.mark.slow
@pytest.mark.parametrize(("how", "where", "code"), [("gil", "loop", -9), ("python", "thread", 1)],
                         ids=["wedged", "alive"])
def test_run_timeout_holds(tmp_path: Path, baseline: dict[str, bytes], how: str, where: str, code: int) -> None:
    """``settings.timeout`` bounds the whole run the same way (the stuck module has no timeout of its own)."""
    project = StallProject(tmp_path / "p", stall_flow(how, where, settings={"timeout": 4}))
    project.start()
    project.wait_for_stall()
    returncode, _out, err, _ended = project.finish(timeout=60)
    assert returncode == code, err
    assert "error: the run timed out after 4s (settings.timeout)" in err
    manifest = project.manifest()
    assert manifest["status"] == "failed"
    assert manifest["errors"][0].startswith("the run timed out after 4s (settings.timeout)")
    assert 3900 < manifest["duration_ms"] < (4 + SLACK) * 1000
    resumed = project.resume()
    assert resumed.returncode == 0, resumed.stderr
    assert project.outputs() == baseline


class TestInProcess:
    """The loop-alive path of ``run_job`` itself (no watchdog: library callers get none)."""

    async def test_a_stuck_thread_does_not_cost_the_pool_a_worker(self, flows: FlowHarness) -> None:
        # one thread; the first attempt's call sleeps on it past the timeout; the retry needs a worker
        entry = {"id": "a", "name": STALL, "timeout": 0.5, "retries": 1,
                 "configs": {"required": {"how": "sleep"}, "optional": {"seconds": 3, "once": "marker"}}}
        result = await flows.run(f"flow: {{name: pool}}\nsettings: {{retry_delay: 0}}\nmodules:\n"
                                 f"  - {json.dumps(entry)}\n", threads=1)
        node = result.manifest["modules"]["a"]
        assert (result.status, node["status"], node["attempts"]) == ("success", "success", 2), node

    async def test_a_timeout_error_the_module_raises_is_not_a_timeout(self, flows: FlowHarness) -> None:
        entry = {"id": "a", "name": "tests.resources.modules.stall.RaisesTimeoutError", "timeout": 30}
        result = await flows.run(f"flow: {{name: own}}\nmodules:\n  - {json.dumps(entry)}\n")
        node = result.manifest["modules"]["a"]
        assert (node["status"], node["error"]) == ("failed", "TimeoutError: the server did not answer")

