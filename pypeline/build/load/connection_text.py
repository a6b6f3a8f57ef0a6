"""The two written forms of connections, split into their parts (and put back together).

``"a.out - b.in"`` is a data connection: the port is after the *last* dot,
since the ids of an included flow's modules hold dots (``east.load.data``).
``"a (order|condition) b [type, options]"`` is a control connection in its
string form. The plan phase checks the parts (:mod:`pypeline.build.plan.connections`);
the include step renames them (:mod:`pypeline.build.load.includes`).
"""

from __future__ import annotations

import re

DATA_RE = re.compile(r"^\s*(\S+)\.([^\s.]+)\s+-\s+(\S+)\.([^\s.]+)\s*$")
CONTROL_RE = re.compile(r"^\s*([^\s(]+)\s*\((.*)\)\s*([^\s()\[\]]+)\s*(?:\[([^\[\]]*)\])?\s*$", re.DOTALL)


def split_data(text: str) -> tuple[str, str, str, str] | None:
    """``(from, from port, to, to port)``, or ``None`` when ``text`` is not of the form."""
    match = DATA_RE.match(text)
    return None if match is None else (match[1], match[2], match[3], match[4])


def split_control(text: str) -> tuple[str, str, str, str | None] | None:
    """``(from, valve, to, options)`` of ``"from (valve) to [options]"``, or ``None``."""
    match = CONTROL_RE.match(text)
    return None if match is None else (match[1], match[2], match[3], match[4])


def join_control(src: str, valve: str, dst: str, options: str | None) -> str:
    """The string form of a control connection (inverse of :func:`split_control`)."""
    return f"{src} ({valve}) {dst}" + (f" [{options}]" if options is not None else "")
