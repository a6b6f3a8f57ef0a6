"""The job folder is the contract: a flow written in Python and its YAML twin build the same folder.

The job folder records its flow's YAML text (``<name>.yaml``, the flow hash,
the YAML line of each module in ``dag.json``), so a Python flow's folder is
byte for byte the folder ``pype build`` writes for the YAML ``to_yaml()``
gives (but for ``flow_path``, which names the file each came from). Against the
spec sample written by hand (comments, quotes) the plan is the same: same
modules, configs, connections, sub flows, waves and order.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest
import yaml

import pypeline
from examples.python_api import from_table, functions_flow, spec_sample, trakt_style
from pypeline.build.build import build_flow

REPO = Path(__file__).parents[2]
SPEC_YAML = REPO / "examples" / "spec_sample" / "flow.yaml"
PYPE = str(Path(sys.executable).parent / "pype")
METADATA = "_execution_metadata.json"


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def pype(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(Path(sys.executable).parent), "PYTHONPATH": str(REPO)}
    return subprocess.run([PYPE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def without(document: Any, keys: set[str]) -> Any:
    """``document`` without the given keys, at any depth."""
    if isinstance(document, dict):
        return {k: without(v, keys) for k, v in document.items() if k not in keys}
    if isinstance(document, list):
        return [without(v, keys) for v in document]
    return document


FLOWS: dict[str, tuple[ModuleType, Callable[[], pypeline.Flow]]] = {
    "spec_sample": (spec_sample, spec_sample.make_flow),
    "functions": (functions_flow, functions_flow.make_flow),
    "trakt_style": (trakt_style, trakt_style.make_flow),
    "from_table": (from_table, lambda: from_table.make_flow("north", "50", "EUR")),
}


class TestYamlTwin:
    @pytest.mark.parametrize(("source", "make"), FLOWS.values(), ids=FLOWS.keys())
    def test_pype_build_of_to_yaml_writes_the_same_folder(
        self, project: Path, source: ModuleType, make: Callable[[], pypeline.Flow]
    ) -> None:
        flow = make()
        ours = flow.build(project / "python")
        twin = project / "twin.yaml"
        twin.write_text(flow.to_yaml(), encoding="utf-8")
        built = pype("build", str(twin), "--out", str(project / "yaml"), cwd=project)
        assert built.returncode == 0, built.stderr
        theirs = project / "yaml" / flow.name
        ours_files, their_files = files_of(ours), files_of(theirs)
        assert sorted(ours_files) == sorted(their_files)
        metadata = f"{flow.name}{METADATA}"
        for name in ours_files:
            if name != metadata:
                assert ours_files[name] == their_files[name], name
        ours_path = json.loads(ours_files[metadata])["flow_path"]
        their_path = json.loads(their_files[metadata])["flow_path"]
        assert ours_path == str(Path(str(source.__file__)).resolve())  # the file of the Flow(...) call
        assert their_path == str(twin.resolve())
        assert ours_files[metadata].replace(ours_path.encode(), b"P") == their_files[metadata].replace(
            their_path.encode(), b"P")

    def test_the_build_is_deterministic(self, project: Path) -> None:
        first = files_of(functions_flow.make_flow().build(project / "a"))
        assert first == files_of(functions_flow.make_flow().build(project / "b"))


class TestSpecSample:
    """examples/python_api/spec_sample.py against examples/spec_sample/flow.yaml, written by hand."""

    def test_the_same_flow_as_data(self) -> None:
        assert spec_sample.make_flow().to_yaml() == pypeline.load(SPEC_YAML).to_yaml()
        assert yaml.safe_load(spec_sample.make_flow().to_yaml()) == yaml.safe_load(SPEC_YAML.read_text())

    def test_the_same_job_but_for_the_yaml_text(self, tmp_path: Path) -> None:
        ours = spec_sample.make_flow().build(tmp_path / "python")
        theirs = build_flow(SPEC_YAML, tmp_path / "yaml")
        ours_files, their_files = files_of(ours), files_of(theirs)
        assert sorted(ours_files) == sorted(their_files)
        assert ours_files["context/sample_etl_default.json"] == their_files["context/sample_etl_default.json"]
        ours_dag, their_dag = (json.loads(f["sample_etl_dag.json"]) for f in (ours_files, their_files))
        assert without(ours_dag, {"line"}) == without(their_dag, {"line"})
        # each node's line is the line of its '- id:' in its own folder's YAML copy
        for dag, files in ((ours_dag, ours_files), (their_dag, their_files)):
            lines = files["sample_etl.yaml"].decode().splitlines()
            assert all(lines[n["line"] - 1].strip() == f"- id: {n['id']}" for n in dag["nodes"])
        ours_meta, their_meta = (json.loads(f[f"sample_etl{METADATA}"]) for f in (ours_files, their_files))
        assert without(ours_meta, {"flow_hash", "flow_path"}) == without(their_meta, {"flow_hash", "flow_path"})

    def test_an_unchanged_loaded_flow_builds_exactly_what_pype_build_writes(self, tmp_path: Path) -> None:
        loaded = pypeline.load(SPEC_YAML).build(tmp_path / "loaded")
        assert files_of(loaded) == files_of(build_flow(SPEC_YAML, tmp_path / "built"))

    def test_pype_run_runs_the_python_built_folder(self, project: Path) -> None:
        shutil.copytree(REPO / "examples" / "spec_sample", project / "examples" / "spec_sample")
        job = spec_sample.make_flow().build(project / "jobs")
        ran = pype("run", str(job), "--quiet", "--progress", "none", cwd=project)
        assert ran.returncode == 0, ran.stderr
        assert "changed since" not in ran.stderr  # its flow_path names Python code, not a flow YAML to compare
        frame = pd.read_parquet(project / "out" / "sample_etl" / "output.parquet")
        assert len(frame) == 34 and bool((frame["age"] > 18).all())
