"""``pype package lambda`` builds a zip whose handler imports and answers from the zip alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from pypeline.backends.packaging import remove_distribution
from tests.conftest import invoke

CALL_HANDLER = """
import sys
sys.path.insert(0, sys.argv[1])
import pypeline.backends.aws_lambda as h
print(h.__file__)
print(h.handler({"pypeline_payload_json": '{"pypeline_payload": 1}'}, None)["pypeline_result_json"])
"""


@pytest.fixture(autouse=True)
def _keep_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """``pype`` puts the current folder on sys.path; undo it so later tests do not import from here."""
    monkeypatch.setattr(sys, "path", list(sys.path))


def test_zip_holds_the_handler_and_it_runs_from_the_zip(project: Path, cli: CliRunner) -> None:
    (project / "project_mods").mkdir()
    (project / "project_mods" / "__init__.py").write_text("", encoding="utf-8")
    (project / "project_mods" / "score.py").write_text("VALUE = 7\n", encoding="utf-8")
    result = invoke(cli, "package", "lambda", "--no-deps", "-o", "dist/fn.zip", "--add", "project_mods")
    assert result.exit_code == 0, result.output
    assert "handler: pypeline.backends.aws_lambda.handler" in result.output
    with zipfile.ZipFile(project / "dist" / "fn.zip") as archive:
        names = set(archive.namelist())
        archive.extractall(project / "unzipped")
    for member in ("pypeline/backends/aws_lambda.py", "pypeline/backends/remote_far_side.py",
                   "pypeline/backends/glue_entry.py", "project_mods/score.py"):
        assert member in names, member
    assert not any("__pycache__" in name for name in names)
    # The handler imported from the unzipped tree (not from this checkout) answers a malformed
    # event with a structured error, called as Lambda calls it.
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [sys.executable, "-c", CALL_HANDLER, str(project / "unzipped")],
        capture_output=True, text=True, env=env, cwd=project, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    where, answer = done.stdout.splitlines()[:2]
    assert where == str(project / "unzipped" / "pypeline" / "backends" / "aws_lambda.py")
    result_doc = json.loads(answer)
    assert result_doc["status"] == "error"
    assert result_doc["error"]["message"] == "malformed payload: field 'run_id' is missing"


def test_zip_is_deterministic(project: Path, cli: CliRunner) -> None:
    assert invoke(cli, "package", "lambda", "--no-deps", "-o", "a.zip").exit_code == 0
    assert invoke(cli, "package", "lambda", "--no-deps", "-o", "b.zip").exit_code == 0
    assert (project / "a.zip").read_bytes() == (project / "b.zip").read_bytes()
    # two builds within one zip timestamp tick (2 s) match anyway: check that no clock or file time is stored
    with zipfile.ZipFile(project / "a.zip") as archive:
        stamps = {info.date_time for info in archive.infolist()}
    assert len(stamps) == 1 and next(iter(stamps))[:3] != time.localtime()[:3], stamps


def test_unknown_path_to_add_is_refused(project: Path, cli: CliRunner) -> None:
    result = cli.invoke(__import__("pypeline.cli.cli", fromlist=["main"]).main,
                        ["package", "lambda", "--no-deps", "--add", "nope"])
    assert result.exit_code == 2 and "Path 'nope' does not exist" in result.output


def test_an_output_under_a_file_is_one_message(project: Path, cli: CliRunner) -> None:
    (project / "dist").write_text("not a folder")
    result = cli.invoke(__import__("pypeline.cli.cli", fromlist=["main"]).main,
                        ["package", "lambda", "--no-deps", "-o", "dist/f.zip"])
    assert result.exit_code == 1
    assert result.stderr == "error: dist/f.zip: cannot write the zip: 'dist' is a file, expected a folder\n"
    assert (project / "dist").read_text() == "not a folder"


def test_remove_distribution_deletes_its_recorded_files(tmp_path: Path) -> None:
    info = tmp_path / "Some_Dist-1.2.dist-info"
    info.mkdir()
    (tmp_path / "somedist").mkdir()
    (tmp_path / "somedist" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "keep.py").write_text("", encoding="utf-8")
    (info / "RECORD").write_text("somedist/__init__.py,,\nSome_Dist-1.2.dist-info/RECORD,,\n", encoding="utf-8")
    assert remove_distribution(tmp_path, "some-dist") is True
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.py"]
    assert remove_distribution(tmp_path, "absent") is False
