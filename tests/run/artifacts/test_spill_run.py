"""Spilling inside real runs: manifest entries, INFO log lines, and no spill file left, success or failure."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import FlowHarness

SOURCE = "tests.resources.modules.frame_source.FrameSource"
COUNT = "tests.resources.modules.spill_count.SpillCount"


def spill_lines(run_dir: Path) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    return [line for line in lines if line["event"] == "artifact_spilled"]


WAITING = f"""
flow: {{name: spill_MODE}}
settings: {{execution_mode: MODE, spill: {{threshold_rows: 10, dir: spill}}}}
modules:
  - {{id: make, name: {SOURCE}, configs: {{required: {{rows: 30}}}}}}
  - {{id: slow, name: {SOURCE}, configs: {{required: {{rows: 5}}, optional: {{delay: 0.3}}}}}}
  - {{id: both, name: union_mod}}
  - {{id: same, name: noop_mod}}
  - {{id: some, name: filter_mod, configs: {{required: {{condition: "id >= 20"}}}}}}
  - {{id: write, name: parquet_sink, configs: {{required: {{output_path: out/MODE.parquet}}}}}}
connections:
  data: ["make.data - both.input1", "slow.data - both.input2", "both.output - same.input",
         "same.output - some.input", "some.output - write.input"]
"""


@pytest.mark.parametrize("mode", ["pandas", "dask"])
async def test_a_waiting_frame_over_the_threshold_is_spilled(flows: FlowHarness, mode: str) -> None:
    result = await flows.run(WAITING.replace("MODE", mode))
    assert result.status == "success", result.manifest["errors"]
    spills = result.manifest["spills"]
    # only make.data waited (for slow.data); the 35-row union output was read at once by its reader
    assert [s["artifact"] for s in spills] == ["make.data"]
    assert spills[0]["reason"] == "rows" and spills[0]["rows"] == 30 and spills[0]["kind"] == mode
    logged = spill_lines(result.run_dir)
    assert [line["message"] for line in logged] == [f"spill to parquet at {spills[0]['path']}"]
    assert all(line["level"] == "info" for line in logged)
    assert list((flows.root / "spill").iterdir()) == []
    written = pd.read_parquet(flows.root / "out" / f"{mode}.parquet")
    assert sorted(written["id"].tolist()) == [*range(20, 30)] and len(written) == 10
    assert written["maybe"].dtype == "Int64" and str(written["at"].dtype).endswith(", UTC]")


@pytest.mark.parametrize("mode", ["pandas", "dask"])
async def test_frames_read_at_once_are_never_spilled(flows: FlowHarness, mode: str) -> None:
    result = await flows.run(
        f"""
        flow: {{name: chain_{mode}}}
        settings: {{execution_mode: {mode}, spill: {{threshold_rows: 0, max_ram_share: 0.000001, dir: spill}}}}
        modules:
          - {{id: make, name: {SOURCE}, configs: {{required: {{rows: 3000}}}}}}
          - {{id: same, name: noop_mod}}
          - {{id: write, name: noop_sink}}
        connections:
          data: ["make.data - same.input", "same.output - write.input"]
        """
    )
    assert result.status == "success" and result.manifest["spills"] == []


async def test_spill_folder_is_removed_when_the_run_fails(flows: FlowHarness) -> None:
    result = await flows.run(
        f"""
        flow: {{name: spill_fail}}
        settings: {{spill: {{threshold_rows: 0, dir: spill}}}}
        modules:
          - {{id: make, name: {SOURCE}, configs: {{required: {{rows: 30}}}}}}
          - {{id: slow, name: {SOURCE}, configs: {{required: {{rows: 5}}, optional: {{delay: 0.2}}}}}}
          - {{id: both, name: union_mod}}
          - {{id: bad, name: filter_mod, configs: {{required: {{condition: "no_such_column > 1"}}}}}}
          - {{id: write, name: noop_sink}}
        connections:
          data: ["make.data - both.input1", "slow.data - both.input2", "both.output - bad.input",
                 "bad.output - write.input"]
        """
    )
    assert result.status == "failed"
    assert [s["artifact"] for s in result.manifest["spills"]] == ["make.data"]
    assert Path(result.manifest["spills"][0]["path"]).parent.parent == flows.root / "spill"
    assert list((flows.root / "spill").iterdir()) == []


async def test_lazy_dask_frames_are_not_spilled(flows: FlowHarness, data_dir: Path) -> None:
    (data_dir / "x.csv").write_text("id\n" + "\n".join(map(str, range(100))) + "\n")
    result = await flows.run(
        f"""
        flow: {{name: lazy}}
        settings: {{execution_mode: dask, spill: {{threshold_rows: 0, max_ram_share: 0.000001, dir: spill}}}}
        modules:
          - {{id: read, name: csv_source, configs: {{required: {{file_path: data/x.csv}}, optional: {{scan: false}}}}}}
          - {{id: slow, name: {SOURCE}, configs: {{required: {{rows: 2}}, optional: {{delay: 0.2}}}}}}
          - {{id: both, name: union_mod}}
          - {{id: write, name: csv_sink, configs: {{required: {{output_path: out/x.csv}}}}}}
        connections:
          data: ["read.data - both.input1", "slow.data - both.input2", "both.output - write.input"]
        """
    )
    assert result.status == "success", result.manifest["errors"]
    # read.data waited for slow.data, but a lazy frame that reads a file holds nothing to spill;
    # slow.data (built in memory) did not wait
    assert result.manifest["spills"] == []
    assert sorted(pd.read_csv(flows.root / "out" / "x.csv")["id"].tolist()) == [0, 0, 1, 1, *range(2, 100)]


async def test_a_spill_file_goes_when_its_last_reader_is_done_not_at_the_end(flows: FlowHarness) -> None:
    # make.data is spilled while it waits for slow.data; 'count' runs after 'both' read it, in the same sub flow
    result = await flows.run(
        f"""
        flow: {{name: released}}
        settings: {{spill: {{threshold_rows: 10, dir: spill}}}}
        modules:
          - {{id: make, name: {SOURCE}, configs: {{required: {{rows: 30}}}}}}
          - {{id: slow, name: {SOURCE}, configs: {{required: {{rows: 5}}, optional: {{delay: 0.3}}}}}}
          - {{id: both, name: union_mod}}
          - {{id: count, name: {COUNT}, configs: {{required: {{folder: spill}}}}}}
          - {{id: write, name: noop_sink}}
        connections:
          data: ["make.data - both.input1", "slow.data - both.input2", "both.output - count.input",
                 "count.output - write.input"]
        """
    )
    assert result.status == "success", result.manifest["errors"]
    assert [s["artifact"] for s in result.manifest["spills"]] == ["make.data"]
    assert result.manifest["modules"]["count"]["globals"] == {"files": 0}
