"""The watchdog: a small process that keeps a run's timeouts and signals when the run itself cannot.

Why a process
-------------
A run's timeouts and its SIGINT/SIGTERM handling live on its event loop. Code
that holds the GIL in C (``pow(9, 9**9)``, a long C call of a library) or a
pure-Python loop run on the event loop freezes that loop: no timeout fires, no
signal handler runs, and the manifest would say ``running`` for ever. No
thread of the run can help (it needs the GIL too), so ``pype run`` starts this
program beside it (``link.py``: a fresh interpreter, started with
``subprocess`` so nothing of the threaded run is forked into it). It imports
the standard library only, starts in milliseconds, and never touches data.

What it is told
---------------
The run writes one line per event to this process's stdin::

    h                                                heartbeat: the loop is alive (every 0.25 s)
    a NODE MODULE SUBFLOW BACKEND ATTEMPT TIMEOUT DEADLINE   an attempt with a timeout started
    e NODE                                           that attempt ended
    r TIMEOUT DEADLINE                               the run's own deadline (settings.timeout)
    k REASON...                                      stop the run now (a second Ctrl-C)

Deadlines are ``time.monotonic()`` values: the clock is the same for every
process of the machine. A signal sent to the run reaches this process through
``faulthandler`` (``link.py`` registers it for SIGTERM and SIGINT with a pipe
to us per signal): its C handler writes to the pipe even while the GIL is
held, and chains to the run's own handler.

What it does
------------
An *overdue* thing is an attempt or the run past its deadline, or a signal
received. While the loop is alive (heartbeats arrive), the run handles it
itself: it records ``timed_out`` or the interruption, tears down, writes its
manifest and exits. The watchdog steps in when the run does not:

* the loop is wedged: no heartbeat for ``WEDGED_S`` and the thing is overdue
  by at least ``MIN_SLACK_S`` (so the run is stopped within about a second of
  its limit);
* the loop lives but the run is still there ``GRACE_S`` after the deadline or
  the signal (a teardown that does not end);
* the run asks for it (``k``: a second SIGINT/SIGTERM).

Then it SIGKILLs the run, waits until the run's end of the pipe closes, and
completes ``manifest.json`` itself (status ``failed``, the attempt
``timed_out``, one error line naming what happened) unless the run wrote its
final manifest already. The checkpoint needs no help: its records are
appended as sub flows finish and survive a kill, so ``pype run --resume``
goes on from there. It prints the error and the resume command on the
stderr it shares with the run, and exits.

When the run ends by itself its end of the pipe closes, and the watchdog
exits without writing anything (a run killed from outside keeps its
``running`` manifest without a lock holder, which ``--resume`` reads as
killed).

This file is run as a script (``python -I .../watchdog.py``), not imported
by the run: the manifest is therefore written here with the standard library
(the same bytes as ``pypeline.core.jsonio.canonical_json``, the same
temporary-file-and-rename as its atomic writes).
"""

from __future__ import annotations

import argparse
import calendar
import json
import os
import select
import selectors
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WEDGED_S = 1.0
"""No heartbeat for this long: the run's event loop is not running."""
MIN_SLACK_S = 0.5
"""A wedged run is stopped no sooner than this after its deadline (a loop busy for a moment recovers)."""
GRACE_S = 5.0
"""A live run gets this long after a deadline or a signal to tear down and finish by itself."""
EXIT_WAIT_S = 3.0
"""How long to wait for the killed run's end of the pipe to close before writing the manifest anyway."""
DOCS = "docs/running.md#timeouts-and-signals"


@dataclass(slots=True)
class Attempt:
    """An attempt with a timeout that has not ended yet."""

    node_id: str
    module_id: str
    subflow: str
    backend: str
    attempt: int
    timeout: float
    deadline: float


@dataclass(slots=True)
class Overdue:
    """Something past its limit: why, and since when."""

    since: float
    error: str
    attempt: Attempt | None = None
    """The attempt that timed out (None for the run's deadline or a signal)."""


@dataclass(slots=True)
class Watch:
    """What the watchdog knows of the run."""

    last_beat: float
    attempts: dict[str, Attempt] = field(default_factory=dict)
    run_deadline: tuple[float, float] | None = None
    signals: dict[str, float] = field(default_factory=dict)
    kill_reason: str | None = None

    def read(self, line: str, now: float) -> None:
        """Take one line of the run (see the module docstring)."""
        self.last_beat = now
        kind, _, rest = line.partition(" ")
        parts = rest.split(" ")
        try:
            if kind == "a" and len(parts) == 7:
                node, module, subflow, backend, attempt, timeout, deadline = parts
                self.attempts[node] = Attempt(
                    node, module, subflow, backend, int(attempt), float(timeout), float(deadline)
                )
            elif kind == "e" and parts:
                self.attempts.pop(parts[0], None)
            elif kind == "r" and len(parts) == 2:
                self.run_deadline = (float(parts[0]), float(parts[1]))
            elif kind == "k":
                self.kill_reason = rest or "the run asked to be stopped"
        except ValueError:  # a line we cannot read is no reason to stop guarding
            pass

    def overdue(self, now: float) -> list[Overdue]:
        """Everything past its limit now, oldest first."""
        found = [
            Overdue(a.deadline, f"timed out after {a.timeout:g}s", attempt=a)
            for a in self.attempts.values() if now >= a.deadline
        ]
        if self.run_deadline is not None and now >= self.run_deadline[1]:
            found.append(Overdue(self.run_deadline[1], f"the run timed out after {self.run_deadline[0]:g}s "
                                                       "(settings.timeout)"))
        found += [Overdue(at, f"the run was interrupted ({name})") for name, at in self.signals.items()]
        return sorted(found, key=lambda o: o.since)

    def verdict(self, now: float) -> tuple[Overdue, str] | None:
        """What to stop the run for, and why the run could not do it itself; None while all is well."""
        if self.kill_reason is not None:
            return Overdue(now, f"the run was interrupted ({self.kill_reason})"), "it was asked to stop at once"
        wedged = now - self.last_beat >= WEDGED_S
        for item in self.overdue(now):
            if wedged and now >= item.since + MIN_SLACK_S:
                return item, f"the process did not respond for {now - self.last_beat:.1f}s"
            if now >= item.since + GRACE_S:
                return item, f"the process had not finished {GRACE_S:g}s later"
        return None

    def next_check(self, now: float) -> float:
        """Seconds until something may change (bounded, so heartbeats are looked at often)."""
        times = [a.deadline for a in self.attempts.values()]
        if self.run_deadline is not None:
            times.append(self.run_deadline[1])
        soonest = min((t for t in times if t > now), default=now + 0.5)
        return max(0.01, min(soonest - now, 0.1 if (self.overdue(now) or self.signals) else 0.5))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="PYpeline run watchdog (started by pype run)")
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--resume-command", default="")
    parser.add_argument("--signal-fd", action="append", default=[], metavar="NAME=FD")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C reaches the run, which tells us
    selector = selectors.DefaultSelector()
    control = sys.stdin.fileno()
    selector.register(control, selectors.EVENT_READ, "control")
    for item in args.signal_fd:
        name, _, fd = item.partition("=")
        selector.register(int(fd), selectors.EVENT_READ, name)
    watch = Watch(last_beat=time.monotonic())
    buffer = b""
    while True:
        now = time.monotonic()
        verdict = watch.verdict(now)
        if verdict is not None:
            stop_run(args, *verdict, watch=watch, control=control)
            return 0
        for key, _events in selector.select(watch.next_check(now)):
            data = _read(key.fd)
            now = time.monotonic()
            if key.data != "control":
                if not data:
                    selector.unregister(key.fd)
                else:
                    watch.signals.setdefault(str(key.data), now)
                continue
            if not data:
                return 0  # the run ended (its end of the pipe closed): nothing to do
            buffer += data
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                watch.read(line.decode("ascii", "replace"), now)


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:
        return b""


def stop_run(args: argparse.Namespace, item: Overdue, why: str, *, watch: Watch, control: int) -> None:
    """SIGKILL the run, wait for it to be gone, complete its manifest, say so on stderr."""
    try:
        os.kill(args.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + EXIT_WAIT_S
    while (left := deadline - time.monotonic()) > 0:  # the run's end of the pipe closes once it is gone
        ready, _, _ = select.select([control], [], [], left)
        if ready and not _read(control):
            break
    named = f"module '{item.attempt.node_id}': {item.error}" if item.attempt is not None else item.error
    error = f"{named}; {why}, so the watchdog stopped it ({DOCS})"
    if not complete_manifest(args.run_dir / "manifest.json", error, item, watch, args.resume_command or None):
        return  # the run had written its final manifest (and said what happened) before it was stopped
    lines = [f"error: {error}"]
    if args.resume_command:
        lines.append(f"resume with: {args.resume_command}")
    try:
        sys.stderr.write("\n".join(lines) + "\n")
        sys.stderr.flush()
    except OSError:
        pass


def complete_manifest(path: Path, error: str, item: Overdue, watch: Watch, resume_command: str | None) -> bool:
    """Turn the run's ``running`` manifest into a failed one; False when the run had finished it."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if document.get("status") != "running":
        return False
    ended, clock = time.time(), time.monotonic()
    modules = document.setdefault("modules", {})
    for attempt in watch.attempts.values():
        status = "timed_out" if attempt is item.attempt else "cancelled"
        started = ended - (clock - (attempt.deadline - attempt.timeout))
        modules[attempt.node_id] = _node(attempt, status, started, ended, item.error if status == "timed_out" else None)
    document.update(
        status="failed",
        ended=_utc(ended),
        duration_ms=_duration_ms(document.get("started"), ended),
        failed_modules=sorted(n for n, r in modules.items() if r.get("status") in ("failed", "timed_out")),
        errors=[*document.get("errors", []), error],
        resume_command=resume_command,
        stopped_by="watchdog",
    )
    _atomic_write(path, json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n")
    return True


def _node(attempt: Attempt, status: str, started: float, ended: float, error: str | None) -> dict[str, Any]:
    """A module entry of the manifest with what the watchdog knows (the run's own record has more)."""
    return {
        "node_id": attempt.node_id, "module_id": attempt.module_id, "subflow": attempt.subflow,
        "iter_path": [int(i) for i in attempt.node_id.split("#")[1:]], "backend": attempt.backend, "status": status,
        "attempts": attempt.attempt, "retries": max(0, attempt.attempt - 1), "rows_in": None, "rows_out": None,
        "started": _utc(started), "ended": _utc(ended), "duration_ms": round((ended - started) * 1000, 3),
        "error": error, "globals": {},
    }


def _utc(epoch: float) -> str:
    """The manifest's time format (``2026-11-23T11:22:33.456Z``)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int((epoch % 1) * 1000):03d}Z"


def _duration_ms(started: Any, ended: float) -> float | None:
    if not isinstance(started, str):
        return None
    try:
        epoch = calendar.timegm(time.strptime(started[:19], "%Y-%m-%dT%H:%M:%S")) + float("0" + started[19:-1])
        return round((ended - epoch) * 1000, 3)
    except ValueError:
        return None


def _atomic_write(path: Path, text: str) -> None:
    """Temporary file in the same folder, fsync, rename: a reader never sees half a manifest."""
    # a plain open's mode (0666 less the umask), like every other manifest write (core/jsonio.py)
    tmp = str(path.parent / f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


if __name__ == "__main__":
    sys.exit(main())
