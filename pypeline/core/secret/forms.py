"""The forms a secret takes in text, and one matcher that finds every form of every secret.

Why forms
---------
A secret rarely leaks as itself. An error message shows it through
``repr()`` (``'p\\'w\\n'``), a log line JSON-escapes that again, a database
driver prints a URL with the password percent-encoded, an HTTP library
base64-encodes ``user:password`` into a header, a message cuts a long value
short. The value-based backstop (:class:`~pypeline.core.secret.SecretRegistry`)
must recognise all of those, so for every registered secret ``S`` the
matcher knows these *forms*:

* **raw**: ``S`` itself;
* **escaped**: ``S`` as Python writes it between quotes (``repr``, ``ascii``,
  both quote styles, no quote at all as ``unicode_escape`` does, and the
  ``repr`` of its UTF-8 bytes), as JSON writes it inside a string
  (``ensure_ascii`` on and off), and each of these escaped once more by JSON
  (a ``repr`` inside a JSON log line);
* **URL-encoded**: ``quote(S, safe)`` for ``safe`` in ``''``, ``'/'``,
  ``' +'`` (SQLAlchemy's password form) and ``' +/'`` (its path form), and
  ``quote_plus(S, safe)`` for ``''`` and ``'/'``, each with upper- and
  lower-case hex digits; and **URL-decoded** (``unquote``, ``unquote_plus``)
  when ``S`` itself holds percent escapes, as a password kept ready for a URL
  does (the driver, and its messages, see the decoded one);
* **base64**: the characters of ``base64(S)`` (standard and URL-safe
  alphabets) that depend on ``S``'s UTF-8 bytes alone, for each of the three
  positions those bytes can take relative to a 3-byte group. So ``S``
  embedded anywhere in a larger encoded blob (``Basic dXNlcjpTM2NyM3Q=``) is
  found, not only ``S`` encoded on its own.

The rule
--------
A stretch of text is a hit when it is a whole form, or a run of
:data:`MIN_RUN` (8) or more consecutive characters of a form: a prefix left
by truncation, a slice, the middle of a value printed in part. A form other
than the raw value that is shorter than :data:`MIN_FORM` characters is not
looked for (an encoded scrap of 1-3 characters would match everywhere); the
raw value is, whatever its length.

How it stays fast
-----------------
Every run of 8 or more characters, and every form of 7 or more, covers a
whole 4-character block of the text that starts at a multiple of 4. So the
matcher cuts the text into such blocks and asks whether any block is one of
the 4-character pieces of any form (``frozenset.isdisjoint`` over a ``map``
of ready-made slices: C loops that make and drop one short string at a
time): for text holding no secret, that is the whole cost, some 20-40 ns per
character whatever the number of secrets (``benchmarks/secret_redaction.py``). Only
a block that is a piece of a form is looked at more closely: it is extended
left and right along that form, and kept when the extension reaches the rule
above. The few forms shorter than 7 characters are found by one small
regular expression. The matcher is built once per set of secrets (the
registry rebuilds it only after a new secret was added), never per call.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, unquote, unquote_plus

MIN_RUN = 8
"""A run of this many consecutive characters of a form is redacted."""

MIN_FORM = 4
"""Encoded forms shorter than this are not looked for (the raw value always is)."""

_BLOCK = 4
_LONG = 2 * _BLOCK - 1
"""Forms this long always cover an aligned block; shorter ones go to the small regex."""
_SEGMENT = 64 * _BLOCK
"""When a block matches, the text is searched again in segments this long to find it."""
_CHUNK = 4096 * _BLOCK
"""Texts are checked this many characters at a time, with slice objects made once (:data:`_SLICES`)."""
_SLICES = [slice(at, at + _BLOCK) for at in range(0, _CHUNK, _BLOCK)]
_HEX_RE = re.compile(r"%[0-9A-F]{2}")
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def secret_forms(value: str) -> set[str]:
    """Every form of ``value`` the matcher looks for (see the module docstring)."""
    if not value:
        return set()
    escaped = {repr(value)[1:-1], ascii(value)[1:-1]}
    for quote_char in ("'", '"', ""):
        for ascii_only in (False, True):
            escaped.add(_py_escape(value, quote_char, ascii_only))
    data = value.encode("utf-8", "surrogatepass")
    escaped.add(repr(data)[2:-1])
    forms = {value, *escaped}
    for text in list(forms):
        forms.add(json.dumps(text)[1:-1])
        forms.add(json.dumps(text, ensure_ascii=False)[1:-1])
    encoded = [quote(value, safe=safe) for safe in ("", "/", " +", " +/")]
    encoded += [quote_plus(value, safe=safe) for safe in ("", "/")]
    forms.update(encoded)
    forms.update(_HEX_RE.sub(lambda m: m.group(0).lower(), text) for text in encoded)
    if "%" in value or "+" in value:
        forms.update((unquote(value), unquote_plus(value)))
    for offset in range(3):
        first = -(-8 * offset // 6)  # the first character made of the value's bits only
        end = (8 * offset + 8 * len(data)) // 6
        padded = b"\0" * offset + data
        forms.add(base64.b64encode(padded).decode("ascii")[first:end])
        forms.add(base64.urlsafe_b64encode(padded).decode("ascii")[first:end])
    return {form for form in forms if form == value or len(form) >= MIN_FORM}


def _py_escape(text: str, quote_char: str, ascii_only: bool) -> str:
    """``text`` escaped as Python writes a string literal's inside with ``quote_char`` around it."""
    out = []
    for ch in text:
        if ch == "\\" or ch == quote_char:
            out.append("\\" + ch)
        elif ch in _NAMED_ESCAPES:
            out.append(_NAMED_ESCAPES[ch])
        elif ch.isprintable() and not (ascii_only and ch > "\x7e"):
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)


class SecretMatcher:
    """Finds every form of a fixed set of secrets in text (see the module docstring).

    Immutable once built; safe to share between threads.
    """

    def __init__(self, forms: Iterable[str]) -> None:
        self._forms: list[str] = sorted({f for f in forms if f}, key=lambda f: (-len(f), f))
        places: dict[str, list[tuple[int, int]]] = {}
        short: list[str] = []
        for index, form in enumerate(self._forms):
            if len(form) < _LONG:
                short.append(form)
                continue
            for offset in range(len(form) - _BLOCK + 1):
                places.setdefault(form[offset : offset + _BLOCK], []).append((index, offset))
        self._places = places
        self._pieces = frozenset(places)
        self._short = re.compile("|".join(map(re.escape, short))) if short else None

    def spans(self, text: str) -> list[tuple[int, int]]:
        """The ``(start, end)`` stretches of ``text`` that are hits, sorted and merged."""
        found: list[tuple[int, int]] = []
        if self._pieces and len(text) >= _BLOCK:
            covered = 0
            for base in range(0, len(text), _CHUNK):
                chunk = text if len(text) <= _CHUNK else text[base : base + _CHUNK]
                if self._pieces.isdisjoint(map(chunk.__getitem__, itertools.islice(_SLICES, len(chunk) // _BLOCK))):
                    continue  # the common case: C loops, one short string made and dropped at a time
                # some block is a piece of a form (or a 4-character chance match): find it, a segment at a time
                for segment in range(0, len(chunk), _SEGMENT):
                    end = min(segment + _SEGMENT, len(chunk)) // _BLOCK
                    if not self._pieces.isdisjoint(map(chunk.__getitem__, _SLICES[segment // _BLOCK : end])):
                        starts = range(base + segment, base + end * _BLOCK, _BLOCK)
                        covered = self._extend_all(text, starts, covered, found)
        if self._short is not None:
            found.extend(match.span() for match in self._short.finditer(text))
        return _merge(found) if found else found

    def search(self, text: str) -> bool:
        """True when ``text`` holds a hit."""
        return bool(self.spans(text))

    def redact(self, text: str, mask: str) -> str:
        """``text`` with every hit replaced by ``mask``."""
        spans = self.spans(text)
        if not spans:
            return text
        parts = []
        last = 0
        for start, end in spans:
            parts.append(text[last:start])
            parts.append(mask)
            last = end
        parts.append(text[last:])
        return "".join(parts)

    def _extend_all(self, text: str, starts: range, covered: int, found: list[tuple[int, int]]) -> int:
        """Add the hits grown from the blocks at ``starts`` to ``found``; return how far hits reach."""
        for at in starts:
            places = self._places.get(text[at : at + _BLOCK])
            if places is None:
                continue
            if at + _BLOCK <= covered:  # inside a hit already found
                continue
            for index, offset in places:
                span = _extend(text, at, self._forms[index], offset)
                if span is not None:
                    found.append(span)
                    covered = max(covered, span[1])
        return covered



def _extend(text: str, at: int, form: str, offset: int) -> tuple[int, int] | None:
    """Grow the block ``text[at:at+4] == form[offset:offset+4]`` along ``form``; a hit or ``None``."""
    start, left = at, offset
    while start and left and text[start - 1] == form[left - 1]:
        start -= 1
        left -= 1
    end, right = at + _BLOCK, offset + _BLOCK
    size, length = len(text), len(form)
    while end < size and right < length and text[end] == form[right]:
        end += 1
        right += 1
    if end - start >= MIN_RUN or (left == 0 and right == length):
        return start, end
    return None


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        last_start, last_end = merged[-1]
        if start <= last_end:
            merged[-1] = (last_start, max(last_end, end))
        else:
            merged.append((start, end))
    return merged
