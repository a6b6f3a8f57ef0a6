"""Check that a dask scheduler answers at an address before a client is made for it.

``distributed.Client(address, timeout=...)`` bounds the TCP connection, not
the conversation after it: a server that accepts the connection and never
answers (an HTTP server, a port forwarded to nothing) keeps the client
waiting for ever, and one that answers with other bytes fails deep inside the
protocol (a ``MemoryError`` for a frame length read from garbage) and leaves a
half-made client whose finaliser blocks the process for another twice the
timeout. :func:`probe_scheduler` opens one comm on its own event loop, asks
the scheduler's ``identity`` and gives up after ``timeout`` seconds, so each
of these cases becomes one :class:`~pypeline.core.errors.BackendError`
naming the address.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pypeline.core.errors import BackendError

_TIMEOUT_HINT = "connect_timeout in the execution block or settings.dask"


def probe_scheduler(address: str, timeout: float) -> None:
    """Return when a dask scheduler at ``address`` answers ``identity`` within ``timeout`` seconds.

    Raises:
        BackendError: nothing listens there, the server does not answer in time,
            or it answers but is not a dask scheduler.
    """
    try:
        answer = asyncio.run(asyncio.wait_for(_identity(address, timeout), timeout))
    except TimeoutError:
        raise BackendError(
            f"the dask scheduler at {address} cannot be reached: no dask answer within {timeout:g}s "
            f"(is a dask scheduler listening there? {_TIMEOUT_HINT} sets the wait)"
        ) from None
    except OSError as exc:
        raise BackendError(
            f"the dask scheduler at {address} cannot be reached: {exc} ({_TIMEOUT_HINT} sets the wait)"
        ) from None
    except Exception as exc:
        raise BackendError(
            f"the dask scheduler at {address} cannot be reached: the server there does not speak the dask "
            f"protocol ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(answer, dict) or answer.get("type") != "Scheduler":
        raise BackendError(
            f"the dask scheduler at {address} cannot be reached: the server there is not a dask scheduler "
            f"(it answered {str(answer)[:80]!r})"
        )


async def _identity(address: str, timeout: float) -> Any:
    from distributed.comm.core import connect

    comm = await connect(address, timeout=timeout)
    try:
        await comm.write({"op": "identity", "reply": True})
        return await comm.read()
    finally:
        comm.abort()
