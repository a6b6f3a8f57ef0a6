"""Flows that use Vault secrets, built and run in process against the real OpenBao server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pypeline.run.run import RunOptions, run_job
from tests.conftest import FlowHarness
from tests.secrets.conftest import Bao
from tests.secrets.probes import fingerprint

pytestmark = pytest.mark.slow

FP = "tests.secrets.probes.Fingerprint"


def fp_module(module_id: str, value: str, out: str = "fp.txt") -> str:
    return "  - " + json.dumps({"id": module_id, "name": FP, "configs": {"required": {"value": value, "out": out}}})


async def test_secret_reaches_modules_and_nothing_else(flows: FlowHarness, vault_env: Bao) -> None:
    result = await flows.run(
        "\n".join(
            [
                "flow: {name: secrets_ok}",
                "modules:",
                fp_module("direct", "{{vault.secret/app/db#password}}"),
                fp_module("dsn", "postgresql://{{vault.secret/app/db#user}}:{{vault.secret/app/db#password}}@db/x"),
                fp_module("v1", "{{vault.kv1/app/db#password}}"),
                "  - {id: setpw, name: set_globals, configs: {required: {values: "
                '{pw: "{{vault.secret/app/db#password}}"}}}}',
                fp_module("via_global", "{{setpw__pw}}"),
                fp_module("after_condition", "{{direct__value}}"),
                "connections:",
                "  control:",
                '    - "direct (1|) setpw"',
                '    - "setpw (1|len(setpw__pw) > 8 and direct__length > 8) via_global"',
                '    - "via_global (1|) after_condition"',
            ]
        )
    )
    assert result.status == "success", result.manifest["errors"]
    lines = dict(line.split(" ", 1) for line in (flows.root / "fp.txt").read_text().splitlines())
    assert lines == {
        "direct": fingerprint(vault_env.password),
        "dsn": fingerprint(f"postgresql://{vault_env.user}:{vault_env.password}@db/x"),
        "v1": fingerprint(vault_env.v1_password),
        "via_global": fingerprint(vault_env.password),
        "after_condition": fingerprint(vault_env.password),
    }
    modules = result.manifest["modules"]
    assert modules["setpw"]["globals"] == {"pw": "***"}
    assert modules["direct"]["globals"]["value"] == "***"
    assert modules["direct"]["globals"]["length"] == len(vault_env.password)
    for path in result.run_dir.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            for value in (vault_env.password, vault_env.user, vault_env.v1_password):
                assert value not in text, f"{path} holds a secret value"


async def test_missing_secret_names_module_key_and_path(flows: FlowHarness, vault_env: Bao) -> None:
    result = await flows.run(
        "\n".join(["flow: {name: secrets_missing}", "modules:", fp_module("load", "{{vault.secret/app/nope#pw}}")])
    )
    assert result.status == "failed"
    assert result.manifest["modules"]["load"]["error"] == (
        "module 'load', config 'value': secret 'vault.secret/app/nope#pw': no secret at this path "
        "(mount 'secret', KV v2, path 'app/nope'); check the path, or write it with "
        "'vault kv put secret/app/nope KEY=VALUE'"
    )


async def test_secret_without_vault_configured(flows: FlowHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("VAULT_ADDR", "VAULT_TOKEN", "VAULT_ROLE_ID", "VAULT_SECRET_ID"):
        monkeypatch.delenv(name, raising=False)
    result = await flows.run(
        "\n".join(["flow: {name: secrets_off}", "modules:", fp_module("load", "{{vault.secret/app/db#password}}")])
    )
    assert result.status == "failed"
    error = result.manifest["modules"]["load"]["error"]
    assert error.startswith(
        "module 'load', config 'value': secret 'vault.secret/app/db#password': no Vault is configured"
    )
    assert "set VAULT_ADDR and VAULT_TOKEN" in error


async def test_permission_denied_in_a_flow(flows: FlowHarness, vault_env: Bao, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULT_TOKEN", vault_env.restricted_token)
    result = await flows.run(
        "\n".join(
            [
                "flow: {name: secrets_denied}",
                "modules:",
                fp_module("allowed", "{{vault.secret/app/db#password}}"),
                fp_module("denied", "{{vault.secret/other/thing#value}}"),
                "connections: {control: ['allowed (1|) denied']}",
            ]
        )
    )
    assert result.status == "failed"
    assert result.manifest["modules"]["allowed"]["status"] == "success"
    error = result.manifest["modules"]["denied"]["error"]
    assert "module 'denied', config 'value': secret 'vault.secret/other/thing#value': permission denied" in error
    assert vault_env.other not in json.dumps(result.manifest)
    assert vault_env.restricted_token not in (result.run_dir / "log.jsonl").read_text()


def test_build_never_resolves_secrets(flows: FlowHarness, vault_env: Bao) -> None:
    job = flows.build(
        "\n".join(["flow: {name: secrets_build}", "modules:", fp_module("load", "{{vault.secret/app/db#password}}")])
    )
    texts = [p.read_text() for p in Path(job).rglob("*") if p.is_file()]
    assert any("{{vault.secret/app/db#password}}" in t for t in texts)
    assert not any(vault_env.password in t for t in texts)


async def test_resume_reads_a_checkpointed_secret_again(flows: FlowHarness, vault_env: Bao) -> None:
    """A global set from a secret is checkpointed as its reference and read again on resume."""
    text = "\n".join(
        [
            "flow: {name: secrets_resume}",
            "modules:",
            "  - {id: setpw, name: set_globals, configs: {required: {values: "
            '{pw: "{{vault.secret/app/db#password}}", dsn: "u:{{vault.secret/app/db#password}}@h"}}}}',
            "  - {id: gate, name: fail_mod, configs: {optional: {unless_file_exists: flag}}}",
            fp_module("after", "{{setpw__pw}}"),
            "connections: {control: ['setpw (1|) gate', 'gate (1|) after']}",
        ]
    )
    first = await flows.run(text)
    assert first.status == "failed"
    checkpoint = "".join(p.read_text() for p in (first.run_dir / "checkpoint").rglob("*") if p.is_file())
    assert '"$vault":"secret/app/db#password"' in checkpoint and vault_env.password not in checkpoint
    (flows.root / "flag").write_text("ok")
    second = await run_job(
        flows.root / "jobs" / "secrets_resume",
        RunOptions(resume=first.run_id, progress="none", echo_logs=False),
    )
    assert second.status == "success", second.manifest["errors"]
    assert second.manifest["modules"]["setpw"]["status"] == "restored"
    assert (flows.root / "fp.txt").read_text() == f"after {fingerprint(vault_env.password)}\n"
    for path in [*first.run_dir.rglob("*"), *second.run_dir.rglob("*")]:
        if path.is_file():
            assert vault_env.password not in path.read_text(encoding="utf-8", errors="replace"), path


async def test_resume_without_vault_never_uses_a_placeholder(
    flows: FlowHarness, vault_env: Bao, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A resumed run that cannot read a checkpointed reference fails where the value is used, naming the secret."""
    text = "\n".join(
        [
            "flow: {name: secrets_unread}",
            "settings: {fail_strategy: continue}",
            "modules:",
            "  - {id: setpw, name: set_globals, configs: {required: {values: "
            '{dsn: "u:{{vault.secret/app/db#password}}@h"}}}}',
            "  - {id: gate, name: fail_mod, configs: {optional: {unless_file_exists: flag}}}",
            fp_module("uses", "{{setpw__dsn}}"),
            fp_module("tested", "x"),
            "connections: {control: ['setpw (1|) gate', 'gate (1|) uses', \"gate (2|setpw__dsn != '') tested\"]}",
        ]
    )
    first = await flows.run(text)
    assert first.status == "failed"
    (flows.root / "flag").write_text("ok")
    monkeypatch.delenv("VAULT_ADDR")
    second = await run_job(
        flows.root / "jobs" / "secrets_unread", RunOptions(resume=first.run_id, progress="none", echo_logs=False)
    )
    assert second.status == "failed"
    assert second.manifest["modules"]["setpw"]["status"] == "restored"
    assert second.manifest["modules"]["uses"]["error"] == (
        "module 'uses', config 'value': secret 'vault.secret/app/db#password': no Vault is configured: "
        "set VAULT_ADDR and VAULT_TOKEN (or VAULT_ROLE_ID and VAULT_SECRET_ID) in the environment of 'pype run'"
    )
    assert "tested" not in second.manifest["modules"]  # its condition could not read the value: skipped
    assert any("'setpw__dsn' holds a secret that cannot be read" in e for e in second.manifest["errors"])
    assert not (flows.root / "fp.txt").exists()  # no module ever got *** as data
