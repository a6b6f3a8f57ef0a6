"""``ParquetArtifact``: a frame spilled to local Parquet, read back on demand.

A pandas frame is written to one file, a slice of rows at a time (so the
Arrow copy made while writing stays bounded), with the pandas metadata of the
*whole* frame: reading it back gives the same dtypes (nullable ``Int64``,
``string``/``str``, ``boolean``, tz-aware datetimes, categoricals) and the
same index. A dask frame is written with ``to_parquet`` into a folder,
partition by partition, never computed as a whole; ``to_dask()`` reads it
back lazily and ``to_pandas()`` computes that. An Arrow table is written
with one ``ParquetWriter`` and read back as a table (``native()``).

The row count of a spill is known for free: ``len`` for pandas, the Parquet
footers for a dask folder. Writes go to a temporary name and are renamed
when complete, so a file under its final name is always whole.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pypeline.modules.frames import is_dask
from pypeline.modules.kinds import ARROW

if TYPE_CHECKING:
    import pandas as pd

ROWS_PER_SLICE = 1_000_000
"""Rows converted to Arrow and written at a time when spilling a pandas frame."""


class ParquetArtifact:
    """A frame stored as Parquet under the run's spill folder."""

    def __init__(self, path: Path, *, rows: int | None, nbytes: int, from_dask: bool, from_arrow: bool = False) -> None:
        self.path = path
        self._rows = rows
        self.nbytes = nbytes
        self.from_dask = from_dask
        self.from_arrow = from_arrow
        self.read_lazily = False
        """True once ``to_dask()`` handed out a lazy frame that may read the files later."""

    @classmethod
    def write(cls, frame: Any, path: Path) -> ParquetArtifact:
        """Spill ``frame`` (pandas or dask) to ``path`` and return the artifact.

        Raises:
            Exception: whatever pyarrow raises for a column it cannot store (object columns
                of mixed types); the caller keeps the frame in memory then.
        """
        tmp = path.with_name(path.name + ".writing")
        try:
            if is_dask(frame):
                frame.to_parquet(str(tmp), write_index=True, compression="snappy")
                rows = _footer_rows(tmp)
            elif ARROW.owns(frame):
                import pyarrow.parquet as pq

                pq.write_table(frame, str(tmp), compression="snappy")
                rows = frame.num_rows
            else:
                _write_pandas(frame, tmp)
                rows = len(frame)
            os.replace(tmp, path)
        except BaseException:
            _remove(tmp)
            raise
        return cls(path, rows=rows, nbytes=_disk_size(path), from_dask=is_dask(frame), from_arrow=ARROW.owns(frame))

    def to_pandas(self) -> pd.DataFrame:
        """Read the whole spill into a pandas frame."""
        if self.from_dask:
            return self.to_dask().compute()
        if self.from_arrow:
            from pypeline.modules.kinds.convert import to_pandas

            return to_pandas(self.to_arrow())
        import pandas as pd

        return pd.read_parquet(self._require())

    def to_arrow(self) -> Any:
        """Read the whole spill into a ``pyarrow.Table``."""
        if not self.from_arrow:
            from pypeline.modules.kinds.convert import to_table

            return to_table(self.to_pandas())
        import pyarrow.parquet as pq

        return pq.read_table(str(self._require()))

    def native(self) -> Any:
        """The spill read back as the kind it was written from (a dask spill lazily)."""
        if self.from_dask:
            return self.to_dask()
        return self.to_arrow() if self.from_arrow else self.to_pandas()

    def to_dask(self) -> Any:
        """A lazy dask frame over the spill (one partition per file or row group)."""
        import dask.dataframe as dd

        frame = dd.read_parquet(str(self._require()))
        self.read_lazily = True
        return frame

    @property
    def n_rows(self) -> int | None:
        """Rows in the spill (known from writing or the Parquet footers)."""
        return self._rows

    @property
    def uri(self) -> str:
        """``file:///...`` of the spill file or folder."""
        return self.path.resolve().as_uri()

    def delete(self) -> None:
        """Remove the spill from disk."""
        _remove(self.path)

    def _require(self) -> Path:
        if not self.path.exists():
            raise FileNotFoundError(f"spill {self.path} is gone (released, or the run's spill folder was removed)")
        return self.path


def _write_pandas(frame: pd.DataFrame, path: Path) -> None:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.Schema.from_pandas(frame, preserve_index=None)
    keep_index = not isinstance(frame.index, pd.RangeIndex)
    with pq.ParquetWriter(str(path), schema, compression="snappy") as writer:
        if len(frame) == 0:
            writer.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=keep_index))
        for start in range(0, len(frame), ROWS_PER_SLICE):
            chunk = frame.iloc[start : start + ROWS_PER_SLICE]
            table = pa.Table.from_pandas(chunk, schema=schema, preserve_index=keep_index)
            writer.write_table(table.replace_schema_metadata(schema.metadata))


def _footer_rows(folder: Path) -> int:
    import pyarrow.parquet as pq

    files = sorted(folder.rglob("*.parquet")) if folder.is_dir() else [folder]
    return sum(pq.ParquetFile(str(f)).metadata.num_rows for f in files)


def _disk_size(path: Path) -> int:
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
