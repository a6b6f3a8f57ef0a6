"""The terminal a newcomer sees: human log lines, a live table without raw markup, progress inside modules."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from pypeline.run.observe import progress as progress_module
from pypeline.run.observe.console_log import echo_format, echo_level, human_line
from pypeline.run.observe.progress import LiveProgress, PlainProgress
from pypeline.run.state.records import NodeRecord, SubflowRecord
from tests.conftest import FlowHarness, invoke, write_csv
from tests.run.flowtext import flow, mod
from tests.run.test_observe import run_in_pty

FAILED_EVENT = {
    "timestamp": "2026-12-04T20:05:57.051833Z", "level": "error", "event": "module_failed", "node_id": "adults",
    "run_id": "r1", "module": "filter_mod", "attempt": 1,
    "error": "RuntimeError: boom failed on purpose",
    "traceback": 'Traceback (most recent call last):\n  File "x.py", line 1, in run\nRuntimeError: boom\n',
}


class TestHumanLines:
    def test_a_failed_module_is_one_readable_line(self) -> None:
        line = human_line(FAILED_EVENT)
        assert "\n" not in line and "{" not in line and "Traceback" not in line
        assert re.fullmatch(
            r"\d\d:\d\d:\d\d error   adults module_failed: RuntimeError: boom failed on purpose "
            r"\(attempt=1, traceback in log\.jsonl\)", line,
        ), line

    def test_fields_are_key_value_and_texts_with_spaces_are_quoted(self) -> None:
        line = human_line({"timestamp": "2026-12-04T20:05:57Z", "level": "warning", "event": "run_halting",
                           "node_id": "-", "reason": "a sub flow failed", "count": 2, "columns": ["a", "b"]})
        assert line.endswith('run_halting (columns=["a", "b"], count=2, reason="a sub flow failed")'), line

    @pytest.mark.parametrize(("fmt", "tty", "expected"), [
        ("auto", True, "human"), ("auto", False, "json"), ("json", True, "json"), ("human", False, "human"),
    ], ids=["auto-tty", "auto-pipe", "json-tty", "human-pipe"])
    def test_auto_is_human_on_a_terminal_only(self, fmt: str, tty: bool, expected: str) -> None:
        assert echo_format(fmt, tty) == expected

    def test_default_echo_level_follows_the_format(self) -> None:
        assert (echo_level(None, "human"), echo_level(None, "json"), echo_level("debug", "human")) == (
            "warning", "info", "debug")

    async def test_log_format_human_echoes_lines_and_the_file_stays_json(
        self, flows: FlowHarness, capsys: pytest.CaptureFixture[str]
    ) -> None:
        result = await flows.run(flow("fails", [mod("boom", fail=True)]), echo_logs=True, log_format="human")
        err = capsys.readouterr().err.splitlines()
        assert [line for line in err if "module_failed" in line] == [
            next(line for line in err if "boom module_failed: RuntimeError: boom failed on purpose" in line)
        ]
        assert not [line for line in err if line.startswith("{")]
        logged = [json.loads(line) for line in (result.run_dir / "log.jsonl").read_text().splitlines()]
        failed = next(line for line in logged if line["event"] == "module_failed")
        assert "Traceback (most recent call last)" in failed["traceback"]  # kept in the file


class TestOnATerminal:
    def test_a_failing_module_shows_one_readable_line_and_no_json(self, flows: FlowHarness) -> None:
        flows.build(flow("fails", [mod("boom", fail=True)]))
        code, screen = run_in_pty(["run", "jobs/fails", "--run-id", "t1"], flows.root)
        assert code == 1
        assert '{"' not in screen and "Traceback" not in screen and "\\n" not in screen
        failed = [line for line in screen.splitlines() if "module_failed" in line]
        assert len(failed) == 1, screen
        assert "boom module_failed: RuntimeError: boom failed on purpose" in failed[0]
        assert "error: module 'boom': RuntimeError: boom failed on purpose" in screen

    def test_not_a_terminal_echoes_json(self, cli: CliRunner, project: Path) -> None:
        (project / "flow.yaml").write_text(flow("piped", [mod("a")]), encoding="utf-8")
        assert invoke(cli, "build", "flow.yaml").exit_code == 0
        result = invoke(cli, "run", "jobs/piped", "--progress", "none")
        assert result.exit_code == 0
        events = [json.loads(line)["event"] for line in result.stderr.splitlines()]
        assert events[0] == "run_started" and events[-1] == "run_finished"


def forced_terminal(width: int = 100) -> object:
    from rich.console import Console

    return Console(force_terminal=True, width=width, record=True, file=io.StringIO())


class TestLiveTable:
    def test_a_log_line_never_shows_the_table_as_raw_markup(self) -> None:
        console = forced_terminal()
        live = LiveProgress("demo", console=console)
        record = NodeRecord(node_id="read", module_id="read", subflow="read", iter_path=())
        live.subflow_started(SubflowRecord(subflow="read", iter_path=()))
        live.node_started(record)
        live.live.refresh()  # the table as rich's refresh thread draws it
        live.print_line("12:00:00 warning read missing_column (column=x)")  # redraws the table with markup off
        record.status, record.rows_out, record.duration_ms = "success", 1, 3.0
        live.node_finished(record)
        live.close()
        text = console.export_text()  # type: ignore[attr-defined]
        assert "[bold]" not in text and "[yellow]" not in text and "[/" not in text, text
        assert re.search(r"read\s+│ success\s+│ 1 row, 3 ms", text)

    def test_a_running_module_shows_its_time_and_progress(self, tmp_path: Path) -> None:
        console = forced_terminal(140)
        live = LiveProgress("demo", console=console)
        live.node_started(NodeRecord(node_id="read", module_id="read", subflow="read", iter_path=()))
        live.node_progress("read", {"rows": 1200, "nbytes": 45_200})
        writing = tmp_path / "out.csv"
        writing.write_bytes(b"x" * 2500)
        live.node_started(NodeRecord(node_id="write", module_id="write", subflow="read", iter_path=()))
        live.node_progress("write", {"writing": str(writing)})
        live.close()
        text = console.export_text()  # type: ignore[attr-defined]
        assert re.search(r"read\s+│ running │ \d+\.\ds, 1,200 rows, 45\.2 kB so far", text), text
        assert re.search(r"write\s+│ running │ \d+\.\ds, 2\.5 kB written so far", text), text


class TestPlainProgress:
    async def test_started_lines_progress_and_singular_rows(
        self, flows: FlowHarness, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(progress_module, "PLAIN_PROGRESS_EVERY_S", 0.0)
        write_csv(flows.root / "data" / "a.csv", "id", ["1"])
        write_csv(flows.root / "data" / "b.csv", "id", ["2", "3"])
        text = """
        flow: {name: progress}
        modules:
          - {id: read, name: csv_source, configs: {required: {file_path: "data/*.csv"}}}
          - {id: one, name: limit_mod, configs: {required: {n: 1}}}
          - {id: write, name: csv_sink, configs: {required: {output_path: out/one.csv}}}
        connections:
          data: ["read.data - one.input", "one.output - write.input"]
        """
        result = await flows.run(text, progress="plain")
        assert result.status == "success"
        lines = [line.split(" ", 1)[1] for line in capsys.readouterr().out.splitlines()]
        assert "  module read started" in lines
        assert "  module read: 1 row, 5 B so far" in lines  # after the first file
        assert "  module read: 3 rows, 12 B so far" in lines  # after the second (5 + 7 bytes)
        assert any(re.fullmatch(r" {2}module one success \(\d+ ms, 1 row\)", line) for line in lines), lines

    def test_reports_are_throttled(self, capsys: pytest.CaptureFixture[str]) -> None:
        plain = PlainProgress()
        plain.node_started(NodeRecord(node_id="read", module_id="read", subflow="read", iter_path=()))
        plain.node_progress("read", {"rows": 10})  # within PLAIN_PROGRESS_EVERY_S of the start: not printed
        assert capsys.readouterr().out.splitlines()[-1].endswith("module read started")

    def test_the_result_line_says_1_module_run(self, cli: CliRunner, project: Path) -> None:
        (project / "flow.yaml").write_text(flow("single", [mod("a")]), encoding="utf-8")
        assert invoke(cli, "build", "flow.yaml").exit_code == 0
        result = invoke(cli, "run", "jobs/single", "--run-id", "r1", "--quiet", "--progress", "none")
        assert "run r1: success (1 module run, " in result.stdout
