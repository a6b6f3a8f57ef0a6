"""A flow built and run for real on CSV and Parquet files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.conftest import FlowHarness, write_csv


async def test_csv_filter_parquet(flows: FlowHarness, data_dir: Path) -> None:
    write_csv(data_dir / "people.csv", "name,age", ["ana,17", "ben,30", "cy,45"])
    result = await flows.run(
        """
        flow: {name: smoke}
        modules:
          - {id: read, name: csv_source, configs: {required: {file_path: data/people.csv}}}
          - {id: adults, name: filter_mod, configs: {required: {condition: "age >= 18"}}}
          - {id: write, name: parquet_sink, configs: {required: {output_path: out/adults.parquet}}}
        connections:
          data: ["read.data - adults.input", "adults.output - write.input"]
        """
    )
    assert result.status == "success"
    frame = pd.read_parquet(flows.root / "out" / "adults.parquet")
    assert frame["name"].tolist() == ["ben", "cy"]
    modules = result.manifest["modules"]
    assert modules["read"]["rows_out"] == 3
    assert modules["adults"]["rows_in"] == 3 and modules["adults"]["rows_out"] == 2
    assert modules["write"]["files_written"] == ["out/adults.parquet"]
    assert (result.run_dir / "log.jsonl").read_text().count('"run_id"') >= 4
