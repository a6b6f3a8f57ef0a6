"""``csv_source``: read one CSV file, a folder of them or a glob.

Several files are combined by ``combine_strategy``:

* ``concat`` (default): stack rows; every file must have the same columns in
  the same order (the first file that differs is named in the error);
* ``union_by_name``: align columns by name, in order of first appearance,
  filling the columns a file lacks with nulls;
* ``validate_schema``: like ``concat``, and the column types must agree too.

Empty files (0 bytes, or only blank lines) contribute nothing and are
reported as an ``empty_file`` event; header-only files contribute their
columns and no rows. When every file is empty the output is a frame of the
declared columns (``column_names``, else the keys of ``dtypes``) and no rows;
without declared columns that is an error naming the file (a frame without
columns is nothing a sink can write).
Reading options, malformed rows and errors are described in
:mod:`pypeline.modules.source.csv_reading`. Files are read by pyarrow's
multi-threaded reader where the options allow (pandas' reader otherwise,
and for the error messages): :mod:`pypeline.modules.source.csv_arrow`. The
output is a pandas frame, an Arrow table in ``execution_mode: arrow``, and
a stream in ``execution_mode: stream`` (:mod:`pypeline.modules.source.csv_stream`).

In ``execution_mode: dask`` the module returns a lazy dask frame split into
``blocksize`` partitions. By default (``scan: false``) it reads only each
file's header and first rows (to fix every column's type); the data is parsed
when a sink computes it (by pyarrow where it gives the C parser's result,
:mod:`pypeline.modules.source.csv_arrow`), and a malformed row, a bad byte or
a value that does not fit its column's type then fails the sink with one
error naming the file (and the line for the first two):
:mod:`pypeline.modules.source.csv_lazy`.
``row_count`` and ``rows_dropped`` are not set (counting would read the
data; the run counts ``row_count`` when the flow reads it, docs/dask-mode.md).
``scan: true`` first reads the files once in chunks (bounded memory): errors
then surface before anything is written, column types come from the
whole files, and the row globals are set (docs/dask-mode.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from pypeline.modules.frames import expand_paths
from pypeline.modules.kinds import BatchStream
from pypeline.modules.kinds.convert import to_table
from pypeline.modules.sdk import BaseModule, DataError, RunContext
from pypeline.modules.sdk.columns import Columns
from pypeline.modules.source.csv_arrow import arrow_limits
from pypeline.modules.source.csv_checks import is_blank, is_wide
from pypeline.modules.source.csv_combine import check_schemas, combine, unified_dtypes, union_columns
from pypeline.modules.source.csv_files import CsvFiles
from pypeline.modules.source.csv_lazy import CsvBlockReader, sample
from pypeline.modules.source.csv_lazy_arrow import arrow_options
from pypeline.modules.source.csv_reading import CsvReader, FileScan, parse_date_columns
from pypeline.modules.source.csv_stream import csv_stream, plan_stream, stream_ended
from pypeline.modules.source.csv_tables import combine_tables, pandas_dtypes
from pypeline.modules.source.headers import csv_declared_columns, csv_header_columns
from pypeline.modules.storage import STORAGE_OPTIONS_CONFIG, reader_options, size_of


class CsvSource(BaseModule):
    """Read CSV files into a frame."""

    TYPE = "source"
    VERSION = "1.2.0"
    DESCRIPTION = "Reads CSV files (a path, a folder or a glob) and combines them (concat, union by name, validated)"
    CATEGORY = "File Sources"
    OUTPUT_PORTS = ["data"]
    GLOBALS = ["row_count", "files_read", "file_size", "rows_dropped"]
    PACKAGES = ["pandas", "pyarrow"]
    ACCEPTS_ARROW = True
    STREAMS = True
    CONFIG_SCHEMA = {
        "required": {
            "file_path": {"type": "str", "description": "Path, folder or glob of CSV files"},
        },
        "optional": {
            **STORAGE_OPTIONS_CONFIG,
            "combine_strategy": {
                "type": "str",
                "default": "concat",
                "enum": ["concat", "union_by_name", "validate_schema"],
                "description": "How several files are combined: same columns (concat), aligned by name, "
                "or same columns and types (validate_schema)",
            },
            "delimiter": {"type": "str", "default": ",", "description": "Field delimiter (`;`, `\\t`, `|`, ...); "
                          "longer ones are literal text (`::`), except `\\s+`: runs of whitespace"},
            "encoding": {"type": "str", "default": "utf-8", "description": "File encoding (`latin-1`, `utf-16`, ...)"},
            "header": {"type": "bool", "default": True, "description": "The first line holds the column names"},
            "column_names": {
                "type": "list[str]|null",
                "default": None,
                "description": "Column names; with `header: true` they replace the file's header",
            },
            "dtypes": {
                "type": "dict[str]",
                "default": {},
                "description": "Column -> pandas dtype (`Int64`, `str`, ...)",
            },
            "date_columns": {"type": "list[str]", "default": [], "description": "Columns parsed as datetimes"},
            "date_format": {
                "type": "str|null",
                "default": None,
                "description": "strftime format of the date columns (default: ISO 8601)",
            },
            "decimal": {"type": "str", "default": ".", "description": "Decimal separator (`,` for 1,5)"},
            "thousands": {"type": "str|null", "default": None, "description": "Thousands separator"},
            "quotechar": {"type": "str", "default": '"', "description": "Quote character"},
            "skip_rows": {"type": "int", "default": 0, "description": "Lines to skip at the start of each file"},
            "null_values": {"type": "list[str]", "default": [], "description": "Extra strings read as null"},
            "on_bad_lines": {
                "type": "str",
                "default": "error",
                "enum": ["error", "skip"],
                "description": "A row with too many or too few fields: fail naming file and line, or drop it "
                "and count it (rows_dropped)",
            },
            "file_column": {
                "type": "str|null",
                "default": None,
                "description": "Name of a column that receives each row's source file path",
            },
            "blocksize": {"type": "str", "default": "64MB", "description": "dask mode: bytes per partition"},
            "scan": {
                "type": "bool",
                "default": False,
                "description": "dask mode: read the files once before the lazy read (errors before any write, "
                "column types from whole files, row_count / rows_dropped set)",
            },
        },
    }

    @classmethod
    def check_configs(cls, configs: Mapping[str, Any]) -> list[str]:
        problems = []
        for key in ("quotechar", "decimal"):
            value = configs.get(key)
            if isinstance(value, str) and "{{" not in value and len(value) != 1:
                problems.append(f"config '{key}' must be one character, got {value!r}")
        if configs.get("delimiter") == "":
            problems.append("config 'delimiter' must not be empty")
        if configs.get("header") is False and not configs.get("column_names"):
            problems.append("config 'header: false' needs 'column_names'")
        return problems

    @classmethod
    def output_columns(
        cls, configs: Mapping[str, Any], inputs: Mapping[str, Columns | None]
    ) -> dict[str, Columns | None]:
        return {"data": csv_declared_columns(configs)}

    @classmethod
    def data_columns(cls, configs: Mapping[str, Any]) -> Columns | None:
        return csv_header_columns(configs)

    @classmethod
    def mode_limits(cls, configs: Mapping[str, Any]) -> dict[str, str]:
        pyarrow_lacks = arrow_limits(configs)
        if pyarrow_lacks is not None:
            return {"stream": f"pyarrow's CSV reader cannot read {pyarrow_lacks}: each file is read whole by pandas"}
        if not configs.get("dtypes"):
            return {"stream": "no dtypes declared (stream mode types columns from each file's first 4 MB: "
                              "declare dtypes to stream)"}
        return {}

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        files = expand_paths(self.configs["file_path"], self.configs["storage_options"])
        reader = CsvReader(self.configs)
        rows: int | None
        if ctx.execution_mode == "stream" and arrow_limits(self.configs) is None:
            return await self._stream(files, ctx)
        if ctx.execution_mode == "dask":
            frame, rows, dropped = await ctx.executor.run_in_thread(self._read_dask, reader, files, ctx)
        else:
            frame, dropped = await self._read_eager(files, ctx, tables=ctx.execution_mode in ("arrow", "stream"))
            rows = len(frame)
            if ctx.execution_mode == "stream":
                frame = BatchStream.from_table(frame)
        for path in files:
            ctx.record_file_read(path)
        ctx.set_global("files_read", len(files))
        ctx.set_global("file_size", sum(size_of(p) for p in files))
        if rows is not None:
            ctx.set_global("row_count", rows)
            ctx.set_global("rows_dropped", dropped)
            ctx.add_stat("rows_dropped", dropped)
        if dropped:
            ctx.emit_event("bad_lines_skipped", count=dropped)
        return {"data": frame}

    async def _read_eager(self, files: list[str], ctx: RunContext, *, tables: bool) -> tuple[Any, int]:
        """Every file read at once: one pandas frame, or one Arrow table (``tables``)."""
        reading = CsvFiles(self.configs, tables=tables)
        frames: list[tuple[str, Any]] = []
        dropped = rows = nbytes = 0
        for path in files:
            frame, bad = await ctx.executor.run_in_thread(reading.read, path)
            dropped += bad
            rows, nbytes = rows + (0 if frame is None else len(frame)), nbytes + size_of(path)
            ctx.progress(rows=rows, nbytes=nbytes)
            if frame is None:
                ctx.emit_event("empty_file", file=path)
                continue
            if self.configs["file_column"]:
                frame = reading.with_file_column(frame, path)
            frames.append((path, frame))
        strategy = self.configs["combine_strategy"]
        if not frames:
            empty = self._no_rows(files)
            return (to_table(empty) if tables else empty), dropped
        if tables:
            check_schemas([(p, t.column_names, pandas_dtypes(t.schema) if t.num_rows else None)
                           for p, t in frames], strategy)
            combined = combine_tables([t for _, t in frames], fill_missing=strategy == "union_by_name")
        else:
            combined = combine(frames, strategy)
        file_column = self.configs["file_column"]
        names = [str(c) for c in (combined.column_names if tables else combined.columns)]
        if file_column and file_column in names:
            order = [c for c in names if c != file_column] + [file_column]
            combined = combined.select(order) if tables else combined[order]
        return combined, dropped

    async def _stream(self, files: list[str], ctx: RunContext) -> dict[str, Any]:
        """The files as a stream (stream mode): read when a sink reads it; the row globals set at its end."""
        strategy = self.configs["combine_strategy"]
        plan = await ctx.executor.run_in_thread(
            plan_stream, self.configs, files, lambda found: check_schemas(found, strategy)
        )
        for path in plan.empty:
            ctx.emit_event("empty_file", file=path)
        for path in files:
            ctx.record_file_read(path)
        ctx.set_global("files_read", len(files))
        ctx.set_global("file_size", sum(size_of(p) for p in files))
        if not plan.files:
            stream = BatchStream.from_table(to_table(self._no_rows(files)))
        else:
            stream = csv_stream(self.configs, plan)
        stream.on_end(lambda: stream_ended(ctx, stream, plan))
        return {"data": stream}

    def _read_dask(self, reader: CsvReader, files: list[str], ctx: RunContext) -> tuple[Any, int | None, int]:
        import dask.dataframe as dd
        from dask.dataframe.io.csv import read_pandas  # dd.read_csv with a reader of our own

        scanned = self.configs["scan"]
        scans = [reader.scan(path) if scanned else sample(reader, path) for path in files]
        for scan in scans:
            if scan.columns is None:
                ctx.emit_event("empty_file", file=scan.path)
        present = [s for s in scans if s.columns is not None]
        strategy = self.configs["combine_strategy"]
        check_schemas([(s.path, s.columns or [], s.dtypes if s.rows else None) for s in present], strategy)
        columns = union_columns([s.columns or [] for s in present])
        dtypes = unified_dtypes(present, columns, fill_missing=strategy == "union_by_name")
        date_columns = set(self.configs["date_columns"])
        read_dtypes = {c: d for c, d in dtypes.items() if c not in date_columns}
        if not scanned:  # read as text, parsed per partition (their first rows may all be empty)
            read_dtypes.update({c: "str" for c in date_columns if c in columns})
        if self.configs["dtypes"]:
            read_dtypes.update(self.configs["dtypes"])
        file_column = self.configs["file_column"]
        parts = []
        for scan in present:
            parts.append(self._dask_file(read_pandas, reader, scan, columns, read_dtypes, file_column))
        if not parts:
            return dd.from_pandas(self._no_rows(files), npartitions=1), 0, sum(s.bad_lines for s in scans)
        frame = parts[0] if len(parts) == 1 else dd.concat(parts, interleave_partitions=False)
        if not scanned:
            return frame, None, 0
        return frame, sum(s.rows for s in scans), sum(s.bad_lines for s in scans)

    def _no_rows(self, files: list[str]) -> pd.DataFrame:
        """Every file was empty: the declared columns and no rows (see the module docstring).

        Raises:
            DataError: no columns are declared.
        """
        dtypes = dict(self.configs["dtypes"])
        declared = list(self.configs["column_names"] or dtypes)
        if not declared:
            others = f", and so are the {len(files) - 1} other input files" if len(files) > 1 else ""
            raise DataError(
                f"{files[0]}: empty file (no header, no rows){others}; declare column_names (or dtypes) "
                "to read empty input as zero rows of those columns"
            )
        frame = pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, "str")) for c in declared})
        file_column = self.configs["file_column"]
        return frame.assign(**{file_column: pd.Series(dtype="str")}) if file_column else frame

    def _dask_file(
        self,
        read_pandas: Any,
        reader: CsvReader,
        scan: FileScan,
        columns: list[str],
        dtypes: dict[str, Any],
        file_column: Any,
    ) -> Any:
        options = reader.options()
        options["dtype"] = {c: d for c, d in dtypes.items() if c in (scan.columns or [])}
        if reader.skip_bad_lines:
            options["on_bad_lines"] = "skip"
        blocksize = None if is_wide(self.configs["encoding"]) else self.configs["blocksize"]
        if not scan.rows and is_blank(scan.path, self.configs["encoding"]):  # declared columns, no bytes to split
            import dask.dataframe as dd

            empty = pd.DataFrame({c: pd.Series(dtype=options["dtype"].get(c, "str")) for c in scan.columns or []})
            frame = dd.from_pandas(empty, npartitions=1)
        else:
            block_reader = CsvBlockReader(scan.path, reader.configs, arrow_options(reader.configs, options["dtype"]))
            frame = read_pandas(block_reader, scan.path, blocksize=blocksize, **options, **reader_options(scan.path))
        frame.columns = [str(c) for c in frame.columns]
        if self.configs["date_columns"]:
            frame = frame.map_partitions(
                parse_date_columns,
                list(self.configs["date_columns"]),
                self.configs["date_format"],
                scan.path,
                meta=parse_date_columns(frame._meta, list(self.configs["date_columns"]), None, scan.path),
            )
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            frame = frame.assign(**{c: float("nan") for c in missing})
            frame = frame.astype({c: dtypes.get(c, "float64") for c in missing})
        frame = frame[columns]
        if file_column:
            frame = frame.assign(**{file_column: scan.path}).astype({file_column: "str"})
        return frame
