"""A child run ends when the run that started it dies: the lifeline.

``run_job`` starts a child ``pype run`` with a pipe as its standard input and
never writes to it. While the parent process lives, a read on that pipe
blocks; when the parent ends, however it ends (``kill -9`` included), the
kernel closes the pipe's write end and the read returns end-of-file. The
child then sends itself SIGTERM, which ends its run as any SIGTERM does:
modules torn down, the manifest says ``interrupted``, the checkpoint stays,
so the parent's ``pype run --resume`` resumes the child where it stopped
(docs/running.md, "Child jobs"). A child that ended by itself first has
stopped listening (:meth:`Lifeline.stop`).
"""

from __future__ import annotations

import os
import signal
import threading


class Lifeline:
    """Watches a file descriptor (standard input) for end-of-file; then stops this process's run."""

    def __init__(self, fd: int = 0) -> None:
        self._fd = fd
        self._over = threading.Event()

    def start(self) -> None:
        """Start watching (a daemon thread: it never holds the process up)."""
        threading.Thread(target=self._watch, name="pypeline-lifeline", daemon=True).start()

    def stop(self) -> None:
        """The run is over: end-of-file no longer means anything."""
        self._over.set()

    def _watch(self) -> None:
        try:
            while os.read(self._fd, 4096):
                pass
        except OSError:
            pass
        if not self._over.is_set():
            os.kill(os.getpid(), signal.SIGTERM)
