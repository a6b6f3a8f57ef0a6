"""Per-module overhead of ``pype run`` on small frames: a chain of ``filter_mod`` against boolean masks.

The case of issue 13 ("small-frame overhead"): a chain of N ``filter_mod``
modules with ``condition: age > -1`` (every row kept) on a 5,000-row frame,
for N = 200, 1,000 and 2,000, built once with ``pype build`` and run in this
process with ``run_job`` (the whole run: load the job folder, open the log,
render, check and record every module, log lines, manifest, checkpoint).
The source emits the mode's own kind of frame (a pandas frame, an Arrow
table, a stream of one batch), so each mode's filters work on it. The
baseline is the same N filters written by hand as boolean masks on the same
data in the same process: ``frame = frame[frame["age"] > -1]`` in pandas
mode, ``table = table.filter(pc.greater(table["age"], -1))`` in the Arrow
modes. A pandas mask computed on the column's numpy array
(``frame[frame["age"].to_numpy() > -1]``) skips pandas' Series operators and
is the cheapest filter written by hand on this frame; it is shown beside
(``np mask``, ``over np``), since ``filter_mod`` compiles a numeric
condition that way (``frame_expressions/numeric_mask.py``).

Figures are **CPU time** of the whole process (``time.process_time``: the
event loop and every thread of the run's pool), best of ``--repeat`` runs:
on a loaded machine, wall time measures the other processes as much as this
one. Wall time (best) is printed beside it.

* ``µs/module``: the run's CPU time divided by N;
* ``fixed``: the CPU time of the same job with no filter (source -> sink),
  which every run pays once (loading the job folder, opening the log,
  writing the manifest twice, the checkpoint);
* ``overhead µs/module``: ``(cpu(N) - fixed) / N - mask`` where ``mask`` is
  the hand-written filter's CPU time per filter: what a module costs beyond
  the work it does. The goal (issue 13) is at most 50 µs, flat from 200 to
  2,000 modules. ``over np`` is the same against the numpy mask. It is split in two:
* ``of it: module``: N ``FilterMod`` instances awaited one after the other
  with a bare ``RunContext`` (no engine) on the mode's kind (a table in the
  Arrow modes), minus ``mask``: what the module itself adds (compiling its
  condition, the expression's checks, globals);
* ``engine``: the rest: records, log lines, artifacts, the task per node,
  the manifest and checkpoint entries.

Usage (from the repository root)::

    python benchmarks/module_overhead.py [--repeat 5] [--sizes 200,1000,2000] [--rows 5000] [--mode MODE]
                                         [--profile N]

``--profile N`` runs the chain of N filters once under cProfile and prints
the 40 functions with the most own time.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402

from benchmarks.noop_modules import small_frame  # noqa: E402
from pypeline.build.build import build_flow  # noqa: E402
from pypeline.job.folder import read_job_folder  # noqa: E402
from pypeline.run.run import RunOptions, run_job  # noqa: E402

CONDITION = "age > -1"


def chain_flow(name: str, filters: int, rows: int, mode: str = "auto") -> str:
    """``source -> filter_mod x filters -> noop_sink`` as flow YAML, in execution mode ``mode``."""
    modules = [{"id": "src", "name": "benchmarks.noop_modules.FrameSource", "configs": {"optional": {"rows": rows}}}]
    modules += [{"id": f"f{i}", "name": "filter_mod", "configs": {"required": {"condition": CONDITION}}}
                for i in range(1, filters + 1)]
    modules.append({"id": "out", "name": "noop_sink"})
    ids = [m["id"] for m in modules]
    edges = [f"{src}.{'data' if src == 'src' else 'output'} - {dst}.input" for src, dst in itertools.pairwise(ids)]
    lines = [f"flow: {{name: {name}}}", f"settings: {{execution_mode: {mode}}}", "modules:",
             *("  - " + json.dumps(m) for m in modules),
             "connections:", f"  data: {json.dumps(edges)}"]
    return "\n".join(lines) + "\n"


async def modules_cpu(frame: pd.DataFrame | pa.Table, filters: int) -> float:
    """CPU seconds for ``filters`` ``filter_mod`` instances run one after the other without the engine.

    Each is a fresh instance awaited with a fresh :class:`RunContext`, as a backend does,
    but no records, logs, artifacts or tasks: what the module itself costs.
    """
    from pypeline.modules.mods.filter_mod import FilterMod
    from pypeline.modules.sdk.context import RunContext, ThreadRunner
    from pypeline.modules.sdk.globals import GlobalStore

    store, threads, logger = GlobalStore(), ThreadRunner(None), _NullLogger()
    start = time.process_time()
    for i in range(filters):
        ctx = RunContext(run_id="r", module_id=f"f{i}", node_id=f"f{i}", globals_store=store, executor=threads,
                         logger=logger)
        frame = (await FilterMod({"condition": CONDITION}).run({"input": frame}, ctx))["output"]
    return time.process_time() - start


class _NullLogger:
    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


def masks_cpu(frame: pd.DataFrame, filters: int) -> float:
    """CPU seconds for ``filters`` hand-written boolean-mask filters, one after the other."""
    start = time.process_time()
    for _ in range(filters):
        frame = frame[frame["age"] > -1]
    return time.process_time() - start


def arrow_masks_cpu(table: pa.Table, filters: int) -> float:
    """CPU seconds for ``filters`` hand-written Arrow filters (a compute kernel's mask), one after the other."""
    start = time.process_time()
    for _ in range(filters):
        table = table.filter(pc.greater(table.column("age"), -1))
    return time.process_time() - start


def numpy_masks_cpu(frame: pd.DataFrame, filters: int) -> float:
    """CPU seconds for ``filters`` hand-written masks computed on the column's numpy array."""
    start = time.process_time()
    for _ in range(filters):
        frame = frame[frame["age"].to_numpy() > -1]
    return time.process_time() - start


async def run_once(job: Path, run_id: str) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one in-process run of ``job``."""
    options = RunOptions(run_id=run_id, progress="none", echo_logs=False, threads=4)
    cpu, wall = time.process_time(), time.perf_counter()
    result = await run_job(job, options)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if result.status != "success":
        raise SystemExit(f"{job.name}: run {run_id} failed: {result.manifest['errors'][:3]}")
    return cpu, wall


def best_run(job: Path, repeat: int) -> tuple[float, float]:
    """Best CPU and best wall seconds over ``repeat`` runs (each in a fresh event loop)."""
    runs = [asyncio.run(run_once(job, f"r{i}")) for i in range(repeat)]
    return min(cpu for cpu, _ in runs), min(wall for _, wall in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per size (the best is reported)")
    parser.add_argument("--sizes", default="200,1000,2000", help="chain lengths, comma-separated")
    parser.add_argument("--rows", type=int, default=5000, help="rows of the frame")
    parser.add_argument("--profile", type=int, help="profile one run of a chain of this many filters")
    parser.add_argument("--mode", default="auto", help="execution mode of the chain (auto, pandas, arrow, stream)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="pype-overhead-"))
    try:
        if args.profile:
            _profile(build(work, args.profile, args.rows, args.mode))
            return
        jobs = {n: build(work, n, args.rows, args.mode) for n in [0, *sizes]}
        mode = str(read_job_folder(jobs[sizes[0]], check_hash=False).settings["execution_mode"])  # auto: as built
        frame = small_frame(args.rows)
        arrow = mode in ("arrow", "stream")
        data = pa.Table.from_pandas(frame, preserve_index=False) if arrow else frame
        hand_written = arrow_masks_cpu if arrow else masks_cpu
        fixed, fixed_wall = best_run(jobs[0], args.repeat)
        print(f"chain of filter_mod ({CONDITION!r}) on {args.rows:,} rows, mode {mode}; CPU time of the "
              f"process, best of {args.repeat}; fixed cost of a run (source -> sink): {fixed * 1e3:.1f} ms CPU, "
              f"{fixed_wall * 1e3:.1f} ms wall")
        print(f"{'modules':>8} {'run ms':>8} {'µs/module':>10} {'mask µs':>8} {'overhead µs/module':>19} "
              f"{'of it: module':>14} {'engine':>7} {'wall overhead':>14} {'np mask µs':>11} {'over np':>8}")
        for n in sizes:
            cpu, wall = best_run(jobs[n], args.repeat)
            mask = min(hand_written(data, n) for _ in range(args.repeat)) / n * 1e6
            np_mask = min(numpy_masks_cpu(frame, n) for _ in range(args.repeat)) / n * 1e6
            alone = min(asyncio.run(modules_cpu(data, n)) for _ in range(args.repeat)) / n * 1e6
            overhead = (cpu - fixed) / n * 1e6 - mask
            print(f"{n:>8} {cpu * 1e3:>8.1f} {cpu / n * 1e6:>10.1f} {mask:>8.1f} {overhead:>19.1f} "
                  f"{alone - mask:>14.1f} {overhead - (alone - mask):>7.1f} "
                  f"{(wall - fixed_wall) / n * 1e6 - mask:>14.1f} {np_mask:>11.1f} {overhead + mask - np_mask:>8.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def build(work: Path, filters: int, rows: int, mode: str) -> Path:
    """The job folder of a chain of ``filters`` filters in execution mode ``mode``."""
    flow = work / f"chain{filters}.yaml"
    flow.write_text(chain_flow(f"chain{filters}", filters, rows, mode), encoding="utf-8")
    return build_flow(flow, work / "jobs")


def _profile(job: Path) -> None:
    import cProfile
    import pstats

    asyncio.run(run_once(job, "warmup"))
    profiler = cProfile.Profile()
    profiler.enable()
    asyncio.run(run_once(job, "profiled"))
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(40)


if __name__ == "__main__":
    main()
