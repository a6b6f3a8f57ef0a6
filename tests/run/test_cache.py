"""The output cache (docs/cache.md): what a second run recomputes, and what it must not skip."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from pypeline.cli.cli import main
from pypeline.run.run import RunOptions, run_job
from tests.conftest import FlowHarness, invoke, write_csv

FLOW = """
flow: {{name: cached}}
settings: {{cache: {{enabled: true{settings}}}}}
modules:
  - {{id: orders, name: csv_source, configs: {{required: {{file_path: data/orders.csv}}}}}}
  - {{id: people, name: csv_source, configs: {{required: {{file_path: data/people.csv}}}}}}
  - {{id: big, name: filter_mod, configs: {{required: {{condition: "amount > {threshold}"}}}}}}
  - id: joined
    name: join_mod
    configs: {{optional: {{keys: [person]}}}}
  - {{id: write, name: csv_sink, configs: {{required: {{output_path: out/joined.csv}}}}}}
  - {{id: write_people, name: csv_sink, configs: {{required: {{output_path: out/people.csv}}}}}}
connections:
  data: ["orders.data - big.input", "big.output - joined.left", "people.data - joined.right",
         "joined.output - write.input", "people.data - write_people.input"]
"""

ALL = ["big", "joined", "orders", "people", "write", "write_people"]


def flow(threshold: int = 10, settings: str = "") -> str:
    return FLOW.format(threshold=threshold, settings=settings)


def statuses(manifest: dict[str, Any]) -> dict[str, str]:
    return {m: r["status"] for m, r in sorted(manifest["modules"].items())}


def recomputed(manifest: dict[str, Any]) -> list[str]:
    return sorted(m for m, r in manifest["modules"].items() if r["status"] != "cached")


@pytest.fixture
def inputs(data_dir: Path) -> Path:
    write_csv(data_dir / "orders.csv", "id,person,amount", ["1,ann,5", "2,bob,20", "3,ann,30"])
    write_csv(data_dir / "people.csv", "person,city", ["ann,Oslo", "bob,Rome"])
    return data_dir


def touch(path: Path) -> None:
    """A new modification time (whole seconds later, whatever the file system's resolution)."""
    stamp = path.stat().st_mtime + 2
    os.utime(path, (stamp, stamp))


class TestRerun:
    async def test_second_run_recomputes_nothing_and_restores_outputs_and_globals(
        self, flows: FlowHarness, inputs: Path
    ) -> None:
        first = await flows.run(flow())
        assert first.status == "success", first.manifest
        assert set(statuses(first.manifest).values()) == {"success"}
        written = (flows.root / "out" / "joined.csv").read_bytes()
        mtime = (flows.root / "out" / "joined.csv").stat().st_mtime_ns
        second = await flows.run(flow())
        assert second.status == "success", second.manifest
        assert statuses(second.manifest) == dict.fromkeys(ALL, "cached")
        for module_id, record in second.manifest["modules"].items():
            stored = first.manifest["modules"][module_id]
            assert record["cache"] == {"status": "hit", "key": stored["cache"]["key"]}, module_id
            assert record["globals"] == stored["globals"], module_id
        assert (flows.root / "out" / "joined.csv").read_bytes() == written
        assert (flows.root / "out" / "joined.csv").stat().st_mtime_ns == mtime  # the sink did not write again

    async def test_touching_one_input_recomputes_exactly_its_downstream(
        self, flows: FlowHarness, inputs: Path
    ) -> None:
        assert (await flows.run(flow())).status == "success"
        touch(inputs / "people.csv")
        result = await flows.run(flow())
        assert result.status == "success", result.manifest
        assert recomputed(result.manifest) == ["joined", "people", "write", "write_people"]
        assert statuses(result.manifest)["orders"] == statuses(result.manifest)["big"] == "cached"

    async def test_changing_a_config_recomputes_that_module_and_its_downstream(
        self, flows: FlowHarness, inputs: Path
    ) -> None:
        assert (await flows.run(flow(threshold=10))).status == "success"
        result = await flows.run(flow(threshold=25))
        assert result.status == "success", result.manifest
        assert recomputed(result.manifest) == ["big", "joined", "write"]
        frame = pd.read_csv(flows.root / "out" / "joined.csv")
        assert frame["id"].tolist() == [3]

    async def test_a_sink_whose_output_changed_or_went_runs_again(self, flows: FlowHarness, inputs: Path) -> None:
        assert (await flows.run(flow())).status == "success"
        (flows.root / "out" / "joined.csv").unlink()
        (flows.root / "out" / "people.csv").write_text("edited by hand\n")
        result = await flows.run(flow())
        assert recomputed(result.manifest) == ["write", "write_people"]
        assert (flows.root / "out" / "joined.csv").exists()
        assert "edited by hand" not in (flows.root / "out" / "people.csv").read_text()

    async def test_strict_sees_a_rewrite_that_keeps_size_and_time(self, flows: FlowHarness, inputs: Path) -> None:
        strict = flow(settings=", strict: true")
        assert (await flows.run(strict)).status == "success"
        path = inputs / "people.csv"
        info = path.stat()
        path.write_text(path.read_text().replace("Oslo", "Lima"))
        os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
        result = await flows.run(strict)
        assert "people" in recomputed(result.manifest)
        assert "Lima" in (flows.root / "out" / "people.csv").read_text()

    async def test_a_module_with_cache_false_always_runs(self, flows: FlowHarness, inputs: Path) -> None:
        text = flow().replace("name: filter_mod,", "name: filter_mod, cache: false,")
        assert (await flows.run(text)).status == "success"
        result = await flows.run(text)
        assert recomputed(result.manifest) == ["big"]
        assert "cache" not in result.manifest["modules"]["big"]


class TestIterations:
    async def test_each_iteration_caches_on_its_own(self, flows: FlowHarness, data_dir: Path) -> None:
        for name, rows in (("a", ["1", "2"]), ("b", ["3"]), ("c", ["4", "5", "6"])):
            write_csv(data_dir / "in" / f"{name}.csv", "n", rows)
        text = """
flow: {name: iter_cached}
settings: {cache: {enabled: true}}
modules:
  - {id: files, name: file_list, configs: {required: {directory: data/in}, optional: {pattern: "*.csv"}}}
  - {id: read, name: csv_source, configs: {required: {file_path: "{{iter.item}}"}}}
  - {id: write, name: csv_sink, configs: {required: {output_path: "out/{{iter.index}}.csv"}}}
connections:
  data: ["read.data - write.input"]
  control: [{from: files, to: read, type: iterate, port: files}]
"""
        assert (await flows.run(text)).status == "success"
        touch(data_dir / "in" / "b.csv")
        result = await flows.run(text)
        assert result.status == "success", result.manifest
        # the folder listing changed (b's time), so file_list runs; only b's instance reads and writes again
        assert recomputed(result.manifest) == ["files", "read#1", "write#1"]
        written = [pd.read_csv(flows.root / "out" / f"{i}.csv")["n"].tolist() for i in range(3)]
        assert written == [[1, 2], [3], [4, 5, 6]]


class TestDryRun:
    def test_dry_run_shows_which_modules_would_hit(self, flows: FlowHarness, inputs: Path, cli: CliRunner) -> None:
        import asyncio

        job = flows.build(flow())
        before = invoke(cli, "run", str(job), "--dry-run").output
        assert before.count("cache: miss") == len(ALL) and "cache: hit" not in before
        assert asyncio.run(run_job(job, RunOptions(progress="none", echo_logs=False))).status == "success"
        touch(inputs / "people.csv")
        after = invoke(cli, "run", str(job), "--dry-run").output
        lines = {line.split(":")[0].split("]")[-1].strip(): line for line in after.splitlines() if "[wave" in line}
        assert {m for m, line in lines.items() if "cache: hit" in line} == {"orders", "big"}
        missed = {m for m, line in lines.items() if "cache: miss" in line}
        assert missed == {"people", "joined", "write", "write_people"}


class TestCommands:
    async def test_ls_and_clear(self, flows: FlowHarness, inputs: Path, cli: CliRunner) -> None:
        assert (await flows.run(flow())).status == "success"
        listed = invoke(cli, "cache", "ls").output
        assert listed.splitlines()[-1].startswith(f"{len(ALL)} entries")
        assert {line.split("\t")[1] for line in listed.splitlines()[:-1]} == set(ALL)
        cleared = invoke(cli, "cache", "clear", "--older-than", "1d").output
        assert cleared == "removed 0 cache entries from jobs/.pype-cache\n"
        assert invoke(cli, "cache", "clear", "--job", "other").output.startswith("removed 0 ")
        assert invoke(cli, "cache", "clear", "--job", "cached").output.startswith(f"removed {len(ALL)} ")
        result = await flows.run(flow())
        assert set(statuses(result.manifest).values()) == {"success"}

    def test_a_bad_age_is_one_clear_message(self, cli: CliRunner, project: Path) -> None:
        result = cli.invoke(main, ["cache", "clear", "--older-than", "soon"])
        assert result.exit_code == 2
        assert "'soon' is not an age: expected a number and s, m, h or d (e.g. 7d, 12h)" in result.output


PROJECT_MODULE = '''
from pypeline import BaseModule


class Scale(BaseModule):
    TYPE = "mod"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    CONFIG_SCHEMA = {"required": {}, "optional": {}}

    async def run(self, inputs, ctx):
        frame = inputs["input"]
        return {"output": frame.assign(amount=frame["amount"] * FACTOR)}


FACTOR = 2
'''


@pytest.mark.slow
def test_a_project_module_whose_source_changed_is_recomputed(project: Path, inputs: Path) -> None:
    (project / "mymods.py").write_text(PROJECT_MODULE)
    text = flow().replace("name: filter_mod, configs: {required: {condition: \"amount > 10\"}}",
                          "name: mymods.Scale")
    (project / "flow.yaml").write_text(text)
    pype = str(Path(sys.executable).with_name("pype"))
    env = {**os.environ, "PYTHONPATH": str(project)}

    def run(run_id: str) -> dict[str, Any]:
        # a run id of our own: generated ones start with the second, so two runs in one second sort at random
        done = subprocess.run([pype, "run", "jobs/cached", "--progress", "none", "--run-id", run_id], env=env,
                              cwd=project, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        manifest = project / "jobs" / "cached" / "runs" / run_id / "manifest.json"
        return dict(json.loads(manifest.read_text()))

    subprocess.run([pype, "build", "flow.yaml"], env=env, cwd=project, check=True, capture_output=True)
    assert set(statuses(run("first")).values()) == {"success"}
    assert recomputed(run("second")) == []
    time.sleep(0.01)
    (project / "mymods.py").write_text(PROJECT_MODULE.replace("FACTOR = 2", "FACTOR = 3"))
    assert recomputed(run("third")) == ["big", "joined", "write"]
    assert pd.read_csv(project / "out" / "joined.csv")["amount"].tolist() == [15, 60, 90]


class TestDaskMode:
    async def test_dask_outputs_are_stored_as_parquet_folders_and_read_back(
        self, flows: FlowHarness, inputs: Path
    ) -> None:
        text = flow().replace("settings: {cache: {enabled: true}}",
                              "settings: {execution_mode: dask, cache: {enabled: true}}")
        first = await flows.run(text)
        assert first.status == "success", first.manifest
        expected = pd.read_csv(flows.root / "out" / "joined.csv")
        assert list((flows.root / "jobs" / ".pype-cache" / "cached").glob("*/output/*.parquet"))
        (flows.root / "out" / "joined.csv").unlink()
        second = await flows.run(text)
        assert recomputed(second.manifest) == ["write"]  # it reads joined's stored files, nothing upstream runs
        pd.testing.assert_frame_equal(pd.read_csv(flows.root / "out" / "joined.csv"), expected)


def test_a_spill_folder_is_local(flows: FlowHarness) -> None:
    from pypeline.core.errors import FlowSchemaError

    with pytest.raises(FlowSchemaError, match=r"'s3://b/spill' is not a valid value \(expected a local folder"):
        flows.validate("""
flow: {name: spill_url}
settings: {spill: {dir: "s3://b/spill"}}
modules:
  - {id: e, name: empty_source}
""")
