"""The reference job's data: CSV files of generated orders, and how big they are.

``generate`` writes ``rows`` rows over :data:`FILES` files in batches of one
million (bounded memory, so the cap run's 49M rows can be written by a small
process); the same seed gives the same files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

FILES = 4
CATEGORIES = [f"cat_{i:02d}" for i in range(20)]
COUNTRIES = ["FR", "DE", "ES", "IT", "NL", "BE", "PT", "PL", "SE", "DK", "AT", "IE"]


def generate(folder: Path, rows: int, seed: int = 7) -> None:
    """Write ``rows`` rows over ``FILES`` CSV files (1M rows at a time, bounded memory)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    per_file = -(-rows // FILES)
    start = 0
    for index in range(FILES):
        count = min(per_file, rows - start)
        with pacsv.CSVWriter(folder / f"part-{index}.csv", schema=_schema()) as writer:
            done = 0
            while done < count:
                n = min(1_000_000, count - done)
                ids = np.arange(start + done, start + done + n)
                batch = pa.record_batch(
                    [
                        pa.array(ids),
                        pa.array(np.array(CATEGORIES)[rng.integers(0, len(CATEGORIES), n)]),
                        pa.array(np.array(COUNTRIES)[rng.integers(0, len(COUNTRIES), n)]),
                        pa.array(np.round(rng.normal(50, 40, n), 2)),
                        pa.array(rng.integers(0, 10, n)),
                        pa.array(np.char.add("order-", ids.astype(str))),
                    ],
                    schema=_schema(),
                )
                writer.write_batch(batch)
                done += n
        start += count


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema([("id", pa.int64()), ("category", pa.string()), ("country", pa.string()),
                      ("amount", pa.float64()), ("qty", pa.int64()), ("note", pa.string())])


def csv_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.glob("*.csv"))


def memory_bytes(folder: Path) -> int:
    """What a pandas frame of all the files would take: measured on 200k rows, scaled."""
    import pandas as pd

    files = sorted(folder.glob("*.csv"))
    sample = pd.read_csv(files[0], nrows=200_000)
    per_row = sample.memory_usage(index=True, deep=True).sum() / len(sample)
    rows = sum(_count_lines(f) - 1 for f in files)
    return int(per_row * rows)


def _count_lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b""))
