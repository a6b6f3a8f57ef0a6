"""Priority-DFS: control orders, equal-order concurrency, depth first, Last, roots, start, once per instance.

Every test runs a real flow of probe modules (tests/run/probes.py) that write
``start X`` / ``end X`` lines to ``events.log``; assertions read that order.
Concurrency is proven with named events two modules wait on for each other
(a sequential scheduler would deadlock and hit the run timeout), never with
timings.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import FlowHarness
from tests.run.flowtext import PROBE_MOD, PROBE_SINK, PROBE_SOURCE, flow, mod
from tests.run.probes import read_events, reset_events

FAST = {"timeout": 20}


@pytest.fixture(autouse=True)
def _fresh_events() -> Iterator[None]:
    reset_events()
    yield
    reset_events()


def events(root: Path, kind: str = "") -> list[str]:
    lines = read_events(root / "events.log")
    return [line for line in lines if line.startswith(kind)] if kind else lines


def starts(root: Path) -> list[str]:
    return [line.split()[1] for line in events(root, "start ")]


class TestOrder:
    async def test_orders_fire_in_ascending_order(self, flows: FlowHarness) -> None:
        text = flow("order", [mod("a"), mod("b"), mod("c"), mod("d")],
                    ["a (3|) d", "a (1|) b", "a (2|) c"], settings=FAST)
        result = await flows.run(text)
        assert result.status == "success"
        assert starts(flows.root) == ["a", "b", "c", "d"]

    async def test_equal_orders_run_concurrently(self, flows: FlowHarness) -> None:
        # b waits until c has started and c until b has started: only concurrent runs finish.
        text = flow("equal", [
            mod("a"),
            mod("b", set_event="b_started", wait_for="c_started"),
            mod("c", set_event="c_started", wait_for="b_started"),
            mod("d"),
        ], ["a (1|) b", "a (1|) c", "a (2|) d"], settings={"timeout": 10})
        result = await flows.run(text)
        assert result.status == "success", result.manifest["errors"]
        lines = events(flows.root)
        assert lines.index("start c") < lines.index("end b")
        assert lines.index("start b") < lines.index("end c")
        assert starts(flows.root)[-1] == "d"

    async def test_whole_downstream_of_order_1_finishes_before_order_2(self, flows: FlowHarness) -> None:
        text = flow("dfs", [
            mod("a"), mod("b"), mod("b1", sleep=0.05), mod("b2"), mod("b11"), mod("c"), mod("c1"),
        ], ["a (1|) b", "b (1|) b1", "b (2|) b2", "b1 (1|) b11", "a (2|) c", "c (1|) c1"], settings=FAST)
        result = await flows.run(text)
        assert result.status == "success"
        assert starts(flows.root) == ["a", "b", "b1", "b11", "b2", "c", "c1"]
        lines = events(flows.root)
        assert lines.index("end b2") < lines.index("start c")

    async def test_last_fires_after_every_numbered_order(self, flows: FlowHarness) -> None:
        text = flow("last", [mod("a"), mod("z"), mod("b"), mod("c")],
                    ["a (Last|) z", "a (1|) b", "a (3|) c"], settings=FAST)
        result = await flows.run(text)
        assert result.status == "success"
        assert starts(flows.root) == ["a", "b", "c", "z"]

    async def test_root_subflows_start_concurrently(self, flows: FlowHarness) -> None:
        text = flow("roots", [
            mod("r1", set_event="r1", wait_for="r2"),
            mod("r2", set_event="r2", wait_for="r3"),
            mod("r3", set_event="r3", wait_for="r1"),
        ], settings={"timeout": 10})
        result = await flows.run(text)
        assert result.status == "success", result.manifest["errors"]
        assert starts(flows.root) == ["r1", "r2", "r3"]  # declaration order


class TestInsideASubflow:
    async def test_a_module_starts_when_its_inputs_are_ready_not_when_its_wave_is(self, flows: FlowHarness) -> None:
        # Waves: src | slow, quick | quick2, slow_sink. 'slow' (wave 1) waits for 'quick2' (wave 2):
        # with waves as barriers this deadlocks; with readiness it completes.
        text = flow("ready", [
            mod("src", PROBE_SOURCE, items=[1]),
            mod("slow", PROBE_MOD, wait_for="quick2_started"),
            mod("quick", PROBE_MOD),
            mod("quick2", PROBE_MOD, set_event="quick2_started"),
            mod("slow_sink", PROBE_SINK),
            mod("quick_sink", PROBE_SINK),
        ], data=["src.data - slow.input", "src.data - quick.input", "quick.output - quick2.input",
                 "slow.output - slow_sink.input", "quick2.output - quick_sink.input"], settings={"timeout": 10})
        result = await flows.run(text)
        assert result.status == "success", result.manifest["errors"]
        lines = events(flows.root)
        assert lines.index("start quick2") < lines.index("end slow")

    async def test_fan_out_computes_the_shared_output_once(self, flows: FlowHarness) -> None:
        text = flow("fanonce", [
            mod("src", PROBE_SOURCE, items=[1, 2]), mod("s1", PROBE_SINK), mod("s2", PROBE_SINK),
            mod("s3", PROBE_SINK),
        ], data=["src.data - s1.input", "src.data - s2.input", "src.data - s3.input"], settings=FAST)
        result = await flows.run(text)
        assert result.status == "success"
        assert starts(flows.root).count("src") == 1
        assert sorted(line for line in events(flows.root) if line.startswith("rows")) == [
            "rows s1 2", "rows s2 2", "rows s3 2",
        ]


class TestStart:
    async def test_start_resolves_at_once_and_the_run_waits_for_it(self, flows: FlowHarness) -> None:
        # s waits for b, which a's order 2 only reaches if the start edge resolved at once.
        text = flow("start", [mod("a"), mod("s", wait_for="b_started", sleep=0.05), mod("b", set_event="b_started")],
                    [{"from": "a", "to": "s", "type": "start", "order": 1}, "a (2|) b"], settings={"timeout": 10})
        result = await flows.run(text)
        assert result.status == "success", result.manifest["errors"]
        assert events(flows.root)[-2:] == ["end s", "teardown s"]
        assert result.manifest["modules"]["s"]["status"] == "success"

    async def test_failure_of_a_started_subflow_fails_the_run(self, flows: FlowHarness) -> None:
        text = flow("startfail", [mod("a"), mod("s", fail=True), mod("b")],
                    [{"from": "a", "to": "s", "type": "start"}, "a (2|) b"],
                    settings={**FAST, "fail_strategy": "continue"})
        result = await flows.run(text)
        assert result.status == "failed"
        assert result.manifest["modules"]["s"]["status"] == "failed"
        assert result.manifest["modules"]["b"]["status"] == "success"
        assert result.manifest["failed_modules"] == ["s"]
        assert "s failed on purpose" in result.manifest["modules"]["s"]["error"]


class TestOncePerInstance:
    async def test_subflow_reached_by_two_connections_runs_once(self, flows: FlowHarness) -> None:
        text = flow("join", [mod("a"), mod("b"), mod("c")], ["a (1|) c", "b (1|) c"], settings=FAST)
        result = await flows.run(text)
        assert result.status == "success"
        assert starts(flows.root).count("c") == 1
        assert [s["instance"] for s in result.manifest["subflows"]] == ["a", "b", "c"]

    async def test_diamond_runs_the_join_once_after_its_first_trigger(self, flows: FlowHarness) -> None:
        text = flow("diamond", [mod("a"), mod("b"), mod("c"), mod("d")],
                    ["a (1|) b", "a (2|) c", "b (1|) d", "c (1|) d"], settings=FAST)
        result = await flows.run(text)
        assert result.status == "success"
        assert starts(flows.root) == ["a", "b", "d", "c"]

    async def test_subflow_inside_and_outside_an_iteration_scope_runs_once(self, flows: FlowHarness) -> None:
        # 'shared' is reached from inside the iteration (each) and from outside (lst, order 2):
        # it is not in the iteration scope, so it runs once, not once per item.
        text = flow("scope", [
            mod("lst", PROBE_SOURCE, items=["x", "y"]), mod("each"), mod("per_item"), mod("shared"),
        ], [
            {"from": "lst", "to": "each", "type": "iterate", "order": 1},
            "each (1|) per_item", "each (2|) shared", "lst (2|) shared",
        ], settings=FAST)
        result = await flows.run(text)
        assert result.status == "success"
        assert starts(flows.root) == ["lst", "each#0", "per_item#0", "shared", "each#1", "per_item#1"]
        instances = [s["instance"] for s in result.manifest["subflows"]]
        assert instances == ["each#0", "each#1", "lst", "per_item#0", "per_item#1", "shared"]
