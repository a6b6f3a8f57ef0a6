"""SIGTERM and SIGINT end a run like a cancellation: teardowns run, the manifest says so, a checkpoint stays.

The handlers are event-loop callbacks (``loop.add_signal_handler``): the
first signal cancels the run's task, which cancels every module (their
``teardown`` is awaited) and lets ``run.py`` record ``the run was
interrupted`` and write the manifest; ``pype`` then exits with 130. A second
signal while that goes on asks the watchdog, when there is one, to stop the
process at once. When the event loop is wedged these callbacks cannot run;
the watchdog learns of the signal through its own pipe and stops the run
(``watchdog.py``).

Without a watchdog (an event loop of ``pype run`` in process, as click's test
runner has) only SIGTERM is taken over; SIGINT keeps ``asyncio.run``'s own
handling, which also cancels the run's task.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable


def cancel_on_signals(
    stack: contextlib.AsyncExitStack,
    signals: tuple[int, ...],
    on_repeat: Callable[[str], None] | None = None,
) -> None:
    """Make ``signals`` cancel the current task; a repeated signal calls ``on_repeat(signal name)``."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    if task is None or threading.current_thread() is not threading.main_thread():
        return
    received: list[int] = []

    def handle(signum: int) -> None:
        received.append(signum)
        if len(received) == 1:
            task.cancel()
        elif on_repeat is not None:
            on_repeat(f"{signal.Signals(signum).name} received twice")

    for signum in signals:
        try:
            loop.add_signal_handler(signum, handle, signum)
        except (NotImplementedError, RuntimeError, ValueError):  # not available on this platform / loop
            continue
        stack.callback(loop.remove_signal_handler, signum)
