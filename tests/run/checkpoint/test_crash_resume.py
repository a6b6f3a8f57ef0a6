"""Crash and resume for real: ``pype run`` in a subprocess, SIGKILL at chosen points, then ``--resume``.

The flow has eight sub flow instances: ``seed`` (a root), ``files`` (lists four
CSV files), ``load#0..3`` (one per file, iterate), ``gather`` (reads every
part back and writes ``out/all.csv``) and ``summary`` (behind a condition on a
global, writes ``out/report.csv``). Its sinks are the test-only ``SlowCsvSink``, which writes in chunks
with pauses, so a kill can land after a chosen number of finished instances
(seen in the checkpoint folder, never by sleeping blindly) or in the middle
of a sink write (a non-empty file appeared in a ``.pype-tmp`` folder). After each kill
the run is resumed, and its outputs must equal an uninterrupted run's byte
for byte, with no duplicate row and no temporary file left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from pypeline.run.checkpoint.reading import read_checkpoint

REPO = Path(__file__).resolve().parents[3]
PYPE = str(Path(sys.executable).with_name("pype"))
SLOW = "tests.resources.modules.slow_sink.SlowCsvSink"

FLOW = f"""
flow: {{name: crash}}
settings: {{execution_mode: MODE}}
modules:
  - {{id: seed, name: csv_source, configs: {{required: {{file_path: data/seed.csv}}}}}}
  - {{id: seed_out, name: {SLOW}, configs: {{required: {{output_path: out/seed.csv}}, optional: {{delay: 0.2}}}}}}
  - {{id: files, name: file_list, configs: {{required: {{directory: data/in}}, optional: {{pattern: "*.csv"}}}}}}
  - {{id: load, name: csv_source, configs: {{required: {{file_path: "{{{{iter.item}}}}"}}}}}}
  - {{id: keep, name: filter_mod, configs: {{required: {{condition: "v % 3 != 0"}}}}}}
  - {{id: part, name: {SLOW}, configs: {{required: {{output_path: "out/parts/p{{{{iter.index}}}}.csv"}},
                                     optional: {{chunk_rows: 40, delay: 0.15}}}}}}
  - {{id: gather, name: csv_source, configs: {{required: {{file_path: out/parts}}}}}}
  - {{id: total, name: {SLOW}, configs: {{required: {{output_path: out/all.csv}},
                                      optional: {{chunk_rows: 100, delay: 0.15}}}}}}
  - {{id: summary, name: csv_source, configs: {{required: {{file_path: out/all.csv}}}}}}
  - {{id: small, name: filter_mod, configs: {{required: {{condition: "v < 1100"}}}}}}
  - {{id: report, name: {SLOW}, configs: {{required: {{output_path: out/report.csv}},
                                       optional: {{chunk_rows: 50, delay: 0.2}}}}}}
connections:
  data: ["seed.data - seed_out.input", "load.data - keep.input", "keep.output - part.input",
         "gather.data - total.input", "summary.data - small.input", "small.output - report.input"]
  control:
    - "seed_out (1|) files"
    - {{from: files, to: load, type: iterate, order: 1}}
    - "files (2|) gather"
    - "total (1| total__row_count > 0) summary"
"""
INSTANCES = 8


class Project:
    """A project folder with the flow built and its data written."""

    def __init__(self, root: Path, mode: str) -> None:
        self.root = root
        root.mkdir(parents=True)
        (root / "data" / "in").mkdir(parents=True)
        (root / "data" / "seed.csv").write_text("k,name\n" + "".join(f"{i},n{i}\n" for i in range(15)))
        for f in range(4):
            rows = "".join(f"{f * 1000 + i},{f},{'x' * (i % 5)}\n" for i in range(120))
            (root / "data" / "in" / f"f{f}.csv").write_text("v,file,pad\n" + rows)
        (root / "flow.yaml").write_text(FLOW.replace("MODE", mode))
        self.pype("build", "flow.yaml").check_returncode()
        self.runs = root / "jobs" / "crash" / "runs"

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(REPO), "PYPELINE_THREADS": "4"}

    def pype(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([PYPE, *args], cwd=self.root, env=self.env(), capture_output=True, text=True, timeout=120)

    def start(self) -> subprocess.Popen[str]:
        with open(self.root / "killed.out", "w") as out:
            return subprocess.Popen(
                [PYPE, "run", "jobs/crash", "--quiet", "--progress", "none"],
                cwd=self.root, env=self.env(), stdout=out, stderr=subprocess.STDOUT, text=True,
            )

    def only_run(self) -> Path | None:
        runs = list(self.runs.iterdir()) if self.runs.is_dir() else []
        return runs[0] if len(runs) == 1 else None

    def done(self, run_dir: Path) -> int:
        """Finished instances in the checkpoint's journal as a resume would read it (valid records only)."""
        checkpoint = read_checkpoint(run_dir / "checkpoint")
        return len(checkpoint.instances) if checkpoint is not None else 0

    def temp_files(self) -> list[Path]:
        return [p for p in self.root.rglob("*") if p.name.endswith((".pype-tmp", ".pype-old"))]

    def outputs(self) -> dict[str, bytes]:
        return {str(p.relative_to(self.root)): p.read_bytes() for p in sorted((self.root / "out").rglob("*.csv"))}


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen[str], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended (exit {proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, bytes]]:
    """The outputs of uninterrupted runs, per mode."""
    result = {}
    for mode in ("pandas", "dask", "stream"):
        project = Project(tmp_path_factory.mktemp("baseline") / mode, mode)
        done = project.pype("run", "jobs/crash", "--quiet", "--progress", "none")
        assert done.returncode == 0, done.stderr
        result[mode] = project.outputs()
    assert result["pandas"] == result["dask"] == result["stream"]
    all_rows = pd.read_csv(project.root / "out" / "all.csv")
    assert len(all_rows) == 4 * 80 and all_rows["v"].is_unique
    return result


def resume_and_check(project: Project, killed: Path, expected: dict[str, bytes], done_at_kill: int) -> None:
    resumed = project.pype("run", "jobs/crash", "--resume", "--quiet", "--progress", "none")
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    manifest_path = next(
        p for p in project.runs.glob("*/manifest.json") if json.loads(p.read_text())["resumed_from"] == killed.name
    )
    manifest = json.loads(manifest_path.read_text())
    assert manifest["status"] == "success"
    restored = [s for s in manifest["subflows"] if s["status"] == "restored"]
    assert len(restored) == done_at_kill
    ran = [s for s in manifest["subflows"] if s["status"] == "success"]
    assert len(restored) + len(ran) == INSTANCES
    for node in manifest["modules"].values():
        assert (node["status"], node["attempts"]) in (("restored", 0), ("success", 1)), node
    assert project.outputs() == expected
    assert pd.read_csv(project.root / "out" / "all.csv")["v"].is_unique
    assert project.temp_files() == []
    assert not (manifest_path.parent / "checkpoint").exists() and not (killed / "checkpoint").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "after"),
    [("pandas", 1), ("pandas", 2), ("pandas", 4), ("pandas", 7), ("dask", 3), ("stream", 3), ("stream", 6)],
    ids=lambda v: str(v),
)
def test_kill_after_finished_sub_flows(
    tmp_path: Path, baseline: dict[str, dict[str, bytes]], mode: str, after: int
) -> None:
    project = Project(tmp_path / "p", mode)
    proc = project.start()
    wait_for(lambda: (run := project.only_run()) is not None and project.done(run) >= after, proc, f"{after} done")
    kill(proc)
    killed = project.only_run()
    assert killed is not None
    done_at_kill = project.done(killed)
    assert after <= done_at_kill < INSTANCES
    assert json.loads((killed / "manifest.json").read_text())["status"] == "running"
    assert_logged_up_to_the_checkpoint(killed)
    resume_and_check(project, killed, baseline[mode], done_at_kill)


def assert_logged_up_to_the_checkpoint(killed: Path) -> None:
    """The log is written in batches, but an instance's lines are on disk before its checkpoint record,
    and every line is whole (docs/observability.md, "What survives a crash")."""
    logged = [json.loads(line) for line in (killed / "log.jsonl").read_text(encoding="utf-8").splitlines()]
    finished = {line["node_id"] for line in logged if line["event"] == "module_finished"}
    checkpoint = read_checkpoint(killed / "checkpoint")
    assert checkpoint is not None
    recorded = {node_id for instance in checkpoint.instances for node_id in instance.nodes}
    assert recorded and recorded <= finished


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "target"),
    [("pandas", "out/parts/p1.csv"), ("pandas", "out/all.csv"), ("dask", "out/parts/p2.csv")],
    ids=lambda v: str(v),
)
def test_kill_in_the_middle_of_a_sink_write(
    tmp_path: Path, baseline: dict[str, dict[str, bytes]], mode: str, target: str
) -> None:
    project = Project(tmp_path / "p", mode)
    final = project.root / target
    pattern = f".{final.name}.*.pype-tmp/output"  # the sink's private temporary folder, the file in it

    def half_written() -> bool:
        return any(p.stat().st_size > 40 for p in final.parent.glob(pattern)) if final.parent.is_dir() else False

    proc = project.start()
    wait_for(half_written, proc, f"a half-written {target}")
    kill(proc)
    assert not final.exists(), "a killed run must not leave a partial file under the final name"
    assert list(final.parent.glob(pattern)), "the temporary file is left behind by the kill"
    killed = project.only_run()
    assert killed is not None
    resume_and_check(project, killed, baseline[mode], project.done(killed))


def test_the_crash_flow_builds_in_both_modes(tmp_path: Path) -> None:
    """A fast guard for the flow the slow tests use (five sub flows, eight instances)."""
    from pypeline.build.build import validate_flow

    for mode in ("pandas", "dask", "stream"):
        path = tmp_path / f"{mode}.yaml"
        path.write_text(FLOW.replace("MODE", mode))
        assert sorted(validate_flow(path).subflows) == ["files", "gather", "load", "seed", "summary"]
