"""Small pieces the built-in modules' column declarations share (``modules/sdk/columns.py``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pypeline.modules.common.frame_expressions import referenced_names
from pypeline.modules.sdk.columns import Columns, ColumnUse


def same_columns(inputs: Mapping[str, Columns | None], port: str = "input", out: str = "output") -> dict[
    str, Columns | None
]:
    """The output carries the input's columns unchanged (filters, sorts, casts, samples)."""
    return {out: inputs.get(port)}


def expression_uses(config: str, text: Any, port: str = "input", defined: Iterable[str] = ()) -> list[ColumnUse]:
    """The columns an expression reads, but those in ``defined`` (columns the same module makes)."""
    if not isinstance(text, str):
        return []
    made = set(defined)
    return [ColumnUse(config, name, port) for name in sorted(referenced_names(text)) if name not in made]


def stacked(inputs: Mapping[str, Columns | None], ports: Iterable[str]) -> Columns | None:
    """Frames stacked by column name: every column of every connected input, in order of appearance."""
    present = [inputs[port] for port in ports if port in inputs]
    if not present or any(columns is None for columns in present):
        return None
    known = [columns for columns in present if columns is not None]
    return Columns.of((name for columns in known for name in columns.names),
                      complete=all(columns.complete for columns in known))
