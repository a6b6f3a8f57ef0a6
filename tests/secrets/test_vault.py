"""The Vault client and the secret resolver against a real OpenBao server."""

from __future__ import annotations

import json
import re
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from pypeline.core.errors import SecretError
from pypeline.core.references import Reference
from pypeline.core.secret import SecretRegistry, SecretStr
from pypeline.secrets import SecretResolver, VaultClient, VaultProblem, VaultSettings, resolver_from_env
from tests.secrets.conftest import Bao

pytestmark = pytest.mark.slow


def resolver(bao: Bao, **env: str) -> SecretResolver:
    settings = VaultSettings.from_env({"VAULT_ADDR": bao.addr, **env})
    assert settings is not None
    return SecretResolver(VaultClient(settings), SecretRegistry())


def ref(name: str) -> Reference:
    return Reference(kind="secret", name=name)


class TestRead:
    def test_kv2_value_is_marked_and_registered(self, openbao: Bao) -> None:
        r = resolver(openbao, VAULT_TOKEN=openbao.root_token)
        value = r.resolve(ref("secret/app/db#password"), None)
        assert isinstance(value, SecretStr) and value == openbao.password
        assert value.source == "secret/app/db#password"
        assert repr(value) == "'***'"
        assert r.registry.redact_text(f"pw={openbao.password}!") == "pw=***!"
        r.close()

    def test_kv1_mount_is_detected(self, openbao: Bao) -> None:
        r = resolver(openbao, VAULT_TOKEN=openbao.root_token)
        assert r.resolve(ref("kv1/app/db#password"), None) == openbao.v1_password
        assert r.source.locate("kv1/app/db").version == 1  # type: ignore[attr-defined]
        assert r.source.locate("secret/app/db").version == 2  # type: ignore[attr-defined]
        r.close()

    def test_forced_kv_version(self, openbao: Bao) -> None:
        r = resolver(openbao, VAULT_TOKEN=openbao.root_token, VAULT_KV_VERSION="1")
        assert r.resolve(ref("kv1/app/db#password"), None) == openbao.v1_password
        r.close()

    def test_non_string_values_are_json_text(self, openbao: Bao) -> None:
        r = resolver(openbao, VAULT_TOKEN=openbao.root_token)
        assert r.resolve(ref("secret/app/db#port"), None) == "5432"
        pool = r.resolve(ref("secret/app/db#pool"), None)
        assert isinstance(pool, SecretStr) and json.loads(pool) == {"max": 4, "min": 1}
        r.close()

    def test_one_read_per_path_across_threads(self, openbao: Bao) -> None:
        r = resolver(openbao, VAULT_TOKEN=openbao.root_token)
        names = ["secret/app/db#password", "secret/app/db#user", "kv1/app/db#password"] * 40
        with ThreadPoolExecutor(8) as pool:
            values = list(pool.map(lambda n: r.resolve(ref(n), None), names))
        assert values[:3] == [openbao.password, openbao.user, openbao.v1_password]
        assert r.reads == 2  # secret/app/db and kv1/app/db, once each
        r.close()

    def test_approle_login(self, openbao: Bao) -> None:
        r = resolver(openbao, VAULT_ROLE_ID=openbao.role_id, VAULT_SECRET_ID=openbao.secret_id)
        assert r.resolve(ref("secret/app/db#password"), None) == openbao.password
        r.close()


class TestErrors:
    """Every failure names the secret, never a value; the templater adds module and key."""

    def message(self, r: SecretResolver, name: str) -> str:
        with pytest.raises(SecretError) as info:
            r.resolve(ref(name), None)
        text = info.value.located("load_users", "password").format_message()
        assert openbao_values_absent(text)
        return text

    def test_missing_path(self, openbao: Bao) -> None:
        r = resolver(openbao, VAULT_TOKEN=openbao.root_token)
        text = self.message(r, "secret/app/nope#password")
        assert text.startswith("module 'load_users', config 'password': secret 'vault.secret/app/nope#password': ")
        assert "no secret at this path (mount 'secret', KV v2, path 'app/nope')" in text
        # remembered: a second module asking for it gets the same error without a new read
        self.message(r, "secret/app/nope#other")
        assert r.reads == 1

    def test_missing_key(self, openbao: Bao) -> None:
        r = resolver(openbao, VAULT_TOKEN=openbao.root_token)
        text = self.message(r, "secret/app/db#pasword")
        assert "has no key 'pasword'; did you mean 'password'? (its keys: password, pool, port, user)" in text
        assert openbao.password not in text

    def test_permission_denied(self, openbao: Bao) -> None:
        r = resolver(openbao, VAULT_TOKEN=openbao.restricted_token)
        assert r.resolve(ref("secret/app/db#password"), None) == openbao.password
        text = self.message(r, "secret/other/thing#value")
        assert re.search(
            r"secret 'vault.secret/other/thing#value': permission denied: the token's policies do not allow "
            r"'read' on 'secret/data/other/thing'",
            text,
        ), text
        assert openbao.restricted_token not in text

    def test_invalid_token(self, openbao: Bao) -> None:
        r = resolver(openbao, VAULT_TOKEN="not-a-token")
        text = self.message(r, "secret/app/db#password")
        assert "permission denied: the VAULT_TOKEN is not valid (expired or revoked)" in text
        assert "not-a-token" not in text

    def test_approle_refused(self, openbao: Bao) -> None:
        r = resolver(openbao, VAULT_ROLE_ID=openbao.role_id, VAULT_SECRET_ID="wrong")
        text = self.message(r, "secret/app/db#password")
        assert "AppRole login at auth mount 'approle' was refused" in text
        assert "check VAULT_ROLE_ID and VAULT_SECRET_ID" in text

    def test_unreachable_server_is_not_remembered(self) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        settings = VaultSettings.from_env({"VAULT_ADDR": f"http://127.0.0.1:{port}", "VAULT_TOKEN": "t"})
        assert settings is not None
        r = SecretResolver(VaultClient(settings), SecretRegistry())
        for _ in range(2):
            with pytest.raises(SecretError, match=re.escape(f"cannot reach Vault at http://127.0.0.1:{port}")):
                r.resolve(ref("secret/app/db#password"), None)
        assert r.reads == 2

    def test_hvac_not_installed(self, openbao: Bao, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(sys.modules, "hvac", None)  # what an environment without the extra sees
        r = resolver(openbao, VAULT_TOKEN=openbao.root_token)
        with pytest.raises(SecretError, match=re.escape("needs the 'hvac' package: pip install 'pypeline[vault]'")):
            r.resolve(ref("secret/app/db#password"), None)


class TestSettings:
    def test_no_addr_means_no_resolver(self) -> None:
        assert resolver_from_env(env={}) is None

    def test_addr_without_credentials(self) -> None:
        with pytest.raises(SecretError, match=re.escape("VAULT_ADDR is set (http://v:8200) but there are no creden")):
            resolver_from_env(env={"VAULT_ADDR": "http://v:8200"})

    def test_bad_kv_version(self) -> None:
        with pytest.raises(VaultProblem, match=re.escape("VAULT_KV_VERSION='3' is not 1 or 2")):
            VaultSettings.from_env({"VAULT_ADDR": "http://v", "VAULT_TOKEN": "t", "VAULT_KV_VERSION": "3"})

    def test_repr_hides_credentials(self) -> None:
        settings = VaultSettings.from_env({"VAULT_ADDR": "http://v", "VAULT_TOKEN": "s.topsecret"})
        assert "topsecret" not in repr(settings)


_VALUES: list[str] = []


def openbao_values_absent(text: str) -> bool:
    return not any(v in text for v in _VALUES)


@pytest.fixture(autouse=True)
def _remember_values(openbao: Bao) -> None:
    _VALUES[:] = [openbao.password, openbao.user, openbao.v1_password, openbao.other]
