"""What a ``filter_mod`` condition costs on a 5,000-row frame: compiled expression vs a hand-written mask.

For each condition the script prints, in microseconds (best of N runs of a
loop), and as ratios to the hand-written code:

* ``compile``: parsing, checking and compiling the text (once per module instance);
* ``pandas``: the compiled pandas form filtering the frame (``FrameExpression.filter``);
* ``hand``: the same filter written by hand as a pandas boolean mask;
* ``module``: what one filter_mod instance pays: compile + filter;
* ``arrow``: ``Table.filter`` with the compiled Arrow form, next to ``arrow hand``,
  the same ``pyarrow.compute`` expression written by hand.

Not a test: the numbers depend on the machine. Usage (from the repository root)::

    python benchmarks/expression_cost.py [--rows 5000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import timeit
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pypeline.modules.common.frame_expressions import compile_expression

CASES: list[tuple[str, Callable[[pd.DataFrame], Any], Any]] = [
    ("age > 18",
     lambda f: f[f["age"] > 18],
     pc.field("age") > 18),
    ("age > 18 and country == 'FR'",
     lambda f: f[(f["age"] > 18) & (f["country"] == "FR")],
     (pc.field("age") > 18) & (pc.field("country") == "FR")),
    ("amount * 1.2 >= 100 or country in ['DE', 'ES']",
     lambda f: f[(f["amount"] * 1.2 >= 100) | f["country"].isin(["DE", "ES"])],
     (pc.multiply(pc.field("amount"), 1.2) >= 100) | pc.is_in(pc.field("country"), pa.array(["DE", "ES"]))),
    ("name.str.startswith('a') & ~amount.isna()",
     lambda f: f[f["name"].str.startswith("a", na=False) & f["amount"].notna()],
     pc.starts_with(pc.field("name"), "a") & pc.invert(pc.is_null(pc.field("amount"), nan_is_null=True))),
]


def frame_of(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    amount = rng.uniform(0, 200, rows)
    amount[rng.random(rows) < 0.05] = np.nan
    return pd.DataFrame({
        "age": rng.integers(0, 90, rows),
        "country": rng.choice(["FR", "DE", "ES", "IT"], rows),
        "amount": amount,
        "name": rng.choice(["ana", "ben", "alice", "cy", "bob"], rows),
    })


def best_us(fn: Callable[[], Any], repeat: int) -> float:
    timer = timeit.Timer(fn)
    loops, _ = timer.autorange()
    return min(timer.repeat(repeat, loops)) / loops * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    frame = frame_of(args.rows)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    print(f"{args.rows:,} rows, best of {args.repeat}; microseconds (ratio to the hand-written form)")
    print(f"{'condition':50} {'compile':>8} {'pandas':>15} {'hand':>8} {'module':>15} {'arrow':>15} "
          f"{'arrow hand':>10}")
    ratios = []
    for text, hand, arrow_hand in CASES:
        compiled = compile_expression(text, "condition")
        assert compiled.filter(frame).equals(hand(frame)), text
        arrow = compiled.arrow(table.schema)
        assert compiled.filter_table(table).num_rows == table.filter(arrow_hand).num_rows, text
        compile_us = best_us(functools.partial(compile_expression, text, "condition"), args.repeat)
        pandas_us = best_us(functools.partial(compiled.filter, frame), args.repeat)
        hand_us = best_us(functools.partial(hand, frame), args.repeat)
        module_us = compile_us + pandas_us
        arrow_us = best_us(functools.partial(table.filter, arrow), args.repeat)
        arrow_hand_us = best_us(functools.partial(table.filter, arrow_hand), args.repeat)
        ratios.append(pandas_us / hand_us)
        print(f"{text:50} {compile_us:8.0f} {pandas_us:8.0f} ({pandas_us / hand_us:4.2f}) {hand_us:8.0f} "
              f"{module_us:8.0f} ({module_us / hand_us:4.2f}) {arrow_us:8.0f} ({arrow_us / arrow_hand_us:4.2f}) "
              f"{arrow_hand_us:10.0f}")
    print(f"median pandas / hand ratio: {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
