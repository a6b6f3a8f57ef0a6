"""Joint computes in dask mode: the sinks of a sub flow instance computed in one ``dask.compute``.

The reference flow (csv_source -> filter_mod -> derive_mod -> parquet_sink, and
aggregate_mod -> parquet_sink on the same rows) reads every byte of its CSV
files once, counted at dask's block reader (every block task of the run is
recorded with its file, offset and the bytes it returned), and writes what
pandas mode writes. Then what a shared computation means when something goes
wrong: a bad row, a failure in one branch, a retry, a timeout, a module that
computes before a sink, a crash and ``--resume``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.conftest import FlowHarness
from tests.resources.modules import partition_gate

GATE = "tests.resources.modules.partition_gate.PartitionGate"
COMPUTING = "tests.resources.modules.partition_gate.ComputingMod"
WORKERS = "tests.resources.modules.partition_gate.WorkersSeen"
REPO = Path(__file__).resolve().parents[2]
PYPE = str(Path(sys.executable).with_name("pype"))


def write_data(folder: Path, files: int = 4, rows: int = 3000) -> list[Path]:
    """The reference job's columns: id, ts, region (20 values), amount, qty, note."""
    rng = np.random.default_rng(7)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(files):
        ids = np.arange(index * rows, (index + 1) * rows)
        frame = pd.DataFrame({
            "id": ids,
            "ts": [f"2024-01-{1 + i % 28:02d}T{i % 24:02d}:00:00" for i in ids],
            "region": [f"r{i:02d}" for i in rng.integers(0, 20, rows)],
            "amount": rng.uniform(0, 100, rows).round(2),
            "qty": rng.integers(1, 10, rows),
            "note": rng.choice(["a", "bb", "some note", "dddd"], rows),
        })
        path = folder / f"part{index}.csv"
        frame.to_csv(path, index=False)
        paths.append(path)
    return paths


def reference_flow(mode: str, out: str, extra: str = "") -> str:
    return f"""
        flow: {{name: reference}}
        settings: {{execution_mode: {mode}, retry_delay: 0}}
        modules:
          - {{id: read, name: csv_source, configs: {{required: {{file_path: "data/*.csv"}},
                                                   optional: {{blocksize: 20KB}}}}}}
          - {{id: keep, name: filter_mod, configs: {{required: {{condition: "amount > 50"}}}}}}
          - {{id: derive, name: derive_mod, configs: {{required: {{columns: {{total: "amount * qty"}}}}}}}}
          - id: totals
            name: aggregate_mod
            configs:
              required: {{aggregations: {{total_sum: "sum(total)", orders: "count(*)"}}}}
              optional: {{group_by: [region]}}
          - {{id: write_rows, name: parquet_sink, configs: {{required: {{output_path: {out}/rows}}}}}}
          - {{id: write_totals, name: parquet_sink, configs: {{required: {{output_path: {out}/totals}}}}}}
          {extra}
        connections:
          data: ["read.data - keep.input", "keep.output - derive.input", "derive.output - write_rows.input",
                 "derive.output - totals.input", "totals.output - write_totals.input"]
        """


@pytest.fixture
def block_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[tuple[int, int, int]]]]:
    """Every block dask reads from a file during the test: path -> [(offset, length asked, bytes returned)]."""
    import dask.bytes.core

    reads: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    original: Callable[..., bytes] = dask.bytes.core.read_block_from_file

    def counting(lazy_file: Any, off: int, bs: int, delimiter: bytes) -> bytes:
        data = original(lazy_file, off, bs, delimiter)
        reads[os.path.basename(lazy_file.path)].append((off, bs, len(data)))
        return data

    monkeypatch.setattr(dask.bytes.core, "read_block_from_file", counting)
    yield reads


def read_back(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = pd.read_parquet(out / "rows").sort_values("id").reset_index(drop=True)
    totals = pd.read_parquet(out / "totals").sort_values("region").reset_index(drop=True)
    return rows, totals


class TestReferenceFlow:
    async def test_reads_each_csv_byte_once_and_writes_what_pandas_mode_writes(
        self, flows: FlowHarness, block_reads: dict[str, list[tuple[int, int, int]]]
    ) -> None:
        paths = write_data(flows.root / "data")
        dask_run = await flows.run(reference_flow("dask", "out/dask"))
        assert dask_run.status == "success", dask_run.manifest["errors"]
        for path in paths:
            blocks = sorted(block_reads[path.name])
            assert len(blocks) > 3  # several partitions per file
            offsets = [off for off, _, _ in blocks]
            assert len(set(offsets)) == len(offsets)  # no block read twice
            assert sum(got for _, _, got in blocks) == path.stat().st_size  # every byte once
        modules = dask_run.manifest["modules"]
        for sink in ("write_rows", "write_totals"):
            assert modules[sink]["stats"]["joint_compute"]["modules"] == ["write_rows", "write_totals"]
        pandas_run = await flows.run(reference_flow("pandas", "out/pandas"))
        assert pandas_run.status == "success", pandas_run.manifest["errors"]
        dask_rows, dask_totals = read_back(flows.root / "out" / "dask")
        pandas_rows, pandas_totals = read_back(flows.root / "out" / "pandas")
        # dask keeps text as ``string`` (na_value=NA), pandas mode as ``str``: the same values
        pd.testing.assert_frame_equal(dask_rows, pandas_rows, check_dtype=False)
        pd.testing.assert_frame_equal(dask_totals, pandas_totals, check_dtype=False, check_exact=False)
        assert modules["write_rows"]["globals"]["row_count"] == len(pandas_rows)
        assert modules["write_totals"]["globals"]["row_count"] == 20
        assert not list(flows.root.rglob("*.pype-tmp"))

    async def test_a_bad_row_fails_the_first_sink_with_file_and_line_and_keeps_the_old_outputs(
        self, flows: FlowHarness
    ) -> None:
        paths = write_data(flows.root / "data", files=2, rows=12_000)
        first = await flows.run(reference_flow("dask", "out"))
        assert first.status == "success", first.manifest["errors"]
        before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in (flows.root / "out").rglob("*") if p.is_file()}
        lines = paths[1].read_text().splitlines(keepends=True)
        lines[11_000] = lines[11_000].rstrip("\n") + ",extra\n"  # past the 10,000 rows read for the types
        paths[1].write_text("".join(lines))
        result = await flows.run(reference_flow("dask", "out"))
        assert result.status == "failed"
        modules = result.manifest["modules"]
        assert modules["read"]["status"] == "success"  # lazy: the row is met while the sinks compute
        error = modules["write_rows"]["error"]
        assert "data/part1.csv: line 11001: malformed row: expected 6 fields, saw 7" in error
        assert "Traceback" not in error
        assert modules["write_totals"]["status"] == "cancelled"
        after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in (flows.root / "out").rglob("*") if p.is_file()}
        assert after == before  # nothing published, nothing touched
        assert not list(flows.root.rglob("*.pype-tmp"))


def two_branches(gate: str, *, gated: str = "write_gated", options: str = "", blocksize: str = "40KB") -> str:
    """``read -> gate -> <gated>`` and ``read -> keep -> write_kept``, in dask mode.

    Sinks are ordered by wave, then by id: ``write_gated`` comes before ``write_kept``, ``z_gated`` after it.
    """
    return f"""
        flow: {{name: branches}}
        settings: {{execution_mode: dask, retry_delay: 0}}
        modules:
          - {{id: read, name: csv_source, configs: {{required: {{file_path: "data/*.csv"}},
                                                   optional: {{blocksize: {blocksize}}}}}}}
          - {{id: gate, name: {GATE}, configs: {{required: {gate}}}}}
          - {{id: keep, name: filter_mod, configs: {{required: {{condition: "amount > 50"}}}}}}
          - {{id: {gated}, name: parquet_sink, configs: {{required: {{output_path: out/gated}}}}{options}}}
          - {{id: write_kept, name: csv_sink, configs: {{required: {{output_path: out/kept.csv}}}}}}
        connections:
          data: ["read.data - gate.input", "gate.output - {gated}.input", "read.data - keep.input",
                 "keep.output - write_kept.input"]
        """


class TestFailures:
    async def test_a_failure_in_one_branch_fails_that_sink_only(self, flows: FlowHarness) -> None:
        write_data(flows.root / "data")
        result = await flows.run(two_branches("{key: branch, fail_first: 99}"))
        assert result.status == "failed"
        modules = result.manifest["modules"]
        assert modules["write_gated"]["status"] == "failed"
        assert "gate 'branch' closed" in modules["write_gated"]["error"]
        assert modules["write_kept"]["status"] == "cancelled"  # the sub flow failed before its turn
        assert not (flows.root / "out" / "gated").exists()
        assert not (flows.root / "out" / "kept.csv").exists()

    async def test_the_sinks_before_the_failing_one_succeed(self, flows: FlowHarness) -> None:
        """The failing branch's sink comes second: the first, computed alone, succeeds and publishes."""
        paths = write_data(flows.root / "data")
        result = await flows.run(two_branches("{key: late, fail_first: 99}", gated="z_gated"))
        assert result.status == "failed"
        modules = result.manifest["modules"]
        assert modules["z_gated"]["status"] == "failed" and "gate 'late' closed" in modules["z_gated"]["error"]
        assert modules["write_kept"]["status"] == "success"
        expected = pd.concat(map(pd.read_csv, paths), ignore_index=True)
        kept = pd.read_csv(flows.root / "out" / "kept.csv")
        assert len(kept) == int((expected["amount"] > 50).sum()) == modules["write_kept"]["globals"]["row_count"]
        assert not (flows.root / "out" / "gated").exists()

    async def test_a_retry_computes_together_with_the_sinks_still_waiting(self, flows: FlowHarness) -> None:
        # partition 0 of the gate fails in the batch and again computed alone: the first attempt of
        # write_gated fails; its retry computes together with write_kept, which waited meanwhile
        write_data(flows.root / "data")
        partition_gate.CALLS.clear()
        result = await flows.run(two_branches("{key: retry, fail_first: 2}", options=", retries: 1"))
        assert result.status == "success", result.manifest["errors"]
        modules = result.manifest["modules"]
        assert modules["write_gated"]["attempts"] == 2
        assert modules["write_kept"]["attempts"] == 1
        assert modules["write_kept"]["stats"]["joint_compute"]["modules"] == ["write_gated", "write_kept"]
        assert partition_gate.CALLS[("retry", 0)] == 3
        gated = pd.read_parquet(flows.root / "out" / "gated")
        assert len(gated) == 4 * 3000 == modules["write_gated"]["globals"]["row_count"]

    async def test_a_timeout_stops_the_shared_computation(self, flows: FlowHarness) -> None:
        paths = write_data(flows.root / "data")
        blocks = sum(-(-p.stat().st_size // 10_000) for p in paths)
        assert blocks > 50  # at 0.4 s each on 2 workers: more than 10 s of work
        partition_gate.CALLS.clear()
        result = await flows.run(two_branches("{key: slow, sleep: 0.4}", options=", timeout: 4", blocksize="10KB"))
        assert result.status == "failed"
        modules = result.manifest["modules"]
        assert modules["write_gated"]["status"] == "timed_out"
        assert modules["write_kept"]["status"] == "cancelled"
        await asyncio.sleep(1.0)  # what still ran when the computation stopped has ended by now
        calls = sum(partition_gate.CALLS.values())
        assert 0 < calls < 40  # started, and stopped long before the last partition
        await asyncio.sleep(1.0)
        assert sum(partition_gate.CALLS.values()) == calls  # and nothing goes on
        assert not (flows.root / "out" / "gated").exists() and not (flows.root / "out" / "kept.csv").exists()

    async def test_a_module_that_computes_before_a_sink_does_not_block_the_batch(self, flows: FlowHarness) -> None:
        write_data(flows.root / "data", files=2)
        result = await flows.run(f"""
            flow: {{name: counting}}
            settings: {{execution_mode: dask}}
            modules:
              - {{id: read, name: csv_source, configs: {{required: {{file_path: "data/*.csv"}},
                                                       optional: {{blocksize: 40KB}}}}}}
              - {{id: count, name: {COMPUTING}}}
              - {{id: after_count, name: parquet_sink, configs: {{required: {{output_path: out/a}}}}}}
              - {{id: direct, name: parquet_sink, configs: {{required: {{output_path: out/b}}}}}}
            connections:
              data: ["read.data - count.input", "count.output - after_count.input", "read.data - direct.input"]
            """)
        assert result.status == "success", result.manifest["errors"]
        modules = result.manifest["modules"]
        assert modules["count"]["globals"]["rows"] == 6000
        assert modules["count"]["stats"]["joint_compute"]["modules"] == ["count", "direct"]
        assert modules["after_count"]["stats"]["joint_compute"]["modules"] == ["after_count"]
        assert len(pd.read_parquet(flows.root / "out" / "a")) == len(pd.read_parquet(flows.root / "out" / "b")) == 6000


@pytest.mark.slow
async def test_a_sink_on_the_dask_backend_computes_on_its_cluster_not_in_the_batch(flows: FlowHarness) -> None:
    write_data(flows.root / "data", files=1)
    result = await flows.run(f"""
        flow: {{name: cluster}}
        settings: {{execution_mode: dask}}
        modules:
          - {{id: read, name: csv_source, configs: {{required: {{file_path: "data/*.csv"}},
                                                   optional: {{blocksize: 40KB}}}}}}
          - {{id: here, name: {WORKERS}}}
          - {{id: here_too, name: parquet_sink, configs: {{required: {{output_path: out/here}}}}}}
          - {{id: there, name: {WORKERS}, execution: {{backend: dask, n_workers: 1}}}}
        connections:
          data: ["read.data - here.input", "read.data - here_too.input", "read.data - there.input"]
        """)
    assert result.status == "success", result.manifest["errors"]
    modules = result.manifest["modules"]
    assert modules["here"]["globals"]["workers"] == ["not-a-worker"]
    assert all(w.startswith("tcp://127.0.0.1:") for w in modules["there"]["globals"]["workers"])
    assert modules["here"]["stats"]["joint_compute"]["modules"] == ["here", "here_too"]
    assert "joint_compute" not in modules["there"]["stats"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "PYPELINE_THREADS": "4"}


def _pype(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYPE, *args], cwd=root, env=_env(), capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_a_kill_during_the_joint_compute_resumes_to_the_same_outputs(tmp_path: Path) -> None:
    """SIGKILL while the sinks compute (part files in their temporary folders), then ``--resume``."""
    outputs = {}
    for name in ("straight", "killed"):
        root = tmp_path / name
        write_data(root / "data")
        (root / "flow.yaml").write_text(two_branches("{key: crash, sleep: 0.05}", blocksize="10KB"))
        _pype(root, "build", "flow.yaml").check_returncode()
        if name == "killed":
            proc = subprocess.Popen([PYPE, "run", "jobs/branches"], cwd=root, env=_env(),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 120
            while not [p for p in root.rglob("*.pype-tmp/*/*") if p.is_file() and p.stat().st_size]:
                assert proc.poll() is None and time.monotonic() < deadline, "the run ended before the kill"
                time.sleep(0.02)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            assert not (root / "out" / "gated").exists() and not (root / "out" / "kept.csv").exists()
            resumed = _pype(root, "run", "jobs/branches", "--resume")
            assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        else:
            straight = _pype(root, "run", "jobs/branches")
            assert straight.returncode == 0, straight.stdout + straight.stderr
        assert not list(root.rglob("*.pype-tmp"))
        gated = pd.read_parquet(root / "out" / "gated").sort_values("id").reset_index(drop=True)
        outputs[name] = (gated, (root / "out" / "kept.csv").read_bytes())
    pd.testing.assert_frame_equal(outputs["straight"][0], outputs["killed"][0])
    assert outputs["straight"][1] == outputs["killed"][1]
