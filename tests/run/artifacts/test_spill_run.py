"""Spilling inside real runs: manifest entries, INFO log lines, and no spill file left, success or failure."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import FlowHarness

SOURCE = "tests.resources.modules.frame_source.FrameSource"


def spill_lines(run_dir: Path) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    return [line for line in lines if line["event"] == "artifact_spilled"]


@pytest.mark.parametrize("mode", ["pandas", "dask"])
async def test_spills_are_logged_recorded_and_removed(flows: FlowHarness, mode: str) -> None:
    result = await flows.run(
        f"""
        flow: {{name: spill_{mode}}}
        settings: {{execution_mode: {mode}, spill: {{threshold_rows: 10, dir: spill}}}}
        modules:
          - {{id: make, name: {SOURCE}, configs: {{required: {{rows: 30}}}}}}
          - {{id: same, name: noop_mod}}
          - {{id: some, name: filter_mod, configs: {{required: {{condition: "id >= 20"}}}}}}
          - {{id: write, name: parquet_sink, configs: {{required: {{output_path: out/{mode}.parquet}}}}}}
        connections:
          data: ["make.data - same.input", "same.output - some.input", "some.output - write.input"]
        """
    )
    assert result.status == "success", result.manifest["errors"]
    spills = result.manifest["spills"]
    # in dask mode noop_mod passes on the lazy read of make.data's spill: nothing more to spill
    assert [s["artifact"] for s in spills] == ["make.data", "same.output"] if mode == "pandas" else ["make.data"]
    assert all(s["reason"] == "rows" and s["rows"] == 30 for s in spills)
    assert {s["kind"] for s in spills} == {mode}
    logged = spill_lines(result.run_dir)
    assert [line["message"] for line in logged] == [f"spill to parquet at {s['path']}" for s in spills]
    assert all(line["level"] == "info" for line in logged)
    assert list((flows.root / "spill").iterdir()) == []
    written = pd.read_parquet(flows.root / "out" / f"{mode}.parquet")
    assert written["id"].tolist() == list(range(20, 30))
    assert written["maybe"].dtype == "Int64" and str(written["at"].dtype).endswith(", UTC]")


async def test_spill_folder_is_removed_when_the_run_fails(flows: FlowHarness) -> None:
    result = await flows.run(
        f"""
        flow: {{name: spill_fail}}
        settings: {{spill: {{threshold_rows: 0, dir: spill}}}}
        modules:
          - {{id: make, name: {SOURCE}, configs: {{required: {{rows: 30}}}}}}
          - {{id: same, name: noop_mod}}
          - {{id: bad, name: filter_mod, configs: {{required: {{condition: "no_such_column > 1"}}}}}}
          - {{id: write, name: noop_sink}}
        connections:
          data: ["make.data - same.input", "same.output - bad.input", "bad.output - write.input"]
        """
    )
    assert result.status == "failed"
    assert len(result.manifest["spills"]) == 2
    assert Path(result.manifest["spills"][0]["path"]).parent.parent == flows.root / "spill"
    assert list((flows.root / "spill").iterdir()) == []


async def test_lazy_dask_frames_are_not_spilled(flows: FlowHarness, data_dir: Path) -> None:
    (data_dir / "x.csv").write_text("a\n" + "\n".join(map(str, range(100))) + "\n")
    result = await flows.run(
        """
        flow: {name: lazy}
        settings: {execution_mode: dask, spill: {threshold_rows: 0, max_ram_share: 0.000001, dir: spill}}
        modules:
          - {id: read, name: csv_source, configs: {required: {file_path: data/x.csv}}}
          - {id: same, name: noop_mod}
          - {id: write, name: csv_sink, configs: {required: {output_path: out/x.csv}}}
        connections:
          data: ["read.data - same.input", "same.output - write.input"]
        """
    )
    assert result.status == "success"
    assert result.manifest["spills"] == []
    assert pd.read_csv(flows.root / "out" / "x.csv")["a"].tolist() == list(range(100))
