"""Small text helpers shared by error messages."""

from __future__ import annotations

import difflib
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

