"""Mistakes a newcomer makes, caught or explained: flow mistakes vs resume, edited flows, relative paths, '='."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import invoke, write_csv
from tests.run.flowtext import flow, mod

PEOPLE = """\
flow: {name: people}
context: {default: {n: %s}}
modules:
  - {id: read, name: csv_source, configs: {required: {file_path: data/people.csv}}}
  - {id: few, name: limit_mod, configs: {required: {n: "{{context.n}}"}}}
  - {id: write, name: csv_sink, configs: {required: {output_path: out/few.csv}}}
connections:
  data: ["read.data - few.input", "few.output - write.input"]
"""


@pytest.fixture
def people(project: Path) -> Path:
    write_csv(project / "data" / "people.csv", "name,age", ["ann,30", "bob,12"])
    return project


def manifest_of(project: Path, job: str, run_id: str) -> dict[str, object]:
    document: dict[str, object] = json.loads((project / "jobs" / job / "runs" / run_id / "manifest.json").read_text())
    return document


class TestResumeOnlyWhenItCanHelp:
    def test_a_mistake_of_the_flow_says_fix_rebuild_run_again(self, cli: CliRunner, people: Path) -> None:
        (people / "flow.yaml").write_text(PEOPLE % "ten", encoding="utf-8")
        assert invoke(cli, "build", "flow.yaml").exit_code == 0
        result = invoke(cli, "run", "jobs/people", "--run-id", "r1", "--quiet", "--progress", "none")
        assert result.exit_code == 1
        assert "resume with:" not in result.stderr
        assert result.stderr.splitlines()[-1] == (
            "the flow is wrong at 'few', so a resume would fail the same way: fix the flow (or the context values), "
            "rebuild it with 'pype build flow.yaml' and run again"
        )
        manifest = manifest_of(people, "people", "r1")
        assert manifest["resume_command"] is None and manifest["flow_mistakes"] == ["few"]

    def test_a_failure_outside_the_flow_offers_the_resume(self, cli: CliRunner, people: Path) -> None:
        (people / "flow.yaml").write_text(PEOPLE % "1", encoding="utf-8")
        assert invoke(cli, "build", "flow.yaml").exit_code == 0
        (people / "data" / "people.csv").unlink()  # a missing input: put it back and resume
        result = invoke(cli, "run", "jobs/people", "--run-id", "r1", "--quiet", "--progress", "none")
        assert result.exit_code == 1
        assert result.stderr.splitlines()[-1] == "resume with: pype run jobs/people --resume r1"
        assert manifest_of(people, "people", "r1")["flow_mistakes"] == []


class TestEditedFlows:
    def test_running_a_job_whose_flow_changed_warns(self, cli: CliRunner, people: Path) -> None:
        (people / "flow.yaml").write_text(PEOPLE % "1", encoding="utf-8")
        assert invoke(cli, "build", "flow.yaml").exit_code == 0
        (people / "flow.yaml").write_text(PEOPLE % "2", encoding="utf-8")
        result = invoke(cli, "run", "jobs/people", "--quiet", "--progress", "none")
        assert result.exit_code == 0  # the job as built still runs
        assert (
            "warning: flow.yaml changed since jobs/people was built; this runs the job as built. Rebuild it with "
            "'pype build flow.yaml', or build and run in one step with 'pype run flow.yaml'"
        ) in result.stderr
        assert (people / "out" / "few.csv").read_text().splitlines() == ["name,age", "ann,30"]  # n: 1, as built

    def test_an_unchanged_flow_gives_no_warning(self, cli: CliRunner, people: Path) -> None:
        (people / "flow.yaml").write_text(PEOPLE % "1", encoding="utf-8")
        assert invoke(cli, "build", "flow.yaml").exit_code == 0
        result = invoke(cli, "run", "jobs/people", "--quiet", "--progress", "none")
        assert result.exit_code == 0 and "warning" not in result.stderr

    def test_pype_run_flow_yaml_builds_and_runs_in_one_step(self, cli: CliRunner, people: Path) -> None:
        (people / "flow.yaml").write_text(PEOPLE % "2", encoding="utf-8")
        result = invoke(cli, "run", "flow.yaml", "--run-id", "r1", "--quiet", "--progress", "none")
        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines()[0] == "built jobs/people"
        assert "run r1: success (3 module runs" in result.stdout
        assert "manifest: jobs/people/runs/r1/manifest.json" in result.stdout
        assert (people / "jobs" / "people" / "people_dag.json").is_file()
        assert (people / "out" / "few.csv").read_text().splitlines() == ["name,age", "ann,30", "bob,12"]

    def test_pype_run_flow_yaml_that_does_not_validate_is_2(self, cli: CliRunner, people: Path) -> None:
        (people / "flow.yaml").write_text(PEOPLE.replace("limit_mod", "limit_mdo") % "1", encoding="utf-8")
        result = invoke(cli, "run", "flow.yaml")
        assert result.exit_code == 2
        assert "error: flow.yaml:5: module 'few': unknown module 'limit_mdo'; did you mean 'limit_mod'?" in (
            result.stderr)
        assert not (people / "jobs").exists()


class TestRelativePaths:
    def test_a_missing_relative_input_says_where_relative_paths_start(
        self, cli: CliRunner, people: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        (people / "flow.yaml").write_text(PEOPLE % "1", encoding="utf-8")
        assert invoke(cli, "build", "flow.yaml").exit_code == 0
        elsewhere = people / "elsewhere"
        elsewhere.mkdir()
        monkeypatch.chdir(elsewhere)  # run from another folder: data/people.csv is not there
        result = invoke(cli, "run", str(people / "jobs" / "people"), "--quiet", "--progress", "none")
        assert result.exit_code == 1
        assert (
            "error: module 'read': no file matches 'data/people.csv' (relative paths are read from the working "
            f"directory, {os.getcwd()}; docs/running.md#relative-paths)"
        ) in result.stderr


class TestExpressionMistakes:
    @pytest.mark.parametrize(("where", "text"), [
        ("filter", "country = 'FR'"), ("condition", "a__n = 0"),
    ], ids=["filter-condition", "control-condition"])
    def test_a_single_equals_suggests_double(self, cli: CliRunner, project: Path, where: str, text: str) -> None:
        if where == "filter":
            body = flow("eq", [mod("a"), '  - {"id": "f", "name": "filter_mod", "configs": {"required": '
                               f'{{"condition": "{text}"}}}}}}'])
        else:
            body = flow("eq", [mod("a", globals={"n": 0}), mod("b")], [f"a (1|{text}) b"])
        (project / "flow.yaml").write_text(body, encoding="utf-8")
        result = invoke(cli, "validate", "flow.yaml")
        assert result.exit_code == 2
        assert "'=' is not allowed: compare with '=='" in result.stderr
