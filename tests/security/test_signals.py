"""SIGTERM and SIGINT end a run within seconds, wedged or not, and leave a checkpoint that resumes.

Real ``pype run`` processes (``stalled_runs.py``): a module stuck in C with
the GIL held (the event loop cannot run a signal handler: the watchdog
learns of the signal through its faulthandler pipe and stops the process),
and a module sleeping in a thread (the loop handles the signal: the module
is torn down and ``pype`` exits with 130). Either way the manifest records
the interruption, and ``pype run --resume`` finishes the job with the
outputs of a run that was never interrupted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.run.flowtext import flow, mod
from tests.security.stalled_runs import PYPE, REPO, StallProject, stall_flow

WITHIN = 5.0
"""Seconds from the signal to the end of the process (a few, on a loaded 2-core machine)."""

SIGNALS = [signal.SIGTERM, signal.SIGINT]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    return StallProject.baseline(tmp_path_factory.mktemp("baseline") / "p", stall_flow("sleep", "thread"))


@pytest.mark.slow
@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
@pytest.mark.parametrize(("how", "where"), [("gil", "loop"), ("gil", "thread"), ("python", "loop")],
                         ids=["gil-loop", "gil-thread", "python-loop"])
def test_a_wedged_run_is_stopped(
    tmp_path: Path, baseline: dict[str, bytes], signum: int, how: str, where: str
) -> None:
    name = signal.Signals(signum).name
    project = StallProject(tmp_path / "p", stall_flow(how, where))
    process = project.start()
    project.wait_for_stall()
    time.sleep(0.3)  # well inside the stall: the loop has stopped beating
    sent = time.monotonic()
    process.send_signal(signum)
    returncode, _out, err, ended = project.finish(timeout=60)
    assert ended - sent < WITHIN, err
    assert returncode == -signal.SIGKILL, err
    assert "Traceback" not in err
    assert f"error: the run was interrupted ({name}); the process did not respond" in err
    assert "resume with: pype run jobs/stalled --resume first" in err
    manifest = project.manifest()
    assert (manifest["status"], manifest["stopped_by"]) == ("failed", "watchdog")
    assert manifest["errors"][0].startswith(f"the run was interrupted ({name})")
    resumed = project.resume()
    assert resumed.returncode == 0, resumed.stderr
    assert project.outputs() == baseline


@pytest.mark.slow
@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_live_run_tears_down_and_exits_130(tmp_path: Path, baseline: dict[str, bytes], signum: int) -> None:
    project = StallProject(tmp_path / "p", stall_flow("sleep", "thread"))
    process = project.start()
    project.wait_for_stall()
    sent = time.monotonic()
    process.send_signal(signum)
    returncode, _out, err, ended = project.finish(timeout=60)
    # the module's thread sleeps for an hour: the process ends without waiting for it
    assert ended - sent < WITHIN, err
    assert returncode == 130, err
    assert err.strip().endswith("interrupted")
    assert project.log_lines()[-1] == "teardown a"
    manifest = project.manifest()
    assert manifest["status"] == "failed"
    assert manifest["errors"] == ["the run was interrupted (SIGINT/SIGTERM or cancelled by its caller)"]
    assert manifest["modules"]["a"]["status"] == "cancelled"
    assert "stopped_by" not in manifest
    resumed = project.resume()
    assert resumed.returncode == 0, resumed.stderr
    assert project.outputs() == baseline


@pytest.mark.slow
def test_a_second_signal_stops_a_teardown_that_does_not_end(tmp_path: Path) -> None:
    (tmp_path / "flow.yaml").write_text(flow("stubborn", [mod("slow", sleep=3600, teardown_sleep=3600)]))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    assert subprocess.run([PYPE, "build", "flow.yaml"], cwd=tmp_path, env=env, timeout=120).returncode == 0
    process = subprocess.Popen([PYPE, "run", "jobs/stubborn", "--run-id", "r", "--quiet", "--progress", "none"],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    events = tmp_path / "events.log"
    deadline = time.monotonic() + 60
    while not (events.exists() and "start slow" in events.read_text()):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    time.sleep(0.5)  # the run cancels the module, whose teardown now sleeps for an hour
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=60)
    assert time.monotonic() - sent < WITHIN, err
    assert process.returncode == -signal.SIGKILL
    assert "error: the run was interrupted (SIGINT received twice); it was asked to stop at once" in err
    assert '"stopped_by": "watchdog"' in (tmp_path / "jobs/stubborn/runs/r/manifest.json").read_text()
