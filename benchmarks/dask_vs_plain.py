"""PYpeline's dask mode against plain dask on the reference job: wall time, CPU time and peak memory.

The job (issue 13): read CSV files (``id`` int, ``ts`` str, ``region`` str of
20 values, ``amount`` float, ``qty`` int, ``note`` str), keep ``amount > 50``,
add ``total = amount * qty``, write the kept rows to Parquet and
``sum(total), count(*)`` by ``region`` to Parquet.

* ``dask``       plain dask: ``dd.read_csv(engine="pyarrow")``, the same
                 blocksize, and one ``dask.compute`` for both ``to_parquet``
* ``dask-typed`` the same with every column's type given (``dtype=``): dask
                 then skips pyarrow's own guess (``ts`` read as timestamps
                 and turned back into text), which plain ``dask`` pays for
* ``pype-dask``  the flow (csv_source -> filter_mod -> derive_mod ->
                 parquet_sink, aggregate_mod -> parquet_sink) run with
                 ``execution_mode: dask``, as ``pype run`` runs it

Each run is a subprocess of its own (the parent reads its peak RSS and CPU
time from ``os.wait4``); the variants alternate run after run, so a load
change on a shared machine hits both alike. "job s" is timed inside the
child from the moment pandas is imported (PYpeline's own imports, loading
the job folder, logs, manifest and checkpoint included); "cpu s" is the
child's user + system time (every thread), the figure least moved by other
processes on the machine. The table shows medians (and the spread, min-max),
the ratios of the medians, and the machine's load average before and after.
The outputs of the two variants are compared (same rows, same totals).
PYpeline's bytecode is written before the first child starts
(:mod:`benchmarks.bytecode`): the children import it from this tree, and an
installed ``pype`` has its bytecode, as dask has.

Usage (from the repository root)::

    python benchmarks/dask_vs_plain.py                       # 2M rows, 8 files, 3 runs each
    python benchmarks/dask_vs_plain.py --rows 10000000 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
REGIONS = [f"region_{i:02d}" for i in range(20)]
NOTES = ["", "gift", "express delivery", "call before", "fragile, handle with care"]
VARIANTS = ("dask", "dask-typed", "pype-dask")
DTYPES = {"id": "int64", "ts": "str", "region": "str", "amount": "float64", "qty": "int64", "note": "str"}


def generate(folder: Path, rows: int, files: int, seed: int = 13) -> None:
    """Write ``rows`` rows over ``files`` CSV files, 250k rows at a time (bounded memory)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    schema = pa.schema([("id", pa.int64()), ("ts", pa.string()), ("region", pa.string()),
                        ("amount", pa.float64()), ("qty", pa.int64()), ("note", pa.string())])
    per_file, start = -(-rows // files), 0
    for index in range(files):
        count = min(per_file, rows - start)
        with pacsv.CSVWriter(folder / f"orders-{index}.csv", schema=schema) as writer:
            done = 0
            while done < count:
                n = min(250_000, count - done)
                ids = np.arange(start + done, start + done + n)
                seconds = rng.integers(0, 365 * 86400, n).astype("timedelta64[s]")
                stamps = (np.datetime64("2024-01-01T00:00:00") + seconds).astype(str)
                writer.write_batch(pa.record_batch([
                    pa.array(ids), pa.array(stamps),
                    pa.array(np.array(REGIONS)[rng.integers(0, len(REGIONS), n)]),
                    pa.array(np.round(rng.uniform(0, 100, n), 2)), pa.array(rng.integers(1, 10, n)),
                    pa.array(np.array(NOTES)[rng.integers(0, len(NOTES), n)]),
                ], schema=schema))
                done += n
        start += count


def flow_yaml(data: Path, out: Path, blocksize: str) -> str:
    return f"""
flow: {{name: dask_vs_plain}}
settings: {{execution_mode: dask}}
modules:
  - {{id: read, name: csv_source, configs: {{required: {{file_path: "{data}/*.csv"}},
                                          optional: {{blocksize: {blocksize}}}}}}}
  - {{id: keep, name: filter_mod, configs: {{required: {{condition: "amount > 50"}}}}}}
  - {{id: derive, name: derive_mod, configs: {{required: {{columns: {{total: "amount * qty"}}}}}}}}
  - id: totals
    name: aggregate_mod
    configs:
      required: {{aggregations: {{total_sum: "sum(total)", orders: "count(*)"}}}}
      optional: {{group_by: [region]}}
  - {{id: write_rows, name: parquet_sink, configs: {{required: {{output_path: "{out / 'rows'}"}}}}}}
  - {{id: write_totals, name: parquet_sink, configs: {{required: {{output_path: "{out / 'totals'}"}}}}}}
connections:
  data: ["read.data - keep.input", "keep.output - derive.input", "derive.output - write_rows.input",
         "derive.output - totals.input", "totals.output - write_totals.input"]
"""


# -- the children -------------------------------------------------------------------------------


def child(variant: str, data: Path, out: Path, job: str | None, blocksize: str) -> float:
    """Run one variant in this process; return its job time in seconds."""
    if variant in ("dask", "dask-typed"):
        import pandas

        t0 = time.perf_counter()
        import dask.dataframe as dd
        from dask.base import compute

        dtypes = DTYPES if variant == "dask-typed" else None
        frame = dd.read_csv(str(data / "*.csv"), engine="pyarrow", blocksize=blocksize, dtype=dtypes)
        kept = frame[frame["amount"] > 50]
        kept = kept.assign(total=kept["amount"] * kept["qty"])
        totals = kept.groupby("region").agg(total_sum=("total", "sum"), orders=("total", "count"))
        compute(kept.to_parquet(str(out / "rows"), write_index=False, compute=False),
                totals.to_parquet(str(out / "totals"), compute=False))
        return time.perf_counter() - t0
    from pypeline.run.engine.dask_mode import prepare_process

    prepare_process(str(job))  # what `pype run` does first, before pyarrow is imported
    import pandas  # noqa: F401

    t0 = time.perf_counter()
    from pypeline.run.run import RunOptions, run_job_sync

    result = run_job_sync(str(job), RunOptions(progress="none", echo_logs=False))
    if result.status != "success":
        raise SystemExit(f"{variant}: run failed: {result.manifest['errors']}")
    return time.perf_counter() - t0


def measure(variant: str, data: Path, out: Path, job: Path, blocksize: str) -> dict[str, Any]:
    """Run ``variant`` in a fresh subprocess: job time, process wall time, CPU time, peak RSS."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    args = [sys.executable, str(Path(__file__).resolve()), "--child", variant, "--data", str(data),
            "--out", str(out), "--job", str(job), "--blocksize", blocksize]
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, env=_env(), cwd=out, stdout=subprocess.PIPE, text=True)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    output = proc.stdout.read() if proc.stdout else ""
    if proc.stdout:
        proc.stdout.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{variant} failed (exit {os.waitstatus_to_exitcode(status)}): {output}")
    return {"job_s": json.loads(output.strip().splitlines()[-1])["seconds"], "process_s": wall,
            "cpu_s": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024}


def same_outputs(first: Path, second: Path) -> None:
    """The two variants kept the same rows and computed the same totals."""
    import numpy as np
    import pandas as pd

    def figures(out: Path) -> tuple[Any, ...]:
        rows = pd.read_parquet(out / "rows", columns=["id", "total"])
        totals = pd.read_parquet(out / "totals")
        totals = (totals.reset_index() if "region" not in totals.columns else totals).sort_values("region")
        return (len(rows), int(rows["id"].sum()), float(rows["total"].sum()),
                totals["region"].astype(str).tolist(), totals["orders"].astype(int).tolist(),
                totals["total_sum"].to_numpy())

    a, b = figures(first), figures(second)
    if a[:2] != b[:2] or a[3:5] != b[3:5] or not np.allclose(a[5], b[5]) or not np.isclose(a[2], b[2]):
        raise SystemExit(f"the outputs in {first} and {second} differ")


# -- the report ---------------------------------------------------------------------------------


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}


def report(rows: int, size_mb: float, runs: dict[str, list[dict[str, Any]]], loads: list[float]) -> None:
    print(f"\n{rows:,} rows, {size_mb:,.0f} MB of CSV; load average (1 min) before/after: "
          f"{loads[0]:.1f} / {loads[1]:.1f} on {os.cpu_count()} cpus")
    print(f"{'variant':<12}{'job s':>18}{'process s':>12}{'cpu s':>18}{'peak RSS MB':>13}")
    for variant, results in runs.items():
        job = [r["job_s"] for r in results]
        cpu = [r["cpu_s"] for r in results]
        print(f"{variant:<12}{statistics.median(job):>8.2f} ({min(job):.2f}-{max(job):.2f})"
              f"{statistics.median([r['process_s'] for r in results]):>12.2f}"
              f"{statistics.median(cpu):>8.2f} ({min(cpu):.2f}-{max(cpu):.2f})"
              f"{statistics.median([r['peak_mb'] for r in results]):>13.0f}")
    ours = runs["pype-dask"]
    for plain in ("dask", "dask-typed"):
        ratios = [
            f"{label} {statistics.median(r[key] for r in ours) / statistics.median(r[key] for r in runs[plain]):.2f}"
            for key, label in (("job_s", "job"), ("process_s", "process"), ("cpu_s", "cpu"), ("peak_mb", "peak RSS"))
        ]
        print(f"pype-dask / {plain}: " + ", ".join(ratios))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--blocksize", default="64MB", help="bytes per partition, for both variants")
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant (medians are shown)")
    parser.add_argument("--work", type=Path, default=None, help="working folder (default: a temporary one)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--job", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps({"seconds": child(args.child, args.data, args.out, args.job, args.blocksize)}))
        return
    sys.path.insert(0, str(REPO))
    from benchmarks.bytecode import compile_sources

    compile_sources()  # the children import this tree: give them the bytecode an install has
    work = args.work or Path(tempfile.mkdtemp(prefix="pype_dask_bench_"))
    try:
        run(work, args.rows, args.files, args.blocksize, args.repeat)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


def run(work: Path, rows: int, files: int, blocksize: str, repeat: int) -> None:
    data = work / f"data_{rows}_{files}"
    if not data.exists():
        subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(REPO)!r}); "
                        f"from benchmarks.dask_vs_plain import generate; from pathlib import Path; "
                        f"generate(Path({str(data)!r}), {rows}, {files})"], check=True, env=_env())
    flow = work / "dask_vs_plain.yaml"
    flow.write_text(flow_yaml(data, work / "out" / "pype-dask", blocksize))
    pype = str(Path(sys.executable).with_name("pype"))
    built = subprocess.run([pype, "build", str(flow), "--out", str(work / "jobs")], cwd=work, env=_env(),
                           capture_output=True, text=True)
    if built.returncode != 0:
        raise SystemExit(f"pype build failed: {built.stdout}{built.stderr}")
    job = work / "jobs" / "dask_vs_plain"
    loads = [os.getloadavg()[0]]
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    for index in range(repeat):
        for variant in VARIANTS[index % 3:] + VARIANTS[: index % 3]:  # each variant first in turn
            runs[variant].append(measure(variant, data, work / "out" / variant, job, blocksize))
    loads.append(os.getloadavg()[0])
    for plain in ("dask", "dask-typed"):
        same_outputs(work / "out" / plain, work / "out" / "pype-dask")
    size = sum(p.stat().st_size for p in data.glob("*.csv")) / 2**20
    report(rows, size, runs, loads)


if __name__ == "__main__":
    main()
