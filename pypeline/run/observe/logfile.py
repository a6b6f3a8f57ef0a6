"""``log.jsonl`` on disk: lines gathered in memory and written in batches, whole.

Writing each line as it is logged costs a system call per line, which a run
of thousands of small modules pays thousands of times. :class:`LogFile`
keeps the lines in memory and writes them together (one ``write`` of whole
lines, so a reader never sees half a line from us):

* at most :data:`FLUSH_INTERVAL` seconds after the first line of a batch (a
  timer thread), so a live reader (``pype ui``, ``tail -f``) sees the run as
  it goes;
* at once for a line at warning level or above (``urgent``): a failure is on
  disk before the run goes on;
* when :data:`MAX_PENDING` characters are waiting;
* when the run asks (:meth:`flush`: at the end of every sub flow instance,
  before its checkpoint record is written, and when the run ends) and on
  :meth:`close`.

What ``kill -9`` may lose: the info and debug lines of the last
:data:`FLUSH_INTERVAL` seconds that were not followed by a flush point
(docs/observability.md, "What survives a crash"). A line that reached the
file is whole and stays.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TextIO

FLUSH_INTERVAL = 0.2
"""Seconds a logged line may wait in memory before it is written."""
MAX_PENDING = 1 << 16
"""Characters waiting in memory that make the next line write the batch at once."""


class LogFile:
    """Appends lines to a file in batches (see the module docstring). Safe to use from several threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: TextIO | None = open(path, "a", encoding="utf-8")
        self._lock = threading.Lock()
        self._pending: list[str] = []
        self._size = 0
        self._timer: threading.Timer | None = None

    def write(self, line: str, *, urgent: bool = False) -> None:
        """Append ``line`` (without its newline); ``urgent`` writes it, and what waits, at once."""
        with self._lock:
            if self._file is None:
                return
            self._pending.append(line)
            self._size += len(line)
            if urgent or self._size >= MAX_PENDING:
                self._write_pending(stop_timer=urgent)  # a full batch: the timer stays for the next one
            elif self._timer is None:
                self._timer = threading.Timer(FLUSH_INTERVAL, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        """Write every waiting line now."""
        with self._lock:
            if self._file is not None:
                self._write_pending()

    def close(self) -> None:
        """Write what waits and close the file; later lines are dropped."""
        with self._lock:
            if self._file is None:
                return
            self._write_pending()
            self._file.close()
            self._file = None

    def _write_pending(self, *, stop_timer: bool = True) -> None:
        """Write the batch (the caller holds the lock and the file is open).

        ``stop_timer=False`` leaves a running timer to write the lines that follow: a
        timer is a thread, and starting one per full batch cost about a microsecond a line.
        """
        if stop_timer:
            timer, self._timer = self._timer, None
            if timer is not None:
                timer.cancel()
        if not self._pending:
            return
        text = "\n".join(self._pending) + "\n"
        self._pending.clear()
        self._size = 0
        assert self._file is not None
        self._file.write(text)
        self._file.flush()
