"""A throw-away PostgreSQL server for tests (Debian's ``postgresql`` package, see docs TESTING).

``initdb`` refuses to run as root, so when the tests run as root the server's
folder is handed to the ``postgres`` user and the server commands run through
``runuser``. The server listens on 127.0.0.1 on a free port, with its socket in
its own temporary folder, and ``fsync=off`` (test data need not survive a crash).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path:
        return path
    raise RuntimeError(f"PostgreSQL's '{name}' is not installed (apt-get install postgresql; .ci/run does it)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PgServer:
    folder: Path
    port: int
    as_user: list[str]
    user: str = "pype"
    password: str = "s3cret/p@ss:word"

    def url(self, database: str = "postgres", *, password: str | None = None) -> str:
        from urllib.parse import quote

        secret = quote(self.password if password is None else password, safe="")
        return f"postgresql+psycopg://{self.user}:{secret}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        subprocess.run(
            [*self.as_user, _bin("pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


def start_server() -> PgServer:
    """Initialise and start a server; the caller must :meth:`PgServer.stop` it."""
    folder = Path(tempfile.mkdtemp(prefix="pypeline_pg_"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data = folder / "data"
    port = _free_port()
    server = PgServer(folder=folder, port=port, as_user=as_user)
    pwfile = folder / "pw"
    pwfile.write_text(server.password + "\n")
    if as_user:
        shutil.chown(pwfile, "postgres", "postgres")
    subprocess.run(
        [
            *as_user,
            _bin("initdb"),
            "-D",
            str(data),
            "-U",
            server.user,
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
            "-E",
            "UTF8",
            "--locale=C",
        ],
        check=True,
        capture_output=True,
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off -c full_page_writes=off"
    started = subprocess.run(
        [*as_user, _bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"],
        capture_output=True,
        text=True,
    )
    if started.returncode != 0:
        log = (folder / "log").read_text() if (folder / "log").exists() else ""
        server.stop()
        raise RuntimeError(f"PostgreSQL did not start: {started.stderr}\n{log}")
    return server
