"""How ``csv_source`` combines its files (``combine_strategy``): the column checks and the pandas combine.

``concat`` and ``validate_schema`` need every file to have the first file's
columns in its order (``validate_schema`` its types too); ``union_by_name``
aligns columns by name. The Arrow combine (``csv_tables.py``) and the stream
(``csv_stream.py``) follow the same rules through :func:`check_schemas`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from pypeline.modules.sdk import DataError
from pypeline.modules.source.csv_reading import FileScan, unify_dtypes


def check_schemas(files: list[tuple[str, list[str], dict[str, Any] | None]], strategy: str) -> None:
    """Fail when the files' columns (and, for ``validate_schema``, types) do not fit ``strategy``.

    ``files`` holds ``(path, columns, dtypes or None for zero-row files)``.

    Raises:
        DataError: naming the first file that differs from the first file.
    """
    if strategy == "union_by_name" or len(files) < 2:
        return
    first_path, first_columns, first_types = files[0]
    for path, columns, types in files[1:]:
        if columns != first_columns:
            extra = [c for c in columns if c not in first_columns]
            lacking = [c for c in first_columns if c not in columns]
            detail = []
            if lacking:
                detail.append(f"lacks {lacking}")
            if extra:
                detail.append(f"has extra {extra}")
            if not detail:
                detail.append(f"has the columns in another order {columns}")
            raise DataError(
                f"{path}: columns differ from {first_path}: {'; '.join(detail)} (combine_strategy {strategy}; "
                "use union_by_name to align columns by name)"
            )
        if strategy == "validate_schema" and types is not None and first_types is not None:
            mismatched = [
                f"{c}: {types[c]} vs {first_types[c]}"
                for c in first_columns
                if c in types and c in first_types and str(types[c]) != str(first_types[c])
            ]
            if mismatched:
                raise DataError(
                    f"{path}: column types differ from {first_path}: {', '.join(mismatched)} "
                    "(combine_strategy validate_schema)"
                )


def combine(frames: list[tuple[str, pd.DataFrame]], strategy: str) -> pd.DataFrame:
    """Combine per-file frames by ``strategy`` (see the module docstring of ``csv_source``).

    Raises:
        DataError: naming the first file whose columns do not fit.
    """
    if not frames:
        return pd.DataFrame()
    check_schemas([(p, list(f.columns), dict(f.dtypes) if len(f) else None) for p, f in frames], strategy)
    columns = union_columns([list(f.columns) for _, f in frames])
    with_rows = [f for _, f in frames if len(f)]
    if not with_rows:
        return frames[0][1].reindex(columns=columns)
    if len(with_rows) == 1:
        return with_rows[0].reindex(columns=columns)
    return pd.concat(with_rows, ignore_index=True, join="outer").reindex(columns=columns)


def union_columns(column_lists: list[list[str]]) -> list[str]:
    """Every column of the lists, in order of first appearance."""
    seen: dict[str, None] = {}
    for columns in column_lists:
        for column in columns:
            seen.setdefault(column, None)
    return list(seen)


def unified_dtypes(scans: list[FileScan], columns: list[str], *, fill_missing: bool) -> dict[str, Any]:
    """One dtype per column over the files' scans; ``fill_missing``: a column some files lack holds nulls."""
    dtypes: dict[str, Any] = {}
    for scan in scans:
        for column, dtype in scan.dtypes.items():
            dtypes[column] = unify_dtypes(dtypes.get(column), dtype)
    if fill_missing:
        for column in columns:
            lacking = any(column not in (s.columns or []) for s in scans if s.rows)
            if lacking and column in dtypes:
                kind = dtypes[column]
                if pd.api.types.is_bool_dtype(kind):
                    dtypes[column] = "object"
                elif pd.api.types.is_integer_dtype(kind):
                    dtypes[column] = "float64"
    return dtypes
