"""Writing a dask frame without ever holding it whole: one file per partition, in one pass.

Sinks in ``execution_mode: dask`` must not call ``compute()`` on their input
(that builds the whole frame in memory), nor compute it partition by
partition in a Python loop (``get_partition(i).compute()`` recomputes any
shared upstream work, a shuffle or an aggregation, once per partition).
:func:`write_partitions` turns every partition into a task that writes its
rows to ``part-00000<suffix>``, ``part-00001<suffix>``, ... and returns their
count; the tasks run in one ``dask.compute`` (in parallel, each partition
freed once written), so the row count comes for free with the write.

A sink that wants one file then calls :func:`concat_parts`, which appends
the part files in order into the target (a byte copy, constant memory).
Both run inside the sink's temporary output (``atomic_output_path``), so a
killed run leaves no partial file under the final name.

Example (what ``csv_sink`` does)::

    with atomic_output_path(path, ctx) as tmp:
        parts = parts_folder(tmp)
        rows = write_partitions(frame, parts, lambda part, p, i: part.to_csv(p, header=i == 0), ".csv")
        concat_parts(sorted(parts.iterdir()), tmp)
"""

from __future__ import annotations

import codecs
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

PartWriter = Callable[[Any, Path, int], None]
"""``writer(pandas_partition, path, index)`` writes one partition to ``path``."""


def write_partitions(frame: Any, folder: Path, writer: PartWriter, suffix: str) -> int:
    """Write each partition of dask ``frame`` to ``folder/part-NNNNN<suffix>``; return the rows written.

    ``folder`` is created. Partitions are computed once, in one ``dask.compute``.
    """
    from dask.base import compute
    from dask.delayed import delayed

    folder.mkdir(parents=True, exist_ok=True)
    tasks = [
        delayed(_write_one)(part, folder / f"part-{index:05d}{suffix}", index, writer)
        for index, part in enumerate(frame.to_delayed())
    ]
    counts = compute(*tasks)
    return int(sum(counts))


def _write_one(part: Any, path: Path, index: int, writer: PartWriter) -> int:
    writer(part, path, index)
    return len(part)


def parts_folder(tmp: Path) -> Path:
    """A sibling folder for the part files of temporary output ``tmp``.

    It lies in the same private temporary folder as ``tmp`` (see ``atomic_output_path``),
    so it goes when that folder goes, and a killed run's leftover is removed by ``--resume``.
    """
    return tmp.with_name(f"{tmp.name}.parts")


def concat_parts(parts: Sequence[Path], target: Path, chunk_bytes: int = 1 << 20) -> None:
    """Append the files ``parts`` in order into ``target`` (created or truncated), in constant memory."""
    with open(target, "wb") as out:
        for part in parts:
            with open(part, "rb") as fh:
                shutil.copyfileobj(fh, out, chunk_bytes)


def continuation_encoding(encoding: str) -> str:
    """The encoding for a part that continues a file: the same bytes without a byte-order mark.

    ``utf-16`` / ``utf-32`` / ``utf-8-sig`` write a BOM at the start of every file they
    open; only the first part may carry it.
    """
    name = codecs.lookup(encoding).name
    if name == "utf-8-sig":
        return "utf-8"
    if name in ("utf-16", "utf-32"):
        return f"{name}-{'le' if sys.byteorder == 'little' else 'be'}"
    return encoding
