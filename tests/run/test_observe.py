"""Observability: the manifest's shape, log lines to stderr and the file, plain and live progress."""

from __future__ import annotations

import calendar
import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pypeline.modules.sdk.context import NodeStats
from pypeline.run.observe.logging import RunLog
from pypeline.run.observe.manifest import manifest_text
from pypeline.run.observe.progress import LiveProgress
from pypeline.run.state.records import NodeRecord, SubflowRecord, utc_now
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

    async def test_each_module_is_one_line_of_its_record(self, flows: FlowHarness) -> None:
        result = await flows.run(small_flow(), run_id="m2")
        lines = (result.run_dir / "manifest.json").read_text().splitlines()
        entries = {line.split(":", 1)[0].strip(): line for line in lines if line.startswith('    "') and "{" in line}
        assert set(entries) == {'"a"', '"b"'}
        for node_id, line in entries.items():
            assert json.loads(line.split(": ", 1)[1].rstrip(",")) == result.manifest["modules"][json.loads(node_id)]

    def test_module_lines_parse_to_the_document_whatever_the_values_hold(self) -> None:
        records = {
            node_id: NodeRecord(node_id=node_id, module_id="m", subflow="s", iter_path=(), status="success",
                                ended="2026-01-01T00:00:00.000Z", globals={"text": '\n  "modules": {}', "n": 1})
            for node_id in ("m#1", "m#0", 'odd "id"')
        }
        document = {"run_id": "r", "errors": ['\n  "modules": {}'], "modules": {
            n: r.to_dict() for n, r in sorted(records.items())}, "subflows": []}
        assert json.loads(manifest_text(document, records)) == document
        assert json.loads(manifest_text({**document, "modules": {}}, {})) == {**document, "modules": {}}

    def test_a_nan_global_is_read_back_as_nan(self) -> None:
        """orjson writes records but would write NaN as null; a record holding one takes the standard encoder."""
        record = NodeRecord(node_id="m", module_id="m", subflow="s", iter_path=(), status="success",
                            ended="2026-01-01T00:00:00.000Z", globals={"mean": float("nan"), "n": 2**70},
                            facts={"stats": {"ratio": float("inf")}})
        read = json.loads(record.to_json())
        assert read["globals"]["n"] == 2**70 and read["stats"]["ratio"] == float("inf")
        assert read["globals"]["mean"] != read["globals"]["mean"]  # NaN
        plain = NodeRecord(node_id="p", module_id="p", subflow="s", iter_path=(1,), globals={"n": 1, "f": 0.1})
        assert json.loads(plain.to_json()) == plain.to_dict()

    def test_a_record_keeps_only_the_facts_reported_and_its_entry_shows_them_all(self) -> None:
        """``NodeStats.compact`` drops the empty parts; the manifest entry has every key, as ``to_dict`` gives."""
        quiet, busy = NodeStats(), NodeStats(files_read=["a.csv"], extra={"rows_dropped": 2})
        assert quiet.compact() == {} and busy.compact() == {"files_read": ["a.csv"], "stats": {"rows_dropped": 2}}
        for stats in (quiet, busy):
            record = NodeRecord(node_id="m", module_id="m", subflow="s", iter_path=(), status="success",
                                ended="2026-01-01T00:00:00.000Z", facts=stats.compact())
            entry = record.to_dict()
            assert {k: entry[k] for k in ("files_read", "files_written", "events", "stats")} == stats.to_dict()
            assert json.loads(record.to_json()) == entry

    def test_record_times_are_utc_milliseconds_read_again_once_a_millisecond(self) -> None:
        """``utc_now`` (a node record's ``started`` / ``ended``) formats a millisecond once, whatever asks it."""
        before = time.time()
        texts = [utc_now() for _ in range(200)]
        after = time.time()
        for text in texts:
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", text)
            stamp = calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")) + int(text[20:23]) / 1000
            assert int(before * 1000) / 1000 <= stamp <= after
        assert texts == sorted(texts) and len(set(texts)) < len(texts)  # 200 calls take less than 200 ms
        same = [text for text in texts if text == texts[-1]]
        assert all(text is same[0] for text in same)  # one string for a millisecond

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
        assert '"event":"run_finished"' in (result.run_dir / "log.jsonl").read_text()

    def test_a_line_reaches_the_file_with_no_further_call(self, tmp_path: Path) -> None:
        """A live reader (pype ui, tail -f) sees lines while the run goes: a batch is written on a timer."""
        log = RunLog("r1", tmp_path / "log.jsonl", echo=None)
        try:
            log.logger(node_id="a").info("module_finished", rows_out=3)
            lines = wait_for_lines(tmp_path / "log.jsonl", 1)
            assert [json.loads(line)["event"] for line in lines] == ["module_finished"]
        finally:
            log.close()

    def test_warnings_and_errors_are_written_at_once_after_what_waits(self, tmp_path: Path) -> None:
        """A failure is on disk before the run goes on (a kill -9 right after it keeps it)."""
        log = RunLog("r1", tmp_path / "log.jsonl", echo=None)
        try:
            logger = log.logger(node_id="a")
            logger.info("first")
            logger.warning("second")
            events = [json.loads(line)["event"] for line in (tmp_path / "log.jsonl").read_text().splitlines()]
            assert events == ["first", "second"]
            logger.error("third")
            assert json.loads((tmp_path / "log.jsonl").read_text().splitlines()[-1])["event"] == "third"
        finally:
            log.close()

    def test_flush_writes_every_waiting_line_whole(self, tmp_path: Path) -> None:
        log = RunLog("r1", tmp_path / "log.jsonl", echo=None)
        try:
            logger = log.logger(node_id="a")
            for i in range(500):
                logger.info("step", i=i, text="x" * 300)
            log.flush()
            lines = (tmp_path / "log.jsonl").read_text().splitlines()
            assert [json.loads(line)["i"] for line in lines] == list(range(500))
        finally:
            log.close()

    def test_lines_after_a_full_batch_still_reach_the_file_on_the_timer(self, tmp_path: Path) -> None:
        """A batch written because it is full leaves the timer running for the lines after it."""
        log = RunLog("r1", tmp_path / "log.jsonl", echo=None)
        try:
            logger = log.logger(node_id="a")
            for i in range(300):  # about 100 KB: at least one batch is written for its size
                logger.info("step", i=i, text="x" * 300)
            assert (tmp_path / "log.jsonl").stat().st_size > 0
            lines = wait_for_lines(tmp_path / "log.jsonl", 300)
            assert [json.loads(line)["i"] for line in lines] == list(range(300))
        finally:
            log.close()

    def test_a_direct_line_is_the_line_a_bound_logger_writes(self, tmp_path: Path) -> None:
        """``RunLog.line`` (the engine's per-node lines) writes what a logger bound to its fields would."""
        seen: list[dict[str, object]] = []
        echoed: list[str] = []
        log = RunLog("r1", tmp_path / "log.jsonl", echo=None, echo_fn=echoed.append)
        log.listeners.append(seen.append)
        log.secrets.add("s3cret-value")
        try:
            fields = {"node_id": "a#1", "module": "filter_mod", "rows_out": 3, "note": "got s3cret-value"}
            log.logger(node_id="a#1", module="filter_mod").info("module_finished", rows_out=3, note="got s3cret-value")
            log.line("info", "module_finished", **fields)
            log.line("warning", "module_retry", node_id="a#1", attempt=1)
            log.flush()
            lines = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
        finally:
            log.close()
        bound, direct, retry = lines
        assert {**direct, "timestamp": ""} == {**bound, "timestamp": ""}
        assert direct["note"] == "got ***" and direct["run_id"] == "r1" and direct["level"] == "info"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", str(direct["timestamp"]))
        assert retry["level"] == "warning" and retry["event"] == "module_retry"
        assert seen == lines and len(echoed) == 3 and "s3cret-value" not in "".join(echoed)

    def test_a_node_logger_is_bound_when_first_used(self, tmp_path: Path) -> None:
        """A logger with fields (one per module attempt) binds on its first use and logs as a bound one would."""
        log = RunLog("r1", tmp_path / "log.jsonl", echo=None)
        try:
            unused, used = log.logger(node_id="a", attempt=1), log.logger(node_id="b", attempt=2)
            assert unused._logger is None  # never used: never bound
            used.info("step", rows=2)
            later = used.bind(extra="x")
            later.warning("careful")
            log.flush()
            lines = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
        finally:
            log.close()
        assert unused._logger is None and used._logger is not None
        assert [(line["event"], line["node_id"], line["attempt"], line["run_id"]) for line in lines] == [
            ("step", "b", 2, "r1"), ("careful", "b", 2, "r1")]
        assert lines[0]["rows"] == 2 and lines[1]["extra"] == "x" and lines[1]["level"] == "warning"

    def test_lines_after_close_are_dropped(self, tmp_path: Path) -> None:
        log = RunLog("r1", tmp_path / "log.jsonl", echo=None)
        logger = log.logger(node_id="a")
        logger.info("kept")
        log.close()
        logger.info("dropped")
        assert [json.loads(line)["event"] for line in (tmp_path / "log.jsonl").read_text().splitlines()] == ["kept"]


def wait_for_lines(path: Path, count: int, timeout: float = 10) -> list[str]:
    """The file's lines once it holds ``count`` of them (the log's timer writes them; no fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.01)


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
