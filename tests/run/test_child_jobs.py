"""``run_job``: child jobs run as real ``pype run`` processes, linked to their parent both ways.

The parent runs through ``pype build`` / ``pype run`` (in process, or as a
real process where it must be killed); every child is a real child process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pypeline.job.runs import run_status
from pypeline.modules.sdk import GlobalStore, RunContext, ThreadRunner
from pypeline.modules.solo.child_runs import ChildJobError
from pypeline.modules.solo.run_job import RunJob
from tests.conftest import FlowHarness, invoke, write_csv

CHILD = """\
flow: {name: child}
context: {default: {region: none, limit: 1, flag: never}}
modules:
  - {id: load, name: csv_source, configs: {required: {file_path: "data/{{context.region}}.csv"}}}
  - {id: first, name: csv_sink, configs: {required: {output_path: "out/{{context.region}}_first.csv"}}}
  - {id: wait, name: wait_for_file, configs: {required: {file_path: "{{context.flag}}"},
                                               optional: {timeout: 60, poll_interval: 0.05}}}
  - {id: again, name: csv_source, configs: {required: {file_path: "data/{{context.region}}.csv"}}}
  - {id: second, name: csv_sink, configs: {required: {output_path: "out/{{context.region}}_second.csv"}}}
  - {id: say, name: set_globals, configs: {required: {values: {limit: "{{context.limit}}"}}}}
connections:
  data: ["load.data - first.input", "again.data - second.input"]
  control: ["first (1|) wait", "wait (1|) again", "second (1|) say"]
"""

PARENT = """\
flow: {name: parent}
context: {default: {region: east, flag: ready}}
modules:
  - id: call
    name: run_job
    configs:
      required: {job: child.yaml}
      optional:
        context: {region: "{{context.region}}", limit: 7, flag: "{{context.flag}}"}
        globals: {rows: load__row_count, limit: say__limit}
  - {id: report, name: set_globals, configs: {required: {values: {got: "{{call__rows}} {{call__limit}}"}}}}
  - id: alert
    name: text_source
    configs: {required: {file_path: "data/alert.txt"}}
  - id: alert_out
    name: text_sink
    configs: {required: {output_path: "out/ALERT_{{call__error_type}}.txt"}}
connections:
  data: ["alert.data - alert_out.input"]
  control:
    - "call (1|) report"
    - "call (1|) alert [on_error]"
"""


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def manifests(root: Path, job: str) -> list[dict[str, Any]]:
    found = [json.loads(p.read_text()) for p in (root / "jobs" / job / "runs").glob("*/manifest.json")]
    return sorted(found, key=lambda m: (m["started"], m["run_id"]))


@pytest.fixture
def family(project: Path) -> Path:
    write(project, "child.yaml", CHILD)
    write(project, "parent.yaml", PARENT)
    write_csv(project / "data" / "east.csv", "id,amount", ["1,5", "2,50", "3,20"])
    (project / "data" / "alert.txt").write_text("the child job failed\n", encoding="utf-8")
    return project


def run_parent(cli: CliRunner, *extra: str) -> Any:
    return invoke(cli, "run", "jobs/parent", "--quiet", "--progress", "none", *extra)


class TestChildJob:
    def test_child_gets_the_parent_context_and_returns_its_globals(self, family: Path, cli: CliRunner) -> None:
        (family / "ready").touch()
        assert invoke(cli, "build", "parent.yaml").exit_code == 0
        ran = run_parent(cli)
        assert ran.exit_code == 0, ran.output
        [parent] = manifests(family, "parent")
        [child] = manifests(family, "child")
        assert parent["modules"]["report"]["globals"] == {"got": "3 7"}
        call = parent["modules"]["call"]
        assert call["globals"]["status"] == "success" and call["globals"]["run_id"] == child["run_id"]
        assert child["run_id"] == f"{parent['run_id']}.call"
        assert (family / "out/east_first.csv").read_text() == (family / "data/east.csv").read_text()
        # linked both ways
        assert child["parent_run"] == {"job": "parent", "run_id": parent["run_id"], "node_id": "call",
                                       "output_key": f"parent/{parent['run_id']}/call", "depth": 1}
        [link] = parent["child_runs"]
        assert link["run_id"] == child["run_id"] and link["status"] == "success" and link["node_id"] == "call"
        assert Path(link["job_dir"]).name == "child" and link["reused"] is False
        assert not (family / "out/ALERT_ChildJobError.txt").exists()

    def test_a_failed_child_fails_the_module_and_fires_on_error(self, family: Path, cli: CliRunner) -> None:
        write(family, "child.yaml", CHILD.replace("data/{{context.region}}.csv\"}}}\n  - {id: first",
                                                  "data/missing.csv\"}}}\n  - {id: first"))
        assert invoke(cli, "build", "parent.yaml").exit_code == 0
        ran = run_parent(cli)
        assert ran.exit_code == 1
        [parent] = manifests(family, "parent")
        [child] = manifests(family, "child")
        assert child["status"] == "failed"
        assert (family / "out/ALERT_ChildJobError.txt").read_text() == "the child job failed\n"
        error = parent["modules"]["call"]["error"]
        assert f"child job 'child' run {child['run_id']} failed:" in error and "missing.csv" in error
        assert parent["modules"]["call"]["globals"]["status"] == "failed"
        assert parent["child_runs"][0]["status"] == "failed"

    def test_an_unknown_child_context_variable_is_one_clear_error(self, family: Path, cli: CliRunner) -> None:
        write(family, "parent.yaml", PARENT.replace("limit: 7,", "limt: 7,"))
        assert invoke(cli, "build", "parent.yaml").exit_code == 0
        assert run_parent(cli).exit_code == 1
        [parent] = manifests(family, "parent")
        assert "did not start (exit 2): --set limt=...: unknown context variable 'limt'; did you mean 'limit'?" in (
            parent["modules"]["call"]["error"])

    def test_parent_resume_does_not_run_a_finished_child_again(self, family: Path, cli: CliRunner) -> None:
        (family / "ready").touch()
        write(family, "parent.yaml", PARENT + '    - "report (1|) boom"\n'
              + "  # boom fails until out/fixed exists\n")
        text = (family / "parent.yaml").read_text().replace(
            "  - id: alert\n",
            '  - {id: boom, name: fail_mod, configs: {optional: {unless_file_exists: out/fixed}}}\n  - id: alert\n')
        write(family, "parent.yaml", text)
        assert invoke(cli, "build", "parent.yaml").exit_code == 0
        assert run_parent(cli).exit_code == 1
        (family / "out/fixed").touch()
        resumed = run_parent(cli, "--resume")
        assert resumed.exit_code == 0, resumed.output
        assert len(manifests(family, "child")) == 1  # the child ran once
        last = manifests(family, "parent")[-1]
        assert last["modules"]["call"]["status"] == "restored"  # its instance finished in the first run


@pytest.mark.slow
class TestKilledParent:
    """kill -9 of the parent while its child runs, then the parent's --resume: the outputs of a run never killed."""

    def _pype(self, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(Path(sys.executable).with_name("pype")), *args], cwd=root,
                              capture_output=True, text=True, timeout=240)

    def _outputs(self, root: Path) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted((root / "out").iterdir())}

    def test_kill_9_during_a_child_then_resume_gives_the_uninterrupted_outputs(
        self, family: Path, tmp_path_factory: pytest.TempPathFactory
    ) -> None:
        pype = str(Path(sys.executable).with_name("pype"))
        assert self._pype(family, "build", "parent.yaml").returncode == 0
        parent = subprocess.Popen([pype, "run", "jobs/parent", "--quiet", "--progress", "none"], cwd=family,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            deadline = time.monotonic() + 120
            while not (family / "out/east_first.csv").exists():  # the child's first sub flow is done;
                assert time.monotonic() < deadline and parent.poll() is None  # it now waits for 'ready'
                time.sleep(0.05)
            os.kill(parent.pid, signal.SIGKILL)
            parent.wait(timeout=30)
        finally:
            if parent.poll() is None:
                parent.kill()
        [child_dir] = (family / "jobs/child/runs").iterdir()
        deadline = time.monotonic() + 60
        while run_status(child_dir) == "running":  # the lifeline ends the orphan child within seconds
            assert time.monotonic() < deadline, "the child kept running after its parent was killed"
            time.sleep(0.1)
        child = json.loads((child_dir / "manifest.json").read_text())
        assert child["status"] == "failed"
        assert "interrupted" in " ".join(child["errors"])
        assert not (family / "out/east_second.csv").exists()

        (family / "ready").touch()
        resumed = self._pype(family, "run", "jobs/parent", "--resume", "--quiet", "--progress", "none")
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        last_child = manifests(family, "child")[-1]
        assert last_child["status"] == "success" and last_child["resumed_from"] == child_dir.name
        assert last_child["modules"]["first"]["status"] == "restored"  # not written twice
        assert manifests(family, "parent")[-1]["modules"]["report"]["globals"] == {"got": "3 7"}

        clean = tmp_path_factory.mktemp("uninterrupted")
        for name in ("child.yaml", "parent.yaml", "data/east.csv", "data/alert.txt"):
            write(clean, name, (family / name).read_text())
        (clean / "ready").touch()
        assert self._pype(clean, "build", "parent.yaml").returncode == 0
        assert self._pype(clean, "run", "jobs/parent", "--quiet", "--progress", "none").returncode == 0
        assert self._outputs(family) == self._outputs(clean)
        assert sorted(self._outputs(family)) == ["east_first.csv", "east_second.csv"]


@pytest.mark.slow
def test_a_job_calling_itself_through_a_template_stops_at_the_depth_limit(project: Path, cli: CliRunner) -> None:
    write(project, "loop.yaml", """\
        flow: {name: loop}
        context: {default: {me: loop.yaml}}
        modules:
          - {id: again, name: run_job, configs: {required: {job: "{{context.me}}"}, optional: {max_depth: 2}}}
        """)
    assert invoke(cli, "build", "loop.yaml").exit_code == 0
    ran = invoke(cli, "run", "jobs/loop", "--quiet", "--progress", "none")
    assert ran.exit_code == 1
    runs = manifests(project, "loop")
    assert len(runs) == 3 and [m["status"] for m in runs] == ["failed"] * 3
    assert [(m["parent_run"] or {}).get("depth") for m in runs] == [None, 1, 2]
    assert "child jobs nest 2 deep, max_depth is 2 (does a job call itself?)" in runs[-1]["modules"]["again"]["error"]


class TestRecursionAtBuild:
    def test_a_child_calling_its_parent_is_refused(self, project: Path, cli: CliRunner) -> None:
        write(project, "a.yaml", "flow: {name: a}\nmodules:\n"
              "  - {id: call_b, name: run_job, configs: {required: {job: b.yaml}}}\n")
        write(project, "b.yaml", "flow: {name: b}\nmodules:\n"
              "  - {id: call_a, name: run_job, configs: {required: {job: jobs/a}}}\n")
        write(project, "jobs/a/a_execution_metadata.json", json.dumps({"flow_path": str(project / "a.yaml")}))
        result = invoke(cli, "validate", "a.yaml")
        assert result.exit_code == 2
        assert result.stderr == (
            "error: a.yaml:3: module 'call_b': the child job 'b.yaml' calls back into a job on its own chain "
            "(a.yaml -> b.yaml -> a.yaml); it would start itself again and again (expected child jobs that do "
            "not call their callers)\n"
        )

    def test_a_job_calling_itself_is_refused(self, project: Path, cli: CliRunner) -> None:
        write(project, "a.yaml", "flow: {name: a}\nmodules:\n"
              "  - {id: me, name: run_job, configs: {required: {job: a.yaml}}}\n")
        result = invoke(cli, "validate", "a.yaml")
        assert result.exit_code == 2 and "(a.yaml -> a.yaml)" in result.stderr


class TestSameNodeAgain:
    """What a parent's resumed run does when its run_job node runs again: the module run twice with the
    same ``output_key`` (as the node of a parent run and of the run that resumes it have)."""

    async def _call(self, configs: dict[str, Any], run_id: str) -> RunContext:
        from tests.modules.harness import RecordingLogger, check

        ctx = RunContext(run_id=run_id, module_id="call", node_id="call", globals_store=GlobalStore(),
                         executor=ThreadRunner(None), logger=RecordingLogger(), job_name="parent",
                         output_key="parent/parent-1/call")  # the key stays that of the first run
        await RunJob(check("run_job", configs)).run({}, ctx)
        return ctx

    async def test_a_failed_child_is_resumed_and_a_finished_one_reused(self, project: Path) -> None:
        write(project, "steps.yaml", """\
            flow: {name: steps}
            modules:
              - {id: one, name: set_globals, configs: {required: {values: {n: 1}}}}
              - {id: gate, name: fail_mod, configs: {optional: {unless_file_exists: fixed}}}
              - {id: two, name: set_globals, configs: {required: {values: {n: 2}}}}
            connections:
              control: ["one (1|) gate", "gate (1|) two"]
            """)
        configs = {"job": "steps.yaml", "globals": {"last": "two__n"}}
        with pytest.raises(ChildJobError, match=r"child job 'steps' run parent-1\.call failed"):
            await self._call(configs, "parent-1")
        (project / "fixed").touch()
        resumed = await self._call(configs, "parent-2")
        assert resumed.globals_set["last"] == 2 and resumed.globals_set["status"] == "success"
        link = resumed.stats.extra["child_run"]
        assert link["resumed_from"] == "parent-1.call" and link["reused"] is False
        again = await self._call(configs, "parent-3")
        assert again.stats.extra["child_run"]["reused"] is True and again.globals_set["run_id"] == "parent-2.call"
        assert sorted(p.name for p in (project / "jobs/steps/runs").iterdir()) == ["parent-1.call", "parent-2.call"]
        second = json.loads((project / "jobs/steps/runs/parent-2.call/manifest.json").read_text())
        assert second["modules"]["one"]["status"] == "restored"


async def test_a_retried_attempt_resumes_the_child_of_the_attempt_before(flows: FlowHarness) -> None:
    """retries: the second attempt of the run_job node resumes the child run the first attempt left."""
    root: Path = flows.root
    write(root, "flaky.yaml", """\
        flow: {name: flaky}
        modules:
          - {id: one, name: set_globals, configs: {required: {values: {n: 1}}}}
          - {id: gate, name: fail_mod, configs: {optional: {fail_attempts: 1, counter_file: out/count.txt}}}
        connections:
          control: ["one (1|) gate"]
        """)
    result = await flows.run("""\
        flow: {name: retrying}
        settings: {retry_delay: 0}
        modules:
          - {id: call, name: run_job, retries: 1, configs: {required: {job: flaky.yaml}}}
        """)
    assert result.status == "success", result.manifest["errors"]
    runs = sorted(p.name for p in (root / "jobs/flaky/runs").iterdir())
    assert runs == [f"{result.run_id}.call", f"{result.run_id}.call-2"]
    second = json.loads((root / "jobs/flaky/runs" / runs[1] / "manifest.json").read_text())
    assert second["resumed_from"] == runs[0] and second["modules"]["one"]["status"] == "restored"
    assert result.manifest["modules"]["call"]["attempts"] == 2
