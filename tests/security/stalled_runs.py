"""Real ``pype run`` processes of flows with a module that gets stuck, for the timeout and signal tests.

A :class:`StallProject` is a project folder with a flow built from these
parts: ``before`` (``csv_source`` -> ``csv_sink``, writes ``out/before.csv``),
then, behind a control connection, the test-only ``Stall`` module ``a``
(``tests/resources/modules/stall.py``), then ``after`` (writes
``out/after.csv``). ``Stall`` stalls once: it creates the marker file
``marker`` first, so a resumed run gets past it, and the outputs of a run
that was stopped and resumed can be compared with those of a run that never
stalled (:meth:`StallProject.baseline`).

The test waits for ``stall a`` in the events file (the attempt started),
never by sleeping blindly, and measures from there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PYPE = str(Path(sys.executable).with_name("pype"))
STALL = "tests.resources.modules.stall.Stall"


def stall_flow(how: str, where: str, *, timeout: float | None = None, settings: dict[str, Any] | None = None,
               retries: int | None = None) -> str:
    """The flow text (see the module docstring)."""
    stall: dict[str, Any] = {"id": "a", "name": STALL,
                             "configs": {"required": {"how": how}, "optional": {"where": where, "once": "marker"}}}
    if timeout is not None:
        stall["timeout"] = timeout
    if retries is not None:
        stall["retries"] = retries
    lines = ["flow: {name: stalled}", f"settings: {json.dumps(settings or {})}", "modules:",
             '  - {id: src, name: csv_source, configs: {required: {file_path: data/in.csv}}}',
             '  - {id: before, name: csv_sink, configs: {required: {output_path: out/before.csv}}}',
             f"  - {json.dumps(stall)}",
             '  - {id: src2, name: csv_source, configs: {required: {file_path: data/in.csv}}}',
             '  - {id: after, name: csv_sink, configs: {required: {output_path: out/after.csv}}}',
             "connections:",
             '  data: ["src.data - before.input", "src2.data - after.input"]',
             '  control: ["before (1|) a", "a (1|) src2"]']
    return "\n".join(lines) + "\n"


class StallProject:
    """A project folder with a built stall flow (see the module docstring)."""

    def __init__(self, root: Path, flow_text: str) -> None:
        self.root = root
        (root / "data").mkdir(parents=True)
        (root / "data" / "in.csv").write_text("k,v\n" + "".join(f"{i},v{i}\n" for i in range(50)))
        (root / "flow.yaml").write_text(flow_text)
        built = self.pype("build", "flow.yaml")
        assert built.returncode == 0, built.stderr
        self.runs = root / "jobs" / "stalled" / "runs"
        self.events = root / "events.log"
        self.process: subprocess.Popen[str] | None = None

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(REPO), "PYPELINE_THREADS": "4"}

    def pype(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([PYPE, *args], cwd=self.root, env=self.env(), capture_output=True, text=True,
                              timeout=timeout)

    def start(self, *args: str) -> subprocess.Popen[str]:
        """``pype run`` in the background (``--run-id first``)."""
        self.process = subprocess.Popen(
            [PYPE, "run", "jobs/stalled", "--run-id", "first", "--quiet", "--progress", "none", *args],
            cwd=self.root, env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        return self.process

    def wait_for_stall(self, timeout: float = 60) -> float:
        """Wait until module ``a`` stalls; the ``time.monotonic()`` of that moment."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while not (self.events.exists() and "stall a" in self.events.read_text()):
            if self.process.poll() is not None:
                raise AssertionError(f"the run ended before it stalled: {self.process.communicate()}")
            if time.monotonic() > deadline:
                self.process.kill()
                raise AssertionError("the run did not reach the stall")
            time.sleep(0.02)
        return time.monotonic()

    def finish(self, timeout: float = 60) -> tuple[int, str, str, float]:
        """Wait for the run to end: exit code, stdout, stderr, and the ``time.monotonic()`` it ended."""
        assert self.process is not None
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
            raise AssertionError(f"the run did not end within {timeout}s: {err}") from None
        ended = time.monotonic()
        out, err = self.process.communicate(timeout=30)  # the watchdog shares stderr: wait for it too
        return self.process.returncode, out, err, ended

    def manifest(self, run_id: str = "first") -> dict[str, Any]:
        return dict(json.loads((self.runs / run_id / "manifest.json").read_text()))

    def resume(self) -> subprocess.CompletedProcess[str]:
        return self.pype("run", "jobs/stalled", "--resume", "--quiet", "--progress", "none")

    def outputs(self) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted((self.root / "out").glob("*.csv"))}

    def log_lines(self) -> list[str]:
        return self.events.read_text().splitlines() if self.events.exists() else []

    @staticmethod
    def baseline(root: Path, flow_text: str) -> dict[str, bytes]:
        """The outputs of the same flow run without stalling (its marker exists from the start)."""
        project = StallProject(root, flow_text)
        (root / "marker").touch()
        done = project.pype("run", "jobs/stalled", "--quiet", "--progress", "none")
        assert done.returncode == 0, done.stderr
        return project.outputs()
