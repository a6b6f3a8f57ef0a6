"""Errors of the build, moved from lines of the generated YAML to the lines that made each part.

The build names the line of its YAML document. For a flow built in Python
that document is generated, so :func:`python_lines` catches every
:class:`~pypeline.core.errors.FlowError`, finds the JSON pointer(s) of the
document at that line (the deepest one first), walks up to the nearest
pointer that has a site, and raises the same error with that site's file and
line. "line N" inside a message (the first of two duplicates) is rewritten the
same way.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from contextlib import contextmanager

from pypeline.api.document import FlowDocument
from pypeline.api.sites import Site
from pypeline.core.errors import FlowError

_LINE_IN_TEXT = re.compile(r"\bline (\d+)\b")


class SiteMap:
    """Line of the generated YAML -> the site of the part written there."""

    def __init__(self, document: FlowDocument, sites: dict[str, Site]) -> None:
        self.sites = sites
        self.origin = document.origin
        self.pointers_at: dict[int, list[str]] = {}
        for pointer, (line, _column) in document.doc.positions.items():
            self.pointers_at.setdefault(line, []).append(pointer)

    def site_of_line(self, line: int) -> Site:
        """The site of the deepest part written at ``line`` (or on the nearest line above it)."""
        while line > 0 and line not in self.pointers_at:
            line -= 1
        for pointer in sorted(self.pointers_at.get(line, []), key=len, reverse=True):
            site = self.site_of_pointer(pointer)
            if site is not None:
                return site
        return self.origin

    def site_of_pointer(self, pointer: str) -> Site | None:
        """The site of ``pointer`` or of its nearest parent that has one."""
        while True:
            site = self.sites.get(pointer)
            if site is not None or not pointer:
                return site
            pointer = pointer.rsplit("/", 1)[0]

    def moved(self, exc: FlowError) -> FlowError:
        """A copy of ``exc`` naming the site of its line (same class, same facts, same words)."""
        site = self.site_of_line(exc.line) if exc.line is not None else self.origin
        moved = copy.copy(exc)
        moved.what = _LINE_IN_TEXT.sub(lambda m: str(self.site_of_line(int(m.group(1)))), exc.what)
        moved.path, moved.line, moved.column = site.path, site.line, None
        moved.message = moved._build()
        moved.args = (moved.message,)
        return moved


@contextmanager
def python_lines(document: FlowDocument) -> Iterator[None]:
    """Re-raise a :class:`FlowError` about ``document`` at the site that made the part (see the module docstring)."""
    if document.sites is None:  # a YAML file as it is: its lines are the user's
        yield
        return
    try:
        yield
    except FlowError as exc:
        if exc.path != document.doc.path:  # about another file (an included flow, a registry file)
            raise
        raise SiteMap(document, document.sites).moved(exc) from None
