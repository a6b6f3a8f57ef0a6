"""The secret mark, masking, and the per-run registry that redacts free text."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

from pypeline.core.jsonio import atomic_write_json, canonical_json
from pypeline.core.references import Reference
from pypeline.core.secret import MASK, SecretRegistry, SecretStr, is_secret, mask
from pypeline.core.templates import render
from pypeline.run.observe.logging import RunLog

VALUE = "s3cr3t-Value-42"


class TestSecretStr:
    def test_behaves_like_the_value_for_code(self) -> None:
        secret = SecretStr(VALUE, source="secret/app#pw")
        assert secret == VALUE and f"{secret}" == VALUE and str(secret) == VALUE and len(secret) == len(VALUE)
        assert type(str(secret)) is str and not is_secret(str(secret))
        assert secret.source == "secret/app#pw"

    def test_repr_is_masked_also_inside_containers(self) -> None:
        secret = SecretStr(VALUE)
        assert repr(secret) == "'***'"
        assert VALUE not in repr({"password": secret, "list": [secret]})
        assert VALUE not in f"{ {'a': secret} }"

    def test_pickle_keeps_mark_and_source(self) -> None:
        copy = pickle.loads(pickle.dumps(SecretStr(VALUE, source="p#k")))
        assert is_secret(copy) and copy == VALUE and copy.source == "p#k"


class TestMask:
    def test_masks_at_any_depth_keys_included(self) -> None:
        secret = SecretStr(VALUE)
        data = {"a": [1, {"b": secret}], secret: "key", "t": (secret, 2), "plain": VALUE}
        assert mask(data) == {"a": [1, {"b": MASK}], MASK: "key", "t": (MASK, 2), "plain": VALUE}

    def test_no_copy_without_secrets(self) -> None:
        data = {"a": [1, {"b": "x"}]}
        assert mask(data) is data

    def test_every_json_file_is_masked(self, tmp_path: Path) -> None:
        atomic_write_json(tmp_path / "m.json", {"globals": {"pw": SecretStr(VALUE)}})
        assert json.loads((tmp_path / "m.json").read_text()) == {"globals": {"pw": MASK}}
        assert VALUE not in canonical_json([SecretStr(VALUE)])


class TestRegistry:
    def test_redacts_registered_values_longest_first(self) -> None:
        registry = SecretRegistry()
        registry.add("abc")
        registry.add("abcdef")
        registry.add("")
        assert registry.count == 2
        assert registry.redact_text("x abcdef y abc z") == "x *** y *** z"
        assert registry.contains_secret("..abc..") and not registry.contains_secret("ab")

    def test_redact_structure(self) -> None:
        registry = SecretRegistry()
        registry.add(VALUE)
        marked = SecretStr("marked-but-unregistered")
        out = registry.redact({"msg": f"failed with {VALUE}", "m": marked, "n": 3, "l": [f"{VALUE}!"]})
        assert out == {"msg": "failed with ***", "m": MASK, "n": 3, "l": ["***!"]}


class TestTemplates:
    def test_embedding_a_secret_marks_the_whole_string(self) -> None:
        def lookup(key: str, ref: Reference) -> object:
            return SecretStr(VALUE, source=ref.name) if ref.kind == "secret" else "db"

        out = render({"dsn": "pg://u:{{vault.s/app#pw}}@{{context.host}}", "pw": "{{vault.s/app#pw}}"}, lookup)
        assert is_secret(out["dsn"]) and out["dsn"] == f"pg://u:{VALUE}@db" and out["dsn"].source is None
        assert is_secret(out["pw"]) and out["pw"].source == "s/app#pw"

    def test_plain_templates_stay_plain(self) -> None:
        out = render({"p": "{{context.a}}/{{context.b}}"}, lambda key, ref: ref.name)
        assert out == {"p": "a/b"} and not is_secret(out["p"])


class TestRunLog:
    def test_lines_never_hold_a_registered_or_marked_value(self, tmp_path: Path) -> None:
        registry = SecretRegistry()
        registry.add(VALUE)
        seen: list[dict[str, object]] = []
        log = RunLog("r1", tmp_path / "log.jsonl", echo=None, secrets=registry)
        log.listeners.append(seen.append)
        logger = log.logger(node_id="m")
        logger.info(f"event {VALUE}", configs={"pw": SecretStr("other-marked")}, text=f"x{VALUE}x", obj=Path(VALUE))
        try:
            raise ValueError(f"bad {VALUE}")
        except ValueError:
            logger.exception("boom")
        log.close()
        text = (tmp_path / "log.jsonl").read_text()
        assert VALUE not in text and "other-marked" not in text
        first = json.loads(text.splitlines()[0])
        assert first["event"] == "event ***" and first["configs"] == {"pw": "***"} and first["text"] == "x***x"
        assert first["obj"] == "***"
        assert "ValueError: bad ***" in json.loads(text.splitlines()[1])["exception"]
        assert VALUE not in json.dumps(seen, default=str)
