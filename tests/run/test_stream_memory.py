"""Stream mode's memory is bounded by its batches, not its input: a real ``pype run`` in a child process.

The flow is the reference job's shape (a CSV source read once by a fan-out:
kept rows to Parquet, and an aggregation to Parquet). It runs in stream mode
on two files and on six files of the same size; the child's peak resident
memory (``ru_maxrss`` from ``os.wait4``) must stay the same within 30%, and the
large run's peak must be well under the size of its data (1.5 GB), which would
not fit in it. The data's rows are wide (a 200-byte text column) so that the
files are large for few rows: the test writes its data in seconds.

Every file is 256 MB because pyarrow's streaming CSV reader grows its buffers
with a file up to about that size, then holds them (measured: 94 MiB of
Arrow memory at its peak for an 85 MB file, 156 MiB for 256 MB and for
512 MB, 161 MiB for 1.3 GB): with smaller files the test would measure that
warm-up, which ends, instead of a growth with the input, which must not be.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

PYPE = str(Path(sys.executable).with_name("pype"))
LAUNCHER = """
import json, os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_pid, status, usage = os.wait4(pid, 0)
print(json.dumps([os.waitstatus_to_exitcode(status), usage.ru_maxrss]), flush=True)
"""
"""Runs its arguments in a grandchild and prints ``[exit code, peak RSS in KiB]``: Linux counts the
resident memory of the process that forks into a child's peak (copied at fork, kept across exec), and
the test process is large; this small launcher forks instead."""
CHUNK_ROWS = 200_000
CHUNKS_PER_FILE = 6  # 256 MB a file (see the module docstring)
FLOW = """
flow: {{name: big_{name}}}
settings: {{execution_mode: stream}}
modules:
  - id: read
    name: csv_source
    configs:
      required: {{file_path: "{data}/*.csv"}}
      optional: {{dtypes: {{id: int64, region: str, amount: float64, text: str}}}}
  - {{id: keep, name: filter_mod, configs: {{required: {{condition: "amount > 50"}}}}}}
  - id: agg
    name: aggregate_mod
    configs:
      required: {{aggregations: [{{rows: "count(*)"}}, {{total: "sum(amount)"}}]}}
      optional: {{group_by: [region]}}
  - {{id: rows, name: parquet_sink, configs: {{required: {{output_path: out/{name}/rows.parquet}}}}}}
  - {{id: groups, name: parquet_sink, configs: {{required: {{output_path: out/{name}/groups.parquet}}}}}}
connections:
  data: ["read.data - keep.input", "keep.output - rows.input", "keep.output - agg.input", "agg.output - groups.input"]
"""


def chunk_bytes() -> bytes:
    """One CSV chunk (with its header) of CHUNK_ROWS wide rows."""
    ids = pa.array(range(CHUNK_ROWS), pa.int64())
    table = pa.table({
        "id": ids,
        "region": pa.array([f"r{i % 7}" for i in range(CHUNK_ROWS)]),
        "amount": pa.array([float(i % 100) for i in range(CHUNK_ROWS)]),
        "text": pa.array(["x" * 200] * CHUNK_ROWS),
    })
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(quoting_style="none"))
    return bytes(sink.getvalue().to_pybytes())


def write_data(folder: Path, chunk: bytes, files: int) -> int:
    """``files`` files of CHUNKS_PER_FILE copies of the chunk's rows; the bytes written."""
    header, _, rows = chunk.partition(b"\n")
    folder.mkdir(parents=True)
    for index in range(files):
        with open(folder / f"part-{index}.csv", "wb") as fh:
            fh.write(header + b"\n")
            for _ in range(CHUNKS_PER_FILE):
                fh.write(rows)
    return sum(p.stat().st_size for p in folder.iterdir())


def run_peak(root: Path, name: str, data: Path) -> float:
    """``pype build`` + ``pype run`` of the flow in a child; its peak RSS in MiB."""
    (root / f"{name}.yaml").write_text(textwrap.dedent(FLOW.format(name=name, data=data)))
    built = subprocess.run([PYPE, "build", f"{name}.yaml"], cwd=root, capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stdout + built.stderr
    log = root / f"{name}.log"  # a file, not a pipe: a child that fills a pipe nobody reads would hang
    with open(log, "wb") as out:
        subprocess.run([sys.executable, "-c", LAUNCHER, PYPE, "run", f"jobs/big_{name}", "--quiet", "--progress",
                        "none"], cwd=root, stdout=out, stderr=subprocess.STDOUT, timeout=900)
    code, maxrss = json.loads(log.read_text(errors="replace").splitlines()[-1])
    assert code == 0, log.read_text(errors="replace")
    return float(maxrss) / 1024


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_input(tmp_path: Path) -> None:
    chunk = chunk_bytes()
    write_data(tmp_path / "small", chunk, 2)
    big_bytes = write_data(tmp_path / "big", chunk, 6)
    assert big_bytes > 1.5 * 10**9  # as Arrow in memory, at least as much
    small = run_peak(tmp_path, "small", tmp_path / "small")
    big = run_peak(tmp_path, "big", tmp_path / "big")
    assert big < 1.3 * small, f"peak {big:.0f} MiB on {big_bytes >> 20} MiB of CSV, {small:.0f} MiB on a third"
    assert big * 2**20 < 0.6 * big_bytes, f"peak {big:.0f} MiB is not far below the data ({big_bytes >> 20} MiB)"
    rows = pq.ParquetFile(tmp_path / "out" / "big" / "rows.parquet").metadata.num_rows
    assert rows == 6 * CHUNKS_PER_FILE * CHUNK_ROWS * 49 // 100  # amount 0..99: 49 of every 100 rows are above 50
    groups = pq.read_table(tmp_path / "out" / "big" / "groups.parquet").to_pydict()
    assert sorted(groups["region"]) == [f"r{i}" for i in range(7)] and sum(groups["rows"]) == rows
