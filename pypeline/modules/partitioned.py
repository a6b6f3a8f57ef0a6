"""Writing a dask frame without ever holding it whole: one file per partition, in one pass.

Sinks in ``execution_mode: dask`` must not call ``compute()`` on their input
(that builds the whole frame in memory), nor compute it partition by
partition in a Python loop (``get_partition(i).compute()`` recomputes any
shared upstream work, a shuffle or an aggregation, once per partition).
:func:`partition_writes` turns every partition into a task that writes its
rows to ``part-00000<suffix>``, ``part-00001<suffix>``, ... and returns their
count; a sink computes them with ``await ctx.compute(...)`` (in parallel, each
partition freed once written, in one ``dask.compute`` with the other sinks of
the sub flow), so the row count comes for free with the write.
:func:`write_partitions` does the same at once, for code outside a run.

A sink that wants one file then calls :func:`concat_parts`, which appends
the part files in order into the target (a byte copy, constant memory).
Both run inside the sink's temporary output (``atomic_output_path_async``),
so a killed run leaves no partial file under the final name.

Example (what ``csv_sink`` does)::

    async with atomic_output_path_async(path, ctx) as tmp:
        parts = parts_folder(tmp)
        writes = partition_writes(frame, parts, lambda part, p, i: part.to_csv(p, header=i == 0), ".csv")
        (counts,) = await ctx.compute(writes)
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

    ``folder`` is created. Partitions are computed once, in one ``dask.compute``
    (a sink in a run uses :func:`partition_writes` and ``ctx.compute`` instead, to share it).
    """
    from dask.base import compute

    (counts,) = compute(partition_writes(frame, folder, writer, suffix))
    return written_rows(counts)


def partition_writes(frame: Any, folder: Path, writer: PartWriter, suffix: str) -> Any:
    """The lazy write of each partition of dask ``frame`` to ``folder/part-NNNNN<suffix>`` (``folder`` is created).

    A dask series of per-partition row counts: computing it writes the files;
    :func:`written_rows` adds its result up. It is built with ``map_partitions``,
    an expression like the frame itself, so that computed together with other
    sinks' writes of the same data (``ctx.compute``) the shared work runs once
    (a ``to_delayed()`` graph is optimised on its own and would read it again).
    """
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    meta = pd.Series([], dtype="int64", name="rows")
    return frame.map_partitions(_write_one, folder, suffix, writer, meta=meta, enforce_metadata=False)


def written_rows(counts: Any) -> int:
    """The rows written, from the computed result of :func:`partition_writes`."""
    return int(counts.sum())


def _write_one(part: Any, folder: Path, suffix: str, writer: PartWriter, partition_info: Any = None) -> Any:
    import pandas as pd

    index = int((partition_info or {}).get("number", 0))
    writer(part, folder / f"part-{index:05d}{suffix}", index)
    return pd.Series([len(part)], dtype="int64", name="rows")


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


def concat_and_remove(parts: Path, target: Path) -> None:
    """Append the part files of folder ``parts`` in name order into ``target``, then remove the folder."""
    concat_parts(sorted(parts.iterdir()), target)
    shutil.rmtree(parts, ignore_errors=True)


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
