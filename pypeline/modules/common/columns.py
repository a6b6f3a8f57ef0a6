"""Column checks with messages that list what the input has."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pypeline.core.text import did_you_mean_sentence
from pypeline.modules.kinds import kind_of
from pypeline.modules.sdk.errors import DataError


def column_names(frame: Any) -> list[str]:
    """The column names of a frame of any kind (:mod:`pypeline.modules.kinds`)."""
    return kind_of(frame).columns(frame)


def missing_columns(frame: Any, columns: Iterable[str]) -> list[str]:
    """The names of ``columns`` that ``frame`` lacks, in the given order."""
    present = set(column_names(frame))
    return [c for c in columns if c not in present]


def require_columns(frame: Any, columns: Iterable[str], *, role: str = "input") -> None:
    """Fail unless ``frame`` has every one of ``columns``.

    Raises:
        DataError: ``column 'x' is not in the input (did you mean 'y'?); the input has: a, b``.
    """
    missing = missing_columns(frame, columns)
    if not missing:
        return
    have = column_names(frame)
    hints = "".join(did_you_mean_sentence(m, have) for m in missing)
    names = ", ".join(f"'{m}'" for m in missing)
    noun = "column" if len(missing) == 1 else "columns"
    verb = "is" if len(missing) == 1 else "are"
    raise DataError(
        f"{noun} {names} {verb} not in the {role}.{hints} The {role} has: {', '.join(have) or 'no columns'}"
    )
