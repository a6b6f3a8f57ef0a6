"""Framework overhead per module of ``pype run``, for three flow shapes of 2,000 no-op modules.

Shapes (built once with ``pype build``, then run several times):

* ``chain``: one sub flow, ``source -> mod -> ... -> mod -> sink`` (2,000 modules);
* ``fan-out``: one sub flow, one source feeding 1,999 sinks;
* ``subflows``: 500 sub flows of 4 modules (source -> mod -> mod -> sink) linked
  into one chain by control connections (``sink_i (1|) source_i+1``).

For each shape the script times the whole in-process run (``run_job``: load the
job folder, open the log, run every module with its RunContext, templates,
records, log lines and progress events, write the manifest) and prints
microseconds per module, next to a bare ``asyncio.gather`` of 2,000 no-op
coroutines measured in the same process. "Overhead" is run time per module
minus the bare per-coroutine time. Best of N runs.

Each shape runs twice: with checkpoints off (``settings.checkpoint.enabled:
false``: the scheduler, node runner, log and manifest alone) and with the
default checkpoints (one journal record appended per finished sub flow
instance; fsyncs happen in groups on a background thread, never awaited by
the run). The script also times one atomic (fsynced) file write on the same
file system: what a checkpoint would cost per sub flow instance if the run
waited for the disk.

Two options measure what keeps timeouts and signals (docs/running.md, "Timeouts
and signals"): ``--guard`` runs as ``pype run`` does (the run's own event loop,
SIGINT/SIGTERM handlers, the watchdog process with its heartbeat and signal
pipes), ``--timeouts`` gives every module ``timeout: 60`` (each attempt then
runs under ``asyncio.timeout`` with its own thread runner, and, with
``--guard``, tells the watchdog when it starts and ends).

``--split`` prints, for the chain with checkpoints, where the run's CPU time
goes per module: loading the job folder, the sub flow runner, the checkpoint
records, the manifest, the rest (``engine_split.py``).

Usage (from the repository root)::

    python benchmarks/scheduler_overhead.py [--repeat 5] [--guard] [--timeouts] [--profile chain [--checkpoints]]
                                            [--split]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.engine_split import print_split, split_run  # noqa: E402
from pypeline.build.build import build_flow  # noqa: E402
from pypeline.run.run import RunOptions, run_job  # noqa: E402

N_MODULES = 2000
PKG = "benchmarks.noop_modules"


MODULE_TIMEOUT: float | None = None
"""``--timeouts``: the ``timeout:`` every module gets."""


def _module(module_id: str, cls: str) -> str:
    entry: dict[str, object] = {"id": module_id, "name": f"{PKG}.{cls}"}
    if MODULE_TIMEOUT:
        entry["timeout"] = MODULE_TIMEOUT
    return "  - " + json.dumps(entry)


def chain_flow() -> str:
    modules = [_module("m0", "NoopSource")]
    modules += [_module(f"m{i}", "NoopMod") for i in range(1, N_MODULES - 1)]
    modules.append(_module(f"m{N_MODULES - 1}", "NoopSink"))
    data = [f"m{i - 1}.{'data' if i == 1 else 'output'} - m{i}.input" for i in range(1, N_MODULES)]
    return _flow("chain", modules, data, [])


def fanout_flow() -> str:
    modules = [_module("src", "NoopSource")] + [_module(f"s{i}", "NoopSink") for i in range(1, N_MODULES)]
    data = [f"src.data - s{i}.input" for i in range(1, N_MODULES)]
    return _flow("fanout", modules, data, [])


def subflows_flow() -> str:
    modules, data, control = [], [], []
    for k in range(N_MODULES // 4):
        modules += [_module(f"a{k}", "NoopSource"), _module(f"b{k}", "NoopMod"),
                    _module(f"c{k}", "NoopMod"), _module(f"d{k}", "NoopSink")]
        data += [f"a{k}.data - b{k}.input", f"b{k}.output - c{k}.input", f"c{k}.output - d{k}.input"]
        if k:
            control.append(f"d{k - 1} (1|) a{k}")
    return _flow("subflows", modules, data, control)


def _flow(name: str, modules: list[str], data: list[str], control: list[str]) -> str:
    lines = [f"flow: {{name: {name}}}", "settings: {checkpoint: {enabled: CHECKPOINTS}}", "modules:", *modules,
             "connections:", f"  data: {json.dumps(data)}"]
    if control:
        lines.append(f"  control: {json.dumps(control)}")
    return "\n".join(lines) + "\n"


SHAPES = {"chain": chain_flow, "fan-out": fanout_flow, "subflows": subflows_flow}
SHAPE_JOBS = {"chain": "chain", "fan-out": "fanout", "subflows": "subflows"}


def _atomic_write_ms(folder: Path, n: int = 50) -> float:
    """Milliseconds for one atomic write (temp file, fsync, rename, directory fsync) in ``folder``."""
    from pypeline.core.jsonio import atomic_write_text

    start = time.perf_counter()
    for i in range(n):
        atomic_write_text(folder / f"probe{i}.json", "{}\n")
    return (time.perf_counter() - start) / n * 1000


async def bare_gather(n: int) -> float:
    """Seconds for ``asyncio.gather`` of ``n`` no-op coroutines."""

    async def noop() -> dict[str, None]:
        return {}

    start = time.perf_counter()
    await asyncio.gather(*(noop() for _ in range(n)))
    return time.perf_counter() - start


async def time_run(job: Path, run_id: str, guard: bool = False) -> float:
    options = RunOptions(run_id=run_id, progress="none", echo_logs=False, threads=4, guard=guard)
    start = time.perf_counter()
    result = await run_job(job, options, own_loop=guard)
    elapsed = time.perf_counter() - start
    if result.status != "success" or len(result.manifest["modules"]) != N_MODULES:
        raise SystemExit(f"{job.name}: run {run_id} did not succeed: {result.manifest['errors'][:3]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per shape (best is reported)")
    parser.add_argument("--profile", choices=sorted(SHAPES), help="profile one run of this shape with cProfile")
    parser.add_argument("--checkpoints", action="store_true", help="with --profile: the checkpointed variant")
    parser.add_argument("--guard", action="store_true", help="run as pype run does: own loop, signals, watchdog")
    parser.add_argument("--timeouts", action="store_true", help="give every module timeout: 60")
    parser.add_argument("--split", action="store_true", help="the chain's CPU time per module, by part of the engine")
    args = parser.parse_args()
    global MODULE_TIMEOUT
    MODULE_TIMEOUT = 60.0 if args.timeouts else None
    work = Path(tempfile.mkdtemp(prefix="pype-bench-"))
    try:
        jobs: dict[tuple[str, bool], Path] = {}
        for checkpoints in (False, True):
            for name, make in SHAPES.items():
                flow_file = work / f"{name}-{checkpoints}.yaml"
                text = make().replace("CHECKPOINTS", "true" if checkpoints else "false")
                flow_file.write_text(text.replace(f"name: {SHAPE_JOBS[name]}}}",
                                                  f"name: {SHAPE_JOBS[name]}_{'cp' if checkpoints else 'nocp'}}}"),
                                     encoding="utf-8")
                jobs[(name, checkpoints)] = build_flow(flow_file, work / "jobs")
        if args.profile:
            _profile(jobs[(args.profile, args.checkpoints)])
            return
        if args.split:
            job = jobs[("chain", True)]
            print_split(split_run(lambda run_id: _cpu_run(job, run_id), N_MODULES, args.repeat), job)
            return
        bare = min(asyncio.run(bare_gather(N_MODULES)) for _ in range(args.repeat)) / N_MODULES * 1e6
        fsync_ms = _atomic_write_ms(work)
        variant = ", ".join(v for v, on in (("guarded as pype run", args.guard), ("timeout: 60", args.timeouts)) if on)
        print(f"{N_MODULES} no-op modules per shape{f' ({variant})' if variant else ''}, best of {args.repeat} runs; "
              "bare asyncio.gather: "
              f"{bare:.2f} µs per coroutine; one atomic fsynced file write here: {fsync_ms:.2f} ms")
        print(f"{'shape':<10} {'checkpoints':>11} {'run µs/module':>14} {'overhead µs/module':>19} {'median':>8}")
        for (name, checkpoints), job in jobs.items():
            times = [asyncio.run(time_run(job, f"r{i}", args.guard)) / N_MODULES * 1e6 for i in range(args.repeat)]
            best = min(times)
            label = "on" if checkpoints else "off"
            print(f"{name:<10} {label:>11} {best:>14.1f} {best - bare:>19.1f} {statistics.median(times):>8.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _cpu_run(job: Path, run_id: str) -> float:
    """CPU seconds of one in-process run of ``job`` (a fresh event loop)."""
    start = time.process_time()
    asyncio.run(time_run(job, run_id))
    return time.process_time() - start


def _profile(job: Path) -> None:
    import cProfile
    import pstats

    asyncio.run(time_run(job, "warmup"))
    profiler = cProfile.Profile()
    profiler.enable()
    asyncio.run(time_run(job, "profiled"))
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
