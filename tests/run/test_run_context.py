"""RunContext as modules see it: thread pool sizing and use, ids, logger binding, globals, iteration."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pypeline.core.errors import JobError
from pypeline.run.run import thread_count
from tests.conftest import FlowHarness, invoke
from tests.run.flowtext import PROBE_SOURCE, flow, mod

CONTEXT_PROBE = "tests.run.probes.ContextProbe"


def ctx_probe(module_id: str, **optional: object) -> str:
    entry = {"id": module_id, "name": CONTEXT_PROBE, "configs": {"required": {"log": "ctx.log"}, "optional": optional}}
    return "  - " + json.dumps(entry)


def probe_lines(root: Path) -> list[str]:
    return (root / "ctx.log").read_text().splitlines()


class TestThreadCount:
    @pytest.mark.parametrize(("option", "settings", "env", "expected"), [
        (3, {"threads": 5}, "7", 3),
        (None, {"threads": 5}, "7", 5),
        (None, {"threads": None}, "7", 7),
        (None, {}, None, (os.cpu_count() or 1) * 2),
    ], ids=["option-wins", "settings-next", "env-next", "cpu-default"])
    def test_precedence(self, monkeypatch: pytest.MonkeyPatch, option: int | None, settings: dict[str, Any],
                        env: str | None, expected: int) -> None:
        if env is None:
            monkeypatch.delenv("PYPELINE_THREADS", raising=False)
        else:
            monkeypatch.setenv("PYPELINE_THREADS", env)
        assert thread_count(option, settings) == expected

    @pytest.mark.parametrize("value", ["many", "0"], ids=["not-a-number", "zero"])
    def test_bad_env_value(self, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
        monkeypatch.setenv("PYPELINE_THREADS", value)
        with pytest.raises(JobError, match=re.escape(f"PYPELINE_THREADS='{value}'")):
            thread_count(None, {})

    @pytest.mark.parametrize(("args", "settings", "env", "expected"), [
        (["--threads", "3"], {"threads": 5}, "7", 3),
        ([], {"threads": 5}, "7", 5),
        ([], None, "6", 6),
        ([], None, None, (os.cpu_count() or 1) * 2),
    ], ids=["cli-option", "settings", "env", "default"])
    def test_the_run_pool_is_sized_by_precedence(
        self, cli: CliRunner, project: Path, monkeypatch: pytest.MonkeyPatch,
        args: list[str], settings: dict[str, Any] | None, env: str | None, expected: int,
    ) -> None:
        if env is not None:
            monkeypatch.setenv("PYPELINE_THREADS", env)
        (project / "flow.yaml").write_text(flow("threads", [ctx_probe("p")], settings=settings))
        assert invoke(cli, "build", "flow.yaml").exit_code == 0
        result = invoke(cli, "run", "jobs/threads", "--quiet", *args)
        assert result.exit_code == 0, result.output
        line = probe_lines(project)[0]
        assert f"max_workers={expected}" in line
        assert re.search(r"thread=pypeline_\d+", line), line  # ran on the run's pool
        log_line = json.loads((next((project / "jobs/threads/runs").iterdir()) / "log.jsonl").read_text()
                              .splitlines()[0])
        assert log_line["event"] == "run_started" and log_line["threads"] == expected


class TestContextValues:
    async def test_node_ids_iteration_and_globals(self, flows: FlowHarness) -> None:
        text = flow("ctxvalues", [
            mod("lst", PROBE_SOURCE, items=["x", "y"], globals={"Total": 2}),
            ctx_probe("show", read_global=["LST", "total"]),
            ctx_probe("after", read_global=["show", "seen"]),
        ], [{"from": "lst", "to": "show", "type": "iterate"}, "lst (2|) after"])
        result = await flows.run(text)
        assert result.status == "success", result.manifest["errors"]
        lines = probe_lines(flows.root)
        assert lines[0] == "show#0 get_global(LST, total) = 2"
        assert lines[1].startswith("show#0 item='x' index=0 thread=pypeline_")
        assert lines[3].startswith("show#1 item='y' index=1")
        assert lines[4] == "after get_global(show, seen) = 2"
        assert lines[5].startswith("after item=None index=None")
        assert result.manifest["modules"]["show#1"]["globals"] == {"seen": 2}

    async def test_every_log_line_has_run_id_and_node_id(self, flows: FlowHarness) -> None:
        text = flow("loglines", [
            mod("lst", PROBE_SOURCE, items=["x", "y"]), ctx_probe("show"), mod("bad", fail=True),
        ], [{"from": "lst", "to": "show", "type": "iterate"}, "lst (2|) bad"])
        result = await flows.run(text, run_id="logs1")
        lines = [json.loads(line) for line in (result.run_dir / "log.jsonl").read_text().splitlines()]
        assert len(lines) >= 6
        assert all(line["run_id"] == "logs1" and line["node_id"] for line in lines)
        probe = [line for line in lines if line["event"] == "context_probe"]
        assert [line["node_id"] for line in probe] == ["show#0", "show#1"]
        assert all(line["level"] == "info" and "timestamp" in line for line in probe)
        failed = [line for line in lines if line["event"] == "module_failed"]
        assert failed[0]["node_id"] == "bad" and failed[0]["level"] == "error"
        assert {line["node_id"] for line in lines if line["event"] in ("run_started", "run_finished")} == {"-"}
