"""``sample_mod``: a random sample of rows: a ``fraction`` of them, or exactly ``n``.

With a ``seed`` the sample is the same on every run (for the same input and
partitioning). Sampled rows keep their input order in pandas mode.

In dask mode, ``fraction`` samples each partition; ``n`` gives every row a
random number and keeps the ``n`` smallest (an exact uniform sample without
replacement, a tree reduction with bounded memory); both stay lazy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from pypeline.modules.common.column_rules import same_columns
from pypeline.modules.kinds import kind_of
from pypeline.modules.sdk import BaseModule, RunContext
from pypeline.modules.sdk.columns import Columns

_KEY = "__sample_key"


def _with_random_key(
    part: pd.DataFrame, seed: int | None, partition_info: dict[str, Any] | None = None
) -> pd.DataFrame:
    number = (partition_info or {}).get("number", 0)
    rng = np.random.default_rng(None if seed is None else [seed, number])
    return part.assign(**{_KEY: rng.random(len(part))})


class SampleMod(BaseModule):
    """Random sample of rows."""

    TYPE = "mod"
    VERSION = "1.0.0"
    DESCRIPTION = "Keeps a random sample of rows (a fraction, or exactly n), reproducible with a seed"
    CATEGORY = "Transforms"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    GLOBALS = ["row_count", "rows_dropped"]
    CONFIG_SCHEMA = {
        "required": {},
        "optional": {
            "fraction": {"type": "float|null", "default": None, "description": "Share of rows to keep (0 to 1)"},
            "n": {"type": "int|null", "default": None, "description": "Exact number of rows to keep"},
            "seed": {"type": "int|null", "default": None, "description": "Random seed for a reproducible sample"},
        },
    }

    @classmethod
    def check_configs(cls, configs: Mapping[str, Any]) -> list[str]:
        fraction, n = configs.get("fraction"), configs.get("n")
        if (fraction is None) == (n is None):
            return ["give exactly one of 'fraction' and 'n'"]
        if isinstance(fraction, (int, float)) and not 0 <= fraction <= 1:
            return [f"'fraction' must be between 0 and 1, got {fraction}"]
        if isinstance(n, int) and n < 0:
            return [f"'n' must not be negative, got {n}"]
        return []

    @classmethod
    def output_columns(
        cls, configs: Mapping[str, Any], inputs: Mapping[str, Columns | None]
    ) -> dict[str, Columns | None]:
        return same_columns(inputs)

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        fraction, n, seed = self.configs["fraction"], self.configs["n"], self.configs["seed"]
        if not kind_of(frame).lazy:
            if n is not None:
                result = frame.sample(n=min(n, len(frame)), random_state=seed)
            else:
                result = frame.sample(frac=fraction, random_state=seed)
            result = result.loc[frame.index.intersection(result.index, sort=False)] if frame.index.is_unique else result
        elif fraction is not None:
            return {"output": frame.sample(frac=fraction, random_state=seed)}
        else:
            keyed = frame.map_partitions(_with_random_key, seed, meta=_with_random_key(frame._meta, seed))
            smallest = keyed.nsmallest(n, _KEY)
            return {
                "output": smallest.map_partitions(lambda part: part.sort_index().drop(columns=_KEY), meta=frame._meta)
            }
        ctx.set_global("row_count", len(result))
        ctx.set_global("rows_dropped", len(frame) - len(result))
        return {"output": result}
