"""The checkpoint of a run: what a resumed run needs, written so that ``kill -9`` cannot tear it.

Layout (``jobs/<name>/runs/<run_id>/checkpoint/``)::

    meta.json                 run id, job, flow hash, context env + overrides, resumed_from
    done/<instance>.json      one file per finished sub flow instance (``load#0#2.json``)
    data/<seq>-<node>.<port>.parquet   list outputs JSON cannot hold exactly

``meta.json`` is written once, when the run starts. Each time a sub flow
instance finishes successfully, :meth:`CheckpointWriter.instance_done` writes
that instance's file: its node records (for the resumed run's manifest), the
globals its nodes set (in the order they were set) and the list outputs its
nodes produced (the data that crosses sub flow boundaries: iterate lists),
inline as JSON when JSON gives them back unchanged, else as Parquet. Every
file is written to a temporary name, fsynced, and renamed
(``core/jsonio.py``), data files before the instance file that names them:
a file under its final name is complete, and an instance counts as done
exactly when its file exists. Each instance file carries a sequence number,
so globals replay in completion order on resume.

Writing one small file per instance keeps the cost of a checkpoint
proportional to that instance, not to the whole run (a loop over thousands
of files does not rewrite a growing state file thousands of times).

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
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pypeline.core.errors import CheckpointError
from pypeline.core.jsonio import atomic_write_text, canonical_json, fsync_dir
from pypeline.run.scheduling.state import RunState, SubflowKey, SubflowRecord, subflow_key_str, utc_now
from pypeline.secrets.transport import to_wire

CHECKPOINT_VERSION = 1
META_FILE = "meta.json"
DONE_DIR = "done"
DATA_DIR = "data"


@dataclass(slots=True, kw_only=True)
class InstanceData:
    """What one finished sub flow instance left for a resumed run."""

    seq: int
    key: SubflowKey
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    globals: list[tuple[str, Any]] = field(default_factory=list)
    lists: dict[tuple[str, str], list[Any]] = field(default_factory=dict)


@dataclass(slots=True, kw_only=True)
class Checkpoint:
    """A checkpoint read back from disk."""

    folder: Path
    meta: dict[str, Any]
    instances: list[InstanceData]
    """In completion order."""

    @property
    def done(self) -> set[SubflowKey]:
        """The finished instances."""
        return {i.key for i in self.instances}


class CheckpointWriter:
    """Writes one run's checkpoint (see the module docstring); safe for concurrent sub flows."""

    def __init__(self, folder: Path, *, secrets: Any = None, logger: Any = None) -> None:
        self.folder = folder
        self._secrets = secrets
        """The run's ``SecretRegistry``: no secret value reaches a checkpoint file (DESIGN.md §6)."""
        self._logger = logger
        self._lock = asyncio.Lock()
        self._seq = 0
        self._seq_lock = threading.Lock()

    def start(self, meta: dict[str, Any], carried: Checkpoint | None = None) -> None:
        """Write ``meta.json``, after taking over the files of the checkpoint a resumed run carries on.

        Instance and data files are immutable once written, so they are hard-linked
        (copied where links are impossible): taking over thousands of instances costs
        no rewrite. ``meta.json`` comes last: a kill before it leaves no checkpoint
        here, and the resumed run's own checkpoint is still whole.
        """
        (self.folder / DONE_DIR).mkdir(parents=True, exist_ok=True)
        if carried is not None:
            for sub in (DONE_DIR, DATA_DIR):
                source = carried.folder / sub
                if source.is_dir():
                    _link_all(source, self.folder / sub)
            self._seq = max((i.seq for i in carried.instances), default=0)
        document = {"checkpoint_version": CHECKPOINT_VERSION, "created": utc_now(), **meta}
        atomic_write_text(self.folder / META_FILE, self._text(document))

    async def instance_done(self, record: SubflowRecord, state: RunState, nodes: dict[str, tuple[str, ...]]) -> None:
        """Record a finished instance: snapshot now (on the loop), write on a thread.

        ``nodes`` maps the instance's node ids (its sub flow's modules in its iteration)
        to their list output ports.

        Raises:
            CheckpointError: the checkpoint cannot be written (the sub flow then fails:
                a run that could not be resumed must not pretend it could).
        """
        with self._seq_lock:
            self._seq += 1
            seq = self._seq
        instance = snapshot_instance(seq, (record.subflow, record.iter_path), state, nodes)
        async with self._lock:
            try:
                await asyncio.to_thread(self._write_instance, instance)
            except CheckpointError:
                raise
            except (OSError, TypeError, ValueError) as exc:
                raise CheckpointError(
                    f"{self.folder}: cannot write the checkpoint of sub flow instance "
                    f"'{subflow_key_str(instance.key)}': {exc}"
                ) from exc
        if self._logger is not None:
            self._logger.debug("checkpoint_written", instance=subflow_key_str(instance.key), seq=seq)

    def remove(self) -> None:
        """Delete the checkpoint (the run succeeded)."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def _write_instance(self, instance: InstanceData) -> None:
        name = subflow_key_str(instance.key)
        lists = []
        for (node_id, port), values in sorted(instance.lists.items()):
            values = to_wire(values)
            if _json_exact(values):
                lists.append({"node_id": node_id, "port": port, "format": "json", "items": values})
            else:
                relative = f"{DATA_DIR}/{instance.seq:06d}-{_safe(node_id)}.{_safe(port)}.parquet"
                _write_list_parquet(values, self.folder / relative, f"{node_id}.{port}")
                lists.append({"node_id": node_id, "port": port, "format": "parquet", "file": relative})
        document = {
            "seq": instance.seq,
            "subflow": instance.key[0],
            "iter_path": list(instance.key[1]),
            "nodes": instance.nodes,
            "globals": [[k, to_wire(v)] for k, v in instance.globals],  # a secret as its reference
            "lists": lists,
        }
        atomic_write_text(self.folder / DONE_DIR / f"{name}.json", self._text(document))

    def _text(self, document: dict[str, Any]) -> str:
        if self._secrets is None:
            return canonical_json(document)
        return str(self._secrets.redact_text(canonical_json(self._secrets.redact(document))))


def snapshot_instance(
    seq: int, key: SubflowKey, state: RunState, nodes: dict[str, tuple[str, ...]]
) -> InstanceData:
    """Copy what instance ``key`` produced out of the run state: its node records, the globals
    they set (their final attempts') and their list outputs. Costs O(nodes of the instance)."""
    records = {n: state.nodes[n] for n in nodes if n in state.nodes}
    lists = {(n, p): list(state.lists[(n, p)]) for n, ports in nodes.items() for p in ports if (n, p) in state.lists}
    return InstanceData(
        seq=seq,
        key=key,
        nodes={n: record.to_dict() for n, record in records.items()},
        globals=[(f"{n}.{var}", value) for n, record in records.items() for var, value in record.globals.items()],
        lists=lists,
    )


def read_checkpoint(folder: Path) -> Checkpoint | None:
    """The checkpoint in ``folder``, or ``None`` when there is none (no ``meta.json``).

    Raises:
        CheckpointError: a file that cannot be read (never the case for files this module wrote).
    """
    meta_path = folder / META_FILE
    if not meta_path.is_file():
        return None
    meta = _read_json(meta_path)
    if meta.get("checkpoint_version") != CHECKPOINT_VERSION:
        raise CheckpointError(f"{meta_path}: unsupported checkpoint version {meta.get('checkpoint_version')!r}")
    instances = []
    for path in sorted((folder / DONE_DIR).glob("*.json")):
        doc = _read_json(path)
        lists: dict[tuple[str, str], list[Any]] = {}
        for entry in doc["lists"]:
            key = (entry["node_id"], entry["port"])
            lists[key] = entry["items"] if entry["format"] == "json" else _read_list_parquet(folder / entry["file"])
        instances.append(
            InstanceData(
                seq=int(doc["seq"]),
                key=(doc["subflow"], tuple(doc["iter_path"])),
                nodes=doc["nodes"],
                globals=[(k, v) for k, v in doc["globals"]],
                lists=lists,
            )
        )
    instances.sort(key=lambda i: i.seq)
    return Checkpoint(folder=folder, meta=meta, instances=instances)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: unreadable checkpoint file ({exc}); start a new run instead") from None


def _json_exact(values: list[Any]) -> bool:
    try:
        return bool(json.loads(json.dumps(values, allow_nan=False)) == values)
    except (TypeError, ValueError):
        return False


def _write_list_parquet(values: list[Any], path: Path, label: str) -> None:
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
    from pypeline.core.jsonio import atomic_write_bytes

    atomic_write_bytes(path, buffer.getvalue())


def _read_list_parquet(path: Path) -> list[Any]:
    import pyarrow.parquet as pq

    try:
        return list(pq.read_table(path).column("item").to_pylist())
    except Exception as exc:
        raise CheckpointError(f"{path}: unreadable checkpoint data ({exc}); start a new run instead") from exc


def _link_all(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
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
    fsync_dir(target)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.#-]+", "_", text)[:80]
