"""The project builds as a wheel that carries its schema, and works installed without the source tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]

pytestmark = pytest.mark.slow


def test_wheel_holds_the_schema_and_validates_without_the_source_tree(tmp_path: Path) -> None:
    # Build from a copy: pip builds in place, and the working tree must not collect build/ or egg-info.
    source = tmp_path / "source"
    anywhere = shutil.ignore_patterns(".git", ".venv*", "node_modules", "*.egg-info", "__pycache__", ".*_cache")

    def skip(folder: str, names: list[str]) -> set[str]:
        top = {"build", "dist", "jobs", "out"} if Path(folder) == ROOT else set()  # pypeline/build stays
        return set(anywhere(folder, names)) | (top & set(names))

    shutil.copytree(ROOT, source, ignore=skip)
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(source)],
        check=True, capture_output=True, timeout=600,
    )
    wheels = list(dist.glob("pypeline-*.whl"))
    assert len(wheels) == 1
    names = set(zipfile.ZipFile(wheels[0]).namelist())
    for needed in (
        "pypeline/schema/flow.schema.json",
        "pypeline/py.typed",
        "pypeline/build/load/yaml_source.py",
        "pypeline/build/plan/planner.py",
        "pypeline/cli/cli.py",
        "pypeline/run/guard/watchdog.py",
        "pypeline/ui/static/js/graph.js",  # pype ui's pages and the graph libraries they load
        "pypeline/ui/static/vendor/cytoscape.min.js",
        "pypeline/ui/static/vendor/dagre.min.js",
        "pypeline/ui/static/vendor/dagre.LICENSE.txt",
    ):
        assert needed in names, needed
    assert not any(n.startswith(("tests/", "benchmarks/", "examples/")) for n in names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "pype = pypeline.cli.cli:console" in zipfile.ZipFile(wheels[0]).read(entry_points).decode()

    # Install the wheel alone into a folder (its dependencies come from this venv) and run it from
    # a folder that is not the repository: nothing can come from the source tree.
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheels[0])],
        check=True, capture_output=True, timeout=300,
    )
    project = tmp_path / "project"
    shutil.copytree(ROOT / "examples" / "spec_sample", project / "examples" / "spec_sample")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(site)}
    where = subprocess.run(
        [sys.executable, "-c", "import pypeline.build.load.schema_check as s; print(s.__file__); s.flow_schema()"],
        cwd=project, env=env, capture_output=True, text=True, check=True,
    )
    assert where.stdout.strip().startswith(str(site))
    done = subprocess.run(
        [str(site / "bin" / "pype"), "validate", "examples/spec_sample/flow.yaml"],
        cwd=project, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("examples/spec_sample/flow.yaml: valid: flow 'sample_etl', 3 modules")
    printed = subprocess.run(
        [str(site / "bin" / "pype"), "validate", "examples/spec_sample/flow_as_printed.yaml"],
        cwd=project, env=env, capture_output=True, text=True, timeout=120,
    )
    assert printed.returncode == 2
    assert "are in the same sub flow" in printed.stderr
