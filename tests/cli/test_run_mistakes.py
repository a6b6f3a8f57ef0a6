"""Mistakes a user makes at run time, through the real ``pype`` CLI: one message, the right exit code.

The build already refuses bad flows (tests/build/bad_flow_cases.py); these are
the mistakes only a run meets: an output path that is someone else's folder,
a module file deleted after the build, a context value of the wrong type.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from click.testing import CliRunner

from tests.conftest import invoke, write_csv

PYPE = str(Path(sys.executable).with_name("pype"))


def build(cli: CliRunner, project: Path, text: str) -> None:
    (project / "flow.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    result = invoke(cli, "build", "flow.yaml")
    assert result.exit_code == 0, result.output


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_an_output_path_that_is_a_folder_of_other_files_fails_and_keeps_the_folder(
    cli: CliRunner, project: Path
) -> None:
    write_csv(project / "data" / "in.csv", "id,age", ["1,20"])
    build(cli, project, """
        flow: {name: into_data}
        modules:
          - {id: read, name: csv_source, configs: {required: {file_path: data/in.csv}}}
          - {id: write, name: csv_sink, configs: {required: {output_path: data}}}
        connections:
          data: ["read.data - write.input"]
    """)
    result = invoke(cli, "run", "jobs/into_data", "--quiet")
    assert result.exit_code == 1
    assert error_lines(result.stderr) == [
        "error: module 'write': output path 'data' is an existing folder that holds other files ('data/in.csv'); "
        "expected a new path, a file, an empty folder or an earlier output of this job (with its _PYPELINE "
        "marker, docs/security.md#sinks-and-your-files): remove the folder or choose another output_path"
    ]
    assert (project / "data" / "in.csv").read_text() == "id,age\n1,20\n"
    assert "Traceback" not in result.stderr


def test_a_context_value_of_the_wrong_type_names_the_module_once(cli: CliRunner, project: Path) -> None:
    write_csv(project / "in.csv", "id", ["1", "2"])
    build(cli, project, """
        flow: {name: typed}
        context: {default: {n: 1}}
        modules:
          - {id: read, name: csv_source, configs: {required: {file_path: in.csv}}}
          - {id: first, name: limit_mod, configs: {required: {n: "{{context.n}}"}}}
          - {id: write, name: csv_sink, configs: {required: {output_path: out/first.csv}}}
        connections:
          data: ["read.data - first.input", "first.output - write.input"]
    """)
    result = invoke(cli, "run", "jobs/typed", "--quiet", "--set", "n=two")
    assert result.exit_code == 1
    assert error_lines(result.stderr) == [
        "error: module 'first' failed (attempt 1, backend local): after templates were resolved: config 'n' has "
        "the wrong type: got str 'two' (expected type int: Number of rows to keep)"
    ]
    assert not (project / "out").exists()


def test_a_module_file_deleted_after_the_build_stops_the_run_before_it_starts(
    cli: CliRunner, project: Path
) -> None:
    # the run is a separate process: this one has the module imported since the build
    (project / "my_mods").mkdir()
    (project / "my_mods" / "__init__.py").write_text("")
    (project / "my_mods" / "passthrough.py").write_text(textwrap.dedent("""
        from pypeline.modules.sdk import BaseModule

        class Passthrough(BaseModule):
            TYPE = "mod"
            INPUT_PORTS = ["input"]
            OUTPUT_PORTS = ["output"]

            async def run(self, inputs, ctx):
                return {"output": inputs["input"]}
    """))
    write_csv(project / "in.csv", "id", ["1"])
    build(cli, project, """
        flow: {name: custom}
        modules:
          - {id: read, name: csv_source, configs: {required: {file_path: in.csv}}}
          - {id: pass, name: my_mods.passthrough.Passthrough}
          - {id: write, name: csv_sink, configs: {required: {output_path: out/x.csv}}}
        connections:
          data: ["read.data - pass.input", "pass.output - write.input"]
    """)
    (project / "my_mods" / "passthrough.py").unlink()
    env = {**os.environ, "PYTHONPATH": str(project)}
    done = subprocess.run([PYPE, "run", "jobs/custom", "--quiet"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        "error: jobs/custom: module 'pass' uses my_mods.passthrough.Passthrough, which cannot be loaded: no Python "
        "module named 'my_mods.passthrough' (restore the module file, or fix the flow and rebuild it with "
        "'pype build <flow.yaml>')"
    )
    assert not (project / "jobs" / "custom" / "runs").exists() and not (project / "out").exists()


def test_a_hand_edited_job_folder_is_exit_2_not_an_internal_error(cli: CliRunner, project: Path) -> None:
    write_csv(project / "in.csv", "id", ["1"])
    build(cli, project, """
        flow: {name: edited}
        modules:
          - {id: read, name: csv_source, configs: {required: {file_path: in.csv}}}
          - {id: write, name: csv_sink, configs: {required: {output_path: out/x.csv}}}
        connections:
          data: ["read.data - write.input"]
    """)
    job = project / "jobs" / "edited"
    (job / "runs").write_text("a file where the runs folder goes")
    result = invoke(cli, "run", "jobs/edited", "--run-id", "r1", "--quiet")
    assert result.exit_code == 2
    assert result.stderr == "error: jobs/edited/runs/r1: cannot create the run folder: Not a directory\n"
    (job / "runs").unlink()
    context = job / "context" / "edited_default.json"
    context.write_text("[1]")
    result = invoke(cli, "run", "jobs/edited", "--quiet")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {context.relative_to(project)}: expected a JSON object of context variables, got list; "
        "rebuild it with 'pype build <flow.yaml>'\n"
    )
    assert not (project / "out").exists()


def test_a_module_tripping_on_a_users_path_gets_a_file_message_without_traceback(
    cli: CliRunner, project: Path
) -> None:
    (project / "a_folder").mkdir()
    build(cli, project, """
        flow: {name: opener}
        settings: {retries: 0}
        modules:
          - {id: open, name: tests.resources.modules.classes.OpenPath, configs: {required: {path: a_folder}}}
    """)
    result = invoke(cli, "run", "jobs/opener", "--run-id", "r1", "--quiet")
    assert result.exit_code == 1
    assert error_lines(result.stderr) == ["error: module 'open': cannot access 'a_folder': Is a directory"]
    log = (project / "jobs" / "opener" / "runs" / "r1" / "log.jsonl").read_text()
    assert "cannot access 'a_folder': Is a directory" in log and "Traceback" not in log
