"""How ``pype validate`` + ``pype build`` scale with the number of modules.

Generates three flow shapes at 1,000 and 10,000 modules, builds each in
process (YAML read, schema, module resolution and configs, planning, job
folder written) and prints the time per module and the 1k -> 10k ratio
(10.0 means linear growth). Shapes:

``chain``     one sub flow: a source, N-2 transforms in a row, a sink (N data waves);
``fanout``    one sub flow: a source feeding N-1 sinks (one port, many inputs);
``subflows``  N/4 sub flows (source -> filter -> sink, plus a solo module) chained by
              control connections, with conditions, ``Last`` orders and templates.

The baseline is the floor any build pays: PyYAML's C loader reading the same
file plus ``json.dumps`` of the result, measured in the same run; the table
prints the build time as a multiple of it.

Run from the repository root::

    python benchmarks/build_scale.py            # 1k and 10k, best of 3
    python benchmarks/build_scale.py --sizes 1000 --repeat 1
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from pypeline.build.build import build_flow
from pypeline.modules.registry import Registry


def chain(n: int) -> str:
    """A source, n-2 noop transforms in a row, a sink."""
    source = "  - {id: m0, name: csv_source, configs: {required: {file_path: in.csv}}}"
    lines = ["flow: {name: bench_chain}", "modules:", source]
    lines += [f"  - {{id: m{i}, name: noop_mod}}" for i in range(1, n - 1)]
    lines.append(f"  - {{id: m{n - 1}, name: csv_sink, configs: {{required: {{output_path: out.csv}}}}}}")
    lines += ["connections:", "  data:"]
    lines += [f'    - "m{i}.{"data" if i == 0 else "output"} - m{i + 1}.input"' for i in range(n - 1)]
    return "\n".join(lines) + "\n"


def fanout(n: int) -> str:
    """One source port feeding n-1 sinks."""
    source = "  - {id: src, name: csv_source, configs: {required: {file_path: in.csv}}}"
    lines = ["flow: {name: bench_fanout}", "modules:", source]
    lines += [f"  - {{id: s{i}, name: noop_sink}}" for i in range(1, n)]
    lines += ["connections:", "  data:"]
    lines += [f'    - "src.data - s{i}.input"' for i in range(1, n)]
    return "\n".join(lines) + "\n"


def subflows(n: int) -> str:
    """n/4 sub flows of source -> filter -> sink plus a solo, chained by control connections."""
    groups = n // 4
    lines = [
        "flow: {name: bench_subflows, version: 1.0.0}",
        "settings: {retries: 1, fail_strategy: continue}",
        "context:",
        "  default: {in_dir: data, threshold: 10}",
        "  prod: {in_dir: /srv/data, threshold: 100}",
        "modules:",
    ]
    data: list[str] = []
    control: list[str] = []
    for g in range(groups):
        lines += [
            f"  - id: src{g}",
            "    name: csv_source",
            "    configs:",
            f'      required: {{file_path: "{{{{context.in_dir}}}}/part{g}.csv"}}',
            "      optional: {encoding: utf-8, delimiter: ','}",
            f"  - {{id: keep{g}, name: filter_mod, configs: {{required: {{condition: 'amount > 10'}}}}}}",
            f"  - {{id: out{g}, name: csv_sink, retries: 2,",
            f"      configs: {{required: {{output_path: out/part{g}.csv}}}}}}",
            f"  - {{id: mark{g}, name: set_globals,",
            f"      configs: {{required: {{values: {{done: '{{{{out{g}__row_count}}}}'}}}}}}}}",
        ]
        data += [f'    - "src{g}.data - keep{g}.input"', f'    - "keep{g}.output - out{g}.input"']
        control.append(f'    - "out{g} (1|) mark{g}"')
        if g + 1 < groups:
            control.append(f'    - "mark{g} (Last|mark{g}__done >= context.threshold) src{g + 1}"')
    lines += ["connections:", "  data:", *data, "  control:", *control]
    return "\n".join(lines) + "\n"


SHAPES: dict[str, Callable[[int], str]] = {"chain": chain, "fanout": fanout, "subflows": subflows}


def load_as_json(flow: Path) -> str:
    """The baseline: PyYAML's C loader and ``json.dumps`` of the same file."""
    return json.dumps(yaml.load(flow.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader))


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    """The fastest of ``repeat`` timed calls, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="pype-bench-"))
    registry = Registry(work / "ModRegistry.json")
    results: dict[tuple[str, int], float] = {}
    try:
        header = ("shape", "modules", "yaml KiB", "build s", "us/module", "baseline s", "x base")
        print(f"{header[0]:<9} " + " ".join(f"{h:>{w}}" for h, w in zip(header[1:], (8, 9, 8, 10, 11, 7), strict=True)))
        for shape in args.shapes:
            for size in args.sizes:
                text = SHAPES[shape](size)
                flow = work / f"{shape}_{size}.yaml"
                flow.write_text(text, encoding="utf-8")
                build_flow(flow, work / "warm", registry)  # imports and caches, not timed
                seconds = best_of(args.repeat, functools.partial(build_flow, flow, work / "jobs", registry))
                baseline = best_of(args.repeat, functools.partial(load_as_json, flow))
                results[(shape, size)] = seconds
                print(
                    f"{shape:<9} {size:>8} {len(text) / 1024:>9.0f} {seconds:>8.3f} {seconds / size * 1e6:>10.1f}"
                    f" {baseline:>11.3f} {seconds / baseline:>7.1f}"
                )
        if len(args.sizes) >= 2:
            small, large = min(args.sizes), max(args.sizes)
            print(f"\ngrowth {small} -> {large} modules (x{large / small:g} modules; {large / small:g} = linear):")
            for shape in args.shapes:
                ratio = results[(shape, large)] / results[(shape, small)]
                print(f"  {shape:<9} x{ratio:.1f}")
            worst = max(results[(shape, large)] for shape in args.shapes)
            print(f"\nslowest {large}-module build: {worst:.2f} s (goal < 3 s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
