"""Reading a checkpoint back: the longest prefix of records a resumed run can trust.

The layout and what makes a record complete are described in ``store.py``,
which writes them. :func:`read_checkpoint` verifies each record of the journal
in order (the journal's checksum, then its sequence number, its JSON and the
length and CRC-32 of the Parquet data file it names) and stops at the first it
cannot trust: the instances after it run again on resume.
"""

from __future__ import annotations

import io
import json
import zlib
from pathlib import Path
from typing import Any

from pypeline.core.errors import CheckpointError
from pypeline.run.checkpoint.journal import read_records
from pypeline.run.checkpoint.store import CHECKPOINT_VERSION, JOURNAL_FILE, META_FILE, Checkpoint, InstanceData


def read_checkpoint(folder: Path) -> Checkpoint | None:
    """The checkpoint in ``folder``, or ``None`` when there is none (no ``meta.json``).

    Returns the longest prefix of complete, verified instance records (see the
    module docstring); ``Checkpoint.dropped`` says why the rest was not trusted.

    Raises:
        CheckpointError: ``meta.json`` or the journal cannot be read at all.
    """
    meta_path = folder / META_FILE
    if not meta_path.is_file():
        return None
    meta = _read_json(meta_path)
    if meta.get("checkpoint_version") != CHECKPOINT_VERSION:
        raise CheckpointError(f"{meta_path}: unsupported checkpoint version {meta.get('checkpoint_version')!r}")
    journal = folder / JOURNAL_FILE
    try:
        found = read_records(journal)
    except OSError as exc:
        raise CheckpointError(f"{journal}: unreadable checkpoint journal ({exc}); start a new run instead") from None
    instances: list[InstanceData] = []
    dropped = None
    for payload in found.payloads:
        try:
            instances.append(_instance(payload, folder, expected_seq=len(instances) + 1))
        except _BadRecord as exc:
            dropped = f"record {len(instances) + 1}: {exc}"
            break
    else:
        if found.bad_offset is not None:
            dropped = f"record {len(instances) + 1} (byte {found.bad_offset}): {found.bad_reason}"
    return Checkpoint(folder=folder, meta=meta, instances=instances, dropped=dropped)


class _BadRecord(Exception):
    """A record that passed the journal's checksum but cannot be trusted."""


def _instance(payload: bytes, folder: Path, *, expected_seq: int) -> InstanceData:
    try:
        doc = json.loads(payload)
        seq = int(doc["seq"])
        if seq != expected_seq:
            raise _BadRecord(f"sequence number {seq} where {expected_seq} was expected")
        lists: dict[tuple[str, str], list[Any]] = {}
        for entry in doc["lists"]:
            key = (entry["node_id"], entry["port"])
            lists[key] = entry["items"] if entry["format"] == "json" else _read_list_parquet(folder, entry)
        return InstanceData(
            seq=seq,
            key=(doc["subflow"], tuple(doc["iter_path"])),
            nodes=doc["nodes"],
            globals=[(k, v) for k, v in doc["globals"]],
            lists=lists,
            payload=payload,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise _BadRecord(f"malformed record ({type(exc).__name__}: {exc})") from None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: unreadable checkpoint file ({exc}); start a new run instead") from None


def _read_list_parquet(folder: Path, entry: dict[str, Any]) -> list[Any]:
    import pyarrow.parquet as pq

    path = folder / entry["file"]
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _BadRecord(f"{path}: data file unreadable ({exc})") from None
    if len(data) != entry["size"] or zlib.crc32(data) != entry["crc32"]:
        raise _BadRecord(f"{path}: data file does not match its record (length or checksum)")
    try:
        return list(pq.read_table(io.BytesIO(data)).column("item").to_pylist())
    except Exception as exc:
        raise _BadRecord(f"{path}: unreadable checkpoint data ({exc})") from None
