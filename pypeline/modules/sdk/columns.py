"""What a module says about columns, so the build can check a flow's column names before it runs.

Talend users expect a component to know its schema: which columns come out,
given which come in. A module class may say so with two class methods
(:class:`~pypeline.modules.sdk.base.BaseModule` has both, saying nothing):

* ``output_columns(configs, inputs)``: the :class:`Columns` on each output
  port, given the columns on each input port (``None`` where unknown) and the
  module's configs; ``None`` for "I cannot tell" (the default: a module that
  says nothing is opaque, and nothing downstream of it is checked, so a custom
  module never causes a false alarm);
* ``columns_used(configs)``: the input columns its configs name, as
  :class:`ColumnUse` (a condition's names, join keys, ``select`` lists, ...).
  The build reports each one that is not among the columns known to reach that
  input, with a "did you mean".

A source knows its columns from its configs (``column_names``) at build time.
It may also read them from its data (``data_columns(configs)``: a CSV header,
a Parquet schema), which ``pype run --dry-run`` and ``pype validate
--with-data`` use; a build never reads data.

The propagation itself lives in :mod:`pypeline.modules.column_check`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pypeline.core.templates import has_templates


@dataclass(frozen=True, slots=True)
class Columns:
    """The column names on one port, in order, as far as they are known before the run."""

    names: tuple[str, ...]
    complete: bool = True
    """False: at least these columns (more may come, so no name is reported as unknown)."""

    @classmethod
    def of(cls, names: Iterable[str], *, complete: bool = True) -> Columns:
        """Columns from any iterable of names (duplicates dropped, order kept)."""
        return cls(tuple(dict.fromkeys(str(n) for n in names)), complete)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def plus(self, names: Iterable[str]) -> Columns:
        """These columns and ``names`` (a name already here keeps its place)."""
        return Columns.of([*self.names, *names], complete=self.complete)

    def minus(self, names: Iterable[str]) -> Columns:
        """These columns without ``names``."""
        gone = set(names)
        return Columns(tuple(n for n in self.names if n not in gone), self.complete)

    def renamed(self, mapping: Mapping[str, str]) -> Columns:
        """These columns with ``old -> new`` applied."""
        return Columns.of((mapping.get(n, n) for n in self.names), complete=self.complete)


@dataclass(frozen=True, slots=True)
class ColumnUse:
    """An input column a config names: ``condition`` reads ``age`` on port ``input``."""

    config: str
    column: str
    port: str = "input"


def name_uses(config: str, names: object, port: str = "input") -> list[ColumnUse]:
    """One :class:`ColumnUse` per plain name in ``names`` (a name, a list or a mapping's keys).

    Anything else (a templated value, a number) names no column here: the run checks it.
    """
    if isinstance(names, str):
        names = [names]
    if isinstance(names, Mapping):
        names = list(names)
    if not isinstance(names, list):
        return []
    return [ColumnUse(config, name, port) for name in names if isinstance(name, str) and not has_templates(name)]
