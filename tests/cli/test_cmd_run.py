"""``pype run`` through the CLI: exit codes 0/1/2, --context / --set, --run-id, bad job folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import invoke
from tests.run.flowtext import flow, mod

CONTEXT = {"default": {"who": "dev", "limit": 1}, "prod": {"who": "prod", "limit": 2}}


def _build(cli: CliRunner, project: Path, text: str) -> Path:
    (project / "flow.yaml").write_text(text, encoding="utf-8")
    result = invoke(cli, "build", "flow.yaml")
    assert result.exit_code == 0, result.output
    return project / "jobs" / text.split("name: ", 1)[1].split("}", 1)[0]


@pytest.fixture
def job(cli: CliRunner, project: Path) -> Path:
    return _build(cli, project, flow("cliflow", [mod("a", note="{{context.who}}/{{context.limit}}")],
                                      context=CONTEXT))


def notes(project: Path) -> list[str]:
    return [line for line in (project / "events.log").read_text().splitlines() if line.startswith("note")]


class TestExitCodes:
    def test_success_is_0_and_prints_the_manifest_path(self, cli: CliRunner, project: Path, job: Path) -> None:
        result = invoke(cli, "run", "jobs/cliflow", "--run-id", "r1", "--quiet")
        assert result.exit_code == 0, result.output
        assert "run r1: success (1 module run, " in result.stdout
        assert "jobs/cliflow/runs/r1/manifest.json" in result.stdout
        manifest = json.loads((job / "runs" / "r1" / "manifest.json").read_text())
        assert manifest["status"] == "success" and manifest["run_id"] == "r1"

    def test_failed_run_is_1_with_the_error(self, cli: CliRunner, project: Path) -> None:
        _build(cli, project, flow("failing", [mod("boom", fail=True)]))
        result = invoke(cli, "run", "jobs/failing", "--quiet")
        assert result.exit_code == 1
        assert "error: module 'boom': RuntimeError: boom failed on purpose" in result.stderr

    def test_missing_job_folder_is_2(self, cli: CliRunner, project: Path) -> None:
        result = invoke(cli, "run", "jobs/nope")
        assert result.exit_code == 2
        assert result.stderr.strip() == "error: jobs/nope: no such job folder (build one with 'pype build <flow.yaml>')"

    def test_stale_job_folder_is_2_and_says_rebuild(self, cli: CliRunner, project: Path, job: Path) -> None:
        yaml_file = job / "cliflow.yaml"
        yaml_file.write_text(yaml_file.read_text().replace("{{context.who}}", "edited"))
        result = invoke(cli, "run", "jobs/cliflow")
        assert result.exit_code == 2
        assert "the job folder is stale" in result.stderr
        assert "rebuild it with 'pype build <flow.yaml>'" in result.stderr
        assert not (job / "runs").exists()

    @pytest.mark.parametrize(
        ("bom", "line_end"),
        [(b"", b"\r\n"), (b"\xef\xbb\xbf", b"\n"), (b"\xef\xbb\xbf", b"\r\n"), (b"", b"\r")],
        ids=["crlf", "bom", "bom-crlf", "cr"],
    )
    def test_flow_saved_with_crlf_or_bom_runs(self, cli: CliRunner, project: Path, bom: bytes,
                                              line_end: bytes) -> None:
        """The build and the run agree on the flow hash whatever the file's line ends and BOM."""
        text = flow("winflow", [mod("a", note="{{context.who}}")], context=CONTEXT)
        (project / "flow.yaml").write_bytes(bom + text.encode("utf-8").replace(b"\n", line_end))
        assert invoke(cli, "build", "flow.yaml").exit_code == 0
        result = invoke(cli, "run", "jobs/winflow", "--quiet")
        assert result.exit_code == 0, result.stderr
        assert notes(project) == ["note a dev"]
        yaml_file = project / "jobs" / "winflow" / "winflow.yaml"
        yaml_file.write_bytes(yaml_file.read_bytes().replace(b"{{context.who}}", b"edited"))
        result = invoke(cli, "run", "jobs/winflow", "--quiet")
        assert result.exit_code == 2
        assert "the job folder is stale" in result.stderr

    def test_job_flow_not_utf8_is_2(self, cli: CliRunner, project: Path, job: Path) -> None:
        (job / "cliflow.yaml").write_bytes(b"flow: {name: caf\xe9}\n")
        result = invoke(cli, "run", "jobs/cliflow")
        assert result.exit_code == 2
        assert result.stderr.startswith("error: jobs/cliflow: a file of the job folder is unreadable ")
        assert result.stderr.count("\n") == 1

    def test_existing_run_id_is_2(self, cli: CliRunner, project: Path, job: Path) -> None:
        assert invoke(cli, "run", "jobs/cliflow", "--run-id", "same", "--quiet").exit_code == 0
        result = invoke(cli, "run", "jobs/cliflow", "--run-id", "same", "--quiet")
        assert result.exit_code == 2
        assert "a run with id 'same' already exists; choose another --run-id" in result.stderr

    def test_bad_run_id_is_2(self, cli: CliRunner, project: Path, job: Path) -> None:
        result = invoke(cli, "run", "jobs/cliflow", "--run-id", "../escape")
        assert result.exit_code == 2
        assert "run id '../escape' may only hold letters, digits" in result.stderr


class TestContextAndSet:
    def test_default_context(self, cli: CliRunner, project: Path, job: Path) -> None:
        assert invoke(cli, "run", "jobs/cliflow", "--quiet").exit_code == 0
        assert notes(project) == ["note a dev/1"]

    def test_named_context(self, cli: CliRunner, project: Path, job: Path) -> None:
        assert invoke(cli, "run", "jobs/cliflow", "--context", "prod", "--quiet").exit_code == 0
        assert notes(project) == ["note a prod/2"]

    def test_set_overrides_with_typed_values(self, cli: CliRunner, project: Path, job: Path) -> None:
        result = invoke(cli, "run", "jobs/cliflow", "--context", "prod", "--set", "limit=7", "--set", "who=x y",
                        "--quiet")
        assert result.exit_code == 0, result.output
        assert notes(project) == ["note a x y/7"]

    def test_unknown_environment_is_2(self, cli: CliRunner, project: Path, job: Path) -> None:
        result = invoke(cli, "run", "jobs/cliflow", "--context", "prd")
        assert result.exit_code == 2
        assert result.stderr.strip() == (
            "error: unknown context environment 'prd'; did you mean 'prod'? (the job defines: default, prod)"
        )

    def test_unknown_variable_is_2(self, cli: CliRunner, project: Path, job: Path) -> None:
        result = invoke(cli, "run", "jobs/cliflow", "--set", "whom=1")
        assert result.exit_code == 2
        assert result.stderr.strip() == (
            "error: --set whom=...: unknown context variable 'whom'; did you mean 'who'? (defined: limit, who)"
        )

    def test_malformed_set_is_2(self, cli: CliRunner, project: Path, job: Path) -> None:
        result = invoke(cli, "run", "jobs/cliflow", "--set", "novalue")
        assert result.exit_code == 2
        assert "'novalue' is not of the form name=value" in result.stderr
