"""Progress on the terminal: a live rich table on a TTY (stderr), plain lines otherwise (stdout).

The reporter is a run observer: it receives sub flow and module events from
the scheduler and never affects the run (errors inside it are swallowed by
the observer list).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from pypeline.run.state.records import NodeRecord, SubflowRecord, subflow_key_str


class PlainProgress:
    """One line per finished sub flow instance and module, for logs and pipes.

    ``redact`` is the run's secret redaction (a skip reason may quote a condition's error).
    """

    def __init__(self, stream: TextIO | None = None, redact: Callable[[str], str] | None = None) -> None:
        self.stream = stream or sys.stdout
        self.redact = redact or (lambda text: text)

    def _line(self, text: str) -> None:
        self.stream.write(f"{time.strftime('%H:%M:%S')} {self.redact(text)}\n")
        self.stream.flush()

    def subflow_started(self, record: SubflowRecord) -> None:
        self._line(f"sub flow {subflow_key_str((record.subflow, record.iter_path))} started")

    def subflow_finished(self, record: SubflowRecord) -> None:
        self._line(f"sub flow {subflow_key_str((record.subflow, record.iter_path))} {record.status}")

    def subflow_skipped(self, record: SubflowRecord) -> None:
        self._line(f"sub flow {subflow_key_str((record.subflow, record.iter_path))} skipped: {record.reason}")

    def node_finished(self, record: NodeRecord) -> None:
        rows = f", {record.rows_out} rows" if record.rows_out is not None else ""
        self._line(f"  module {record.node_id} {record.status} ({record.duration_ms or 0:.0f} ms{rows})")

    def close(self) -> None:
        """Nothing to tear down."""


class LiveProgress:
    """A rich live table of sub flows and modules (terminal only), drawn on stderr.

    Events only update two dicts; rich's refresh thread renders them
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
        self.counts = {"success": 0, "cached": 0, "failed": 0, "timed_out": 0, "cancelled": 0}
        self.live = Live(console=self.console, refresh_per_second=8, transient=False, get_renderable=self._render)
        self.live.start()

    def _render(self) -> Any:
        from rich.table import Table

        done = ", ".join(f"{n} {k}" for k, n in self.counts.items() if n)
        table = Table(title=f"{self.title}: {done or 'starting'}", expand=False)
        table.add_column("sub flow / module")
        table.add_column("status")
        table.add_column("detail")
        for name, status in list(self.subflows.items())[-30:]:
            table.add_row(f"[bold]{name}[/bold]", _style(status), "")
        for node_id, (status, detail) in list(self.nodes.items())[-15:]:
            table.add_row(f"  {node_id}", _style(status), detail)
        return table

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
        self.nodes[record.node_id] = ("running", "")

    def node_finished(self, record: NodeRecord) -> None:
        rows = f"{record.rows_out} rows, " if record.rows_out is not None else ""
        self.nodes[record.node_id] = (record.status, f"{rows}{record.duration_ms or 0:.0f} ms")
        if record.status in self.counts:
            self.counts[record.status] += 1

    def close(self) -> None:
        """Draw the final state and stop the live display."""
        self.live.refresh()
        self.live.stop()


def _style(status: str) -> str:
    colour = {"success": "green", "cached": "cyan", "failed": "red", "timed_out": "red", "running": "yellow",
              "cancelled": "magenta"}.get(status, "dim")
    return f"[{colour}]{status}[/{colour}]"
