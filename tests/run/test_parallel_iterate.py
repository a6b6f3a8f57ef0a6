"""``parallel: N`` on an iterate connection: up to N items at once, the same outputs as one at a time.

Overlap is asserted from the start and end times the manifest records for
each item's module (not only from the wall clock, which a loaded machine
stretches): at some instant N items ran together, and never more than N.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FlowHarness, write_csv
from tests.run.flowtext import PROBE_MOD, PROBE_SOURCE, flow, mod

ITEMS = 8
SLEEP = 0.5


def _flow(parallel: int, *, fail_item: str | None = None, strategy: str = "halt") -> str:
    iterate: dict[str, Any] = {"from": "files", "to": "load", "type": "iterate"}
    if parallel != 1:
        iterate["parallel"] = parallel
    slow: dict[str, Any] = {"sleep": SLEEP}
    if fail_item is not None:
        slow["fail_item"] = fail_item
    return flow("par", [
        '  - {"id": "files", "name": "file_list", "configs": {"required": {"directory": "in"}, '
        '"optional": {"pattern": "*.csv"}}}',
        '  - {"id": "load", "name": "csv_source", "configs": {"required": {"file_path": "{{iter.item}}"}}}',
        mod("slow", PROBE_MOD, **slow),
        '  - {"id": "save", "name": "csv_sink", "configs": {"required": '
        '{"output_path": "out/{{iter.index}}_{{load__row_count}}.csv"}}}',
        mod("after"),
    ], [iterate, "files (2|) after"], data=["load.data - slow.input", "slow.output - save.input"],
        settings={"timeout": 60, "fail_strategy": strategy})


@pytest.fixture
def inputs(project: Path) -> Path:
    for i in range(ITEMS):
        write_csv(project / "in" / f"f{i}.csv", "id,name", [f"{i}{j},n{j}" for j in range(i + 1)])
    return project


def _intervals(manifest: dict[str, Any]) -> list[tuple[float, float]]:
    def at(text: str) -> float:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()

    return [(at(m["started"]), at(m["ended"])) for node, m in manifest["modules"].items() if node.startswith("slow#")]


def _most_at_once(intervals: list[tuple[float, float]]) -> int:
    moments = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
                     key=lambda m: (m[0], m[1]))
    most = running = 0
    for _, step in moments:
        running += step
        most = max(most, running)
    return most


def _outputs(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "out").iterdir())}


async def test_parallel_4_runs_8_items_of_half_a_second_in_about_a_second(
    flows: FlowHarness, inputs: Path
) -> None:
    began = time.perf_counter()
    result = await flows.run(_flow(4))
    wall = time.perf_counter() - began
    assert result.status == "success", result.manifest["errors"]
    intervals = _intervals(result.manifest)
    assert len(intervals) == ITEMS
    assert _most_at_once(intervals) == 4  # four items overlapped, never five
    span = max(end for _, end in intervals) - min(start for start, _ in intervals)
    assert span < 3 * SLEEP * 1.5 and wall < 3.0, (span, wall)  # one at a time needs 8 x 0.5 s = 4 s
    parallel = _outputs(inputs)
    assert len(parallel) == ITEMS

    for path in (inputs / "out").iterdir():
        path.unlink()
    serial = await flows.run(_flow(1))
    assert serial.status == "success"
    assert _most_at_once(_intervals(serial.manifest)) == 1
    assert _outputs(inputs) == parallel
    # node ids, globals and instances per item are the same either way
    assert set(serial.manifest["modules"]) == set(result.manifest["modules"])
    for node in (f"load#{i}" for i in range(ITEMS)):
        assert serial.manifest["modules"][node]["globals"] == result.manifest["modules"][node]["globals"]


async def test_each_items_scope_runs_depth_first_and_the_next_order_waits(flows: FlowHarness, inputs: Path) -> None:
    result = await flows.run(_flow(3))
    assert result.status == "success"
    modules = result.manifest["modules"]
    for i in range(ITEMS):  # inside an item: load, then slow, then save
        assert modules[f"load#{i}"]["ended"] <= modules[f"slow#{i}"]["started"]
        assert modules[f"slow#{i}"]["ended"] <= modules[f"save#{i}"]["started"]
    last_item_end = max(modules[f"save#{i}"]["ended"] for i in range(ITEMS))
    assert modules["after"]["started"] >= last_item_end  # order 2 fires after every item


@pytest.mark.parametrize("strategy", ["continue", "halt"])
async def test_a_failing_item_follows_the_fail_strategy(flows: FlowHarness, inputs: Path, strategy: str) -> None:
    # f2 is the third file; under continue every other item still runs and writes
    result = await flows.run(_flow(4, fail_item=str(Path("in") / "f2.csv"), strategy=strategy))
    assert result.status == "failed"
    subflows = {s["instance"]: s["status"] for s in result.manifest["subflows"]}
    assert subflows["load#2"] == "failed"
    out = inputs / "out"
    written = sorted(p.name.split("_")[0] for p in out.iterdir()) if out.exists() else []
    if strategy == "continue":
        assert written == [str(i) for i in range(ITEMS) if i != 2]
        assert subflows["after"] == "success"  # as with one item at a time: 'files' itself succeeded
    else:
        assert "2" not in written and len(written) < ITEMS
        assert subflows["after"] == "not_run"


async def test_resume_after_a_failed_item_runs_only_that_item_again(flows: FlowHarness) -> None:
    """Checkpoints stay per item: under continue one item fails, the resumed run runs that item alone."""
    from pypeline.run.run import RunOptions, run_job
    from tests.run.probes import read_events, reset_events

    reset_events()
    for name in ("a", "b", "d", "e", "f"):
        (flows.root / f"ok_{name}").touch()
    text = flow("par_resume", [
        mod("files", PROBE_SOURCE, items=["a", "b", "c", "d", "e", "f"]),
        '  - {"id": "gate", "name": "fail_mod", "configs": {"optional": {"unless_file_exists": "ok_{{iter.item}}"}}}',
        mod("after_gate", sleep=0.05),
    ], [{"from": "files", "to": "gate", "type": "iterate", "parallel": 3}, "gate (1|) after_gate"],
        settings={"timeout": 60, "fail_strategy": "continue"})
    first = await flows.run(text)
    assert first.status == "failed"
    assert sorted(n for n, m in first.manifest["modules"].items() if m["status"] == "failed") == ["gate#2"]
    (flows.root / "ok_c").touch()
    resumed = await run_job(flows.root / "jobs" / "par_resume",
                            RunOptions(resume="latest", progress="none", echo_logs=False))
    assert resumed.status == "success"
    ran_again = sorted(n for n, m in resumed.manifest["modules"].items() if m["status"] == "success")
    assert ran_again == ["after_gate#2", "gate#2"]
    assert [line for line in read_events(flows.root / "events.log") if line.startswith("start after_gate")].count(
        "start after_gate#2") == 1
