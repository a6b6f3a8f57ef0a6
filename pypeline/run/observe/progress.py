"""Progress on the terminal: a live rich table on a TTY (stderr), plain lines otherwise (stdout).

The reporter is a run observer: it receives sub flow and module events from
the scheduler and never affects the run (errors inside it are swallowed by
the observer list).

While a module runs, both displays show that it runs; the live table also
shows for how long, and what the module reported with ``ctx.progress``: rows
and bytes so far, and the size of the file a sink is writing
(``atomic_output_path`` reports it), read when the table is drawn. Plain
lines say when each module starts, and repeat a module's progress at most
every :data:`PLAIN_PROGRESS_EVERY_S` seconds.

The table is built from :class:`rich.text.Text` objects, never from markup
strings: rich draws the live table again with every line printed above it,
using that line's options, so a cell written as markup (``[bold]x[/bold]``)
would show raw for one refresh after a log line printed with ``markup=False``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from pypeline.core.text import plural, size_text
from pypeline.run.state.records import NodeRecord, SubflowRecord, subflow_key_str

PLAIN_PROGRESS_EVERY_S = 5.0
"""Plain mode prints a module's progress report at most this often (seconds)."""

STATUS_STYLES = {
    "success": "green", "cached": "cyan", "failed": "red", "timed_out": "red", "running": "yellow",
    "cancelled": "magenta",
}


def progress_text(report: dict[str, Any], written: int | None = None) -> str:
    """``"1,200 rows, 45.2 MB so far"`` from a ``ctx.progress`` report (``written``: the output's size now)."""
    parts = []
    if isinstance(report.get("rows"), int):
        parts.append(plural(report["rows"], "row"))
    size = report.get("nbytes") if isinstance(report.get("nbytes"), int) else written
    if size is not None:
        parts.append(size_text(size) + (" written" if "nbytes" not in report else ""))
    return ", ".join(parts) + " so far" if parts else ""


def size_on_disk(path: str) -> int | None:
    """Bytes of a file, or of the files of a folder, being written; ``None`` when it is not there (yet)."""
    try:
        if os.path.isfile(path):
            return os.path.getsize(path)
        if os.path.isdir(path):
            return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
    except OSError:
        return None
    return None


def finished_detail(record: NodeRecord) -> str:
    """``"3 rows, 8 ms"``: what a finished module shows."""
    rows = f"{plural(record.rows_out, 'row')}, " if record.rows_out is not None else ""
    return f"{rows}{record.duration_ms or 0:.0f} ms"


class PlainProgress:
    """One line per sub flow instance and module started and finished, for logs and pipes.

    ``redact`` is the run's secret redaction (a skip reason may quote a condition's error).
    """

    def __init__(self, stream: TextIO | None = None, redact: Callable[[str], str] | None = None) -> None:
        self.stream = stream or sys.stdout
        self.redact = redact or (lambda text: text)
        self._last_report: dict[str, float] = {}

    def _line(self, text: str) -> None:
        self.stream.write(f"{time.strftime('%H:%M:%S')} {self.redact(text)}\n")
        self.stream.flush()

    def subflow_started(self, record: SubflowRecord) -> None:
        self._line(f"sub flow {subflow_key_str((record.subflow, record.iter_path))} started")

    def subflow_finished(self, record: SubflowRecord) -> None:
        self._line(f"sub flow {subflow_key_str((record.subflow, record.iter_path))} {record.status}")

    def subflow_skipped(self, record: SubflowRecord) -> None:
        self._line(f"sub flow {subflow_key_str((record.subflow, record.iter_path))} skipped: {record.reason}")

    def node_started(self, record: NodeRecord) -> None:
        self._last_report[record.node_id] = time.monotonic()
        self._line(f"  module {record.node_id} started")

    def node_progress(self, node_id: str, report: dict[str, Any]) -> None:
        now = time.monotonic()
        text = progress_text(report)
        if not text or now - self._last_report.get(node_id, 0.0) < PLAIN_PROGRESS_EVERY_S:
            return
        self._last_report[node_id] = now
        self._line(f"  module {node_id}: {text}")

    def node_finished(self, record: NodeRecord) -> None:
        self._last_report.pop(record.node_id, None)
        self._line(f"  module {record.node_id} {record.status} ({_duration_first(record)})")

    def close(self) -> None:
        """Nothing to tear down."""


def _duration_first(record: NodeRecord) -> str:
    rows = f", {plural(record.rows_out, 'row')}" if record.rows_out is not None else ""
    return f"{record.duration_ms or 0:.0f} ms{rows}"


class LiveProgress:
    """A rich live table of sub flows and modules (terminal only), drawn on stderr.

    Events only update dicts; rich's refresh thread renders them
    (``get_renderable``), so a run with thousands of modules pays no rendering
    cost per event. Log lines echo above the table (:meth:`print_line`), and
    stdout stays free for the command's result line.
    """

    def __init__(self, title: str, console: Any = None) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = console or Console(stderr=True)
        self.title = title
        self.subflows: dict[str, str] = {}
        self.nodes: dict[str, tuple[str, str]] = {}
        self.started: dict[str, float] = {}
        self.reports: dict[str, dict[str, Any]] = {}
        self.counts = {"success": 0, "cached": 0, "failed": 0, "timed_out": 0, "cancelled": 0}
        self.live = Live(console=self.console, refresh_per_second=8, transient=False, get_renderable=self._render)
        self.live.start()

    def _render(self) -> Any:
        from rich.table import Table
        from rich.text import Text

        done = ", ".join(f"{n} {k}" for k, n in self.counts.items() if n)
        table = Table(title=Text(f"{self.title}: {done or 'starting'}"), expand=False)
        table.add_column("sub flow / module")
        table.add_column("status")
        table.add_column("detail")
        for name, status in list(self.subflows.items())[-30:]:
            table.add_row(Text(name, style="bold"), _styled(status), Text(""))
        for node_id, (status, detail) in list(self.nodes.items())[-15:]:
            if status == "running":
                detail = self._running_detail(node_id)
            table.add_row(Text(f"  {node_id}"), _styled(status), Text(detail))
        return table

    def _running_detail(self, node_id: str) -> str:
        elapsed = time.monotonic() - self.started.get(node_id, time.monotonic())
        report = self.reports.get(node_id, {})
        writing = report.get("writing")
        so_far = progress_text(report, size_on_disk(writing) if isinstance(writing, str) else None)
        return f"{elapsed:.1f}s" + (f", {so_far}" if so_far else "")

    def print_line(self, line: str) -> None:
        """Print a log line above the live table."""
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def subflow_started(self, record: SubflowRecord) -> None:
        self.subflows[subflow_key_str((record.subflow, record.iter_path))] = "running"

    def subflow_finished(self, record: SubflowRecord) -> None:
        self.subflows[subflow_key_str((record.subflow, record.iter_path))] = record.status

    def subflow_skipped(self, record: SubflowRecord) -> None:
        self.subflows[subflow_key_str((record.subflow, record.iter_path))] = "skipped"

    def node_started(self, record: NodeRecord) -> None:
        self.started[record.node_id] = time.monotonic()
        self.nodes[record.node_id] = ("running", "")

    def node_progress(self, node_id: str, report: dict[str, Any]) -> None:
        self.reports[node_id] = {**self.reports.get(node_id, {}), **report}

    def node_finished(self, record: NodeRecord) -> None:
        self.reports.pop(record.node_id, None)
        self.started.pop(record.node_id, None)
        self.nodes[record.node_id] = (record.status, finished_detail(record))
        if record.status in self.counts:
            self.counts[record.status] += 1

    def close(self) -> None:
        """Draw the final state and stop the live display."""
        self.live.refresh()
        self.live.stop()


def _styled(status: str) -> Any:
    from rich.text import Text

    return Text(status, style=STATUS_STYLES.get(status, "dim"))
