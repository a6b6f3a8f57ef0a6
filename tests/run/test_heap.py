"""The objects alive when a run starts stay out of its garbage collections, and come back after it."""

from __future__ import annotations

import gc

from pypeline.run.engine.heap import heap_frozen
from tests.conftest import FlowHarness
from tests.run.flowtext import flow, mod


def _collected(value: object) -> bool:
    """True when the collector walks ``value`` (frozen objects are in no generation it walks)."""
    return any(o is value for o in gc.get_objects())


def test_blocks_nest_and_the_outermost_gives_the_objects_back() -> None:
    # Objects, not counts: the frozen count also drops when a frozen object is freed meanwhile.
    assert gc.get_freeze_count() == 0
    before: list[int] = []
    with heap_frozen():
        assert gc.get_freeze_count() > 0 and not _collected(before)
        made_inside: list[int] = []
        assert _collected(made_inside)
        with heap_frozen():
            assert not _collected(made_inside)
        assert not _collected(before)  # the inner block does not unfreeze the outer one's objects
    assert gc.get_freeze_count() == 0
    assert _collected(before) and _collected(made_inside)


async def test_a_run_gives_every_object_back_to_the_collector(flows: FlowHarness) -> None:
    result = await flows.run(flow("heap", [mod("a"), mod("b")], ["a (1|) b"]))
    assert result.status == "success"
    assert gc.get_freeze_count() == 0
