"""``parquet_source``: read Parquet from a file, a folder (hive-partitioned or not) or a glob.

Reading goes through :mod:`pyarrow.dataset`, so

* a folder is read as one dataset: its ``key=value`` sub folders become
  partition columns (``year=2024/month=01/part-0.parquet`` gives ``year`` and
  ``month``, typed as pyarrow infers them), files whose names start with
  ``_`` or ``.`` (``_SUCCESS``) are ignored;
* ``filters`` (``[[year, "=", 2024]]``) prune partitions and row groups before
  any data is read;
* ``columns`` reads only those columns.

In ``execution_mode: dask`` every file becomes one partition, read lazily by
the same code (so both modes give the same column types); the row count comes
from the Parquet footers, without reading data.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from pypeline.modules.frames import expand_paths
from pypeline.modules.kinds import BatchStream
from pypeline.modules.sdk import BaseModule, DataError, RunContext
from pypeline.modules.sdk.columns import Columns
from pypeline.modules.storage import (
    STORAGE_OPTIONS_CONFIG,
    StoragePath,
    folder_files,
    has_glob,
    is_url,
    local_path,
    read_marker,
    resolve,
    storage_error,
)

FILTER_OPS = ("=", "==", "!=", "<", "<=", ">", ">=", "in", "not in")


class ParquetSource(BaseModule):
    """Read Parquet files into a frame."""

    TYPE = "source"
    VERSION = "1.0.0"
    DESCRIPTION = "Reads Parquet (file, folder, glob; hive-partitioned folders) with column and row filters"
    CATEGORY = "File Sources"
    OUTPUT_PORTS = ["data"]
    GLOBALS = ["row_count", "files_read"]
    PACKAGES = ["pyarrow"]
    ACCEPTS_ARROW = True
    STREAMS = True
    CONFIG_SCHEMA = {
        "required": {
            "file_path": {"type": "str", "description": "A Parquet file, a folder (partitioned or not) or a glob"},
        },
        "optional": {
            **STORAGE_OPTIONS_CONFIG,
            "columns": {"type": "list[str]|null", "default": None, "description": "Columns to read (default: all)"},
            "filters": {
                "type": "list",
                "default": [],
                "description": "Row filters `[column, op, value]`, all must hold; op is one of "
                + ", ".join(FILTER_OPS),
            },
            "partitioning": {
                "type": "str",
                "default": "hive",
                "enum": ["hive", "none"],
                "description": "How folder names map to partition columns",
            },
        },
    }

    @classmethod
    def check_configs(cls, configs: Mapping[str, Any]) -> list[str]:
        problems = []
        for index, item in enumerate(configs.get("filters") or []):
            if not (isinstance(item, list) and len(item) == 3 and isinstance(item[0], str)):
                problems.append(f"filters[{index}] must be [column, op, value], got {item!r}")
            elif item[1] not in FILTER_OPS:
                problems.append(
                    f"filters[{index}]: unknown operator {item[1]!r} (expected one of {', '.join(FILTER_OPS)})"
                )
        return problems

    @classmethod
    def output_columns(
        cls, configs: Mapping[str, Any], inputs: Mapping[str, Columns | None]
    ) -> dict[str, Columns | None]:
        names = configs.get("columns")
        return {"data": Columns.of(names) if isinstance(names, list) else None}

    @classmethod
    def data_columns(cls, configs: Mapping[str, Any]) -> Columns | None:
        """The dataset's schema (partition columns included), read from the footers: no data."""
        if isinstance(configs.get("columns"), list):
            return Columns.of(configs["columns"])
        try:
            source = _Source.from_path(str(configs["file_path"]), configs["partitioning"])
            return Columns.of(source.dataset().schema.names)
        except Exception:  # no files or not Parquet: the run reports it; nothing is known here
            return None

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        source = _Source.from_path(
            self.configs["file_path"], self.configs["partitioning"], self.configs["storage_options"]
        )
        rows: int | None = None
        if ctx.execution_mode == "dask":
            frame, rows = await ctx.executor.run_in_thread(self._read_dask, source)
        elif ctx.execution_mode == "stream":
            frame = await ctx.executor.run_in_thread(self._stream, source)
            frame.on_end(lambda: ctx.set_global("row_count", frame.rows))
        else:
            frame = await ctx.executor.run_in_thread(self._read_table, source)
            rows = frame.num_rows
            if ctx.execution_mode != "arrow":
                frame = frame.to_pandas()
        files = source.shown(source.files())
        for path in files:
            ctx.record_file_read(path)
        if rows is not None:
            ctx.set_global("row_count", rows)
        ctx.set_global("files_read", len(files))
        return {"data": frame}

    def _filter(self) -> Any:
        if not self.configs["filters"]:
            return None
        import pyarrow.parquet as pq

        return pq.filters_to_expression([tuple(f) for f in self.configs["filters"]])

    def _read_table(self, source: _Source) -> Any:
        dataset = source.dataset()
        try:
            return dataset.to_table(columns=self._columns(dataset), filter=self._filter())
        except Exception as exc:
            raise _read_error(source, exc) from None

    def _stream(self, source: _Source) -> BatchStream:
        """The dataset's batches, read when a sink reads the stream (pyarrow's scanner, in order)."""
        dataset = source.dataset()
        columns = self._columns(dataset)
        schema = dataset.schema if columns is None else pa.schema([dataset.schema.field(c) for c in columns])
        expression = self._filter()

        def batches() -> Any:
            try:
                yield from dataset.to_batches(columns=columns, filter=expression)
            except (pa.ArrowException, OSError) as exc:
                raise _read_error(source, exc) from None

        return BatchStream(schema, batches)

    def _read_dask(self, source: _Source) -> tuple[Any, int]:
        import dask.dataframe as dd

        dataset = source.dataset()
        columns = self._columns(dataset)
        expression = self._filter()
        try:
            rows = dataset.count_rows(filter=expression)
            meta = dataset.schema.empty_table().to_pandas()
        except Exception as exc:
            raise _read_error(source, exc) from None
        if columns is not None:
            meta = meta[columns]
        files = source.files()
        if not files:
            return dd.from_pandas(meta, npartitions=1), 0
        frame = dd.from_map(
            _read_piece,
            files,
            source=source,
            schema=dataset.schema,
            columns=columns,
            filters=self.configs["filters"],
            meta=meta,
            enforce_metadata=False,
        )
        return frame, int(rows)

    def _columns(self, dataset: Any) -> list[str] | None:
        wanted = self.configs["columns"]
        if wanted is None:
            return None
        have = dataset.schema.names
        missing = [c for c in wanted if c not in have]
        if missing:
            raise DataError(f"columns {missing} are not in the Parquet data (columns: {', '.join(have)})")
        return list(wanted)


class _Source:
    """Where the data is: a file, a folder or a list of files (a glob), and its partitioning base.

    For a URL, ``fs`` is its fsspec file system and ``paths`` / ``base`` are keys in it;
    pyarrow reads through ``fs`` itself (ranged reads of footers and column chunks, no copy).
    """

    def __init__(
        self, path: str, paths: list[str] | str, base: str | None, partitioning: str, fs: Any = None
    ) -> None:
        self.path = path
        self.paths = paths
        self.base = base
        self.partitioning = partitioning
        self.fs = fs

    @classmethod
    def from_path(cls, path: str, partitioning: str, storage_options: Any = None) -> _Source:
        if is_url(path):
            return cls._from_url(path, partitioning, storage_options)
        path = local_path(path)
        if Path(path).is_dir():
            return cls(path, path, path, partitioning)
        files = expand_paths(path)
        if len(files) == 1 and files[0] == path:
            return cls(path, files, None, partitioning)
        return cls(path, files, os.path.commonpath([os.path.dirname(f) or "." for f in files]), partitioning)

    @classmethod
    def _from_url(cls, url: str, partitioning: str, storage_options: Any) -> _Source:
        base = resolve(url, storage_options)
        if not has_glob(url) and not base.fs.isfile(base.key.rstrip("/")):
            folder = base.key.rstrip("/")
            listed = folder_files(base) if read_marker(base.fs, folder) is not None else None
            if listed is not None:  # a PYpeline folder output: exactly its last complete write
                return cls(url, sorted(listed), folder, partitioning, base.fs)
            if base.fs.isdir(folder):
                return cls(url, folder, folder, partitioning, base.fs)
        files = [f.key for f in expand_paths(url, storage_options) if isinstance(f, StoragePath)]
        if len(files) == 1 and not has_glob(url):
            return cls(url, files, None, partitioning, base.fs)
        common = posixpath.commonpath([posixpath.dirname(f) for f in files])
        return cls(url, files, common, partitioning, base.fs)

    def dataset(self, paths: list[str] | str | None = None, schema: Any = None) -> Any:
        import pyarrow.dataset as ds

        hive = self.partitioning == "hive" and self.base is not None
        try:
            return ds.dataset(
                self.paths if paths is None else paths,
                format="parquet",
                schema=schema,
                filesystem=self.fs,
                partitioning="hive" if hive else None,
                partition_base_dir=self.base if hive and (paths is not None or isinstance(self.paths, list)) else None,
            )
        except Exception as exc:
            if self.fs is not None:
                raise storage_error(self.path, exc, "cannot open as Parquet") from None
            raise DataError(f"{self.path}: cannot open as Parquet: {exc}") from None

    def files(self) -> list[str]:
        """The files read (paths, or keys for a URL)."""
        if isinstance(self.paths, list):
            return list(self.paths)
        return sorted(self.dataset().files)

    def shown(self, files: list[str]) -> list[str]:
        """``files`` as the user names them (URLs for a store)."""
        if self.fs is None:
            return files
        scheme = self.path.split("://", 1)[0]
        return [f"{scheme}://{f}" for f in files]


def _read_error(source: _Source, exc: Exception) -> Exception:
    if source.fs is not None:
        return storage_error(source.path, exc, "cannot read Parquet")
    return DataError(f"{source.path}: cannot read Parquet: {exc}")


def _read_piece(
    path: str, *, source: _Source, schema: Any, columns: list[str] | None, filters: list[Any]
) -> pd.DataFrame:
    """One file of the dataset as a pandas frame (a dask partition)."""
    import pyarrow.parquet as pq

    expression = pq.filters_to_expression([tuple(f) for f in filters]) if filters else None
    dataset = source.dataset([path], schema=schema)
    return dataset.to_table(columns=columns, filter=expression).to_pandas()
