"""Ordered ``name -> text`` configs (derived columns, aggregations, extracted keys).

The job folder stores configs as canonical JSON with sorted keys, so the order
of a YAML mapping does not survive the build. Modules whose output column
order matters therefore accept, next to a mapping, a list whose items are
one-entry mappings (and, where a name can be derived, plain strings)::

    columns:                      # a mapping: order not kept
      total: price * qty
    columns:                      # a list: order kept
      - total: price * qty
      - total_eur: total * 0.92
"""

from __future__ import annotations

from typing import Any

ORDERED_TYPE = "dict[str]|list"
"""The CONFIG_SCHEMA type of such a config (items are checked by :func:`pairs_problems`)."""


def pairs_problems(value: Any, key: str, *, allow_strings: bool = False) -> list[str]:
    """Problems with the shape of ``value`` (a mapping of text, or a list of one-entry mappings)."""
    if isinstance(value, dict):
        return [
            f"{key}.{name}: expected text, got {type(text).__name__}"
            for name, text in value.items()
            if not isinstance(text, str)
        ]
    if not isinstance(value, list):
        return []
    problems = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        if isinstance(item, str) and allow_strings:
            continue
        if not (isinstance(item, dict) and len(item) == 1 and all(isinstance(t, str) for t in item.values())):
            wanted = "a one-entry mapping name: text" + (" or a text" if allow_strings else "")
            problems.append(f"{key}[{index}]: expected {wanted}, got {item!r}")
            continue
        name = next(iter(item))
        if name in seen:
            problems.append(f"{key}[{index}]: '{name}' is given twice")
        seen.add(name)
    return problems


def ordered_pairs(value: dict[str, str] | list[Any], name_of: Any = None) -> list[tuple[str, str]]:
    """``(name, text)`` pairs in order; a plain string item is named by ``name_of(text)``."""
    if isinstance(value, dict):
        return list(value.items())
    pairs = []
    for item in value:
        if isinstance(item, str):
            pairs.append((name_of(item) if name_of else item, item))
        else:
            pairs.extend(item.items())
    return pairs
