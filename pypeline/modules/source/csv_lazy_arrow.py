"""The fast path of a lazy CSV block: pandas' pyarrow engine, kept only where it gives the C parser's result.

In dask mode ``csv_source`` reads each file in blocks through dask's CSV
reader (``csv_lazy.py``). Each block is first parsed by pyarrow, as
``dd.read_csv(engine="pyarrow")`` does (``pd.read_csv(..., engine="pyarrow")``:
multi-threaded, about 2.5x faster than pandas' C parser on the reference
data). pandas' C parser stays the reference: a block pyarrow parses
differently, or not at all, is parsed by the C parser as before, so the
errors and the data are those of the C parser:

* **Rows and bytes.** pyarrow refuses a row with too few or too many fields,
  a line of blanks, a byte the encoding cannot decode: the C parser then
  reads the block, and its error names the file and the line
  (``csv_lazy.py``). With ``on_bad_lines: skip`` pyarrow drops too short and
  too long rows, as the C path does.
* **Column types.** Every column has a type from the first rows of the files
  or from ``dtypes``. Text columns (``str``, ``object``) are parsed as text by
  pyarrow itself. The others are left to pyarrow's inference, and the block
  is kept only when what pyarrow found holds the values without loss:
  integers for an ``int64`` column (pandas' own cast would turn ``1.5`` into
  ``1`` without a word), integers or floats for ``float64``, booleans for
  ``bool``, and for ``Int64`` integers, or floats that are all whole numbers
  within 2**53 (nulls make pyarrow's integers floats). Booleans are the C
  parser's words only (``True``, ``TRUE``, ``true`` and the ``False`` forms;
  pyarrow alone would read ``1`` and ``0`` too).
* **Options pyarrow lacks.** ``thousands``, a delimiter of several characters
  or ``\\s+``, a column type other than those above: the whole file is parsed
  by the C parser (:func:`arrow_options`, decided once per file). So is a
  file of one column: a line of blanks is no row to the C parser, and a value
  to pyarrow, with no error to tell.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd

TRUE_VALUES = ["True", "TRUE", "true"]
FALSE_VALUES = ["False", "FALSE", "false"]
"""The words pandas' C parser reads as booleans (pyarrow's defaults add ``1`` and ``0``)."""

_EXACT_FLOAT_INT = 2**53
_KINDS = {"int64": "int", "float64": "float", "bool": "bool", "Int64": "Int64", "str": "text", "object": "text"}


def arrow_options(configs: dict[str, Any], dtypes: dict[str, Any]) -> dict[str, str] | None:
    """Column -> kind (``int``, ``float``, ``bool``, ``Int64``, ``text``) when the blocks of a file may be
    parsed by pyarrow with these configs and column types; ``None`` when the C parser must (module docstring)."""
    delimiter = configs["delimiter"]
    if len(delimiter) != 1 or configs.get("thousands") or len(configs["quotechar"]) != 1 or len(dtypes) < 2:
        return None
    kinds: dict[str, str] = {}
    for column, dtype in dtypes.items():
        kind = _kind(dtype)
        if kind is None:
            return None
        kinds[str(column)] = kind
    return kinds


def _kind(dtype: Any) -> str | None:
    try:
        resolved = pd.api.types.pandas_dtype(dtype)
    except TypeError:
        return None
    if isinstance(resolved, pd.StringDtype):
        return "text"
    return _KINDS.get(str(resolved))


def read_block(source: io.BytesIO, kwargs: dict[str, Any], kinds: dict[str, str]) -> pd.DataFrame | None:
    """The block parsed by pyarrow with the C parser's ``kwargs``, or ``None`` when it must go to the C parser."""
    options = {k: v for k, v in kwargs.items() if k not in ("dtype", "engine")}
    dtypes = kwargs.get("dtype") or {}
    text = {c: d for c, d in dtypes.items() if kinds.get(str(c)) == "text"}
    options.update(engine="pyarrow", dtype=text or None, true_values=TRUE_VALUES, false_values=FALSE_VALUES)
    try:
        frame = pd.read_csv(source, **options)
    except Exception:  # whatever pyarrow refuses, the C parser reads or names
        return None
    finally:
        source.seek(0)
    if set(map(str, frame.columns)) - set(kinds):
        return None  # a column without a known type: pyarrow's guess may differ from the C parser's
    casts: dict[Any, Any] = {}
    for column in frame.columns:
        fits = _fits(frame[column], kinds[str(column)], dtypes.get(column))
        if fits is None:
            return None
        if fits is not True:
            casts[column] = fits
    return frame.astype(casts) if casts else frame


def _fits(values: pd.Series, kind: str, wanted: Any) -> Any:
    """``True`` when ``values`` already have the C parser's type, a dtype to cast them to without loss, or ``None``."""
    dtype = values.dtype
    if kind == "text":
        return True
    if kind == "bool":
        return True if pd.api.types.is_bool_dtype(dtype) else None
    if kind == "int":
        return True if dtype == np.dtype("int64") else None
    if kind == "float":
        if dtype == np.dtype("float64"):
            return True
        return "float64" if dtype == np.dtype("int64") else None
    if kind == "Int64":
        if dtype == np.dtype("int64"):
            return wanted
        if dtype == np.dtype("float64"):
            present = values.dropna().to_numpy()
            if (np.abs(present) <= _EXACT_FLOAT_INT).all() and (np.floor(present) == present).all():
                return wanted
    return None
