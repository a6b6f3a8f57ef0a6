"""Canonical JSON and atomic file writes.

Build outputs must be byte-identical for the same input, and no file a run
writes (checkpoint, manifest, sink output) may ever be seen half-written. Both
needs meet here: :func:`canonical_json` fixes the byte form, and
:func:`atomic_write_bytes` writes to a temporary name in the same folder,
fsyncs, and renames over the final name.

:func:`canonical_json` also masks every secret-marked value
(:class:`pypeline.core.secret.SecretStr`) as ``***``: whatever a manifest or a
checkpoint carries, a resolved secret never reaches a JSON file this way.
"""

from __future__ import annotations

import json
import math
import os
import secrets
from collections.abc import Mapping
from json.encoder import encode_basestring as _encode_string
from pathlib import Path
from typing import Any

import orjson

from pypeline.core.secret import MASK, SecretStr, mask


def canonical_json(obj: Any) -> str:
    """Serialise ``obj`` with sorted keys, two-space indent and a final newline.

    The bytes are exactly those of ``json.dumps(obj, sort_keys=True, indent=2,
    ensure_ascii=False)``; the standard library only uses its C encoder when
    ``indent`` is None, so for large documents (a 10,000-module ``dag.json``)
    this walks the structure itself and leaves strings to the C escaper.
    """
    parts: list[str] = []
    try:
        _encode(obj, "\n", parts)
    except _NonStringKey:
        return json.dumps(mask(obj), sort_keys=True, indent=2, ensure_ascii=False, default=_default) + "\n"
    parts.append("\n")
    return "".join(parts)


class _NonStringKey(Exception):
    """A mapping key that is not a string: let the standard encoder handle the whole document."""


def _encode(obj: Any, newline: str, parts: list[str]) -> None:
    scalar = _SCALARS.get(type(obj))
    if scalar is not None:
        parts.append(scalar(obj))
    elif isinstance(obj, dict):
        _encode_dict(obj, newline, parts)
    elif isinstance(obj, (list, tuple)):
        _encode_list(obj, newline, parts)
    elif isinstance(obj, str):  # a str subclass; a secret-marked value is never written
        parts.append(_encode_string(MASK if isinstance(obj, SecretStr) else obj))
    elif isinstance(obj, bool) or obj is None:
        parts.append("true" if obj is True else "false" if obj is False else "null")
    elif isinstance(obj, int):
        parts.append(int.__repr__(obj))
    elif isinstance(obj, float):
        parts.append(_float(obj))
    else:
        _encode(_default(obj), newline, parts)


# Encoded mapping keys ('"name": '): documents repeat the same few keys thousands of times.
_LABELS: dict[str, str] = {}
_MAX_LABELS = 4096


def _encode_dict(obj: dict[Any, Any], newline: str, parts: list[str]) -> None:
    if not obj:
        parts.append("{}")
        return
    inner = newline + "  "
    separator = "{" + inner
    following = "," + inner
    try:
        keys = sorted(obj)
    except TypeError:
        raise _NonStringKey from None
    for key in keys:
        label = _LABELS.get(key)
        if label is None:
            if type(key) is not str:
                raise _NonStringKey
            label = _encode_string(key) + ": "
            if len(_LABELS) < _MAX_LABELS:
                _LABELS[key] = label
        value = obj[key]
        scalar = _SCALARS.get(type(value))
        if scalar is not None:
            parts.append(separator + label + scalar(value))
        else:
            parts.append(separator + label)
            _encode(value, inner, parts)
        separator = following
    parts.append(newline + "}")


def _encode_list(obj: list[Any] | tuple[Any, ...], newline: str, parts: list[str]) -> None:
    if not obj:
        parts.append("[]")
        return
    inner = newline + "  "
    separator = "[" + inner
    following = "," + inner
    for value in obj:
        scalar = _SCALARS.get(type(value))
        if scalar is not None:
            parts.append(separator + scalar(value))
        else:
            parts.append(separator)
            _encode(value, inner, parts)
        separator = following
    parts.append(newline + "]")


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == float("inf"):
        return "Infinity"
    if value == float("-inf"):
        return "-Infinity"
    return float.__repr__(value)


_SCALARS: dict[type, Any] = {
    str: _encode_string,
    int: int.__repr__,
    float: _float,
    bool: lambda value: "true" if value else "false",
    type(None): lambda _: "null",
}


def _default(obj: Any) -> Any:
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part.

    Args:
        path: the final name.
        data: the content.
        durable: fsync the file before the rename and the folder after it, so the new
            content survives an OS crash. With ``False`` the rename alone still protects
            against a killed process (the page cache outlives it); the caller then makes
            the file durable later (the checkpoint journal's group commit does).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_beside(target)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(target.parent)


def create_beside(target: Path) -> tuple[int, str]:
    """A new, empty temporary file in ``target``'s folder, open for writing: ``(fd, path)``.

    Its mode is what a plain ``open()`` gives (0666 less the umask), so the file
    renamed over ``target`` has the permissions the user expects (``umask 022``:
    ``rw-r--r--``); :func:`tempfile.mkstemp` would make every job folder file,
    manifest and graph 0600. ``O_EXCL`` and a random name keep it private to this writer.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = str(target.parent / f".{target.name}.{secrets.token_hex(6)}.pype-tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"{target.parent}: no free temporary name for {target.name}")


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Text variant of :func:`atomic_write_bytes` (UTF-8)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def compact_json(obj: Any, *, masked: bool = True) -> str:
    """``obj`` as one line of JSON (sorted keys, no spaces, no newline), secret-marked values masked.

    For records that must fit on one line (the checkpoint journal): JSON escapes
    every control character inside strings, so the text never holds a raw newline.
    ``masked=False`` skips the walk that masks secret-marked values, for callers
    that know ``obj`` holds none (the standard C encoder would write their text).
    """
    if masked:
        obj = mask(obj)
    return _COMPACT.encode(obj) if has_nonfinite(obj) else finite_compact_json(obj)


def finite_compact_json(obj: Any) -> str:
    """:func:`compact_json` (``masked=False``) of ``obj`` known to hold no NaN or infinite number.

    orjson writes a line about ten times faster than the standard encoder, which a run
    pays for every module (its record in the checkpoint and the manifest), but it
    writes NaN and infinities as ``null``: the standard encoder writes them as it reads
    them back, so :func:`compact_json` leaves such objects to it. What orjson refuses
    (an integer beyond 64 bits, a key that is not a string) is also left to the standard
    encoder, whose answer (or error) stays the one a caller gets. The values are the
    same either way; floats may be spelled differently (``0.00001`` for ``1e-05``).
    """
    try:
        return orjson.dumps(obj, default=_default, option=_ORJSON_SORTED).decode()
    except TypeError:  # orjson.JSONEncodeError is one
        return _COMPACT.encode(obj)


def json_line(obj: Mapping[str, Any]) -> str:
    """``obj`` as one compact log line, sorted keys; a value JSON has no form for is written as its ``str()``.

    Written by orjson (a run writes a line per module): NaN and infinities become
    ``null``, so every line parses with any JSON reader. What orjson refuses (an
    integer beyond 64 bits, a key that is not a string) goes to the standard encoder.
    """
    try:
        return orjson.dumps(obj, default=str, option=_ORJSON_SORTED).decode()
    except TypeError:  # orjson.JSONEncodeError is one
        return _LOG_LINE.encode(_nonfinite_as_none(obj))


def _nonfinite_as_none(obj: Any) -> Any:
    """``obj`` with its NaN and infinite floats replaced by ``None`` (what orjson writes for them)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {key: _nonfinite_as_none(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_nonfinite_as_none(value) for value in obj]
    return obj


def has_nonfinite(obj: Any) -> bool:
    """True when ``obj`` holds a NaN or infinite float anywhere (numbers of numpy included)."""
    kind = type(obj)
    if kind in _FINITE_TYPES:
        return False
    if kind is float:
        return not math.isfinite(obj)
    if isinstance(obj, dict):
        obj = obj.values()
    elif not isinstance(obj, (list, tuple, set, frozenset)):
        return _nonfinite_scalar(obj)
    for value in obj:  # plain loops: a record's few values are checked for every module
        kind = type(value)
        if kind in _FINITE_TYPES or ((kind is list or kind is dict) and not value):  # empty: no call
            continue
        if has_nonfinite(value):
            return True
    return False


_FINITE_TYPES = frozenset({str, int, bool, type(None)})


def _nonfinite_scalar(obj: Any) -> bool:
    if isinstance(obj, float):
        return not math.isfinite(obj)
    item = getattr(obj, "item", None)  # a numpy number: _default writes obj.item()
    if not callable(item) or isinstance(obj, (str, bytes)):
        return False
    try:
        value = item()
    except (TypeError, ValueError):  # an array of several values: _default refuses it anyway
        return False
    return isinstance(value, float) and not math.isfinite(value)


_COMPACT = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)
"""The standard encoder of :func:`compact_json`, built once (``json.dumps`` with options builds one per call)."""
_LOG_LINE = json.JSONEncoder(default=str, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
"""The standard encoder of :func:`json_line`, for what orjson refuses."""
_ORJSON_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
"""Sorted keys; dataclasses and datetimes go to ``default`` as with the standard encoder."""


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as canonical JSON, atomically."""
    atomic_write_text(path, canonical_json(obj))


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Make a rename in ``folder`` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
