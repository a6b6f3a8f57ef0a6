"""A CSV source's columns before it runs: from its configs (build) or its files' headers (dry run).

``column_names`` names every column (the header, if any, is replaced), so the
build knows them all; ``dtypes`` and ``date_columns`` name some of them only
(more may come from the files). ``pype run --dry-run`` and ``pype validate
--with-data`` read the header line of each file (``nrows=0``: no data rows),
with the reader's own options (delimiter, encoding, ``skip_rows``, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from pypeline.modules.frames import expand_paths
from pypeline.modules.sdk.columns import Columns
from pypeline.modules.source.csv_reading import CsvReader

MAX_HEADER_FILES = 200
"""Headers read at most (a glob over thousands of files: the first ones tell)."""


def csv_declared_columns(configs: Mapping[str, Any]) -> Columns | None:
    """The columns the configs name: all of them with ``column_names``, some with ``dtypes``; else ``None``."""
    extra = [configs["file_column"]] if isinstance(configs.get("file_column"), str) else []
    names = configs.get("column_names")
    if isinstance(names, list):
        return Columns.of([*names, *extra])
    dtypes, dates = configs.get("dtypes") or {}, configs.get("date_columns") or []
    declared = [*dtypes, *dates] if isinstance(dtypes, dict) and isinstance(dates, list) else []
    return Columns.of([*declared, *extra], complete=False) if declared else None


def csv_header_columns(configs: Mapping[str, Any]) -> Columns | None:
    """The columns of the files' header lines (``None`` when there are no files or a header cannot be read)."""
    declared = csv_declared_columns(configs)
    if declared is not None and declared.complete:
        return declared
    try:
        files = expand_paths(str(configs["file_path"]))
        options = CsvReader(dict(configs)).options()
        headers = []
        for path in files[:MAX_HEADER_FILES]:
            try:
                headers.append([str(c) for c in pd.read_csv(path, nrows=0, **options).columns])
            except pd.errors.EmptyDataError:
                continue  # an empty file: no header to read
    except Exception:  # no files, unreadable, a bad option: the run reports it; nothing is known here
        return None
    if not headers:
        return None
    extra = [configs["file_column"]] if isinstance(configs.get("file_column"), str) else []
    return Columns.of([name for header in headers for name in header] + extra)
