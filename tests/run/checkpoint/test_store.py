"""The checkpoint: one journal record per finished instance, lists as JSON or Parquet, globals in order,
and only complete, verified records trusted."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest

from pypeline.core.errors import CheckpointError
from pypeline.core.jsonio import compact_json
from pypeline.core.secret import SecretRegistry
from pypeline.modules.sdk.temporaries import LEDGER_FILE, make_temporary
from pypeline.run.checkpoint.journal import Journal, encode_record, read_records
from pypeline.run.checkpoint.reading import read_checkpoint
from pypeline.run.checkpoint.store import JOURNAL_FILE, CheckpointWriter
from pypeline.run.checkpoint.tempfiles import remove_leftovers
from pypeline.run.state.records import NodeRecord, RunState, SubflowRecord

LST = {"lst": ("files", "when", "raw")}
LOAD1 = {"load#1": ()}


def run_state() -> RunState:
    state = RunState()
    for node_id, path in (("lst", ()), ("load#0", (0,)), ("load#1", (1,))):
        module = node_id.split("#")[0]
        state.nodes[node_id] = NodeRecord(
            node_id=node_id, module_id=module, subflow=module, iter_path=path, status="success", attempts=1,
            globals={"Row_Count": len(path) * 10 if path else 99},
        )
    state.lists[("lst", "files")] = ["a.csv", "b.csv"]
    state.lists[("lst", "when")] = [dt.datetime(2024, 1, 2, 3, 4, tzinfo=dt.UTC), None]
    state.lists[("lst", "raw")] = [b"\x00\x01", b"xy"]
    return state


async def test_instances_round_trip(tmp_path: Path) -> None:
    state = run_state()
    writer = CheckpointWriter(tmp_path / "cp")
    writer.start({"run_id": "r1", "flow_hash": "h"})
    await writer.instance_done(SubflowRecord(subflow="load", iter_path=(1,)), state, LOAD1)
    await writer.instance_done(SubflowRecord(subflow="lst", iter_path=()), state, LST)
    checkpoint = read_checkpoint(tmp_path / "cp")
    assert checkpoint is not None and checkpoint.meta["run_id"] == "r1"
    assert checkpoint.done == {("load", (1,)), ("lst", ())}
    first, second = checkpoint.instances
    assert (first.seq, first.key, list(first.nodes)) == (1, ("load", (1,)), ["load#1"])
    assert first.globals == [("load#1.Row_Count", 10)] and first.lists == {}
    assert second.globals == [("lst.Row_Count", 99)]
    assert second.lists == state.lists
    assert sorted(p.name for p in (tmp_path / "cp" / "data").iterdir()) == [
        "000002-lst.raw.parquet", "000002-lst.when.parquet"
    ]


async def test_a_record_of_encoded_node_records_is_the_compact_encoding(tmp_path: Path) -> None:
    """Node records are encoded once (for the record and the manifest): the record's bytes stay those
    of the whole document encoded at once (sorted keys, no spaces)."""
    state = run_state()
    state.nodes["lst"].globals = {"tricky": '"nodes":{}', "Row_Count": 99}
    writer = CheckpointWriter(tmp_path / "cp", secrets=SecretRegistry())
    writer.start({"run_id": "r1", "flow_hash": "h"})
    await writer.instance_done(SubflowRecord(subflow="lst", iter_path=()), state, LST)
    (instance,) = read_checkpoint(tmp_path / "cp").instances  # type: ignore[union-attr]
    document = json.loads(instance.payload)
    assert instance.payload == compact_json(document, masked=False).encode("utf-8")
    assert document["nodes"] == {"lst": state.nodes["lst"].to_dict()}
    assert instance.globals == [("lst.tricky", '"nodes":{}'), ("lst.Row_Count", 99)]


Instance = tuple[str, tuple[int, ...], dict[str, Any]]


async def written(folder: Path, state: RunState, *instances: Instance) -> CheckpointWriter:
    writer = CheckpointWriter(folder)
    writer.start({"run_id": "r1"})
    for subflow, path, nodes in instances:
        await writer.instance_done(SubflowRecord(subflow=subflow, iter_path=path), state, nodes)
    return writer


THREE = (("lst", (), LST), ("load", (0,), {"load#0": ()}), ("load", (1,), LOAD1))


class TestDamagedRecords:
    """What a kill inside a write, or an OS crash before a group's fsync, can leave: never trusted."""

    async def test_records_are_in_the_page_cache_before_any_fsync(self, tmp_path: Path) -> None:
        writer = await written(tmp_path / "cp", run_state(), *THREE)
        # a kill -9 now: the process dies, the page cache stays; read it back without settling
        assert writer.journal.appended == 3
        assert read_checkpoint(tmp_path / "cp").done == {("lst", ()), ("load", (0,)), ("load", (1,))}  # type: ignore[union-attr]
        writer.close()
        assert writer.journal.durable == 3 and writer.journal.fsyncs >= 1

    @pytest.mark.parametrize(
        ("damage", "reason"),
        [
            (lambda data, last: data[: last + 25], "unterminated (torn) record"),
            (lambda data, last: data[:last] + b"\0" * 300, "unterminated (torn) record"),
            (lambda data, last: data[:last] + b"\0" * 299 + b"\n", "not a record header"),
            (lambda data, last: data[: last + 40] + b"X" + data[last + 41 :], "checksum mismatch"),
            (lambda data, last: data[: last + 40] + data[last + 41 :], "length"),
        ],
        ids=["torn", "zero-filled", "zero-filled-line", "flipped-byte", "short"],
    )
    async def test_a_damaged_last_record_is_dropped(self, tmp_path: Path, damage: Any, reason: str) -> None:
        writer = await written(tmp_path / "cp", run_state(), *THREE)
        writer.close()
        journal = tmp_path / "cp" / JOURNAL_FILE
        data = journal.read_bytes()
        last = data.rstrip(b"\n").rfind(b"\n") + 1
        journal.write_bytes(damage(data, last))
        checkpoint = read_checkpoint(tmp_path / "cp")
        assert checkpoint is not None
        assert [i.key for i in checkpoint.instances] == [("lst", ()), ("load", (0,))]
        assert checkpoint.dropped is not None and reason in checkpoint.dropped and "record 3" in checkpoint.dropped

    async def test_nothing_after_a_damaged_record_is_trusted(self, tmp_path: Path) -> None:
        writer = await written(tmp_path / "cp", run_state(), *THREE)
        writer.close()
        journal = tmp_path / "cp" / JOURNAL_FILE
        lines = journal.read_bytes().splitlines(keepends=True)
        journal.write_bytes(lines[0] + b"\0" * len(lines[1]) + lines[2])  # a hole in the middle
        checkpoint = read_checkpoint(tmp_path / "cp")
        assert checkpoint is not None and [i.key for i in checkpoint.instances] == [("lst", ())]
        assert "record 2" in str(checkpoint.dropped)

    async def test_a_record_breaking_the_sequence_is_dropped(self, tmp_path: Path) -> None:
        writer = await written(tmp_path / "cp", run_state(), *THREE)
        writer.close()
        journal = tmp_path / "cp" / JOURNAL_FILE
        lines = journal.read_bytes().splitlines(keepends=True)
        journal.write_bytes(lines[0] + lines[2])
        checkpoint = read_checkpoint(tmp_path / "cp")
        assert checkpoint is not None and checkpoint.done == {("lst", ())}
        assert "sequence number 3 where 2 was expected" in str(checkpoint.dropped)

    async def test_a_data_file_that_does_not_match_its_record_drops_the_record(self, tmp_path: Path) -> None:
        writer = await written(tmp_path / "cp", run_state(), ("load", (1,), LOAD1), ("lst", (), LST))
        writer.close()
        data_file = tmp_path / "cp" / "data" / "000002-lst.raw.parquet"
        data_file.write_bytes(b"\0" * data_file.stat().st_size)  # renamed, but its blocks never reached the disk
        checkpoint = read_checkpoint(tmp_path / "cp")
        assert checkpoint is not None and checkpoint.done == {("load", (1,))}
        assert "does not match its record" in str(checkpoint.dropped)
        data_file.unlink()
        assert "data file unreadable" in str(read_checkpoint(tmp_path / "cp").dropped)  # type: ignore[union-attr]

    async def test_a_resumed_run_continues_the_valid_prefix(self, tmp_path: Path) -> None:
        state = run_state()
        first = await written(tmp_path / "one", state, *THREE)
        first.close()
        journal = tmp_path / "one" / JOURNAL_FILE
        journal.write_bytes(journal.read_bytes()[:-7])
        carried = read_checkpoint(tmp_path / "one")
        assert carried is not None and len(carried.instances) == 2
        second = CheckpointWriter(tmp_path / "two")
        second.start({"run_id": "r2"}, carried)
        await second.instance_done(SubflowRecord(subflow="load", iter_path=(1,)), state, LOAD1)
        second.close()
        again = read_checkpoint(tmp_path / "two")
        assert again is not None and again.dropped is None
        assert [(i.seq, i.key) for i in again.instances] == [(1, ("lst", ())), (2, ("load", (0,))), (3, ("load", (1,)))]


class TestJournal:
    def test_framing_round_trips_and_refuses_newlines(self, tmp_path: Path) -> None:
        path = tmp_path / "j.log"
        path.write_bytes(encode_record(b'{"a":1}') + encode_record("é".encode()))
        assert read_records(path).payloads == [b'{"a":1}', "é".encode()]
        assert read_records(tmp_path / "missing.log").payloads == []
        with pytest.raises(ValueError, match="newline"):
            encode_record(b"a\nb")

    def test_group_commit_settles_every_record_with_few_fsyncs(self, tmp_path: Path) -> None:
        journal = Journal(tmp_path / "j.log", interval=0.2)
        journal.open()
        for i in range(200):
            journal.append(b"%d" % i)
        assert journal.durable < 200  # nothing waited for the disk
        journal.settle()
        assert journal.durable == 200 and 1 <= journal.fsyncs <= 3
        journal.append(b"last")
        journal.close()
        assert journal.durable == 201 and len(read_records(tmp_path / "j.log").payloads) == 201

    def test_a_discarded_journal_does_not_settle(self, tmp_path: Path) -> None:
        journal = Journal(tmp_path / "j.log", interval=10)
        journal.open()
        journal.append(b"x")
        journal.close(discard=True)
        assert journal.durable == 0
        with pytest.raises(OSError, match="closed"):
            journal.append(b"y")


async def test_lists_a_checkpoint_cannot_hold_fail_the_instance(tmp_path: Path) -> None:
    state = run_state()
    state.lists[("lst", "files")] = [object()]
    writer = CheckpointWriter(tmp_path / "cp")
    writer.start({"run_id": "r1"})
    with pytest.raises(CheckpointError, match=re.escape("list output 'lst.files' holds values a checkpoint")):
        await writer.instance_done(SubflowRecord(subflow="lst", iter_path=()), state, LST)


def test_no_meta_means_no_checkpoint_and_garbage_is_reported(tmp_path: Path) -> None:
    assert read_checkpoint(tmp_path) is None
    (tmp_path / "meta.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="unreadable checkpoint file"):
        read_checkpoint(tmp_path)


def test_only_recorded_temporaries_that_are_still_the_same_folders_are_removed(tmp_path: Path) -> None:
    ledger = tmp_path / "run" / LEDGER_FILE
    ledger.parent.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    ours = make_temporary(out, "all.csv", ledger)
    (ours / "output").write_text("a,b\n1,")
    swapped = make_temporary(out, "all.csv", ledger)
    other = tmp_path / "other"
    other.mkdir()
    (other / "x").write_text("keep")
    swapped.rmdir()
    other.rename(swapped)  # same name, another folder now (another inode): not the one this run created
    lookalike = out / ".all.csv.abcdef12.pype-tmp"
    lookalike.write_text("a user's file named like a temporary")
    # each is announced before it exists, then recorded with its device and inode
    assert [ours.name in line for line in ledger.read_text().splitlines()] == [True, True, False, False]
    assert remove_leftovers(tmp_path, ["run", "no-such-run"]) == [str(ours.absolute())]
    assert not ours.exists() and (swapped / "x").read_text() == "keep" and lookalike.exists()


def test_a_temporary_announced_but_not_recorded_is_removed_only_while_empty(tmp_path: Path) -> None:
    """A kill between creating a sink's folder and recording it leaves nothing the resume does not remove."""
    ledger = tmp_path / "run" / LEDGER_FILE
    ledger.parent.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    killed_early = out / ".all.csv.0123456789ab.pype-tmp"
    killed_early.mkdir()
    filled = out / ".all.csv.ba9876543210.pype-tmp"
    filled.mkdir()
    (filled / "x").write_text("something written: not a folder this run created empty")
    never_made = out / ".all.csv.aaaaaaaaaaaa.pype-tmp"
    taken = out / ".all.csv.bbbbbbbbbbbb.pype-tmp"
    taken.mkdir()  # existed before the run: the run wrote that it is not its own
    lines: list[dict[str, object]] = [{"path": str(p)} for p in (killed_early, filled, never_made, taken)]
    lines.append({"path": str(taken), "taken": True})
    ledger.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert remove_leftovers(tmp_path, ["run"]) == [str(killed_early)]
    assert not killed_early.exists() and (filled / "x").exists() and taken.is_dir()


def test_make_temporary_announces_then_records_each_folder(tmp_path: Path) -> None:
    ledger = tmp_path / LEDGER_FILE
    folder = make_temporary(tmp_path, "x.csv", ledger)
    announced, made = (json.loads(line) for line in ledger.read_text().splitlines())
    assert announced == {"path": str(folder)} and made["path"] == str(folder) and made["ino"] == folder.stat().st_ino
    assert folder.name.startswith(".x.csv.") and folder.name.endswith(".pype-tmp")
    assert folder.stat().st_mode & 0o777 == 0o700


async def test_a_resumed_run_takes_over_the_records_and_links_the_data_files(tmp_path: Path) -> None:
    state = run_state()
    first = CheckpointWriter(tmp_path / "one")
    first.start({"run_id": "r1"})
    await first.instance_done(SubflowRecord(subflow="lst", iter_path=()), state, LST)
    carried = read_checkpoint(tmp_path / "one")
    second = CheckpointWriter(tmp_path / "two")
    second.start({"run_id": "r2"}, carried)
    await second.instance_done(SubflowRecord(subflow="load", iter_path=(1,)), state, LOAD1)
    again = read_checkpoint(tmp_path / "two")
    assert again is not None and again.meta["run_id"] == "r2"
    assert [(i.seq, i.key) for i in again.instances] == [(1, ("lst", ())), (2, ("load", (1,)))]
    assert again.instances[0].lists == state.lists
    for name in ("000001-lst.raw.parquet", "000001-lst.when.parquet"):
        assert (tmp_path / "two" / "data" / name).stat().st_ino == (tmp_path / "one" / "data" / name).stat().st_ino
