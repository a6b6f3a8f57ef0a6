"""The reference job side by side: PYpeline in each mode against hand-written pyarrow, pandas and dask.

Every variant (:mod:`benchmarks.reference_variants`) runs in its own child
process, one after the other, in rounds: round 1 runs every variant once,
then round 2, ... (``--repeat``, default 3), so a change in the machine's load
falls on all variants alike. For each child the parent reads, from
``os.wait4``, the whole process's wall time (interpreter start, imports and
all), its CPU time (user + system) and its peak resident memory
(``ru_maxrss``). The table shows the medians and the ratios to hand-written
pyarrow, the goals of issue 13 beside them, and how noisy the rounds were
(the largest max/min wall time over the variants). Generating the data and
comparing the outputs run in helper processes, so the parent stays small
(Linux counts a parent's peak memory at fork time in a child's figure).
The children import PYpeline from this tree; its bytecode is written first
(:mod:`benchmarks.bytecode`), as an install would have it.

The memory figures run PYpeline's default mode (stream for this flow) at 10M
and 50M rows (``--memory-rows``): with bounded memory its peak stays the same
within 20%.

Usage (from the repository root)::

    python benchmarks/reference_job.py                       # 2M and 10M rows, then 10M vs 50M memory
    python benchmarks/reference_job.py --rows 200000 --memory-rows --repeat 1   # quick
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.bytecode import compile_sources  # noqa: E402
from benchmarks.reference_data import csv_bytes, generate  # noqa: E402
from benchmarks.reference_variants import (  # noqa: E402
    HAND_WRITTEN,
    PYPE_MODES,
    flow_yaml,
    outputs_agree,
    run_pype,
)

VARIANTS = ("pyarrow", "pandas", "dask", *(f"pype-{m}" for m in PYPE_MODES))
GOALS = {
    "best": "best PYpeline mode vs pyarrow: <= 1.2x wall, <= 1.5x peak memory (10M rows)",
    "pandas": "pype-pandas vs hand-written pandas (engine=pyarrow): <= 1.1x wall",
    "dask": "pype-dask vs plain dask: <= 1.1x wall",
    "memory": "stream mode peak memory at the largest vs the smallest size: the same within 20% (1.2x)",
}


# -- the children ----------------------------------------------------------------------------------


def child(variant: str, data: Path, out: Path, job: str | None) -> dict[str, Any]:
    """Run one variant in this process."""
    if variant in HAND_WRITTEN:
        HAND_WRITTEN[variant](data, out)
        return {"mode": variant}
    return {"mode": run_pype(Path(str(job)))}


def measure(variant: str, data: Path, out: Path, job: Path | None) -> dict[str, Any]:
    """Run ``variant`` in a fresh child process: wall and CPU seconds, peak RSS (MiB), the mode it ran in."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    args = [sys.executable, str(Path(__file__).resolve()), "--child", variant, "--data", str(data), "--out", str(out)]
    if job is not None:
        args += ["--job", str(job)]
    started = time.perf_counter()
    proc = subprocess.Popen(args, env=_env(), cwd=out, stdout=subprocess.PIPE, text=True)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4: Popen must not think it still runs
    output = proc.stdout.read() if proc.stdout else ""
    if proc.stdout:
        proc.stdout.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{variant} failed (exit {os.waitstatus_to_exitcode(status)}): {output}")
    told = json.loads(output.strip().splitlines()[-1])
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak": usage.ru_maxrss / 1024, **told}


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}


def in_helper(task: str, *args: str) -> Any:
    """Heavy work (generating data, comparing outputs) in a helper process (see the module docstring)."""
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--task", task, *args],
                          env=_env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"task {task} failed: {done.stdout}{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def task(name: str, *args: str) -> Any:
    if name == "generate":
        generate(Path(args[0]), int(args[1]))
        return None
    if name == "check":
        return outputs_agree({Path(a).name: Path(a) for a in args})
    if name == "machine":
        return machine()
    raise SystemExit(f"unknown task {name}")


# -- one data size ---------------------------------------------------------------------------------


def dataset(work: Path, rows: int) -> Path:
    data = work / f"data_{rows}"
    if not data.exists():
        in_helper("generate", str(data), str(rows))
    return data


def build(work: Path, data: Path, rows: int, mode: str) -> Path:
    name = f"ref_{mode}_{rows}"
    return build_text(work, name, flow_yaml(name, data, work / "out" / str(rows) / f"pype-{mode}", mode))


def build_text(work: Path, name: str, text: str) -> Path:
    """``pype build`` of the flow ``text`` (named ``name``) into ``work/jobs``; its job folder."""
    flow = work / f"{name}.yaml"
    flow.write_text(text)
    pype = str(Path(sys.executable).with_name("pype"))
    done = subprocess.run([pype, "build", str(flow), "--out", str(work / "jobs")], cwd=work, env=_env(),
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"pype build failed: {done.stdout}{done.stderr}")
    return work / "jobs" / name


def run_size(work: Path, rows: int, repeat: int, variants: list[str]) -> dict[str, dict[str, Any]]:
    """Every variant ``repeat`` times in rounds; the medians per variant."""
    data = dataset(work, rows)
    jobs = {v: build(work, data, rows, v.removeprefix("pype-")) for v in variants if v.startswith("pype-")}
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    for _ in range(repeat):
        for variant in variants:
            out = work / "out" / str(rows) / variant
            runs[variant].append(measure(variant, data, out, jobs.get(variant)))
    problem = in_helper("check", *(str(work / "out" / str(rows) / v) for v in variants))
    if problem:
        raise SystemExit(problem)
    return {v: _medians(r) for v, r in runs.items()} | {"_data": {"bytes": csv_bytes(data)}}


def _medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    walls = [r["wall"] for r in runs]
    return {"wall": statistics.median(walls), "cpu": statistics.median(r["cpu"] for r in runs),
            "peak": statistics.median(r["peak"] for r in runs), "spread": max(walls) / min(walls),
            "mode": runs[0]["mode"]}


# -- the report ------------------------------------------------------------------------------------


def report(rows: int, results: dict[str, dict[str, Any]], repeat: int) -> None:
    base = results["pyarrow"]
    print(f"\n{rows:,} rows, {results['_data']['bytes'] / 2**20:,.0f} MiB of CSV, medians of {repeat}; "
          "outputs of all variants agree")
    print(f"{'variant':<22}{'wall s':>8}{'cpu s':>8}{'peak MiB':>10}{'wall x pa':>11}{'mem x pa':>10}"
          f"{'cpu x pa':>10}{'spread':>8}")
    for variant, r in results.items():
        if variant.startswith("_"):
            continue
        name = f"{variant} ({r['mode']})" if variant == "pype-auto" else variant
        print(f"{name:<22}{r['wall']:>8.2f}{r['cpu']:>8.2f}{r['peak']:>10.0f}{r['wall'] / base['wall']:>11.2f}"
              f"{r['peak'] / base['peak']:>10.2f}{r['cpu'] / base['cpu']:>10.2f}{r['spread']:>8.2f}")
    pype = {v: r for v, r in results.items() if v.startswith("pype-")}
    if pype:
        best = min(pype, key=lambda v: pype[v]["wall"])
        print(f"  {GOALS['best']}: {best} {pype[best]['wall'] / base['wall']:.2f}x wall, "
              f"{pype[best]['peak'] / base['peak']:.2f}x memory")
    for mine, theirs in (("pype-pandas", "pandas"), ("pype-dask", "dask")):
        if mine in results and theirs in results:
            print(f"  {GOALS[theirs]}: {results[mine]['wall'] / results[theirs]['wall']:.2f}x")


def memory_run(work: Path, sizes: list[int], repeat: int) -> None:
    """Peak memory of the default mode (and hand-written pyarrow) at each size."""
    peaks: dict[int, dict[str, Any]] = {}
    for rows in sizes:
        data = dataset(work, rows)
        job = build(work, data, rows, "auto")
        runs = [measure("pype-auto", data, work / "out" / f"mem{rows}", job) for _ in range(repeat)]
        peaks[rows] = _medians(runs)
        shutil.rmtree(work / "out" / f"mem{rows}", ignore_errors=True)
    print(f"\nmemory, default mode ({peaks[sizes[0]]['mode']}), medians of {repeat}:")
    for rows, r in peaks.items():
        print(f"  {rows:>12,} rows: peak {r['peak']:.0f} MiB, wall {r['wall']:.1f} s, cpu {r['cpu']:.1f} s")
    if len(sizes) > 1:
        low, high = peaks[sizes[0]]["peak"], peaks[sizes[-1]]["peak"]
        print(f"  {GOALS['memory']}: {high / low:.2f}x")


def machine() -> str:
    from importlib.metadata import version

    cpus = os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{platform.platform()}, {cpus} cpus, load {load:.1f}; Python {platform.python_version()}, "
            f"pyarrow {version('pyarrow')}, pandas {version('pandas')}, dask {version('dask')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[2_000_000, 10_000_000])
    parser.add_argument("--memory-rows", type=int, nargs="*", default=[10_000_000, 50_000_000])
    parser.add_argument("--repeat", type=int, default=3, help="rounds (medians over them)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--work", type=Path, default=None, help="working folder (kept; default: a temporary one)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--job", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--task", nargs="+", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.data, args.out, args.job)))
        return
    if args.task:
        print(json.dumps(task(*args.task)))
        return
    compile_sources()  # the children import this tree: give them the bytecode an install has
    work = args.work or Path(tempfile.mkdtemp(prefix="pype_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    variants = ["pyarrow", *(v for v in args.variants if v != "pyarrow")]
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"machine: {in_helper('machine')}")
    try:
        for rows in args.rows:
            report(rows, run_size(work, rows, args.repeat, variants), args.repeat)
        if args.memory_rows:
            memory_run(work, args.memory_rows, args.repeat)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
