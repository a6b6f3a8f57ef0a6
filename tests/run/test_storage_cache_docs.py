"""docs/storage.md and docs/cache.md: their flows build, and the cache page's walk-through does what it says."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import FlowHarness, invoke, write_csv

DOCS = Path(__file__).parents[2] / "docs"
FLOWS = [
    (page, block)
    for page in ("storage.md", "cache.md")
    for block in re.findall(r"```yaml\n(.*?)```", (DOCS / page).read_text(), flags=re.S)
    if block.startswith("flow:")
]


@pytest.mark.parametrize(("page", "text"), FLOWS, ids=[f"{p}:{t.split(chr(10))[0]}" for p, t in FLOWS])
def test_flows_on_the_pages_validate(page: str, text: str, flows: FlowHarness) -> None:
    assert flows.validate(text).modules


def test_the_cache_walk_through(flows: FlowHarness, data_dir: Path, cli: CliRunner) -> None:
    text = next(t for p, t in FLOWS if "daily_report" in t)
    write_csv(data_dir / "orders" / "a.csv", "id,person,amount", ["1,ann,500", "2,bob,50"])
    write_csv(data_dir / "people.csv", "person,city", ["ann,Oslo", "bob,Rome"])
    job = str(flows.build(text))
    assert invoke(cli, "run", job, "--progress", "none").exit_code == 0
    invoke(cli, "run", job, "--progress", "none")
    stamp = (data_dir / "people.csv").stat().st_mtime + 2
    os.utime(data_dir / "people.csv", (stamp, stamp))
    out = invoke(cli, "run", job, "--dry-run").output
    notes = {m: re.search(rf"\] {m}: .*\[cache: (\w+)", out) for m in ("orders", "people", "big", "joined", "report")}
    assert {m: n.group(1) if n else None for m, n in notes.items()} == {
        "orders": "hit", "big": "hit", "people": "miss", "joined": "miss", "report": "miss"
    }
    assert "] audit: log_sink (sink)\n" in out


def test_dry_run_of_a_flow_on_urls_lists_them_without_problems(flows: FlowHarness, cli: CliRunner) -> None:
    job = flows.build("""
flow: {name: dry_urls}
modules:
  - {id: read, name: csv_source, configs: {required: {file_path: "s3://bucket/in/*.csv"}}}
  - {id: write, name: parquet_sink, configs: {required: {output_path: "gs://bucket/out/x.parquet"}}}
connections:
  data: ["read.data - write.input"]
""")
    result = invoke(cli, "run", str(job), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "reads  s3://bucket/in/*.csv\n" in result.output
    assert "writes gs://bucket/out/x.parquet\n" in result.output
