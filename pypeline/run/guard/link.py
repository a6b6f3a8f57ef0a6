"""The run's side of the watchdog: start it, keep it informed, let signals reach it.

``pype run`` opens a :class:`WatchdogLink` once the run's manifest says
``running`` (``run.py``); library callers of ``run_job`` get none (the
watchdog may SIGKILL the process it guards, which is for a ``pype`` process
to accept, not for a host application). What the watchdog does with what it
is told is described in ``watchdog.py``; here:

* :meth:`WatchdogLink.open` starts it with :mod:`subprocess` (fork and exec
  of a fresh ``python -I``: nothing of this threaded process is copied into
  it), in a session of its own so that a terminal's Ctrl-C reaches the run
  only; it starts a heartbeat on the event loop (a line every 0.25 s: while
  they arrive, the loop is alive) and registers :mod:`faulthandler` for
  SIGTERM and SIGINT with a pipe to the watchdog per signal. Its C-level
  handler writes even while the GIL is held, then chains to the run's own
  handler; so the registration must come *after* the loop's signal handlers
  are installed, and go before they are removed (the exit stack's order);
* :meth:`attempt_started` / :meth:`attempt_ended` bracket each attempt that
  has a timeout (nothing is sent for modules without one);
* :meth:`run_deadline` sends the deadline of ``settings.timeout``;
* :meth:`stop_now` asks for an immediate stop (a second Ctrl-C or SIGTERM).

Writes never block the run: the pipe is non-blocking, a heartbeat that does
not fit is dropped, and a watchdog that died is logged once and forgotten
(the run goes on, unguarded).
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HEARTBEAT_S = 0.25
SIGNALS = (signal.SIGTERM, signal.SIGINT)
WATCHDOG = Path(__file__).with_name("watchdog.py")


class WatchdogLink:
    """See the module docstring."""

    def __init__(self, logger: Any = None) -> None:
        self._logger = logger
        self._process: subprocess.Popen[bytes] | None = None
        self._fd = -1
        self._signal_fds: dict[int, int] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def alive(self) -> bool:
        """True while messages can reach the watchdog."""
        return self._fd >= 0

    def open(self, run_dir: Path, resume_command: str | None) -> None:
        """Start the watchdog, the heartbeat and the signal pipes (call on the run's event loop)."""
        # faulthandler.register does not exist on Windows: there the watchdog keeps deadlines only
        pipes = {signum: os.pipe() for signum in SIGNALS} if hasattr(faulthandler, "register") else {}
        command = [sys.executable, "-I", str(WATCHDOG), "--pid", str(os.getpid()), "--run-dir", str(run_dir),
                   "--resume-command", resume_command or ""]
        for signum, (read_end, _write_end) in pipes.items():
            command += ["--signal-fd", f"{signal.Signals(signum).name}={read_end}"]
        try:
            self._process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, start_new_session=True,
                pass_fds=[read_end for read_end, _ in pipes.values()],
            )
        except OSError as exc:
            for read_end, write_end in pipes.values():
                os.close(read_end)
                os.close(write_end)
            self._warn("watchdog_not_started", error=str(exc))
            return
        for read_end, _write_end in pipes.values():
            os.close(read_end)
        self._signal_fds = {signum: write_end for signum, (_read_end, write_end) in pipes.items()}
        assert self._process.stdin is not None
        self._fd = self._process.stdin.fileno()
        os.set_blocking(self._fd, False)
        for number, write_end in self._signal_fds.items():
            faulthandler.register(number, file=write_end, all_threads=False, chain=True)
        self._loop = asyncio.get_running_loop()
        self._beat()

    def attempt_started(
        self, node_id: str, module_id: str, subflow: str, backend: str, attempt: int, timeout: float
    ) -> None:
        """An attempt with a timeout starts now."""
        if self._fd >= 0:
            deadline = time.monotonic() + timeout
            self._send(f"a {node_id} {module_id} {subflow} {backend} {attempt} {timeout!r} {deadline!r}\n")

    def attempt_ended(self, node_id: str) -> None:
        """That attempt is over (whatever its outcome)."""
        if self._fd >= 0:
            self._send(f"e {node_id}\n")

    def run_deadline(self, timeout: float) -> None:
        """The run must be over ``timeout`` seconds from now (``settings.timeout``)."""
        if self._fd >= 0:
            self._send(f"r {timeout!r} {time.monotonic() + timeout!r}\n")

    def stop_now(self, reason: str) -> None:
        """Ask the watchdog to stop the run at once (it writes the manifest)."""
        if self._fd >= 0:
            self._send(f"k {reason}\n")

    def close(self) -> None:
        """Stop the heartbeat and the signal pipes, tell the watchdog the run is over (EOF), reap it."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for number, write_end in self._signal_fds.items():
            faulthandler.unregister(number)
            os.close(write_end)
        self._signal_fds = {}
        self._fd = -1
        if self._process is None:
            return
        if self._process.stdin is not None:
            with contextlib.suppress(OSError):
                self._process.stdin.close()
        try:
            self._process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def _beat(self) -> None:
        self._send("h\n", droppable=True)
        if self._fd >= 0 and self._loop is not None:
            self._timer = self._loop.call_later(HEARTBEAT_S, self._beat)

    def _send(self, line: str, *, droppable: bool = False) -> None:
        try:
            os.write(self._fd, line.encode("ascii", "replace"))
        except BlockingIOError:
            if not droppable:
                self._warn("watchdog_message_lost", reason="its pipe is full")
        except OSError as exc:  # the watchdog is gone: the run goes on without it
            self._fd = -1
            self._warn("watchdog_lost", error=str(exc))

    def _warn(self, event: str, **fields: Any) -> None:
        if self._logger is not None:
            self._logger.warning(event, **fields)
