"""The output cache on the reference job: a cold run, then a warm rerun that recomputes nothing (docs/cache.md).

The job is ``benchmarks/reference_job.py``'s flow (CSV files -> filter ->
derive -> aggregate -> two Parquet sinks) with ``settings.cache.enabled``.
Each run is a fresh process. As in ``reference_job.py``, "job s" runs from
the moment pandas is imported to the end of ``run_job`` (PYpeline's own
imports, loading the job folder, the cache look-ups, logs and manifest
count); "process s" and "cpu s" cover the whole process (interpreter start
and every import included, from ``os.wait4``), so they carry a fixed cost of
about a second that no cache can save. The warm run must show every module
``cached``: the script checks the manifest and fails otherwise.

Usage (from the repository root)::

    python benchmarks/cache_rerun.py                  # 2M rows
    python benchmarks/cache_rerun.py --rows 500000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.reference_data import generate  # noqa: E402
from benchmarks.reference_job import build_text  # noqa: E402
from benchmarks.reference_variants import flow_yaml  # noqa: E402


def cached_flow(work: Path, data: Path, out: Path) -> str:
    """The reference flow (pandas mode) with the cache on for every module, its store in ``work``."""
    text = flow_yaml("cache_bench", data, out, "pandas")
    store = work / "cache-store"
    return text.replace("settings: {execution_mode: pandas}",
                        f'settings: {{execution_mode: pandas, cache: {{enabled: true, store: "{store}"}}}}')


def child(job: str) -> float:
    """One run in this process; its job time (from pandas imported to the end of the run)."""
    import pandas  # noqa: F401  - the same starting point as reference_job.py's variants

    started = time.perf_counter()
    from pypeline.run.run import RunOptions, run_job_sync

    result = run_job_sync(job, RunOptions(progress="none", echo_logs=False))
    if result.status != "success":
        raise SystemExit(f"run failed: {result.manifest['errors']}")
    return time.perf_counter() - started


def timed_run(job: Path, cwd: Path) -> dict[str, Any]:
    """One run in its own process: job, process and CPU seconds, and the statuses of its modules."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child", str(job)], cwd=cwd,
                            stdout=subprocess.PIPE, text=True)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    output = proc.stdout.read() if proc.stdout else ""
    if proc.stdout:
        proc.stdout.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"the run failed (exit {os.waitstatus_to_exitcode(status)}): {output}")
    manifests = sorted((job / "runs").glob("*/manifest.json"), key=lambda p: p.stat().st_mtime)
    manifest = json.loads(manifests[-1].read_text())
    return {"job": float(json.loads(output.strip().splitlines()[-1])["seconds"]), "wall": wall,
            "cpu": usage.ru_utime + usage.ru_stime,
            "statuses": sorted({r["status"] for r in manifest["modules"].values()})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="warm reruns (the best is shown)")
    parser.add_argument("--work", type=Path, default=None, help="working folder (default: a temporary one)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps({"seconds": child(args.child)}))
        return
    with tempfile.TemporaryDirectory(prefix="pype-cache-bench-") as tmp:
        work = args.work or Path(tmp)
        data, out = work / "data", work / "out"
        if not data.exists():
            generate(data, args.rows)
        out.mkdir(parents=True, exist_ok=True)
        job = build_text(work, "cache_bench", cached_flow(work, data, out))
        cold = timed_run(job, work)
        if cold["statuses"] != ["success"]:
            raise SystemExit(f"the cold run should compute every module, got {cold['statuses']}")
        warm = [timed_run(job, work) for _ in range(args.repeat)]
        for run in warm:
            if run["statuses"] != ["cached"]:
                raise SystemExit(f"a warm rerun recomputed something: {run['statuses']}")
        best = min(warm, key=lambda r: r["job"])
        print(f"reference job, {args.rows:,} rows, cache on (pandas mode); best of {args.repeat} warm reruns")
        print(f"{'run':<22}{'job s':>9}{'process s':>11}{'cpu s':>9}")
        for label, run in (("cold (computes)", cold), ("warm (all cached)", best)):
            print(f"{label:<22}{run['job']:>9.2f}{run['wall']:>11.2f}{run['cpu']:>9.2f}")
        print(f"speed-up: {cold['job'] / best['job']:.1f}x job, {cold['wall'] / best['wall']:.1f}x process, "
              f"{cold['cpu'] / best['cpu']:.1f}x cpu")


if __name__ == "__main__":
    main()
