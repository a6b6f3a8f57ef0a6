"""The objects alive when a run starts stay out of its garbage collections, and come back after it."""

from __future__ import annotations

import gc

from pypeline.run.engine.heap import heap_frozen
from tests.conftest import FlowHarness
from tests.run.flowtext import flow, mod


def test_blocks_nest_and_the_outermost_gives_the_objects_back() -> None:
    assert gc.get_freeze_count() == 0
    with heap_frozen():
        frozen = gc.get_freeze_count()
        assert frozen > 0
        made_inside: list[list[int]] = [[] for _ in range(10)]
        with heap_frozen():
            assert gc.get_freeze_count() >= frozen + len(made_inside)
        assert gc.get_freeze_count() > 0  # the inner block does not unfreeze the outer one's objects
    assert gc.get_freeze_count() == 0


async def test_a_run_gives_every_object_back_to_the_collector(flows: FlowHarness) -> None:
    result = await flows.run(flow("heap", [mod("a"), mod("b")], ["a (1|) b"]))
    assert result.status == "success"
    assert gc.get_freeze_count() == 0
