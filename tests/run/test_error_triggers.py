"""``on_error`` and ``always`` control connections: real runs of small probe flows.

The probes write what happened to an events file; ``note`` is a templated
config, so ``note alert <message>`` shows what a handler read from the error
globals.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import FlowHarness, invoke
from tests.run.flowtext import flow, mod
from tests.run.probes import read_events, reset_events

HALT = {"timeout": 30, "fail_strategy": "halt"}
CONTINUE = {"timeout": 30, "fail_strategy": "continue"}
ERROR_NOTE = "{{load__error_type}}|{{load__error_module}}|{{load__error_message}}"


@pytest.fixture(autouse=True)
def _fresh_events() -> Iterator[None]:
    reset_events()
    yield
    reset_events()


def events(root: Path) -> list[str]:
    return read_events(root / "events.log")


def statuses(manifest: dict[str, Any]) -> dict[str, str]:
    return {s["instance"]: s["status"] for s in manifest["subflows"]}


def alert_flow(*, fail: bool, handled: bool = False, settings: dict[str, Any] | None = None) -> str:
    """load -(1)-> report, load -on_error-> alert -> alert_log, load -always-> cleanup; other runs beside."""
    on_error: dict[str, Any] = {"from": "load", "to": "alert", "type": "on_error"}
    if handled:
        on_error["handled"] = True
    return flow("alerting", [
        mod("load", fail=fail),
        mod("report"),
        mod("alert", note=ERROR_NOTE),
        mod("alert_log"),
        mod("cleanup", note="[{{load__error_type}}]"),
        mod("other", sleep=0.2),
    ], ["load (1|) report", on_error, "alert (1|) alert_log", "load (2|) cleanup [always]"],
        settings=settings or HALT)


class TestOnError:
    async def test_handler_runs_only_on_failure_and_reads_the_error_globals(self, flows: FlowHarness) -> None:
        result = await flows.run(alert_flow(fail=True))
        assert result.status == "failed" and result.exit_code == 1
        seen = events(flows.root)
        assert "start report" not in seen
        note = next(line for line in seen if line.startswith("note alert "))
        kind, module, message = note.removeprefix("note alert ").split("|", 2)
        assert (kind, module) == ("RuntimeError", "load")
        assert "module 'load' failed" in message and "load failed on purpose" in message
        assert seen.index("fail load") < seen.index("start alert") < seen.index("start alert_log")
        state = statuses(result.manifest)
        assert state["load"] == "failed" and state["alert"] == "success" and state["alert_log"] == "success"
        assert state["report"] == "not_run"  # halt: the success branch never starts
        assert result.manifest["handled_failures"] == []
        assert any("load failed on purpose" in e for e in result.manifest["errors"])

    async def test_handler_does_not_run_on_success(self, flows: FlowHarness) -> None:
        result = await flows.run(alert_flow(fail=False))
        assert result.status == "success"
        seen = events(flows.root)
        assert "start alert" not in seen and "start report" in seen
        skipped = {s["instance"]: s["reason"] for s in result.manifest["subflows"] if s["status"] == "skipped"}
        assert skipped == {"alert": "'load' did not fail", "alert_log": "upstream sub flow 'alert' was skipped"}

    async def test_handled_turns_the_run_to_success_and_the_manifest_keeps_the_failure(
        self, flows: FlowHarness
    ) -> None:
        result = await flows.run(alert_flow(fail=True, handled=True))
        assert result.status == "success" and result.exit_code == 0
        manifest = result.manifest
        assert manifest["errors"] == []
        assert manifest["failed_modules"] == ["load"]
        [handled] = manifest["handled_failures"]
        assert handled["instance"] == "load" and "load failed on purpose" in handled["error"]
        assert handled["handled_by"] == "load (1|) alert [on_error, handled]"
        state = statuses(manifest)
        assert state["load"] == "failed" and state["alert"] == "success" and state["other"] == "success"
        assert state["report"] == "skipped"  # the success branch of a handled failure is skipped, not run

    async def test_a_failing_handler_leaves_the_failure_unhandled(self, flows: FlowHarness) -> None:
        text = flow("badhandler", [mod("load", fail=True), mod("alert", fail=True)],
                    [{"from": "load", "to": "alert", "type": "on_error", "handled": True}], settings=CONTINUE)
        result = await flows.run(text)
        assert result.status == "failed"
        assert statuses(result.manifest) == {"load": "failed", "alert": "failed"}
        assert result.manifest["handled_failures"] == []
        assert len(result.manifest["errors"]) == 2

    async def test_handler_runs_even_when_halt_cancels_the_rest(self, flows: FlowHarness) -> None:
        text = flow("halting", [
            mod("load", wait_for="slow_started", fail=True),
            mod("slow", set_event="slow_started", wait_for="never"),
            mod("alert", sleep=0.1), mod("after_alert"),
        ], [{"from": "load", "to": "alert", "type": "on_error"}, "alert (1|) after_alert"], settings=HALT)
        result = await flows.run(text)
        assert result.status == "failed"
        state = statuses(result.manifest)
        assert state["slow"] == "cancelled"
        assert state["alert"] == "success" and state["after_alert"] == "success"

    async def test_a_handler_branch_fans_out_under_halt(self, flows: FlowHarness) -> None:
        text = flow("fanning", [
            mod("load", wait_for="slow_started", fail=True),
            mod("slow", set_event="slow_started", wait_for="never"),
            mod("alert"), mod("mail"), mod("page"), mod("log_it", sleep=0.05),
        ], ["load (1|) alert [on_error]", "alert (1|) mail", "alert (1|) page", "alert (2|) log_it [start]"],
            settings=HALT)
        result = await flows.run(text)
        state = statuses(result.manifest)
        assert state["slow"] == "cancelled"
        assert [state[m] for m in ("alert", "mail", "page", "log_it")] == ["success"] * 4

    async def test_handler_per_iteration_item(self, flows: FlowHarness) -> None:
        from tests.run.flowtext import PROBE_SOURCE

        text = flow("peritem", [
            mod("files", PROBE_SOURCE, items=["a", "b", "c"]),
            mod("load", fail_item="b"),
            mod("alert", note="{{load__error_module}} {{iter.item}}"),
        ], [{"from": "files", "to": "load", "type": "iterate"},
            {"from": "load", "to": "alert", "type": "on_error", "handled": True}], settings=HALT)
        result = await flows.run(text)
        assert result.status == "success"
        assert "note alert#1 load b" in events(flows.root)
        state = statuses(result.manifest)
        assert state["load#1"] == "failed" and state["alert#1"] == "success"
        assert state["load#2"] == "success"  # handled: the iteration goes on
        assert state["alert#0"] == "skipped" and state["alert#2"] == "skipped"


class TestAlways:
    @pytest.mark.parametrize("fail", [False, True], ids=["after-success", "after-failure"])
    async def test_always_runs_both_ways(self, flows: FlowHarness, fail: bool) -> None:
        result = await flows.run(alert_flow(fail=fail, settings=CONTINUE))
        seen = events(flows.root)
        assert "start cleanup" in seen
        assert ("note cleanup [RuntimeError]" if fail else "note cleanup []") in seen
        assert result.status == ("failed" if fail else "success")
        if not fail:  # priority-DFS: the order-1 branch ends before the order-2 'always' fires
            assert seen.index("end report") < seen.index("start cleanup")

    async def test_always_targets_of_a_cancelled_instance_do_not_run(self, flows: FlowHarness) -> None:
        text = flow("cancelled", [
            mod("load", wait_for="slow_started", fail=True),
            mod("slow", set_event="slow_started", wait_for="never"),
            mod("slow_post"),
        ], ["slow (1|) slow_post [always]"], settings=HALT)
        result = await flows.run(text)
        assert statuses(result.manifest)["slow_post"] == "not_run"


class TestResume:
    """A finished handler branch never runs twice; a resumed instance that now succeeds fires no on_error."""

    def _flow(self) -> str:
        return flow("resumable", [
            '  - {"id": "load", "name": "fail_mod", "configs": {"optional": {"unless_file_exists": "ready"}}}',
            mod("report"),
            mod("alert", note="{{load__error_type}}"),
            mod("cleanup"),
        ], ["load (1|) report", {"from": "load", "to": "alert", "type": "on_error"},
            "load (2|) cleanup [always]"], settings=CONTINUE)

    async def test_resume_runs_neither_the_handler_nor_the_always_branch_again(self, flows: FlowHarness) -> None:
        from pypeline.run.run import RunOptions, run_job

        first = await flows.run(self._flow())
        assert first.status == "failed"
        assert statuses(first.manifest)["alert"] == "success" and statuses(first.manifest)["cleanup"] == "success"
        (flows.root / "ready").touch()
        second = await run_job(flows.root / "jobs" / "resumable",
                               RunOptions(resume="latest", progress="none", echo_logs=False))
        assert second.status == "success"
        seen = events(flows.root)
        assert seen.count("start alert") == 1 and seen.count("start cleanup") == 1 and seen.count("start report") == 1
        state = statuses(second.manifest)
        assert state["load"] == "success" and state["report"] == "success" and state["cleanup"] == "restored"
        assert state["alert"] == "restored"  # it ran in the first run; on_error does not fire now
        assert second.manifest["modules"]["alert"]["status"] == "restored"


class TestThroughTheCli:
    """The same through ``pype build`` / ``pype run``: exit codes and what is printed."""

    @pytest.mark.parametrize(("handled", "code"), [(False, 1), (True, 0)], ids=["unhandled", "handled"])
    def test_exit_code(self, flows: FlowHarness, cli: CliRunner, handled: bool, code: int) -> None:
        flows.write(alert_flow(fail=True, handled=handled))
        assert invoke(cli, "build", "flow.yaml").exit_code == 0
        ran = invoke(cli, "run", "jobs/alerting", "--quiet", "--progress", "none")
        assert ran.exit_code == code, ran.output
        assert ("run " in ran.stdout) and (f": {'success' if handled else 'failed'} (" in ran.stdout)
        assert ("error: module 'load'" in ran.stderr) is (not handled)
        assert any(line.startswith("note alert RuntimeError|load|") for line in events(flows.root))
