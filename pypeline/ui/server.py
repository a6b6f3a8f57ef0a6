"""Start ``pype ui``: check what was asked, bind the socket, serve with uvicorn until Ctrl-C.

Everything that can be wrong before serving is said in one message and a
non-zero exit (:class:`UIError`, exit code 2): a jobs folder that is not
there, a host that does not resolve, a port already in use, an address off
this machine without a token, a token too short to guess at, or the ``ui``
extra not installed. The socket is bound here, before uvicorn starts, so a
port in use is reported as such (and ``--port 0`` picks a free port, whose
address is printed).
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pypeline.core.errors import PypelineError

TOKEN_ENV = "PYPE_UI_TOKEN"
MIN_TOKEN = 16
DEFAULT_PORT = 8321


class UIError(PypelineError):
    """``pype ui`` cannot serve what was asked."""

    exit_code = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class ServeOptions:
    """What ``pype ui`` passes in."""

    jobs_dir: Path
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    token: str | None = None


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_options(options: ServeOptions) -> None:
    """Refuse what cannot or must not be served (see the module docstring).

    Raises:
        UIError: one clear message.
    """
    folder = options.jobs_dir
    if not folder.exists():
        raise UIError(
            f"{folder}: no such jobs folder (build a job with 'pype build <flow.yaml>', which writes jobs/<name>/, "
            "or give the folder: pype ui JOBS_DIR)"
        )
    if not folder.is_dir():
        raise UIError(f"{folder}: not a folder (give the folder that holds the job folders: pype ui JOBS_DIR)")
    if not os.access(folder, os.R_OK | os.X_OK):
        raise UIError(f"{folder}: cannot read this folder (permission denied)")
    if options.token is not None and len(options.token) < MIN_TOKEN:
        raise UIError(
            f"the token is {len(options.token)} characters long; use at least {MIN_TOKEN} "
            "(e.g. python -c \"import secrets; print(secrets.token_urlsafe())\")"
        )
    if not is_loopback(options.host) and options.token is None:
        raise UIError(
            f"--host {options.host} serves the UI beyond this machine: give a token with --token or "
            f"{TOKEN_ENV} (every request must then carry it), or keep the default --host 127.0.0.1"
        )
    if not 0 <= options.port <= 65535:
        raise UIError(f"--port {options.port}: expected a port number from 0 to 65535")


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``.

    Raises:
        UIError: the host does not resolve, the port is in use or may not be used.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UIError(f"--host {host}: not an address of this machine ({exc.strerror})") from None
    family, kind, proto, _name, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UIError(f"cannot listen on {host}:{port}: the port is in use (choose another with --port)") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise UIError(f"--host {host}: not an address of this machine") from None
        raise UIError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def serve(options: ServeOptions, announce: Callable[[str], None]) -> None:
    """Serve the UI until Ctrl-C or SIGTERM; ``announce`` receives the address to open.

    Raises:
        UIError: see :func:`check_options` and :func:`bind`; also when the ``ui`` extra is missing.
    """
    check_options(options)
    try:
        import uvicorn

        from pypeline.ui.app import create_app
    except ImportError as exc:
        raise UIError(
            f"pype ui needs the 'ui' extra ({exc.name} is not installed): pip install 'pypeline[ui]'"
        ) from None
    app = create_app(options.jobs_dir, token=options.token, loopback_only=is_loopback(options.host))
    sock = bind(options.host, options.port)
    port = sock.getsockname()[1]
    shown = f"[{options.host}]" if ":" in options.host else options.host
    address = f"http://{shown}:{port}/" + (f"?token={options.token}" if options.token else "")
    announce(address)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", server_header=False)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # Ctrl-C is how a server is stopped: uvicorn shut down cleanly, exit 0
        pass
    finally:
        sock.close()
