"""Reading the files of ``csv_source`` eagerly (``execution_mode: pandas`` and ``arrow``): pyarrow first.

Each file is read by pyarrow's multi-threaded reader when the configs allow
it (:func:`~pypeline.modules.source.csv_arrow.arrow_limits`), else, or when
pyarrow refuses the file, by the pandas reader, which names the file and the
line of a malformed row (:mod:`pypeline.modules.source.csv_arrow`). A file
comes back as the kind the mode wants: a pandas frame with pandas' dtypes,
or an Arrow table.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

from pypeline.modules.kinds.convert import to_table
from pypeline.modules.source.csv_arrow import ArrowCsv, ArrowReadFailed, arrow_limits, pandas_frame
from pypeline.modules.source.csv_reading import CsvReader


class CsvFiles:
    """Reads files one at a time as pandas frames or Arrow tables (see the module docstring)."""

    def __init__(self, configs: dict[str, Any], *, tables: bool) -> None:
        self.configs = configs
        self.tables = tables
        self.reader = CsvReader(configs)
        self.fast = ArrowCsv(configs) if arrow_limits(configs) is None else None

    def read(self, path: str) -> tuple[pd.DataFrame | pa.Table | None, int]:
        """The file (``None`` when it is empty) and the rows dropped (``on_bad_lines: skip``).

        Raises:
            DataError: naming the file (and the line) when it cannot be read.
        """
        if self.fast is not None:
            self.reader.check_nul(path)
            try:
                table, dropped = self.fast.read(path, parse_dates=self.tables)
            except ArrowReadFailed:
                pass  # the pandas reader names what is wrong, or reads what pyarrow would not
            else:
                return (table if self.tables else pandas_frame(table, self.configs, path)), dropped
        frame, dropped = self.reader.read(path)
        if frame is None or not self.tables:
            return frame, dropped
        return to_table(frame), dropped

    def with_file_column(self, data: pd.DataFrame | pa.Table, path: str) -> pd.DataFrame | pa.Table:
        """``data`` with the ``file_column`` config's column holding ``path``."""
        name = self.configs["file_column"]
        if isinstance(data, pa.Table):
            return data.append_column(name, pa.array([path] * data.num_rows, pa.string()))
        return data.assign(**{name: pd.Series(path, index=data.index, dtype="str")})
