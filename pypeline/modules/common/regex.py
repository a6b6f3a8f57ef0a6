"""Regular expressions from flows: RE2 syntax, matched in time linear in the text.

Python's ``re`` backtracks: ``^(a|aa)+$`` against 42 ``a`` and a ``!`` runs for
minutes, holding the GIL, so one line of data can stall a run. Patterns a
flow gives are therefore compiled by RE2 (``google-re2``), whose automata
never backtrack. RE2 refuses what needs backtracking (backreferences,
lookahead and lookbehind, atomic groups, possessive quantifiers) and a few
Python-only spellings; :func:`pattern_problem` turns its terse message into
one line that says why and what to write instead, so the build refuses the
flow (exit 2) with the module and the YAML line.

Matching a column uses Arrow's vectorized ``match_substring_regex``, which is
RE2 as well (pyarrow ships it): one call per column, the GIL released while
it runs, no Python call per value.

RE2 differs from ``re`` in small ways users may meet (docs/modules.md says
them too): ``$`` matches only at the end of the text (``re`` also before a
final newline), ``\\z`` is the end of text (``re``'s ``\\Z``), and ``\\d``,
``\\w``, ``\\s``, ``\\b`` are ASCII classes (``\\pL``, ``\\p{Greek}`` exist for
Unicode).
"""

from __future__ import annotations

import re
from typing import Any

import re2

DOCS = "docs/modules.md#regex_filter_mod"
_WHY = "RE2 matches in time linear in the text and has no backtracking"

_REFUSED: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\\[1-9]"), "a backreference '{0}'"),
    (re.compile(r"\(\?P=\w+\)|\\k<\w+>"), "a backreference to a named group '{0}'"),
    (re.compile(r"\(\?<?[=!]"), "lookaround '{0}'"),
    (re.compile(r"\(\?>"), "an atomic group '{0}'"),
    (re.compile(r"(?<!\\)(?:[*+?}])\+"), "a possessive quantifier '{0}'"),
]
"""Backtracking features, found in the pattern text once RE2 refused it (the first match names it)."""

_RESPELL: dict[str, str] = {
    "\\Z": "write \\z for the end of the text",
    "(?x": "verbose mode (?x) does not exist in RE2: write the pattern without spaces and comments",
    "(?#": "comments (?#...) do not exist in RE2",
}


def compile_pattern(pattern: str, *, ignore_case: bool = False) -> Any:
    """``pattern`` compiled by RE2.

    Raises:
        ValueError: with :func:`pattern_problem`'s text when RE2 refuses the pattern.
    """
    options = re2.Options()
    options.log_errors = False  # RE2 would also log its error to stderr
    options.case_sensitive = not ignore_case
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        raise ValueError(_explain(pattern, _message(exc))) from None


def pattern_problem(pattern: str, *, ignore_case: bool = False) -> str | None:
    """Why RE2 refuses ``pattern`` (one line), or None when it compiles."""
    try:
        compile_pattern(pattern, ignore_case=ignore_case)
    except ValueError as exc:
        return str(exc)
    return None


def full_pattern(pattern: str) -> str:
    """A pattern that matches where ``pattern`` matches the whole text (RE2 has no ``fullmatch`` call here)."""
    return f"\\A(?:{pattern})\\z"


def match_mask(values: Any, pattern: str, *, ignore_case: bool = False) -> Any:
    """A numpy bool array: which of ``values`` (a pandas Series of text, nulls allowed) contain a match.

    Null values never match. The pattern must have passed :func:`compile_pattern`.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pa.array(values, type=pa.large_string(), from_pandas=True)
    found = pc.match_substring_regex(array, pattern=pattern, ignore_case=ignore_case)
    return pc.fill_null(found, False).to_numpy(zero_copy_only=False)


def _message(exc: re2.error) -> str:
    raw = exc.args[0] if exc.args else ""
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _explain(pattern: str, message: str) -> str:
    shown = _show(pattern)
    message = _show(message)[1:-1]  # RE2 quotes a piece of the pattern, which may hold a line break
    for finder, what in _REFUSED:
        found = finder.search(pattern)
        if found is not None:
            feature = what.format(found.group(0))
            return f"pattern {shown} uses {feature}, which RE2 does not support: {_WHY} (see {DOCS})"
    for spelling, advice in _RESPELL.items():
        if spelling in pattern:
            return f"pattern {shown} is not valid RE2 syntax: {advice} (see {DOCS})"
    if message.startswith("invalid repetition size"):
        return (f"pattern {shown} is refused: its counted repetitions exceed RE2's limit of 1000 "
                f"(at '{message.split(': ', 1)[-1]}', nested counts multiply) (see {DOCS})")
    if "too large" in message or "out of memory" in message:
        return f"pattern {shown} is refused: it compiles to more than RE2's memory budget (see {DOCS})"
    return f"pattern {shown} is not a valid regular expression (RE2 syntax, see {DOCS}): {message}"


def _show(text: str) -> str:
    """``text`` as written, quoted, on one line (``repr`` would double every backslash)."""
    text = text if len(text) <= 200 else text[:200] + "..."
    return "'" + text.replace("\n", "\\n").replace("\r", "\\r") + "'"
