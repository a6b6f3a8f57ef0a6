"""The checkpoint of a run: what a resumed run needs, written so that ``kill -9`` cannot tear it
and so that the run never waits for the disk.

Layout (``jobs/<name>/runs/<run_id>/checkpoint/``)::

    meta.json                 run id, job, flow hash, context env + overrides, resumed_from
    journal.log               one record per finished sub flow instance, in completion order
    data/<seq>-<node>.<port>.parquet   list outputs JSON cannot hold exactly

``meta.json`` is written once, when the run starts (temporary name, fsync,
rename). Each time a sub flow instance finishes successfully,
:meth:`CheckpointWriter.instance_done` appends that instance's record to
``journal.log`` (``journal.py``): its node records (for the resumed run's
manifest), the globals its nodes set (in the order they were set) and the list
outputs its nodes produced (the data that crosses sub flow boundaries: iterate
lists), inline as JSON when JSON gives them back unchanged, else as a Parquet
file under ``data/`` written (temporary name, rename) before the record that
names it, which carries the file's length and CRC-32. Each record carries a
sequence number (1, 2, 3, ... with no gap), so globals replay in completion
order on resume.

What is durable when:

* once ``instance_done`` returns (before the instance's control downstream
  fires), the record is in the kernel's page cache: a process killed at any
  instant, ``kill -9`` included, keeps it. The run never waits for an fsync
  per instance (a few milliseconds each on common disks: most of the cost of
  a flow of many small sub flows);
* a background thread fsyncs the journal in groups (its data files first), a
  few milliseconds behind; every record of a group is durable against an OS
  crash or power cut once that group's fsync returned;
* before the run exits with its checkpoint kept (it failed, was interrupted,
  or raised), :meth:`CheckpointWriter.close` settles it: every record is
  durable when ``pype run`` exits. On success the checkpoint is deleted
  without settling.

An instance counts as done exactly when its record is complete: a record
that is torn (a kill inside its ``write``), zero-filled or otherwise damaged
(an OS crash before its group's fsync), whose sequence number breaks the
chain, or whose Parquet data file is missing or does not match its length
and checksum, is not trusted, and neither is any record after it (they are
later in completion order): ``read_checkpoint`` (``reading.py``) returns the valid prefix,
so the resumed run re-runs those instances from their sources.

Appending one small record per instance keeps the cost of a checkpoint
proportional to that instance, not to the whole run (a loop over thousands
of files does not rewrite a growing state file thousands of times).

Secrets: a checkpoint never holds a secret, nor ``***`` in place of a value.
Globals and list outputs are stored with each secret as its reference
(``{"$vault": "secret/app/db#password"}``, or ``{"$vault_text": [...]}`` for a
string that contains secrets, such as a path under a secret folder), and the
resumed run reads them again (``resume.py``). An instance whose globals or
lists hold a secret no reference can rebuild (a value module code transformed)
is not recorded, so the resumed run runs it again; the node records (what the
resumed manifest shows) are redacted like the manifest.

Frames never cross sub flow boundaries (data connections stay inside a sub
flow), so a checkpoint never holds frames: a resumed run re-runs unfinished
instances from their sources. On success the checkpoint folder is removed;
on failure it stays for ``pype run --resume``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pypeline.core.errors import CheckpointError
from pypeline.core.jsonio import atomic_write_bytes, atomic_write_text, canonical_json, compact_json, fsync_dir
from pypeline.run.checkpoint.journal import Journal
from pypeline.run.state.records import (
    NodeRecord,
    RunState,
    SubflowKey,
    SubflowRecord,
    nodes_json,
    subflow_key_str,
    utc_now,
)
from pypeline.secrets.transport import NotWirable, to_wire

CHECKPOINT_VERSION = 2
META_FILE = "meta.json"
JOURNAL_FILE = "journal.log"
DATA_DIR = "data"


@dataclass(slots=True, kw_only=True)
class InstanceData:
    """What one finished sub flow instance left for a resumed run."""

    seq: int
    key: SubflowKey
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The node records as read from disk; a finished instance of this run has :attr:`records` instead."""
    globals: list[tuple[str, Any]] = field(default_factory=list)
    lists: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    payload: bytes = b""
    """The journal record as read (a resumed run copies it into its own journal unchanged)."""
    records: dict[str, NodeRecord] = field(default_factory=dict)
    """The node records of a finished instance of this run (empty when read): see :meth:`node_dicts`."""

    def node_dicts(self) -> dict[str, dict[str, Any]]:
        """The node records as the checkpoint stores them: :attr:`nodes`, or :attr:`records` made into dicts."""
        return self.nodes or {n: record.to_dict() for n, record in self.records.items()}


@dataclass(slots=True, kw_only=True)
class Checkpoint:
    """A checkpoint read back from disk."""

    folder: Path
    meta: dict[str, Any]
    instances: list[InstanceData]
    """In completion order."""
    dropped: str | None = None
    """Why the journal's tail was not trusted (a torn or damaged record), or ``None``."""

    @property
    def done(self) -> set[SubflowKey]:
        """The finished instances."""
        return {i.key for i in self.instances}


class CheckpointWriter:
    """Writes one run's checkpoint (see the module docstring); safe for concurrent sub flows."""

    def __init__(self, folder: Path, *, secrets: Any = None, logger: Any = None) -> None:
        self.folder = folder
        self._secrets = secrets
        """The run's ``SecretRegistry``: no secret value reaches a checkpoint file (docs/secrets.md)."""
        self._logger = logger
        self._lock = asyncio.Lock()
        self._seq = 0
        self.journal = Journal(folder / JOURNAL_FILE)

    def start(self, meta: dict[str, Any], carried: Checkpoint | None = None) -> None:
        """Open the journal with the instances of the checkpoint a resumed run carries on, then write ``meta.json``.

        The carried records are copied unchanged and settled at once; data files are
        immutable once written, so they are hard-linked (copied where links are
        impossible). ``meta.json`` comes last: a kill before it leaves no checkpoint
        here, and the resumed run's own checkpoint is still whole.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        self.journal.open()
        if carried is not None:
            source = carried.folder / DATA_DIR
            if source.is_dir():
                for copied in _link_all(source, self.folder / DATA_DIR):
                    self.journal.depends_on(copied)
            for instance in carried.instances:
                self.journal.append(instance.payload)
            self._seq = max((i.seq for i in carried.instances), default=0)
            self.journal.settle()
        document = {"checkpoint_version": CHECKPOINT_VERSION, "created": utc_now(), **meta}
        atomic_write_text(self.folder / META_FILE, self._text(document))

    async def instance_done(self, record: SubflowRecord, state: RunState, nodes: Mapping[str, tuple[str, ...]]) -> None:
        """Record a finished instance: snapshot it and append its record (no fsync; see the module docstring).

        ``nodes`` maps the instance's node ids (its sub flow's modules in its iteration)
        to their list output ports.

        Raises:
            CheckpointError: the checkpoint cannot be written (the sub flow then fails:
                a run that could not be resumed must not pretend it could).
        """
        key = (record.subflow, record.iter_path)
        instance = snapshot_instance(0, key, state, nodes)
        async with self._lock:  # records go to the journal in sequence order
            instance.seq = self._seq + 1
            try:
                lists = await self._list_entries(instance)
                self.journal.append(self._record(instance, lists))
            except CheckpointError:
                raise
            except _Unrestorable as exc:
                if self._logger is not None:
                    self._logger.warning(
                        "checkpoint_instance_skipped", instance=subflow_key_str(instance.key), reason=str(exc),
                        detail="a resumed run runs this instance again",
                    )
                return
            except (OSError, TypeError, ValueError) as exc:
                raise CheckpointError(
                    f"{self.folder}: cannot write the checkpoint of sub flow instance "
                    f"'{subflow_key_str(instance.key)}': {exc}"
                ) from exc
            self._seq = instance.seq  # only a written record takes a number: the chain has no gap

    def settle(self) -> None:
        """Make every record durable now (fsync; the run's end and error paths call it).

        Raises:
            CheckpointError: the disk refused (the records may not survive an OS crash).
        """
        try:
            self.journal.settle()
        except OSError as exc:
            raise CheckpointError(f"{self.folder}: cannot make the checkpoint durable: {exc}") from exc

    def close(self) -> None:
        """Settle and close the journal (the checkpoint stays for ``--resume``).

        Raises:
            CheckpointError: settling failed.
        """
        try:
            self.journal.close()
        except OSError as exc:
            raise CheckpointError(f"{self.folder}: cannot make the checkpoint durable: {exc}") from exc

    def remove(self) -> None:
        """Delete the checkpoint (the run succeeded): no fsync is waited for."""
        self.journal.close(discard=True)
        shutil.rmtree(self.folder, ignore_errors=True)

    async def _list_entries(self, instance: InstanceData) -> list[dict[str, Any]]:
        entries = []
        for (node_id, port), values in sorted(instance.lists.items()):
            wired = self._wire(values, f"list output '{node_id}.{port}'")
            if _json_exact(wired):
                entries.append({"node_id": node_id, "port": port, "format": "json", "items": wired})
                continue
            if self._secrets is not None and self._secrets.count and (
                wired != values or _holds_secret(values, self._secrets)
            ):
                raise _Unrestorable(f"list output '{node_id}.{port}' holds secrets in values JSON cannot carry")
            relative = f"{DATA_DIR}/{instance.seq:06d}-{_safe(node_id)}.{_safe(port)}.parquet"
            data = await asyncio.to_thread(_list_parquet, wired, f"{node_id}.{port}")
            path = self.folder / relative
            await asyncio.to_thread(atomic_write_bytes, path, data, durable=False)
            self.journal.depends_on(path)
            entries.append({"node_id": node_id, "port": port, "format": "parquet", "file": relative,
                            "size": len(data), "crc32": zlib.crc32(data)})
        return entries

    def _wire(self, value: Any, what: str) -> Any:
        """``value`` with its secrets as references (``secrets/transport.py``); see :class:`_Unrestorable`."""
        try:
            return to_wire(value, self._secrets)
        except NotWirable as exc:
            raise _Unrestorable(f"{what}: {exc}") from None

    def _record(self, instance: InstanceData, lists: list[dict[str, Any]]) -> bytes:
        secrets = self._secrets
        document = {
            "seq": instance.seq,
            "subflow": instance.key[0],
            "iter_path": list(instance.key[1]),
            "globals": [[k, self._wire(v, f"global '{k}'")] for k, v in instance.globals],
            "lists": lists,
        }  # and "nodes", below
        if secrets is None:
            text = compact_json({**document, "nodes": instance.node_dicts()})
        elif not secrets.count:
            # no secret was resolved in this run, so no value to mask: the C encoder alone
            # (walking each record twice more to mask nothing cost ~100 µs per instance),
            # and each node record encoded once for this record and the manifest
            text = _compact_record(document, instance.records) if instance.records else compact_json(
                {**document, "nodes": instance.node_dicts()}, masked=False)
        else:
            # node records are what the resumed run's manifest shows: redacted like the manifest;
            # globals and lists are data the resumed run uses: references, never a placeholder
            document["nodes"] = secrets.redact(instance.node_dicts())
            text = compact_json(document)
            if secrets.contains_secret(text):
                raise _Unrestorable("its globals or list outputs hold a secret no reference rebuilds")
        return text.encode("utf-8")

    def _text(self, document: dict[str, Any]) -> str:
        if self._secrets is None:
            return canonical_json(document)
        return str(self._secrets.redact_text(canonical_json(self._secrets.redact(document))))


def _compact_record(document: dict[str, Any], records: Mapping[str, NodeRecord]) -> str:
    """``compact_json(document, masked=False)``, its ``nodes`` made of the records' own encoded text."""
    before = {k: v for k, v in document.items() if k < "nodes"}
    after = {k: v for k, v in document.items() if k > "nodes"}
    head, tail = compact_json(before, masked=False), compact_json(after, masked=False)
    return f"{head[:-1]}{',' if before else ''}\"nodes\":{nodes_json(records)}{',' if after else ''}{tail[1:]}"


class _Unrestorable(Exception):
    """An instance whose record would have to hold a secret: it is not recorded (it runs again on resume).

    Globals and list outputs are stored as data the resumed run uses, so a secret
    in them is stored as its reference (``{"$vault": ...}``, ``{"$vault_text": [...]}``),
    never as the value nor as ``***``. A value derived from a secret in another way
    (transformed, encoded, cut short) has no reference: then the only honest record
    is none.
    """


def _holds_secret(values: list[Any], secrets: Any) -> bool:
    for value in values:
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if secrets.contains_secret(value if isinstance(value, str) else repr(value)):
            return True
    return False


def snapshot_instance(
    seq: int, key: SubflowKey, state: RunState, nodes: Mapping[str, tuple[str, ...]]
) -> InstanceData:
    """Copy what instance ``key`` produced out of the run state: its node records, the globals
    they set (their final attempts') and their list outputs. Costs O(nodes of the instance)."""
    records = {n: state.nodes[n] for n in nodes if n in state.nodes}
    lists = {(n, p): list(state.lists[(n, p)]) for n, ports in nodes.items() for p in ports if (n, p) in state.lists}
    return InstanceData(
        seq=seq,
        key=key,
        records=records,
        globals=[(f"{n}.{var}", value) for n, record in records.items() for var, value in record.globals.items()],
        lists=lists,
    )


def _json_exact(values: list[Any]) -> bool:
    try:
        return bool(json.loads(json.dumps(values, allow_nan=False)) == values)
    except (TypeError, ValueError):
        return False


def _list_parquet(values: list[Any], label: str) -> bytes:
    """One Arrow column ``item`` (Arrow keeps datetimes, decimals, bytes, nulls as they are)."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        buffer = io.BytesIO()
        pq.write_table(pa.table({"item": pa.array(values)}), buffer)
    except Exception as exc:
        raise CheckpointError(
            f"list output '{label}' holds values a checkpoint cannot store ({type(exc).__name__}: {exc}); "
            "iterate lists must hold JSON values, dates, numbers or bytes"
        ) from exc
    return buffer.getvalue()


def _link_all(source: Path, target: Path) -> list[Path]:
    """Hard-link every file of ``source`` into ``target``; return the ones that had to be copied."""
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for path in source.iterdir():
        if path.name.endswith(".pype-tmp") or not path.is_file():
            continue
        destination = target / path.name
        try:
            os.link(path, destination)
        except FileExistsError:
            continue
        except OSError:
            shutil.copy2(path, destination)
            copied.append(destination)
    fsync_dir(target)
    return copied


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.#-]+", "_", text)[:80]
