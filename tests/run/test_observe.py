"""Observability: the manifest's shape, log lines to stderr and the file, plain and live progress."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest

from pypeline.run.observe.logging import RunLog
from pypeline.run.observe.progress import LiveProgress
from pypeline.run.state.records import NodeRecord, SubflowRecord
from tests.conftest import FlowHarness
from tests.run.flowtext import flow, mod

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")
REPO = Path(__file__).parents[2]


def small_flow() -> str:
    return flow("observed", [mod("a", globals={"n": 0}), mod("b"), mod("c")],
                ["a (1|) b", "a (2|a__n > 0) c"])


class TestManifest:
    async def test_shape(self, flows: FlowHarness) -> None:
        result = await flows.run(small_flow(), run_id="m1", env="default")
        manifest = json.loads((result.run_dir / "manifest.json").read_text())
        assert manifest == result.manifest
        assert manifest["run_id"] == "m1" and manifest["status"] == "success" and manifest["flow"] == "observed"
        assert manifest["started"] <= manifest["ended"] and manifest["duration_ms"] > 0
        assert set(manifest["modules"]) == {"a", "b"}
        node = manifest["modules"]["a"]
        for key in ("status", "attempts", "retries", "rows_in", "rows_out", "duration_ms", "files_read",
                    "files_written", "error", "started", "ended", "iter_path", "subflow", "globals"):
            assert key in node, key
        assert {s["instance"]: (s["status"], s["iter_path"]) for s in manifest["subflows"]} == {
            "a": ("success", []), "b": ("success", []), "c": ("skipped", []),
        }
        assert manifest["skipped_subflows"] == ["c"]
        assert manifest["failed_modules"] == [] and manifest["errors"] == []

    async def test_running_manifest_is_written_first(self, flows: FlowHarness) -> None:
        probe = {"id": "p", "name": "tests.run.probes.ContextProbe",
                 "configs": {"required": {"log": "ctx.log"},
                             "optional": {"read_status": "jobs/during/runs/r/manifest.json"}}}
        result = await flows.run(flow("during", ["  - " + json.dumps(probe)]), run_id="r")
        assert (flows.root / "ctx.log").read_text().splitlines()[0] == "p status=running"
        assert result.manifest["status"] == "success"


class TestLogs:
    async def test_lines_go_to_stderr_and_the_file(
        self, flows: FlowHarness, capsys: pytest.CaptureFixture[str]
    ) -> None:
        result = await flows.run(small_flow(), echo_logs=True, log_level="info")
        err = capsys.readouterr().err.splitlines()
        file_lines = (result.run_dir / "log.jsonl").read_text().splitlines()
        assert err and all(json.loads(line)["run_id"] == result.run_id for line in err)
        assert err == [line for line in file_lines if json.loads(line)["level"] != "debug"]

    async def test_log_level_filters_stderr_only(self, flows: FlowHarness, capsys: pytest.CaptureFixture[str]) -> None:
        result = await flows.run(small_flow(), echo_logs=True, log_level="error")
        assert capsys.readouterr().err == ""
        assert '"event": "run_finished"' in (result.run_dir / "log.jsonl").read_text()

    def test_each_line_is_in_the_file_as_soon_as_it_is_logged(self, tmp_path: Path) -> None:
        """A live reader (pype ui, tail -f) sees lines while the run goes; a run killed outright keeps them."""
        log = RunLog("r1", tmp_path / "log.jsonl", echo=None)
        try:
            log.logger(node_id="a").info("module_finished", rows_out=3)
            (line,) = (tmp_path / "log.jsonl").read_text(encoding="utf-8").splitlines()
            assert json.loads(line)["event"] == "module_finished"
        finally:
            log.close()


class TestProgress:
    async def test_plain_lines(self, flows: FlowHarness, capsys: pytest.CaptureFixture[str]) -> None:
        await flows.run(small_flow(), progress="plain")
        lines = [line.split(" ", 1)[1] for line in capsys.readouterr().out.splitlines()]
        assert lines[0] == "sub flow a started"
        assert lines[1] == "  module a started"
        assert re.fullmatch(r" {2}module a success \(\d+ ms\)", lines[2])
        assert lines[3:] == [
            "sub flow a success",
            "sub flow b started",
            "  module b started",
            lines[6],
            "sub flow b success",
            "sub flow c skipped: condition 'a__n > 0' was false",
        ]

    def test_live_table_on_a_forced_terminal(self) -> None:
        from rich.console import Console

        console = Console(force_terminal=True, width=100, record=True, file=open(os.devnull, "w"))
        progress = LiveProgress("demo", console=console)
        record = NodeRecord(node_id="load#1", module_id="load", subflow="load", iter_path=(1,))
        progress.subflow_started(SubflowRecord(subflow="load", iter_path=(1,)))
        progress.node_started(record)
        progress.print_line('{"event": "module_finished", "node_id": "load#1"}')
        record.status, record.rows_out, record.duration_ms = "success", 12, 3.0
        progress.node_finished(record)
        progress.subflow_finished(SubflowRecord(subflow="load", iter_path=(1,), status="success"))
        progress.close()
        console.file.close()
        text = console.export_text()
        assert '{"event": "module_finished", "node_id": "load#1"}' in text
        assert "demo: 1 success" in text
        assert re.search(r"load#1\s+│ success\s+│ 12 rows, 3 ms", text)

    def test_pype_run_under_a_pseudo_terminal(self, flows: FlowHarness) -> None:
        flows.build(small_flow())
        code, screen = run_in_pty(["run", "jobs/observed", "--run-id", "tty"], flows.root)
        assert code == 0
        assert "observed: 2 success" in screen  # the live table's final state
        assert "run tty: success" in screen
        # one readable stream: no JSON on the terminal (the file has it all)
        assert '{"' not in screen
        file_lines = (flows.root / "jobs/observed/runs/tty/log.jsonl").read_text().splitlines()
        assert all(json.loads(line)["run_id"] == "tty" for line in file_lines)
        assert {json.loads(line)["event"] for line in file_lines} >= {"run_started", "module_finished", "run_finished"}

    def test_log_format_json_on_a_terminal_echoes_json(self, flows: FlowHarness) -> None:
        flows.build(small_flow())
        code, screen = run_in_pty(["run", "jobs/observed", "--log-format", "json", "--log-level", "info"], flows.root)
        assert code == 0
        # each log line arrives whole (the live table is redrawn below it, never inside it)
        logged = [json.loads(m) for m in re.findall(r'(\{".*\})\s*$', screen, flags=re.M)]
        assert {line["event"] for line in logged} >= {"run_started", "module_finished", "run_finished"}


def run_in_pty(args: list[str], cwd: Path) -> tuple[int, str]:
    """``pype ARGS`` with stdin, stdout and stderr on a pseudo terminal: its exit code and screen (no ANSI)."""
    main, secondary = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "120", "TERM": "xterm"}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "pype"), *args],
        stdin=secondary, stdout=secondary, stderr=secondary, cwd=cwd, env=env, close_fds=True,
    )
    os.close(secondary)
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([main], [], [], 30)
        if not ready:
            break
        try:
            data = os.read(main, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    code = process.wait(timeout=30)
    os.close(main)
    return code, ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))
