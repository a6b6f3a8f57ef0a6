"""Conditions, iterate (values, node ids, nesting), globals across sub flows and run-time templates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FlowHarness
from tests.run.flowtext import PROBE_SOURCE, flow, mod
from tests.run.probes import read_events, reset_events

FAST = {"timeout": 20}
CONTEXT_PROBE = "tests.run.probes.ContextProbe"


@pytest.fixture(autouse=True)
def _fresh_events() -> Iterator[None]:
    reset_events()
    yield
    reset_events()


def starts(root: Path) -> list[str]:
    return [line.split()[1] for line in read_events(root / "events.log") if line.startswith("start ")]


def notes(root: Path) -> dict[str, str]:
    result = {}
    for line in read_events(root / "events.log"):
        if line.startswith("note "):
            _, who, value = line.split(" ", 2)
            result[who] = value
    return result


def subflow(manifest: dict[str, Any], instance: str) -> dict[str, Any]:
    return next(s for s in manifest["subflows"] if s["instance"] == instance)


class TestConditions:
    async def test_true_runs_and_false_skips_with_reason(self, flows: FlowHarness) -> None:
        text = flow("cond", [
            mod("g", globals={"Count": 3}), mod("yes"), mod("no"), mod("after_no"),
        ], ["g (1|g__count > 2) yes", "g (2|G__COUNT < 2) no", "no (1|) after_no"], settings=FAST)
        result = await flows.run(text)
        assert result.status == "success"
        assert starts(flows.root) == ["g", "yes"]
        skipped = subflow(result.manifest, "no")
        assert skipped["status"] == "skipped"
        assert skipped["reason"] == "condition 'G__COUNT < 2' was false"
        after = subflow(result.manifest, "after_no")
        assert after["status"] == "skipped" and after["reason"] == "upstream sub flow 'no' was skipped"
        assert result.manifest["skipped_subflows"] == ["after_no", "no"]
        assert "no" not in result.manifest["modules"]

    @pytest.mark.parametrize(("env", "overrides", "ran"), [
        ("default", {}, False),
        ("prod", {}, True),
        ("default", {"target": "prod"}, True),
    ], ids=["default-env-false", "prod-env-true", "set-override-true"])
    async def test_condition_on_context(
        self, flows: FlowHarness, env: str, overrides: dict[str, Any], ran: bool
    ) -> None:
        text = flow("ctxcond", [mod("a"), mod("b")], ["a (1|context.target == 'prod') b"], settings=FAST,
                    context={"default": {"target": "dev"}, "prod": {"target": "prod"}})
        result = await flows.run(text, env=env, overrides=overrides)
        assert result.status == "success"
        assert ("b" in starts(flows.root)) is ran

    async def test_condition_on_a_global_set_in_an_earlier_subflow_of_another_branch(
        self, flows: FlowHarness
    ) -> None:
        text = flow("globcond", [mod("a", globals={"rows": 0}), mod("b", globals={"rows": 7}), mod("c")],
                    ["a (1|) b", "b (1|a__rows == 0 and b__rows > 5) c"], settings=FAST)
        result = await flows.run(text)
        assert starts(flows.root) == ["a", "b", "c"]
        assert result.status == "success"

    async def test_condition_that_cannot_be_evaluated_fails_the_run(self, flows: FlowHarness) -> None:
        text = flow("badcond", [mod("a"), mod("b"), mod("c")],
                    ["a (1|a__missing > 1) b", "a (2|) c"], settings={**FAST, "fail_strategy": "continue"})
        result = await flows.run(text)
        assert result.status == "failed"
        assert result.manifest["errors"] == [
            "control connection 'a (1|a__missing > 1) b': condition cannot be evaluated: "
            "the global 'a__missing' was not set (module 'a' has not set 'missing')"
        ]
        assert subflow(result.manifest, "b")["status"] == "skipped"
        assert starts(flows.root) == ["a", "c"]  # continue: the other branch still runs

    async def test_condition_with_a_type_error_halts(self, flows: FlowHarness) -> None:
        text = flow("typecond", [mod("a", globals={"n": "text"}), mod("b"), mod("c")],
                    ["a (1|a__n > 1) b", "a (2|) c"], settings=FAST)
        result = await flows.run(text)
        assert result.status == "failed"
        assert result.manifest["errors"][0] == (
            "control connection 'a (1|a__n > 1) b': condition cannot be evaluated: cannot compare str 'text' with "
            "int 1 using '>' (expected values of one kind: a number from a string needs int() or float()) "
            "(at character 1)"
        )
        assert starts(flows.root) == ["a"]  # halt: order 2 never fires
        assert subflow(result.manifest, "c")["status"] == "not_run"


class TestIterate:
    async def test_values_node_ids_and_iter_templates(self, flows: FlowHarness) -> None:
        text = flow("iter", [
            mod("lst", PROBE_SOURCE, items=["x", "y", "z"]),
            mod("each", note="{{iter.item}}@{{iter.index}}"),
            mod("after"),
        ], [{"from": "lst", "to": "each", "type": "iterate"}, "lst (2|) after"], settings=FAST)
        result = await flows.run(text)
        assert result.status == "success"
        assert starts(flows.root) == ["lst", "each#0", "each#1", "each#2", "after"]
        assert notes(flows.root) == {"each#0": "x@0", "each#1": "y@1", "each#2": "z@2"}
        modules = result.manifest["modules"]
        assert [modules[f"each#{i}"]["iter_path"] for i in range(3)] == [[0], [1], [2]]
        assert {modules[f"each#{i}"]["module_id"] for i in range(3)} == {"each"}
        assert [s["instance"] for s in result.manifest["subflows"]] == ["after", "each#0", "each#1", "each#2", "lst"]

    async def test_ctx_iter_item_and_index(self, flows: FlowHarness) -> None:
        text = flow("ctxiter", [
            mod("lst", PROBE_SOURCE, items=[{"k": 1}, "two"]),
            f'  - {{"id": "show", "name": "{CONTEXT_PROBE}", "configs": {{"required": {{"log": "ctx.log"}}}}}}',
        ], [{"from": "lst", "to": "show", "type": "iterate"}], settings=FAST)
        result = await flows.run(text)
        assert result.status == "success"
        lines = (flows.root / "ctx.log").read_text().splitlines()
        assert [line.split(" thread=")[0] for line in lines] == [
            "show#0 item={'k': 1} index=0",
            "show#1 item='two' index=1",
        ]

    async def test_nested_iterate(self, flows: FlowHarness) -> None:
        text = flow("nested", [
            mod("outer", PROBE_SOURCE, items=["a", "b"]),
            mod("inner", PROBE_SOURCE, items=["{{iter.item}}1", "{{iter.item}}2"]),
            mod("leaf", note="{{iter.item}}"),
            mod("after_inner", note="{{iter.item}}"),
        ], [
            {"from": "outer", "to": "inner", "type": "iterate"},
            {"from": "inner", "to": "leaf", "type": "iterate"},
            "inner (2|) after_inner",
        ], settings=FAST)
        result = await flows.run(text)
        assert result.status == "success"
        assert starts(flows.root) == [
            "outer", "inner#0", "leaf#0#0", "leaf#0#1", "after_inner#0",
            "inner#1", "leaf#1#0", "leaf#1#1", "after_inner#1",
        ]
        assert notes(flows.root) == {
            "leaf#0#0": "a1", "leaf#0#1": "a2", "leaf#1#0": "b1", "leaf#1#1": "b2",
            "after_inner#0": "a", "after_inner#1": "b",
        }
        assert result.manifest["modules"]["leaf#1#0"]["iter_path"] == [1, 0]

    async def test_empty_list_runs_nothing_and_succeeds(self, flows: FlowHarness) -> None:
        text = flow("emptyiter", [mod("lst", PROBE_SOURCE, items=[]), mod("each")],
                    [{"from": "lst", "to": "each", "type": "iterate"}], settings=FAST)
        result = await flows.run(text)
        assert result.status == "success"
        assert starts(flows.root) == ["lst"]
        assert subflow(result.manifest, "each")["status"] == "not_run"


class TestGlobals:
    async def test_globals_across_subflows_case_insensitive(self, flows: FlowHarness) -> None:
        text = flow("globals", [
            mod("a", globals={"RowCount": 5}), mod("b", note="{{A__rowcount}} rows"),
        ], ["a (1|) b"], settings=FAST)
        result = await flows.run(text)
        assert result.status == "success"
        assert notes(flows.root) == {"b": "5 rows"}
        assert result.manifest["modules"]["a"]["globals"] == {"RowCount": 5}

    async def test_globals_see_the_current_iteration(self, flows: FlowHarness) -> None:
        text = flow("iterglobals", [
            mod("lst", PROBE_SOURCE, items=["x", "y"]),
            mod("each", globals={"val": "{{iter.item}}-{{iter.index}}"}),
            mod("use", note="{{each__val}}"),
            mod("final", note="{{each__val}}"),
        ], [{"from": "lst", "to": "each", "type": "iterate"}, "each (1|) use", "lst (2|) final"], settings=FAST)
        result = await flows.run(text)
        assert result.status == "success"
        # inside the iteration: that iteration's value; after it: the last value set
        assert notes(flows.root) == {"use#0": "x-0", "use#1": "y-1", "final": "y-1"}

    async def test_unknown_template_name_at_run_time_names_module_and_key(self, flows: FlowHarness) -> None:
        text = flow("badtemplate", [mod("a"), mod("b", note="n={{a__nope}}")], ["a (1|) b"], settings=FAST)
        result = await flows.run(text)
        assert result.status == "failed"
        assert result.manifest["failed_modules"] == ["b"]
        error = result.manifest["modules"]["b"]["error"]
        assert error == "module 'b', config 'note': unknown template name 'a__nope'"
        assert result.manifest["modules"]["b"]["attempts"] == 1

    async def test_unknown_template_lists_close_names(self, flows: FlowHarness) -> None:
        text = flow("closetemplate", [mod("a", globals={"count": 1}), mod("b", note="{{a__cout}}")],
                    ["a (1|) b"], settings=FAST)
        result = await flows.run(text)
        assert result.status == "failed"
        assert "unknown template name 'a__cout'; did you mean 'a__count'?" in result.manifest["modules"]["b"]["error"]
