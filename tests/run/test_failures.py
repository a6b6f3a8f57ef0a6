"""Failure handling: halt vs continue, retries with backoff, module and run timeouts, teardown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pypeline.run.nodes.node import retry_delay
from tests.conftest import FlowHarness
from tests.run.flowtext import PROBE_SINK, PROBE_SOURCE, flow, mod
from tests.run.probes import read_events, reset_events

CONTINUE = {"timeout": 20, "fail_strategy": "continue"}
HALT = {"timeout": 20, "fail_strategy": "halt"}


@pytest.fixture(autouse=True)
def _fresh_events() -> Iterator[None]:
    reset_events()
    yield
    reset_events()


def events(root: Path) -> list[str]:
    return read_events(root / "events.log")


def statuses(manifest: dict[str, Any]) -> dict[str, str]:
    return {s["instance"]: s["status"] for s in manifest["subflows"]}


class TestHaltAndContinue:
    """r1 fails once r2 runs; r2 runs until told; r3 -> r3b is an independent branch."""

    def _flow(self, settings: dict[str, Any], r2_waits_for: str | None) -> str:
        return flow("failmode", [
            mod("r1", wait_for="r2_started", fail=True),
            mod("r2", set_event="r2_started", wait_for=r2_waits_for, sleep=0.05),
            mod("r1b"),
            mod("r3"), mod("r3b"),
        ], ["r1 (1|) r1b", "r3 (1|) r3b"], settings=settings)

    async def test_halt_cancels_running_work_and_starts_nothing_new(self, flows: FlowHarness) -> None:
        result = await flows.run(self._flow(HALT, r2_waits_for="never"))
        assert result.status == "failed" and result.exit_code == 1
        manifest = result.manifest
        assert manifest["modules"]["r1"]["status"] == "failed"
        assert manifest["modules"]["r2"]["status"] == "cancelled"
        assert "teardown r2" in events(flows.root)  # teardown awaited after cancellation
        assert "teardown r1" in events(flows.root)  # and after failure
        subflows = statuses(manifest)
        assert subflows["r1"] == "failed" and subflows["r2"] == "cancelled"
        assert subflows["r1b"] == "not_run"
        assert manifest["failed_modules"] == ["r1"]
        assert "r1b" in manifest["skipped_subflows"]
        assert any("r1 failed on purpose" in e for e in manifest["errors"])

    async def test_continue_skips_the_failed_downstream_and_runs_the_rest(self, flows: FlowHarness) -> None:
        result = await flows.run(self._flow(CONTINUE, r2_waits_for=None))
        assert result.status == "failed" and result.exit_code == 1
        subflows = statuses(result.manifest)
        assert subflows == {"r1": "failed", "r1b": "skipped", "r2": "success", "r3": "success", "r3b": "success"}
        r1b = next(s for s in result.manifest["subflows"] if s["instance"] == "r1b")
        assert r1b["reason"] == "upstream sub flow 'r1' failed"
        assert result.manifest["skipped_subflows"] == ["r1b"]

    @pytest.mark.parametrize("settings", [CONTINUE, HALT], ids=["continue", "halt"])
    async def test_failure_inside_an_iteration(self, flows: FlowHarness, settings: dict[str, Any]) -> None:
        text = flow("iterfail", [
            mod("lst", PROBE_SOURCE, items=["a", "b", "c"]), mod("each", fail_item="b"), mod("after"), mod("end"),
        ], [{"from": "lst", "to": "each", "type": "iterate"}, "each (1|) after", "lst (2|) end"], settings=settings)
        result = await flows.run(text)
        assert result.status == "failed"
        got = statuses(result.manifest)
        if settings is CONTINUE:  # only the failed item's downstream is skipped; lst itself succeeded
            assert got == {
                "lst": "success", "each#0": "success", "after#0": "success", "each#1": "failed",
                "after#1": "skipped", "each#2": "success", "after#2": "success", "end": "success",
            }
        else:
            assert got == {
                "lst": "success", "each#0": "success", "after#0": "success", "each#1": "failed", "end": "not_run",
            }

    async def test_failure_inside_a_subflow_cancels_its_siblings_and_awaits_their_teardown(
        self, flows: FlowHarness
    ) -> None:
        # src feeds two sinks in one sub flow: one fails, the other is cancelled mid-run.
        text = flow("siblings", [
            mod("src", PROBE_SOURCE, items=[1]),
            mod("ok", PROBE_SINK, wait_for="never", set_event="ok_started", teardown_sleep=0.05),
            mod("bad", PROBE_SINK, wait_for="ok_started", fail=True),
        ], data=["src.data - ok.input", "src.data - bad.input"], settings=HALT)
        result = await flows.run(text)
        assert result.status == "failed"
        modules = result.manifest["modules"]
        assert (modules["bad"]["status"], modules["ok"]["status"]) == ("failed", "cancelled")
        assert "teardown ok" in events(flows.root)

    async def test_teardown_is_not_interrupted_when_halt_cancels_other_work(self, flows: FlowHarness) -> None:
        # r2's teardown takes a while; halting must cancel r2 once and let the teardown finish.
        text = flow("slowteardown", [
            mod("r1", wait_for="r2_started", fail=True),
            mod("r2", set_event="r2_started", wait_for="never", teardown_sleep=0.2),
        ], settings=HALT)
        result = await flows.run(text)
        assert result.status == "failed"
        assert "teardown r2" in events(flows.root)


class TestRetries:
    async def test_retries_then_success(self, flows: FlowHarness) -> None:
        text = flow("retry", [mod("flaky", fail_attempts=2, retries=2)], settings={**HALT, "retry_delay": 0.01})
        result = await flows.run(text)
        assert result.status == "success"
        node = result.manifest["modules"]["flaky"]
        assert (node["status"], node["attempts"], node["retries"]) == ("success", 3, 2)
        assert events(flows.root).count("start flaky") == 3
        assert events(flows.root).count("teardown flaky") == 3  # a fresh instance per attempt
        log = (result.run_dir / "log.jsonl").read_text()
        assert log.count('"event":"module_retry"') == 2

    async def test_retries_exhausted(self, flows: FlowHarness) -> None:
        text = flow("exhausted", [mod("flaky", fail_attempts=9)], settings={**HALT, "retries": 2, "retry_delay": 0})
        result = await flows.run(text)
        assert result.status == "failed"
        node = result.manifest["modules"]["flaky"]
        assert (node["status"], node["attempts"], node["retries"]) == ("failed", 3, 2)
        assert node["error"] == "RuntimeError: flaky failed on purpose"
        assert result.manifest["errors"] == ["module 'flaky': RuntimeError: flaky failed on purpose"]
        subflow = result.manifest["subflows"][0]
        assert subflow["error"] == (
            "module 'flaky' failed (attempt 3, backend local): RuntimeError: flaky failed on purpose"
        )

    async def test_module_retries_override_the_settings_default(self, flows: FlowHarness) -> None:
        text = flow("override", [mod("flaky", fail_attempts=9, retries=0)],
                    settings={**HALT, "retries": 5, "retry_delay": 0})
        result = await flows.run(text)
        assert result.manifest["modules"]["flaky"]["attempts"] == 1

    def test_backoff_doubles_and_is_capped(self) -> None:
        settings = {"retry_delay": 0.5, "retry_max_delay": 3}
        assert [retry_delay(settings, n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


class TestTimeouts:
    async def test_module_timeout(self, flows: FlowHarness) -> None:
        text = flow("modtimeout", [mod("slow", sleep=30, timeout=0.2), mod("after")], ["slow (1|) after"],
                    settings=HALT)
        result = await flows.run(text)
        assert result.status == "failed"
        node = result.manifest["modules"]["slow"]
        assert node["status"] == "timed_out"
        assert node["error"] == "timed out after 0.2s"
        assert result.manifest["failed_modules"] == ["slow"]
        assert result.manifest["errors"] == ["module 'slow': timed out after 0.2s"]
        assert "teardown slow" in events(flows.root)
        assert statuses(result.manifest)["after"] == "not_run"

    async def test_module_timeout_is_retried(self, flows: FlowHarness) -> None:
        text = flow("modtimeoutretry", [mod("slow", sleep=30, timeout=0.1, retries=1)],
                    settings={**HALT, "retry_delay": 0})
        result = await flows.run(text)
        assert result.manifest["modules"]["slow"]["attempts"] == 2

    async def test_run_timeout_cancels_everything_and_awaits_teardown(self, flows: FlowHarness) -> None:
        text = flow("runtimeout", [mod("a", sleep=30), mod("b", sleep=30), mod("c")], ["a (1|) c"],
                    settings={"timeout": 0.3})
        result = await flows.run(text)
        assert result.status == "failed"
        manifest = result.manifest
        assert manifest["errors"] == ["the run timed out after 0.3s (settings.timeout)"]
        assert {manifest["modules"][m]["status"] for m in ("a", "b")} == {"cancelled"}
        assert statuses(manifest) == {"a": "cancelled", "b": "cancelled", "c": "not_run"}
        assert {"teardown a", "teardown b"} <= set(events(flows.root))


class TestTeardownShield:
    async def test_teardown_survives_a_second_cancellation(self, flows: FlowHarness) -> None:
        # 'ok' is cancelled when its sibling fails; while its teardown runs, its own module timeout
        # expires and cancels it a second time: the teardown must still complete.
        text = flow("doublecancel", [
            mod("src", PROBE_SOURCE, items=[1]),
            mod("ok", PROBE_SINK, wait_for="never", set_event="ok_started", teardown_sleep=0.4, timeout=0.2),
            mod("bad", PROBE_SINK, wait_for="ok_started", fail=True),
        ], data=["src.data - ok.input", "src.data - bad.input"], settings=HALT)
        result = await flows.run(text)
        assert result.status == "failed"
        assert "teardown ok" in events(flows.root)
