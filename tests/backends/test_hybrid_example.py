"""examples/hybrid_dask writes the same rows as its all-local twin (the same flow without dask blocks)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import invoke

REPO = Path(__file__).parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _keep_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """``pype`` puts the current folder on sys.path; undo it so later tests do not import from here."""
    monkeypatch.setattr(sys, "path", list(sys.path))


def test_hybrid_example_equals_all_local(project: Path, cli: CliRunner) -> None:
    shutil.copytree(REPO / "examples" / "hybrid_dask", project / "examples" / "hybrid_dask")
    flow = project / "examples" / "hybrid_dask" / "flow.yaml"
    text = flow.read_text(encoding="utf-8")
    assert text.count("    execution: {backend: dask}\n") == 2
    local = text.replace("    execution: {backend: dask}\n", "").replace("name: hybrid_dask", "name: hybrid_local")
    local = local.replace("out/hybrid_dask/", "out/hybrid_local/")
    (project / "local.yaml").write_text(local, encoding="utf-8")
    for flow_file, job in (("examples/hybrid_dask/flow.yaml", "hybrid_dask"), ("local.yaml", "hybrid_local")):
        assert invoke(cli, "build", flow_file).exit_code == 0
        ran = invoke(cli, "run", f"jobs/{job}", "--quiet", "--progress", "none")
        assert ran.exit_code == 0, ran.output
    hybrid = (project / "out" / "hybrid_dask" / "big_orders.csv").read_bytes()
    assert hybrid == (project / "out" / "hybrid_local" / "big_orders.csv").read_bytes()
    assert hybrid.count(b"\n") == 7
