"""Small text helpers shared by messages and displays."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for close matches (a clause to follow a phrase), or an empty string."""
    hint = _close_matches(name, candidates)
    return f"; did you mean {hint}?" if hint else ""


def did_you_mean_sentence(name: str, candidates: Iterable[str]) -> str:
    """``" Did you mean 'x'?"`` for close matches (a sentence to follow a sentence), or an empty string."""
    hint = _close_matches(name, candidates)
    return f" Did you mean {hint}?" if hint else ""


def _close_matches(name: str, candidates: Iterable[str]) -> str:
    matches = difflib.get_close_matches(name, sorted(set(candidates)), n=3, cutoff=0.6)
    if len(matches) > 1:
        return "one of: " + ", ".join(f"'{m}'" for m in matches)
    return f"'{matches[0]}'" if matches else ""


def plural(count: int, word: str, words: str | None = None) -> str:
    """``"1 row"``, ``"2 rows"``, ``"1,500,000 rows"``: a count and its noun, singular only for exactly one."""
    return f"{count:,} {word if count == 1 else (words or word + 's')}"


def size_text(nbytes: int | float) -> str:
    """A byte count for people: ``"512 B"``, ``"1.5 kB"``, ``"45.2 MB"``, ``"1.0 GB"`` (powers of 1000)."""
    value = float(nbytes)
    if value < 1000:
        return f"{value:.0f} B"
    for unit in ("kB", "MB", "GB"):
        value /= 1000
        if value < 1000:
            return f"{value:.1f} {unit}"
    return f"{value / 1000:.1f} TB"


def relative_note(path: str) -> str:
    """``" (relative paths are read from ...)"`` for a relative path that was not found, else ``""``."""
    hint = relative_hint(path)
    return f" ({hint})" if hint else ""


def relative_hint(path: str) -> str:
    """For a relative path that was not found: where relative paths are read from (docs/running.md#relative-paths).

    Relative paths in a flow are read from the working directory of ``pype run``, not from the
    flow's folder, so running from another folder is the usual cause.
    """
    if os.path.isabs(path) or "{{" in path:
        return ""
    return f"relative paths are read from the working directory, {os.getcwd()}; docs/running.md#relative-paths"
