"""The Vault client: read one KV secret (v1 or v2) with ``hvac``, settings from the environment.

Settings (environment variables, as the ``vault`` CLI reads them)
----------------------------------------------------------------
``VAULT_ADDR``        server address, e.g. ``https://vault.example.com:8200`` (required)
``VAULT_TOKEN``       a token; or, instead of a token,
``VAULT_ROLE_ID`` + ``VAULT_SECRET_ID``   AppRole credentials (login once per run;
                      ``VAULT_APPROLE_MOUNT`` names the auth mount, default ``approle``)
``VAULT_NAMESPACE``   Vault Enterprise / OpenBao namespace (optional)
``VAULT_CACERT``      CA bundle for TLS; ``VAULT_SKIP_VERIFY=1`` disables verification
``VAULT_KV_VERSION``  ``1`` or ``2``: skip detection and use this KV version for every mount

Where a secret lives
--------------------
A template names ``PATH#KEY``, e.g. ``secret/app/db#password``. The client
asks the server which mount holds ``PATH`` and which KV version the mount
runs (``GET /v1/sys/internal/ui/mounts/PATH``, the same preflight the vault
CLI makes; any token that may read the path may ask). When the server does
not answer that question (old server, policy without access), the first
path segment is the mount (``secret``) and the version is
``VAULT_KV_VERSION``, else 2. The rest of the path (``app/db``) is the
secret inside the mount; KV v2 reads its latest version.

Every problem is a :class:`VaultProblem` whose text says what went wrong
and what to fix; no value and no token ever appears in it. The resolver
turns it into a :class:`~pypeline.core.errors.SecretError` that also names
the module, the config key and the secret. ``hvac`` is imported
only when a secret is read, and only the ``vault`` extra installs it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

INSTALL_HINT = "reading secrets needs the 'hvac' package: pip install 'pypeline[vault]'"


class VaultProblem(Exception):
    """A secret could not be read; the message is the reason (never a value or a token).

    ``transient`` is true for a server that could not be reached: such a
    failure is not remembered, the next read tries again.
    """

    def __init__(self, reason: str, *, transient: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


@dataclass(frozen=True, slots=True, kw_only=True)
class VaultSettings:
    """How to reach and log in to Vault (see the module docstring)."""

    addr: str
    token: str | None = None
    role_id: str | None = None
    secret_id: str | None = None
    approle_mount: str = "approle"
    namespace: str | None = None
    verify: bool | str = True
    kv_version: int | None = None
    timeout: float = 30.0

    def __repr__(self) -> str:  # never show credentials
        return f"VaultSettings(addr={self.addr!r}, auth={self.auth_method!r}, kv_version={self.kv_version!r})"

    @property
    def auth_method(self) -> str:
        """``token`` or ``approle``."""
        return "approle" if self.role_id and not self.token else "token"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> VaultSettings | None:
        """Settings from ``env`` (default ``os.environ``); ``None`` when ``VAULT_ADDR`` is not set.

        Raises:
            VaultProblem: for credentials that are missing or a bad ``VAULT_KV_VERSION``.
        """
        env = os.environ if env is None else env
        addr = env.get("VAULT_ADDR", "").strip()
        if not addr:
            return None
        token = env.get("VAULT_TOKEN") or None
        role_id = env.get("VAULT_ROLE_ID") or None
        secret_id = env.get("VAULT_SECRET_ID") or None
        if not token and not role_id:
            raise VaultProblem(
                f"VAULT_ADDR is set ({addr}) but there are no credentials: set VAULT_TOKEN, "
                "or VAULT_ROLE_ID and VAULT_SECRET_ID for AppRole"
            )
        raw_version = env.get("VAULT_KV_VERSION", "").strip()
        if raw_version not in ("", "1", "2"):
            raise VaultProblem(f"VAULT_KV_VERSION={raw_version!r} is not 1 or 2")
        verify: bool | str = True
        if env.get("VAULT_CACERT"):
            verify = env["VAULT_CACERT"]
        if env.get("VAULT_SKIP_VERIFY", "").lower() in ("1", "true", "yes"):
            verify = False
        return cls(
            addr=addr,
            token=token,
            role_id=role_id,
            secret_id=secret_id,
            approle_mount=env.get("VAULT_APPROLE_MOUNT") or "approle",
            namespace=env.get("VAULT_NAMESPACE") or None,
            verify=verify,
            kv_version=int(raw_version) if raw_version else None,
        )


@dataclass(frozen=True, slots=True)
class KvLocation:
    """Where a path lives: the mount (``secret``), its KV version and the path inside it."""

    mount: str
    version: int
    inner: str


class VaultClient:
    """Reads KV secrets; one ``hvac.Client`` (and one AppRole login) per instance.

    Thread-safe: the first use logs in under a lock; reads run concurrently.
    """

    def __init__(self, settings: VaultSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._client: Any = None
        self._mounts: dict[str, tuple[str, int]] = {}

    def _hvac(self) -> Any:
        try:
            import hvac
        except ImportError:
            raise VaultProblem(INSTALL_HINT) from None
        return hvac

    def client(self) -> Any:
        """The logged-in ``hvac.Client`` (created on first use).

        Raises:
            VaultProblem: hvac missing, server unreachable or AppRole login refused.
        """
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self) -> Any:
        hvac = self._hvac()
        s = self.settings
        client = hvac.Client(url=s.addr, token=s.token, verify=s.verify, timeout=s.timeout, namespace=s.namespace)
        if s.auth_method == "approle":
            try:
                client.auth.approle.login(role_id=s.role_id, secret_id=s.secret_id, mount_point=s.approle_mount)
            except hvac.exceptions.VaultError as exc:
                client.adapter.close()
                raise VaultProblem(
                    f"AppRole login at auth mount '{s.approle_mount}' was refused ({type(exc).__name__}): "
                    "check VAULT_ROLE_ID and VAULT_SECRET_ID"
                ) from None
            except Exception as exc:
                client.adapter.close()
                raise VaultProblem(self._unreachable(exc), transient=True) from None
        return client

    def _unreachable(self, exc: BaseException) -> str:
        return f"cannot reach Vault at {self.settings.addr} ({type(exc).__name__}); check VAULT_ADDR and the network"

    def locate(self, path: str) -> KvLocation:
        """Mount, KV version and inner path of ``path`` (see the module docstring)."""
        path = path.strip("/")
        for prefix, (mount, version) in list(self._mounts.items()):
            if path.startswith(prefix):
                return KvLocation(mount, version, path[len(prefix) :])
        answer = self._ask_mount(path)
        if answer is None:
            first = path.split("/", 1)[0]
            return KvLocation(first, self.settings.kv_version or 2, path[len(first) :].strip("/"))
        mount, version = answer
        self._mounts[mount + "/"] = (mount, version)
        return KvLocation(mount, version, path[len(mount) :].strip("/"))

    def _ask_mount(self, path: str) -> tuple[str, int] | None:
        """The server's answer (mount, KV version), or ``None`` to use the documented fallback."""
        if self.settings.kv_version is not None:
            return None
        try:
            data = self.client().adapter.get(f"/v1/sys/internal/ui/mounts/{path}")["data"]
            mount = str(data["path"]).strip("/")
            version = int((data.get("options") or {}).get("version") or 1)
        except VaultProblem:
            raise
        except Exception:  # the preflight is optional: fall back to the documented rule
            return None
        if not mount or not path.startswith(mount + "/") or data.get("type") not in ("kv", "generic"):
            return None
        return mount, version

    def read(self, path: str) -> dict[str, Any]:
        """The key -> value data of the secret at ``path`` (KV v2: its latest version).

        Raises:
            VaultProblem: not found, permission denied, bad token, unreachable server.
        """
        hvac = self._hvac()
        client = self.client()
        location = self.locate(path)
        try:
            if location.version == 2:
                answer = client.secrets.kv.v2.read_secret_version(
                    path=location.inner, mount_point=location.mount, raise_on_deleted_version=True
                )
                data = answer["data"]["data"]
            else:
                data = client.secrets.kv.v1.read_secret(path=location.inner, mount_point=location.mount)["data"]
        except hvac.exceptions.InvalidPath:
            raise VaultProblem(
                f"no secret at this path (mount '{location.mount}', KV v{location.version}, "
                f"path '{location.inner}'); check the path, or write it with "
                f"'vault kv put {location.mount}/{location.inner} KEY=VALUE'"
            ) from None
        except hvac.exceptions.Forbidden:
            raise VaultProblem(self._forbidden_reason(client, location)) from None
        except hvac.exceptions.Unauthorized:
            raise VaultProblem("the Vault token was refused (401); check VAULT_TOKEN") from None
        except hvac.exceptions.VaultError as exc:
            raise VaultProblem(f"Vault answered {type(exc).__name__} for mount '{location.mount}'") from None
        except Exception as exc:
            raise VaultProblem(self._unreachable(exc), transient=True) from None
        if not isinstance(data, dict):
            raise VaultProblem("the secret holds no key/value data")
        return data

    def _forbidden_reason(self, client: Any, location: KvLocation) -> str:
        try:
            valid = bool(client.is_authenticated())
        except Exception:
            valid = True
        if not valid:
            source = "AppRole login token" if self.settings.auth_method == "approle" else "VAULT_TOKEN"
            return f"permission denied: the {source} is not valid (expired or revoked)"
        infix = "data/" if location.version == 2 else ""
        api = f"{location.mount}/{infix}{location.inner}"
        return f"permission denied: the token's policies do not allow 'read' on '{api}'"

    def close(self) -> None:
        """Close the HTTP session."""
        with self._lock:
            if self._client is not None:
                try:
                    self._client.adapter.close()
                finally:
                    self._client = None
