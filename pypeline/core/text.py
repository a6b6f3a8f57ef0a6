"""Small text helpers shared by error messages."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for close matches, or an empty string."""
    matches = difflib.get_close_matches(name, sorted(set(candidates)), n=3, cutoff=0.6)
    if not matches:
        return ""
    if len(matches) == 1:
        return f" Did you mean '{matches[0]}'?"
    return " Did you mean one of: " + ", ".join(f"'{m}'" for m in matches) + "?"


def quoted_list(items: Iterable[str]) -> str:
    """``'a', 'b', 'c'`` from sorted items (used in 'expected one of ...' phrases)."""
    return ", ".join(f"'{i}'" for i in sorted(items))
