"""The checkpoint files: one atomic file per finished instance, lists as JSON or Parquet, globals in order."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from pypeline.core.errors import CheckpointError
from pypeline.run.checkpoint.store import CheckpointWriter, read_checkpoint
from pypeline.run.checkpoint.tempfiles import remove_temp_files, temp_patterns
from pypeline.run.scheduling.state import NodeRecord, RunState, SubflowRecord

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


async def test_half_written_files_do_not_count(tmp_path: Path) -> None:
    state = run_state()
    writer = CheckpointWriter(tmp_path / "cp")
    writer.start({"run_id": "r1"})
    await writer.instance_done(SubflowRecord(subflow="lst", iter_path=()), state, LST)
    (tmp_path / "cp" / "done" / ".load#0.json.1a2b3c.pype-tmp").write_text('{"seq": 2, "subf')
    checkpoint = read_checkpoint(tmp_path / "cp")
    assert checkpoint is not None and checkpoint.done == {("lst", ())}


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


def test_temp_patterns_follow_sink_paths(tmp_path: Path) -> None:
    sinks = [
        {"output_path": "{{context.out}}/all.csv", "delimiter": ","},
        {"output_path": "out/parts/p{{iter.index}}.csv"},
    ]
    patterns = temp_patterns(sinks, {"out": str(tmp_path / "o[1]")})
    assert f"{tmp_path}/o[[]1]/.all.csv.*.pype-tmp" in patterns
    assert "out/parts/.p*.csv.*.pype-old" in patterns
    folder = tmp_path / "o[1]"
    folder.mkdir()
    (folder / ".all.csv.abcdef12.pype-tmp").write_text("x")
    (folder / "all.csv").write_text("keep")
    assert remove_temp_files(patterns) == [f"{folder}/.all.csv.abcdef12.pype-tmp"]
    assert (folder / "all.csv").exists()


async def test_a_resumed_run_takes_over_the_files_by_hard_link(tmp_path: Path) -> None:
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
    linked = (tmp_path / "two" / "done" / "lst.json").stat().st_ino
    assert linked == (tmp_path / "one" / "done" / "lst.json").stat().st_ino
