"""Ctrl-C and SIGTERM during ``pype run``: modules are cancelled and torn down, the manifest says so, exit 130."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import invoke
from tests.run.flowtext import flow, mod

REPO = Path(__file__).parents[2]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_interrupted_run_tears_down_and_records_it(cli: CliRunner, project: Path, signum: int) -> None:
    (project / "flow.yaml").write_text(flow("interrupt", [mod("slow", sleep=60), mod("after")], ["slow (1|) after"]))
    assert invoke(cli, "build", "flow.yaml").exit_code == 0
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "pype"), "run", "jobs/interrupt", "--run-id", "r", "--quiet",
         "--progress", "none"],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    events = project / "events.log"
    deadline = time.monotonic() + 60
    while not (events.exists() and "start slow" in events.read_text()):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    process.send_signal(signum)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.strip().endswith("interrupted")
    assert "Traceback" not in err
    assert events.read_text().splitlines()[-1] == "teardown slow"
    manifest = json.loads((project / "jobs/interrupt/runs/r/manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert manifest["errors"] == ["the run was interrupted (SIGINT/SIGTERM or cancelled by its caller)"]
    assert manifest["modules"]["slow"]["status"] == "cancelled"
    assert {s["instance"]: s["status"] for s in manifest["subflows"]} == {"after": "not_run", "slow": "cancelled"}
