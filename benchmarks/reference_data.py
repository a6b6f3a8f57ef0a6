"""The reference job's data (issue 13): eight CSV files of generated orders.

Columns: ``id`` int, ``ts`` str (an ISO timestamp, kept as text), ``region``
str (20 values), ``amount`` float (0 to 100, two decimals, so ``amount > 50``
keeps about half), ``qty`` int (1 to 9), ``note`` str (short words, some
empty). About 50 bytes a row: 10M rows make about 500 MB of CSV.

``generate`` writes the rows one million at a time (bounded memory, so the 50M
rows of the memory figures are written by a small process); the same seed
gives the same files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

FILES = 8
REGIONS = [f"region_{i:02d}" for i in range(20)]
NOTES = ["", "", "ok", "gift", "rush", "late", "fragile", "promo"]
DTYPES = {"id": "int64", "ts": "str", "region": "str", "amount": "float64", "qty": "int64", "note": "str"}
"""The ``dtypes`` a flow declares for these files (``csv_source``)."""
BATCH_ROWS = 1_000_000
_START = 1_704_067_200  # 2024-01-01T00:00:00Z


def generate(folder: Path, rows: int, seed: int = 13) -> None:
    """Write ``rows`` rows over :data:`FILES` CSV files ``part-N.csv`` (1M rows at a time)."""
    import numpy as np
    import pyarrow.csv as pacsv

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    per_file = -(-rows // FILES)
    start = 0
    for index in range(FILES):
        count = max(0, min(per_file, rows - start))
        options = pacsv.WriteOptions(quoting_style="none")
        with pacsv.CSVWriter(folder / f"part-{index}.csv", schema=_schema(), write_options=options) as writer:
            done = 0
            while done < count:
                n = min(BATCH_ROWS, count - done)
                writer.write_batch(_batch(rng, start + done, n))
                done += n
        start += count


def _batch(rng: Any, first: int, n: int) -> Any:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = np.arange(first, first + n, dtype="int64")
    seconds = pa.array((_START + ids * 3).astype("datetime64[s]"))
    return pa.record_batch(
        [
            pa.array(ids),
            pc.strftime(seconds, format="%Y-%m-%dT%H:%M:%S"),
            pa.array(REGIONS).take(pa.array(rng.integers(0, len(REGIONS), n))),
            pa.array(np.round(rng.uniform(0, 100, n), 2)),
            pa.array(rng.integers(1, 10, n, dtype="int64")),
            pa.array(NOTES).take(pa.array(rng.integers(0, len(NOTES), n))),
        ],
        schema=_schema(),
    )


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema([("id", pa.int64()), ("ts", pa.string()), ("region", pa.string()),
                      ("amount", pa.float64()), ("qty", pa.int64()), ("note", pa.string())])


def csv_bytes(folder: Path) -> int:
    """Bytes of CSV in ``folder``."""
    return sum(p.stat().st_size for p in folder.glob("*.csv"))
