"""Per-module overhead of a chain of ``filter_mod`` on a small frame (issue 13's small-frame goal).

The flow: ``csv_source`` (5,000 rows, ``dtypes`` declared) -> N x ``filter_mod``
(``age > -1``, which keeps every row) -> ``noop_sink``, built once per N and
per execution mode, then run in this process with ``run_job`` (load the job
folder, run every module with its context, records and log lines, write the
manifest). The same flow with no filter is the baseline, so what is left is
what the filters cost:

    per module = (run time with N filters - run time with none) / N

and the overhead is that minus one hand-written boolean mask
(``frame[frame["age"] > -1]`` on the same 5,000 rows, pandas), measured in
the same process. Best of ``--repeat`` runs each. The goal is an overhead of
at most 50 µs per module, flat from 200 to 2,000 modules.

Usage (from the repository root)::

    python benchmarks/filter_chain.py [--sizes 200 2000] [--modes pandas arrow stream] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pypeline.build.build import build_flow  # noqa: E402
from pypeline.run.run import RunOptions, run_job  # noqa: E402

ROWS = 5_000


def write_data(path: Path) -> None:
    lines = ["id,age,name"] + [f"{i},{i % 90},n{i % 37}" for i in range(ROWS)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def flow_text(name: str, data: Path, filters: int, mode: str) -> str:
    source = {"id": "read", "name": "csv_source",
              "configs": {"required": {"file_path": str(data)},
                          "optional": {"dtypes": {"id": "int64", "age": "int64", "name": "str"}}}}
    modules = [source]
    modules += [{"id": f"f{i}", "name": "filter_mod", "configs": {"required": {"condition": "age > -1"}}}
                for i in range(filters)]
    modules.append({"id": "sink", "name": "noop_sink"})
    ids = [m["id"] for m in modules]
    ports = ["data"] + ["output"] * filters
    data_edges = [f"{ids[i]}.{ports[i]} - {ids[i + 1]}.input" for i in range(len(ids) - 1)]
    return "\n".join([
        f"flow: {{name: {name}}}",
        f"settings: {{execution_mode: {mode}, checkpoint: {{enabled: false}}}}",
        "modules:", *(f"  - {json.dumps(m)}" for m in modules),
        "connections:", f"  data: {json.dumps(data_edges)}",
    ]) + "\n"


async def time_run(job: Path, run_id: str, modules: int) -> float:
    options = RunOptions(run_id=run_id, progress="none", echo_logs=False)
    start = time.perf_counter()
    result = await run_job(job, options)
    elapsed = time.perf_counter() - start
    if result.status != "success" or len(result.manifest["modules"]) != modules:
        raise SystemExit(f"{job.name}: run {run_id} failed: {result.manifest['errors'][:3]}")
    return elapsed


def best_run(job: Path, modules: int, repeat: int) -> float:
    return min(asyncio.run(time_run(job, f"r{i}", modules)) for i in range(repeat))


def mask_seconds(data: Path) -> float:
    """One hand-written pandas boolean mask on the 5,000 rows (best of several loops)."""
    import pandas as pd

    frame = pd.read_csv(data, engine="pyarrow")
    loops = 2_000
    return min(timeit.repeat(lambda: frame[frame["age"] > -1], number=loops, repeat=5)) / loops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 2000])
    parser.add_argument("--modes", nargs="+", default=["pandas", "arrow", "stream"])
    parser.add_argument("--repeat", type=int, default=3, help="runs per flow (best is reported)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pype-filter-chain-"))
    try:
        data = work / "people.csv"
        write_data(data)
        mask = mask_seconds(data)
        print(f"{ROWS:,} rows; one hand-written pandas mask: {mask * 1e6:.0f} µs; best of {args.repeat} runs")
        print(f"{'mode':<8}{'filters':>8}{'run s':>8}{'µs/module':>11}{'overhead µs/module':>20}")
        for mode in args.modes:
            timed: dict[int, float] = {}
            for filters in [0, *args.sizes]:
                name = f"chain_{mode}_{filters}"
                flow = work / f"{name}.yaml"
                flow.write_text(flow_text(name, data, filters, mode), encoding="utf-8")
                job = build_flow(flow, work / "jobs")
                timed[filters] = best_run(job, filters + 2, args.repeat)
            for filters in args.sizes:
                per = (timed[filters] - timed[0]) / filters
                print(f"{mode:<8}{filters:>8}{timed[filters]:>8.2f}{per * 1e6:>11.0f}{(per - mask) * 1e6:>20.0f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
