"""Every flow mistake the build can see (docs/flow-format.md): one message, exit code 2, no traceback.

Each case is a small flow (a good flow with one mistake in it), validated
through the CLI (``pype validate``). The whole message is asserted: the
file and line, the module id or connection, what went wrong and, where we
know it, what was expected.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.build.bad_flow_cases import CASES, CONTROL, ETL, Case
from tests.conftest import invoke


def test_at_least_forty_distinct_cases() -> None:
    assert len({c.id for c in CASES}) == len(CASES) >= 40
    assert len({c.text for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_flow_gives_one_message_and_exit_2(case: Case, project: Path, cli: CliRunner) -> None:
    (project / "flow.yaml").write_text(case.text, encoding="utf-8")
    result = invoke(cli, "validate", "flow.yaml")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr == "error: " + case.message.format(f="flow.yaml") + "\n"
    assert not (project / "jobs").exists()


@pytest.mark.parametrize("case_id", ["yaml-tab", "control-inside-one-subflow", "module-unknown"])
def test_build_refuses_the_same_way_and_writes_nothing(case_id: str, project: Path, cli: CliRunner) -> None:
    case = next(c for c in CASES if c.id == case_id)
    (project / "flow.yaml").write_text(case.text, encoding="utf-8")
    result = invoke(cli, "build", "flow.yaml")
    assert result.exit_code == 2
    assert result.stderr == "error: " + case.message.format(f="flow.yaml") + "\n"
    assert not (project / "jobs").exists()


class TestThroughARealProcess:
    """The installed ``pype`` script: exit code 2, one line on stderr, no traceback."""

    @pytest.mark.parametrize("case_id", ["schema-unknown-key", "data-cycle", "condition-import"])
    def test_pype_subprocess(self, case_id: str, tmp_path: Path) -> None:
        case = next(c for c in CASES if c.id == case_id)
        (tmp_path / "flow.yaml").write_text(case.text, encoding="utf-8")
        pype = Path(sys.executable).with_name("pype")
        done = subprocess.run(
            [str(pype), "validate", "flow.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 2
        assert done.stdout == ""
        assert done.stderr == "error: " + case.message.format(f="flow.yaml") + "\n"
        assert "Traceback" not in done.stderr

    def test_debug_shows_the_traceback(self, tmp_path: Path) -> None:
        (tmp_path / "flow.yaml").write_text(textwrap.dedent(CASES[0].text), encoding="utf-8")
        pype = Path(sys.executable).with_name("pype")
        done = subprocess.run(
            [str(pype), "--debug", "validate", "flow.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 2
        assert "Traceback" in done.stderr
        assert done.stderr.rstrip().endswith("error: " + CASES[0].message.format(f="flow.yaml"))


def test_valid_bases_validate(project: Path, cli: CliRunner) -> None:
    """The two flows the cases mutate are valid themselves (so each case has exactly one mistake)."""
    for text in (ETL, CONTROL):
        (project / "flow.yaml").write_text(text, encoding="utf-8")
        result = invoke(cli, "validate", "flow.yaml")
        assert result.exit_code == 0, result.stderr
