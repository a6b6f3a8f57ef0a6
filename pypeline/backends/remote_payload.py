"""The payload and result documents that cross a remote boundary (format version 1).

A payload is one module attempt, as JSON::

    {
      "pypeline_payload": 1,
      "run_id": "20261123T101010-ab12cd", "module_id": "score", "node_id": "score#2",
      "module_path": "my_pkg.modules.score.Score", "attempt": 1,
      "execution_mode": "pandas",
      "configs": {"threshold": 3, "password": "{{vault.kv/app#pw}}"},
      "inputs": {"input": {"kind": "frame", "uri": "s3://bucket/prefix/.../in/input.parquet", "rows": 120},
                 "files": {"kind": "json", "value": ["a.csv", "b.csv"]}},
      "iter_path": [2], "iter_items": ["b.csv"],
      "globals": {"read.row_count": 120},
      "context": {"env": "prod"},
      "output_prefix": "s3://bucket/prefix/run/score@2/attempt-1/out/",
      "output_key": "daily/20261123T101010-ab12cd/score#2"
    }

``configs`` are the module's configs with every template resolved *except*
``{{vault...}}`` secret templates: secrets are resolved on the far side and
never travel. ``output_key`` is the module's ``RunContext.output_key`` (the
same in a run and the runs that resume it). The answer is a result::

    {"pypeline_result": 1, "status": "ok",
     "outputs": {"output": {"kind": "frame", "uri": "s3://...out/output.parquet", "rows": 80}},
     "globals": {"row_count": 80}, "stats": {...NodeStats.to_dict()...},
     "logs": [{"level": "info", "event": "...", ...}], "duration_ms": 812.5}

or ``"status": "error"`` with ``"error": {"type", "message", "traceback"}``.

This file only checks shapes; it imports nothing heavy (Lambda cold starts).
"""

from __future__ import annotations

import json
import math
from typing import Any

PAYLOAD_VERSION = 1
RESULT_VERSION = 1
URI_SCHEMES = ("s3://", "file://")
"""Where staged frames live: S3 (Lambda, Glue) or a folder mounted on both sides (container)."""

_PAYLOAD_FIELDS: dict[str, type | tuple[type, ...]] = {
    "run_id": str,
    "module_id": str,
    "node_id": str,
    "module_path": str,
    "attempt": int,
    "execution_mode": str,
    "configs": dict,
    "inputs": dict,
    "iter_path": list,
    "iter_items": list,
    "globals": dict,
    "context": dict,
    "output_prefix": str,
    "output_key": str,
}


class BoundaryError(Exception):
    """A payload or result that does not have the expected shape; the message says what is wrong."""


def check_payload(doc: Any) -> dict[str, Any]:
    """Return ``doc`` when it is a payload this version of PYpeline can run.

    Raises:
        BoundaryError: naming the first problem (wrong version, missing or mistyped field, bad input).
    """
    if not isinstance(doc, dict):
        raise BoundaryError(f"malformed payload: expected a JSON object, got {type(doc).__name__}")
    version = doc.get("pypeline_payload")
    if version != PAYLOAD_VERSION:
        raise BoundaryError(
            f"malformed payload: 'pypeline_payload' is {version!r}, expected {PAYLOAD_VERSION} "
            "(is the far side running the same PYpeline version as the caller?)"
        )
    for name, kind in _PAYLOAD_FIELDS.items():
        if name not in doc:
            raise BoundaryError(f"malformed payload: field '{name}' is missing")
        if not isinstance(doc[name], kind) or (kind is int and isinstance(doc[name], bool)):
            raise BoundaryError(f"malformed payload: field '{name}' is {type(doc[name]).__name__}, expected {kind}")
    if doc["execution_mode"] not in ("pandas", "dask"):
        raise BoundaryError(f"malformed payload: execution_mode {doc['execution_mode']!r} is not pandas or dask")
    if not doc["output_prefix"].startswith(URI_SCHEMES):
        raise BoundaryError(
            f"malformed payload: output_prefix {doc['output_prefix']!r} is not an s3:// or file:// URI"
        )
    for port, ref in doc["inputs"].items():
        check_port_ref(ref, f"input '{port}'", "malformed payload")
    return doc


def check_result(doc: Any, where: str) -> dict[str, Any]:
    """Return ``doc`` when it is a result document.

    Args:
        doc: the decoded answer.
        where: who answered (``lambda function 'x'``), for the message.

    Raises:
        BoundaryError: when ``doc`` is not a result of this version.
    """
    if not isinstance(doc, dict) or doc.get("pypeline_result") != RESULT_VERSION:
        shown = json.dumps(doc, default=str)[:300] if not isinstance(doc, bytes) else repr(doc[:300])
        raise BoundaryError(f"{where} did not answer with a PYpeline result (got {shown})")
    status = doc.get("status")
    if status == "error":
        error = doc.get("error")
        if not isinstance(error, dict) or not isinstance(error.get("message"), str):
            raise BoundaryError(f"{where} answered status 'error' without an error message")
        return doc
    if status != "ok":
        raise BoundaryError(f"{where} answered with status {status!r}, expected 'ok' or 'error'")
    for name in ("outputs", "globals", "stats"):
        if not isinstance(doc.get(name), dict):
            raise BoundaryError(f"{where} answered without a '{name}' object")
    for port, ref in doc["outputs"].items():
        check_port_ref(ref, f"output '{port}'", f"{where} answered a malformed result")
    return doc


def check_port_ref(ref: Any, what: str, prefix: str) -> None:
    """Check one ``{"kind": "frame", "uri": ...}`` / ``{"kind": "json", "value": ...}`` reference."""
    if not isinstance(ref, dict) or ref.get("kind") not in ("frame", "json"):
        raise BoundaryError(f"{prefix}: {what} is not a {{'kind': 'frame'|'json', ...}} reference")
    if ref["kind"] == "frame" and not (isinstance(ref.get("uri"), str) and ref["uri"].startswith(URI_SCHEMES)):
        raise BoundaryError(f"{prefix}: {what} has no s3:// or file:// 'uri'")
    if ref["kind"] == "json" and "value" not in ref:
        raise BoundaryError(f"{prefix}: {what} has no 'value'")


def json_safe(value: Any, what: str) -> Any:
    """``value`` when it survives a JSON round trip unchanged in meaning, else raise.

    Tuples become lists and numpy scalars become Python numbers; anything else
    that JSON cannot carry (a set, a datetime, an object) is refused, because
    the far side would receive something different from what the module made.

    Raises:
        TypeError: naming ``what`` and the offending type.
    """
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"{what}: {value!r} cannot travel as JSON")
        return value
    if isinstance(value, (list, tuple)):
        return [json_safe(v, f"{what}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{what}: key {key!r} is not a string, so it cannot travel as JSON")
            out[key] = json_safe(item, f"{what}.{key}")
        return out
    item = getattr(value, "item", None)
    if callable(item) and type(value).__module__ == "numpy":
        return json_safe(item(), what)
    raise TypeError(
        f"{what}: a {type(value).__module__}.{type(value).__name__} cannot cross to a remote backend "
        "(frames travel as Parquet, other values must be JSON: str, int, float, bool, None, list, dict)"
    )
