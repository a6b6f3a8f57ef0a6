"""The spec's sample flow: as printed it fails on the rule it breaks; its corrected twin builds."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pypeline.build.build import build_flow, validate_flow
from pypeline.core.errors import PlanError

EXAMPLES = Path(__file__).parents[2] / "examples" / "spec_sample"


class TestSpecSample:
    def test_as_printed_fails_naming_the_same_subflow_rule(self) -> None:
        with pytest.raises(PlanError) as info:
            validate_flow(EXAMPLES / "flow_as_printed.yaml")
        message = str(info.value)
        assert re.search(r"flow_as_printed\.yaml:\d+: control connection 'source_csv \(1\|\) transform_data'", message)
        assert "are in the same sub flow" in message

    def test_corrected_twin_builds_with_spec_names(self, tmp_path: Path) -> None:
        folder = build_flow(EXAMPLES / "flow.yaml", tmp_path / "jobs")
        dag = json.loads((folder / "sample_etl_dag.json").read_text())
        nodes = {n["id"]: n for n in dag["nodes"]}
        assert nodes["source_csv"]["output_ports"] == ["data"]
        assert nodes["source_csv"]["configs"]["file_path"].endswith("input.csv")
        assert nodes["source_csv"]["configs"]["encoding"] == "utf-8"
        assert nodes["transform_data"]["configs"]["condition"] == "age > 18"
        assert nodes["output_parquet"]["input_ports"] == ["input"]
        assert sorted(p.name for p in folder.iterdir()) == [
            "context",
            "sample_etl.yaml",
            "sample_etl_dag.json",
            "sample_etl_execution_metadata.json",
        ]
        assert (folder / "context" / "sample_etl_default.json").read_text() == "{}\n"

    def test_build_is_byte_identical(self, tmp_path: Path) -> None:
        first = build_flow(EXAMPLES / "flow.yaml", tmp_path / "a")
        second = build_flow(EXAMPLES / "flow.yaml", tmp_path / "b")
        for path in sorted(first.rglob("*")):
            if path.is_file():
                assert path.read_bytes() == (second / path.relative_to(first)).read_bytes(), path.name
