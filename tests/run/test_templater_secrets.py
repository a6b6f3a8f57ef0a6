"""Secrets in the templater: marks, errors with module and key, and what a remote payload may hold."""

from __future__ import annotations

import re

import pytest

from pypeline.core.errors import SecretError
from pypeline.core.references import Reference
from pypeline.core.secret import SecretRegistry, SecretStr, is_secret
from pypeline.modules.sdk.globals import GlobalStore
from pypeline.run.templater.templater import ContextResolver, GlobalResolver, Scope, Templater
from pypeline.secrets import SecretResolver, VaultProblem, from_wire, resolve_secret_templates, to_wire

VALUE = "pw-9f8e7d6c"


class DictSource:
    """A secret source over a dict: the Vault client's interface, for unit tests of the resolver's logic."""

    def __init__(self, data: dict[str, dict[str, str]]) -> None:
        self.data = data
        self.reads: list[str] = []

    def read(self, path: str) -> dict[str, str]:
        self.reads.append(path)
        if path not in self.data:
            raise VaultProblem(f"no secret at '{path}'")
        return self.data[path]

    def close(self) -> None:
        pass


def templater(store: GlobalStore | None = None) -> tuple[Templater, SecretResolver]:
    resolver = SecretResolver(DictSource({"secret/app/db": {"password": VALUE, "user": "etl"}}), SecretRegistry())
    t = Templater({"context": ContextResolver({"host": "db1"}), "global": GlobalResolver(store or GlobalStore())})
    t.register("secret", resolver)
    return t, resolver


SCOPE = Scope(module_id="load")


class TestLocal:
    def test_values_are_marked_and_registered(self) -> None:
        t, resolver = templater()
        configs = {"pw": "{{vault.secret/app/db#password}}", "dsn": "{{vault.secret/app/db#user}}@{{context.host}}"}
        out = t.render(configs, SCOPE)
        assert is_secret(out["pw"]) and out["pw"] == VALUE
        assert is_secret(out["dsn"]) and out["dsn"] == "etl@db1"
        assert resolver.registry.redact_text(f"[{VALUE}]") == "[***]"
        assert resolver.source.reads == ["secret/app/db"]  # type: ignore[attr-defined]

    def test_error_names_module_key_and_secret(self) -> None:
        t, _ = templater()
        expected = "module 'load', config 'conn.password': secret 'vault.secret/app/nope#pw': no secret at"
        with pytest.raises(SecretError, match=re.escape(expected)):
            t.render({"conn": {"password": "{{vault.secret/app/nope#pw}}"}}, SCOPE)

    def test_no_vault_configured(self) -> None:
        t = Templater({})
        with pytest.raises(SecretError, match=re.escape(
            "module 'load', config 'pw': secret 'vault.secret/x#y': no Vault is configured: set VAULT_ADDR"
        )):
            t.render({"pw": "{{vault.secret/x#y}}"}, SCOPE)

    async def test_prefetch_reads_each_path_once(self) -> None:
        t, resolver = templater()
        await t.prepare({"a": "{{vault.secret/app/db#password}}", "b": "{{vault.secret/app/db#user}}",
                         "c": "{{vault.secret/missing#x}}"})
        assert sorted(resolver.source.reads) == ["secret/app/db", "secret/missing"]  # type: ignore[attr-defined]
        t.render({"a": "{{vault.secret/app/db#password}}"}, SCOPE)
        with pytest.raises(SecretError):
            t.render({"c": "{{vault.secret/missing#x}}"}, SCOPE)
        assert len(resolver.source.reads) == 2  # type: ignore[attr-defined]


class TestRemotePayload:
    def test_secret_templates_stay_as_written(self) -> None:
        t, resolver = templater()
        configs = {"pw": "{{vault.secret/app/db#password}}", "h": "{{context.host}}"}
        out = t.render(configs, SCOPE, resolve_secrets=False)
        assert out == {"pw": "{{vault.secret/app/db#password}}", "h": "db1"}
        assert resolver.source.reads == []  # type: ignore[attr-defined]

    def test_global_holding_a_secret_travels_as_its_reference(self) -> None:
        store = GlobalStore()
        store.set("setpw", "pw", SecretStr(VALUE, source="secret/app/db#password"))
        t, _ = templater(store)
        out = t.render({"pw": "{{setpw__pw}}", "dsn": "u:{{setpw__pw}}@h"}, SCOPE, resolve_secrets=False)
        assert out == {"pw": "{{vault.secret/app/db#password}}", "dsn": "u:{{vault.secret/app/db#password}}@h"}
        far = resolve_secret_templates(out, "load", resolver=templater()[1])
        assert far == {"pw": VALUE, "dsn": f"u:{VALUE}@h"} and is_secret(far["dsn"])

    def test_global_built_from_a_secret_cannot_travel(self) -> None:
        store = GlobalStore()
        store.set("mk", "dsn", SecretStr(f"u:{VALUE}@h"))
        t, _ = templater(store)
        with pytest.raises(SecretError, match=re.escape(
            "module 'load', config 'dsn': secrets: '{{mk__dsn}}' holds a value built from a secret"
        )) as info:
            t.render({"dsn": "{{mk__dsn}}"}, SCOPE, resolve_secrets=False)
        assert VALUE not in str(info.value)

    def test_far_side_without_vault(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("VAULT_ADDR", raising=False)
        with pytest.raises(SecretError, match=re.escape(
            "module 'load': secret 'vault.secret/app/db#password': no Vault is configured on this backend"
        )):
            resolve_secret_templates({"pw": "{{vault.secret/app/db#password}}"}, "load")


class TestWire:
    def test_round_trip_through_references(self) -> None:
        _, resolver = templater()
        data = {"pw": SecretStr(VALUE, source="secret/app/db#password"), "dsn": SecretStr(f"x{VALUE}"), "n": [1]}
        wire = to_wire(data)
        assert wire == {"pw": {"$vault": "secret/app/db#password"}, "dsn": "***", "n": [1]}
        back = from_wire(wire, lambda name: resolver.resolve(Reference(kind="secret", name=name), None))
        assert back["pw"] == VALUE and is_secret(back["pw"]) and back["dsn"] == "***"
        assert is_secret(from_wire(wire, None)["pw"])


class TestWireWithRegistry:
    """What a checkpoint stores: references that rebuild a value exactly, never the value nor ***."""

    def test_strings_holding_secrets_become_recipes(self) -> None:
        t, resolver = templater()
        configs = t.render(
            {"pw": "{{vault.secret/app/db#password}}", "dsn": "x:{{vault.secret/app/db#password}}:h"}, SCOPE
        )
        data = {**configs, "path": f"data/{VALUE}/a.csv", "plain": "nothing", "n": 3}
        wire = to_wire(data, resolver.registry)
        assert wire == {
            "pw": {"$vault": "secret/app/db#password"},
            "dsn": {"$vault_text": ["x:", {"$vault": "secret/app/db#password"}, ":h"]},
            "path": {"$vault_text": ["data/", {"$vault": "secret/app/db#password"}, "/a.csv"]},
            "plain": "nothing",
            "n": 3,
        }
        _, again = templater()  # a resumed run: another resolver reads the secret again
        back = from_wire(wire, again.value)
        assert back == data and all(is_secret(back[k]) for k in ("pw", "dsn", "path"))
        assert not is_secret(back["plain"])

    @pytest.mark.parametrize(
        "derived", [VALUE.upper(), VALUE[:9], VALUE.encode().hex(), VALUE[::-1]], ids=["upper", "cut", "hex", "rev"]
    )
    def test_values_no_reference_rebuilds(self, derived: str) -> None:
        from pypeline.secrets.transport import NotWirable

        _, resolver = templater()
        resolver.value("secret/app/db#password")
        resolver.registry.add(derived)  # a value the run knows as secret, but without a source
        with pytest.raises(NotWirable):
            to_wire({"g": f"<{derived}>"}, resolver.registry)
        with pytest.raises(NotWirable):
            to_wire([SecretStr("marked by module code, never resolved")], resolver.registry)

    def test_an_unreadable_reference_is_read_again_when_used(self) -> None:
        from pypeline.secrets.transport import UnreadSecret

        wire = {"$vault_text": ["x:", {"$vault": "secret/app/db#password"}, ":h"]}
        unread = from_wire(wire, None)
        assert isinstance(unread, UnreadSecret) and unread == "***" and unread.references == ["secret/app/db#password"]
        assert to_wire(unread) == wire  # sent on unchanged
        store = GlobalStore()
        store.set("setpw", "dsn", unread)
        t, _ = templater(store)
        assert t.render({"dsn": "{{setpw__dsn}}"}, SCOPE) == {"dsn": f"x:{VALUE}:h"}
        bare = Templater({"global": GlobalResolver(store)})  # no Vault in this process
        with pytest.raises(SecretError, match=re.escape(
            "module 'load', config 'dsn': secret 'vault.secret/app/db#password': no Vault is configured"
        )):
            bare.render({"dsn": "{{setpw__dsn}}"}, SCOPE)

    def test_unread_secret_pickles(self) -> None:
        import pickle

        from pypeline.secrets.transport import UnreadSecret

        copy = pickle.loads(pickle.dumps(UnreadSecret({"$vault": "p#k"})))
        assert isinstance(copy, UnreadSecret) and copy.source == "p#k" and copy.wire == {"$vault": "p#k"}
