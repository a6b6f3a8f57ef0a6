"""What a newcomer meets around every command: help, --debug, pipes, file permissions."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from pypeline.core.jsonio import atomic_write_json
from tests.conftest import invoke
from tests.run.flowtext import flow, mod

PYPE = str(Path(sys.executable).with_name("pype"))
EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class TestHelp:
    def test_top_level_help_never_cuts_a_description(self, cli: CliRunner) -> None:
        result = invoke(cli, "--help")
        assert result.exit_code == 0
        commands = result.output.split("Commands:", 1)[1]
        assert "..." not in commands
        # the four that were cut: their first sentence is there whole (wrapped, so compare words)
        words = " ".join(result.output.split())
        assert "Print TARGET (a flow YAML or a job folder) as an ASCII DAG; write Mermaid / DOT on request." in words
        assert "Register built-ins, the project's modules/ folder and installed plugins." in words


class TestDebugAfterTheCommand:
    def test_run_job_debug_is_accepted_and_shows_the_traceback(self, cli: CliRunner, project: Path) -> None:
        result = invoke(cli, "run", "jobs/nope", "--debug")
        assert result.exit_code == 2
        assert "Traceback (most recent call last)" in result.stderr
        assert "error: jobs/nope: no such job folder" in result.stderr

    def test_debug_before_the_command_still_works(self, cli: CliRunner, project: Path) -> None:
        result = invoke(cli, "--debug", "validate", "missing.yaml")
        assert result.exit_code == 2
        assert "Traceback (most recent call last)" in result.stderr

    def test_without_debug_no_traceback(self, cli: CliRunner, project: Path) -> None:
        result = invoke(cli, "run", "jobs/nope")
        assert result.exit_code == 2
        assert "Traceback" not in result.stderr


class TestClosedPipe:
    @pytest.mark.parametrize("args", [["graph", str(EXAMPLES / "file_iterate" / "flow.yaml")], ["--help"]],
                             ids=["graph", "help"])
    def test_a_reader_that_goes_away_ends_the_command_quietly(self, args: list[str]) -> None:
        process = subprocess.Popen([PYPE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # like `| head -0`: gone before pype writes a line
        with process.stderr:
            error = process.stderr.read().decode()
        code = process.wait(timeout=60)
        assert "BrokenPipe" not in error and "Traceback" not in error, error
        assert error == ""
        assert code == 1  # click's own way for a closed pipe, quiet


@pytest.mark.usefixtures("umask_022")
class TestFilesFollowTheUmask:
    def test_atomic_json_writes_follow_the_umask(self, tmp_path: Path) -> None:
        atomic_write_json(tmp_path / "a.json", {"a": 1})
        assert mode_of(tmp_path / "a.json") == 0o644
        os.umask(0o077)
        atomic_write_json(tmp_path / "b.json", {"b": 1})
        assert mode_of(tmp_path / "b.json") == 0o600

    def test_job_folder_manifest_and_graph_files_are_0644(self, cli: CliRunner, project: Path) -> None:
        (project / "flow.yaml").write_text(flow("modes", [mod("a")]), encoding="utf-8")
        assert invoke(cli, "build", "flow.yaml").exit_code == 0
        assert invoke(cli, "run", "jobs/modes", "--run-id", "r1", "--quiet").exit_code == 0
        assert invoke(cli, "graph", "flow.yaml", "--mermaid", "g.mmd", "--dot", "g.dot").exit_code == 0
        job = project / "jobs" / "modes"
        written = [
            job / "modes.yaml", job / "modes_dag.json", job / "modes_execution_metadata.json",
            job / "context" / "modes_default.json", job / "runs" / "r1" / "manifest.json",
            project / "g.mmd", project / "g.dot",
        ]
        assert {str(p.relative_to(project)): oct(mode_of(p)) for p in written} == {
            str(p.relative_to(project)): "0o644" for p in written
        }
        assert json.loads((job / "runs" / "r1" / "manifest.json").read_text())["status"] == "success"
