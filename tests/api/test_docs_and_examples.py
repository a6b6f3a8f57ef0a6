"""docs/python-api.md shows the example files as they are, and each example runs as the doc says.

Every ```python block of the doc starts with the path of the file it shows and
holds that file whole, so what mypy checks (examples/ is in its files) and what
these tests run is what a reader copies. The examples run with ``python -m``
from a copy of the repository layout, as a user runs them from the repository
root.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).parents[2]
DOC = REPO / "docs" / "python-api.md"
EXAMPLES = REPO / "examples" / "python_api"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)


def test_every_python_block_is_an_example_file_whole() -> None:
    blocks = BLOCK.findall(DOC.read_text(encoding="utf-8"))
    shown = []
    for block in blocks:
        first, _, body = block.partition("\n")
        assert first.startswith("# examples/python_api/"), first
        path = REPO / first.removeprefix("# ")
        assert body == path.read_text(encoding="utf-8"), f"{path} differs from its block in {DOC.name}"
        shown.append(path.name)
    assert sorted(shown) == sorted(p.name for p in EXAMPLES.glob("*.py") if p.name != "__init__.py")


@pytest.fixture
def checkout(project: Path) -> Path:
    """The project folder with the repository's examples/ copied in (the examples' paths are relative to it)."""
    shutil.copytree(REPO / "examples", project / "examples", ignore=shutil.ignore_patterns("__pycache__"))
    return project


def example(name: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(Path(sys.executable).parent)}
    return subprocess.run([sys.executable, "-m", f"examples.python_api.{name}", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=180)


def test_spec_sample(checkout: Path) -> None:
    done = example("spec_sample", checkout)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("flow:\n  name: sample_etl\n")
    assert "success: 34 adults, manifest " in done.stdout
    assert len(pd.read_parquet(checkout / "out" / "sample_etl" / "output.parquet")) == 34


def test_functions_flow_fails_then_resumes(checkout: Path) -> None:
    failed = example("functions_flow", checkout)
    assert failed.returncode == 1, failed.stderr
    assert failed.stdout.startswith("failed: ") and "  approved: failed" in failed.stdout
    (checkout / "out" / "python_api" / "ready").touch()
    resumed = example("functions_flow", checkout, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "  read: restored" in resumed.stdout and "  approved: success" in resumed.stdout
    summary = pd.read_csv(checkout / "out" / "python_api" / "summary.csv")
    assert summary.to_dict("records") == [{"gross": 550.0, "orders": 3}]
    assert pd.read_csv(checkout / "out" / "python_api" / "big.csv")["order_id"].tolist() == [1, 3, 5]


def test_trakt_style(checkout: Path) -> None:
    done = example("trakt_style", checkout)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "success"
    assert pd.read_csv(checkout / "out" / "python_api" / "final.csv")["amount"].tolist() == [3.0, 4.0, 20.0]
    dag = (checkout / "jobs" / "python_workflow" / "python_workflow_dag.json").read_text()
    assert '"module_path": "examples.python_api.trakt_style.double_amount"' in dag
    pype = Path(sys.executable).parent / "pype"
    again = subprocess.run([str(pype), "run", "jobs/python_workflow", "--quiet", "--progress", "none"], cwd=checkout,
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr


def test_from_table(checkout: Path) -> None:
    done = example("from_table", checkout)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["orders_north: success, 2 orders kept", "orders_south: success, 1 orders kept",
                                        "orders_west: success, 3 orders kept"]
    kept = {region: pd.read_csv(checkout / "out" / "python_api" / f"{region}_big.csv")["amount"].tolist()
            for region in ("north", "south", "west")}
    assert kept == {"north": [60, 150], "south": [150], "west": [60, 150, 25]}
