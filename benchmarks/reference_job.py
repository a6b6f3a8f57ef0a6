"""The reference job, as a PYpeline flow and hand-written in pandas and pyarrow: time and peak memory.

The job: read CSV files -> keep rows with ``amount > 0 and qty >= 2`` ->
derive ``total = amount * qty`` -> group by (category, country): sum of
total, count, mean amount -> write Parquet; and write the filtered rows
(with ``total``) to Parquet.

Variants (each runs in its own subprocess, so peak RSS figures never mix;
the parent reads each child's peak from ``os.wait4``). The parent itself
stays small: generating data, sizing it and comparing outputs run in helper
subprocesses too, because Linux counts the parent's peak RSS at fork time in
a child's ``ru_maxrss`` (the child starts as a copy of it until ``exec``).

* ``pandas``      hand-written pandas
* ``pyarrow``     hand-written pyarrow (``pyarrow.csv``, ``pyarrow.compute``, ``Table.group_by``)
* ``pype-pandas`` the flow, ``execution_mode: pandas``, default settings
* ``pype-dask``   the flow, ``execution_mode: dask``, default settings (16MB blocks)

Then the memory-cap run: ``pype-dask`` (4MB blocks) on a dataset at least
``--cap-factor`` times larger than ``--cap-mb`` (both as CSV bytes and as the
in-memory size a pandas frame of it would take), reporting its peak RSS
against the cap.

Time ("job s") is measured the same way in every child: from the moment the
variant's data library is imported (pandas for ``pandas`` and the PYpeline
variants, pyarrow for ``pyarrow``) to the end of its work; for PYpeline that
includes importing PYpeline itself and the whole ``run_job`` (loading the job
folder, logs, manifest, checkpoint, the modules' own imports). Process time
(interpreter start and every import included, measured by the parent around
the subprocess) is printed too, with its own ratio. Each
variant runs ``--repeat`` times (default 3); the table shows the best time and
the median peak RSS (the machine may be shared: best-of-N damps the noise).

derive/aggregate: the flow uses the built-in ``derive_mod`` / ``aggregate_mod``
when they are registered, else the stand-ins in ``benchmarks/modules/``
(same configs); the report says which.

Usage (from the repository root)::

    python benchmarks/reference_job.py                       # 2M and 10M rows, then the cap run
    python benchmarks/reference_job.py --rows 200000 --cap-mb 300 --cap-factor 5   # quick
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.reference_data import csv_bytes, generate, memory_bytes  # noqa: E402

CONDITION = "amount > 0 and qty >= 2"
GROUP_BY = ["category", "country"]
VARIANTS = ("pandas", "pyarrow", "pype-pandas", "pype-dask")


# -- the flow -----------------------------------------------------------------------------------


def module_names() -> tuple[str, str, str]:
    """(derive, aggregate, which) - the built-ins when registered, else the benchmark stand-ins."""
    from pypeline.modules.builtins import BUILTIN_MODULES

    if "derive_mod" in BUILTIN_MODULES and "aggregate_mod" in BUILTIN_MODULES:
        return "derive_mod", "aggregate_mod", "built-in derive_mod / aggregate_mod"
    return (
        "benchmarks.modules.bench_derive.BenchDerive",
        "benchmarks.modules.bench_aggregate.BenchAggregate",
        "benchmarks/modules stand-ins (derive_mod / aggregate_mod not on main yet)",
    )


def flow_yaml(name: str, data: Path, out: Path, mode: str, spill_rows: int | None, blocksize: str = "16MB") -> str:
    derive, aggregate, _ = module_names()
    spill = f", spill: {{threshold_rows: {spill_rows}}}" if spill_rows is not None else ""
    rows_target = out / ("filtered" if mode == "dask" else "filtered.parquet")
    return f"""
flow: {{name: {name}}}
settings: {{execution_mode: {mode}{spill}}}
modules:
  - {{id: read, name: csv_source, configs: {{required: {{file_path: "{data}/*.csv"}},
                                          optional: {{blocksize: {blocksize}}}}}}}
  - {{id: keep, name: filter_mod, configs: {{required: {{condition: "{CONDITION}"}}}}}}
  - {{id: derive, name: {derive}, configs: {{required: {{columns: {{total: "amount * qty"}}}}}}}}
  - id: agg
    name: {aggregate}
    configs:
      required: {{aggregations: {{total_sum: "sum(total)", orders: "count(id)", amount_mean: "mean(amount)"}}}}
      optional: {{group_by: {json.dumps(GROUP_BY)}}}
  - {{id: write_agg, name: parquet_sink, configs: {{required: {{output_path: "{out / 'agg.parquet'}"}}}}}}
  - {{id: write_rows, name: parquet_sink, configs: {{required: {{output_path: "{rows_target}"}}}}}}
connections:
  data: ["read.data - keep.input", "keep.output - derive.input", "derive.output - agg.input",
         "agg.output - write_agg.input", "derive.output - write_rows.input"]
"""


def build(work: Path, name: str, text: str) -> Path:
    flow = work / f"{name}.yaml"
    flow.write_text(text)
    pype = str(Path(sys.executable).with_name("pype"))
    done = subprocess.run([pype, "build", str(flow), "--out", str(work / "jobs")],
                          cwd=work, env=_env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"pype build failed: {done.stdout}{done.stderr}")
    return work / "jobs" / name


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}


# -- the children -------------------------------------------------------------------------------


def child(variant: str, data: Path, out: Path, job: str | None) -> float:
    """Run one variant in this process; return its job time in seconds."""
    if variant == "pandas":
        import pandas as pd

        t0 = time.perf_counter()
        files = sorted(data.glob("*.csv"))
        frame = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
        frame = frame[(frame["amount"] > 0) & (frame["qty"] >= 2)]
        frame = frame.assign(total=frame["amount"] * frame["qty"])
        agg = frame.groupby(GROUP_BY, sort=True).agg(
            total_sum=("total", "sum"), orders=("id", "count"), amount_mean=("amount", "mean")
        ).reset_index()
        agg.to_parquet(out / "agg.parquet", index=False)
        frame.to_parquet(out / "filtered.parquet", index=False)
        return time.perf_counter() - t0
    if variant == "pyarrow":
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        t0 = time.perf_counter()
        table = pa.concat_tables([pacsv.read_csv(f) for f in sorted(data.glob("*.csv"))])
        table = table.filter(pc.and_(pc.greater(table["amount"], 0), pc.greater_equal(table["qty"], 2)))
        table = table.append_column("total", pc.multiply(table["amount"], table["qty"]))
        agg = table.group_by(GROUP_BY).aggregate([("total", "sum"), ("id", "count"), ("amount", "mean")])
        names = {"total_sum": "total_sum", "id_count": "orders", "amount_mean": "amount_mean"}
        agg = agg.rename_columns([names.get(c, c) for c in agg.column_names])
        agg = agg.sort_by([(k, "ascending") for k in GROUP_BY])
        pq.write_table(agg, out / "agg.parquet")
        pq.write_table(table, out / "filtered.parquet")
        return time.perf_counter() - t0
    from pypeline.run.engine.dask_mode import prepare_process

    prepare_process(str(job))  # what `pype run` does first, before pyarrow is imported (stdlib only)
    import pandas  # noqa: F401  - the same starting point as the hand-written job: pandas imported

    t0 = time.perf_counter()
    from pypeline.run.run import RunOptions, run_job_sync  # PYpeline's own imports count

    result = run_job_sync(str(job), RunOptions(progress="none", echo_logs=False))
    if result.status != "success":
        raise SystemExit(f"{variant}: run failed: {result.manifest['errors']}")
    return time.perf_counter() - t0


def measure(variant: str, data: Path, out: Path, job: Path | None = None) -> dict[str, Any]:
    """Run ``variant`` in a fresh subprocess; its job time, process time and peak RSS."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    args = [sys.executable, str(Path(__file__).resolve()), "--child", variant, "--data", str(data), "--out", str(out)]
    if job is not None:
        args += ["--job", str(job)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, env=_env(), cwd=out, stdout=subprocess.PIPE, text=True)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    output = proc.stdout.read() if proc.stdout else ""
    if proc.stdout:
        proc.stdout.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{variant} failed (exit {os.waitstatus_to_exitcode(status)}): {output}")
    return {"variant": variant, "job_s": json.loads(output.strip().splitlines()[-1])["seconds"], "process_s": wall,
            "peak_mb": usage.ru_maxrss / 1024}


def check_same(outputs: dict[str, Path]) -> None:
    """Every variant computed the same aggregates and kept the same rows."""
    import numpy as np
    import pandas as pd

    reference = None
    for variant, out in outputs.items():
        agg = pd.read_parquet(out / "agg.parquet").sort_values(GROUP_BY).reset_index(drop=True)
        rows = pd.read_parquet(out / ("filtered" if (out / "filtered").is_dir() else "filtered.parquet"),
                               columns=["id"])
        figures = (agg[GROUP_BY].astype(str).values.tolist(), agg["orders"].astype(int).tolist(),
                   agg["total_sum"].to_numpy(), agg["amount_mean"].to_numpy(), len(rows), int(rows["id"].sum()))
        if reference is None:
            reference = figures
            continue
        same = (figures[0] == reference[0] and figures[1] == reference[1] and figures[4:] == reference[4:]
                and np.allclose(figures[2], reference[2]) and np.allclose(figures[3], reference[3]))
        if not same:
            raise SystemExit(f"{variant}: outputs differ from the first variant's")


# -- the report ---------------------------------------------------------------------------------


def table(rows: int, results: list[dict[str, Any]]) -> None:
    base = next(r for r in results if r["variant"] == "pandas")
    print(f"\n{rows:,} rows")
    print(f"{'variant':<20}{'job s':>9}{'process s':>11}{'peak RSS MB':>13}{'time x pandas':>15}"
          f"{'process x pandas':>18}{'mem x pandas':>14}")
    for r in results:
        print(f"{r['variant']:<20}{r['job_s']:>9.2f}{r['process_s']:>11.2f}{r['peak_mb']:>13.0f}"
              f"{r['job_s'] / base['job_s']:>15.2f}{r['process_s'] / base['process_s']:>18.2f}"
              f"{r['peak_mb'] / base['peak_mb']:>14.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[2_000_000, 10_000_000])
    parser.add_argument("--cap-mb", type=int, default=400, help="memory cap for the dask run (peak RSS)")
    parser.add_argument("--cap-factor", type=float, default=5.0, help="dataset size / cap, at least")
    parser.add_argument("--no-cap-run", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant (best time, median peak RSS)")
    parser.add_argument("--work", type=Path, default=None, help="working folder (default: a temporary one)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS,
                        help="variants to run (pandas, the baseline of the ratios, always runs)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--job", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--task", nargs="+", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps({"seconds": child(args.child, args.data, args.out, args.job)}))
        return
    if args.task:
        print(json.dumps(task(*args.task)))
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="pype_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    # PYpeline's bytecode, as a pip install compiles it: without it (an editable install under
    # PYTHONDONTWRITEBYTECODE) every run would compile PYpeline's sources again, which no
    # installed copy does, while pandas and pyarrow come compiled
    compileall.compile_dir(str(REPO / "pypeline"), quiet=1)
    print(f"working folder: {work}; derive/aggregate: {module_names()[2]}; cpus: {os.cpu_count()}")
    try:
        variants = ["pandas", *(v for v in args.variants if v != "pandas")]
        for rows in args.rows:
            run_size(work, rows, args.repeat, variants)
        if not args.no_cap_run:
            run_cap(work, args.cap_mb, args.cap_factor)
        import resource

        parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"\n(the measuring parent's own peak RSS: {parent:.0f} MB, below every child's figure)")
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


def task(name: str, *args: str) -> Any:
    """Heavy work the parent hands to a helper subprocess (see the module docstring)."""
    if name == "generate":
        generate(Path(args[0]), int(args[1]))
        return None
    if name == "sizes":
        return [csv_bytes(Path(args[0])), memory_bytes(Path(args[0]))]
    if name == "check":
        check_same({Path(a).name: Path(a) for a in args})
        return None
    raise SystemExit(f"unknown task {name}")


def in_helper(name: str, *args: str) -> Any:
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--task", name, *args],
                          env=_env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"task {name} failed: {done.stdout}{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_size(work: Path, rows: int, repeat: int, variants: list[str]) -> None:
    tag = f"{rows // 1000}k"
    data = work / f"data_{tag}"
    if not data.exists():
        in_helper("generate", str(data), str(rows))
    jobs = {
        "pype-pandas": build(work, f"ref_pandas_{tag}", flow_yaml(f"ref_pandas_{tag}", data, work / "out" / tag /
                                                                  "pype-pandas", "pandas", None)),
        "pype-dask": build(work, f"ref_dask_{tag}", flow_yaml(f"ref_dask_{tag}", data, work / "out" / tag /
                                                              "pype-dask", "dask", None)),
    }
    results, outputs = [], {}
    for variant in variants:
        out = work / "out" / tag / variant
        runs = [measure(variant, data, out, jobs.get(variant)) for _ in range(repeat)]
        peaks = sorted(r["peak_mb"] for r in runs)
        results.append({"variant": variant, "job_s": min(r["job_s"] for r in runs),
                         "process_s": min(r["process_s"] for r in runs), "peak_mb": peaks[len(peaks) // 2]})
        outputs[variant] = out
    in_helper("check", *(str(out) for out in outputs.values()))
    print(f"data: {csv_bytes(data) / 2**20:,.0f} MB of CSV; outputs of all variants agree")
    table(rows, results)


def run_cap(work: Path, cap_mb: int, factor: float) -> None:
    cap = cap_mb * 2**20
    data = work / "data_cap"
    rows = 2_000_000
    while True:  # grow until both the CSV and its in-memory size exceed factor x cap
        if data.exists():
            shutil.rmtree(data)
        in_helper("generate", str(data), str(rows))
        on_disk, in_memory = in_helper("sizes", str(data))
        if min(on_disk, in_memory) >= factor * cap:
            break
        rows = int(rows * factor * cap / min(on_disk, in_memory) * 1.05) + 1
    job = build(work, "ref_dask_cap", flow_yaml("ref_dask_cap", data, work / "out" / "cap", "dask", None, "4MB"))
    result = measure("pype-dask", data, work / "out" / "cap", job)
    verdict = "UNDER" if result["peak_mb"] * 2**20 <= cap else "OVER"
    print(f"\nmemory cap run: {rows:,} rows, {on_disk / 2**20:,.0f} MB CSV, {in_memory / 2**20:,.0f} MB as a pandas "
          f"frame = {min(on_disk, in_memory) / cap:.1f}x the {cap_mb} MB cap")
    print(f"pype-dask: {result['job_s']:.1f}s, peak RSS {result['peak_mb']:.0f} MB: {verdict} the cap")
    shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
