"""The leak test: a secret used everywhere a value can travel never shows up anywhere it could be read.

A flow reads ``secret/app/db`` from a real OpenBao server and pushes the
password (and the user) through every channel a value can take in a run:

* configs of several modules, whole (``{{vault...}}``) and embedded in a DSN;
* globals set from the secret (``set_globals``) and by a module (``Fingerprint``
  sets ``value``, ``length``, ``fingerprint``), read back through templates;
* control conditions that compare globals derived from the secret;
* a module that logs its configs and the raw value, prints its configs to
  stdout, emits an event carrying the value and records it in stats and in
  a file path;
* a module that fails (after a retry) with an error message printing its
  configs and the raw value;
* a module on the ``lambda`` backend (serverless-offline, moto S3) whose
  config names the secret through a global: the payload (kept in S3 on
  purpose) carries ``{{vault...}}`` references, the far side resolves them;
* OpenTelemetry spans, exported over OTLP/HTTP to a local receiver.

``pype build`` and ``pype run`` run as subprocesses (``pype --debug`` so
tracebacks are printed too). Then every file the build and the run wrote,
the captured stdout and stderr of both commands and every span export
request and every object staged in S3 for the remote module are searched
for the values: zero hits. The test also checks that
the flow really ran as designed, so a flow that silently did nothing could
not pass.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from tests.backends.conftest import aws_env, lambda_endpoint, moto_endpoint
from tests.backends.servers import BUCKET
from tests.otlp_receiver import OtlpReceiver
from tests.secrets.conftest import Bao
from tests.secrets.probes import fingerprint

pytestmark = pytest.mark.slow
__all__ = ["aws_env", "lambda_endpoint", "moto_endpoint"]  # fixtures of the lambda backend tests

REPO = Path(__file__).resolve().parents[2]
PYPE = str(Path(sys.executable).parent / "pype")

FLOW = """\
flow: {name: leak_check, version: "2.1"}
settings: {retries: 1, retry_delay: 0.01}
context:
  default: {out_dir: out}
modules:
  - id: fp
    name: tests.secrets.probes.Fingerprint
    configs:
      required: {value: "{{vault.secret/app/db#password}}", out: "{{context.out_dir}}/fp.txt"}
  - id: dsn
    name: tests.secrets.probes.Fingerprint
    configs:
      required:
        value: "postgresql://{{vault.secret/app/db#user}}:{{vault.secret/app/db#password}}@db:5432/app"
        out: "{{context.out_dir}}/fp.txt"
  - id: setpw
    name: set_globals
    configs:
      required:
        values: {pw: "{{vault.secret/app/db#password}}", dsn: "x:{{vault.secret/app/db#password}}@h", n: 3}
  - id: chatty
    name: tests.secrets.probes.Chatty
    configs:
      required: {value: "{{setpw__pw}}"}
      optional: {dsn: "{{setpw__dsn}}"}
  - id: again
    name: tests.secrets.probes.Fingerprint
    configs:
      required: {value: "{{fp__value}}", out: "{{context.out_dir}}/fp.txt"}
  - id: read
    name: csv_source
    configs: {required: {file_path: data/people.csv}}
  - id: adults
    name: filter_mod
    configs: {required: {condition: "age >= 18"}}
  - id: write
    name: csv_sink
    configs: {required: {output_path: "{{context.out_dir}}/adults.csv"}}
  - id: remote
    name: tests.backends.sample_modules.Secretive
    configs: {required: {password: "{{setpw__pw}}"}}
    execution: {backend: lambda, function_name: pypeline-test-test-worker, endpoint_url: "LAMBDA",
                s3_endpoint_url: "MOTO", staging: "s3://BUCKET/leak", region: us-east-1, keep_staged: true,
                inline_limit: 0}
  - id: remote_plain
    name: noop_mod
    execution: {backend: lambda, function_name: pypeline-test-test-worker, endpoint_url: "LAMBDA",
                s3_endpoint_url: "MOTO", staging: "s3://BUCKET/leak", region: us-east-1, keep_staged: true,
                inline_limit: 0}
  - id: shout
    name: tests.secrets.probes.Shout
    configs:
      required: {value: "{{vault.secret/app/db#password}}"}
connections:
  data:
    - "read.data - adults.input"
    - "adults.output - write.input"
    - "read.data - remote.input"
    - "read.data - remote_plain.input"
  control:
    - "fp (1|) dsn"
    - "fp (2|) setpw"
    - "setpw (1|len(setpw__pw) > 8 and fp__length == len(setpw__pw)) chatty"
    - "chatty (1|fp__value == setpw__pw and setpw__dsn != fp__value) again"
    - "again (1|again__fingerprint == fp__fingerprint) read"
    - "write (1|) shout"
"""


def _env(bao: Bao, receiver: OtlpReceiver, project: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "OTEL_", "PYTEST_"))}
    env.update(bao.env())
    env.update(
        PYTHONPATH=str(REPO),
        PYPELINE_REGISTRY=str(project / "modules" / "ModRegistry.json"),
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_SERVICE_NAME="leak-test",
    )
    return env


def _pype(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([PYPE, *args], cwd=project, env=env, capture_output=True, timeout=120, check=False)


def test_secret_value_appears_nowhere(tmp_path: Path, openbao: Bao, lambda_endpoint: str, moto_endpoint: str) -> None:
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "data" / "people.csv").write_text("name,age\nana,17\nben,30\ncy,45\n", encoding="utf-8")
    flow = FLOW.replace("LAMBDA", lambda_endpoint).replace("MOTO", moto_endpoint).replace("BUCKET", BUCKET)
    (project / "flow.yaml").write_text(flow, encoding="utf-8")
    before = {p for p in project.rglob("*") if p.is_file()}

    with OtlpReceiver() as receiver:
        env = _env(openbao, receiver, project)
        build = _pype(project, env, "build", "flow.yaml")
        assert build.returncode == 0, build.stderr.decode()
        run = _pype(
            project, env, "--debug", "run", "jobs/leak_check", "--run-id", "r1", "--log-level", "debug",
            "--progress", "plain",
        )
        dry = _pype(project, env, "run", "jobs/leak_check", "--dry-run")
    outputs = {"build": build, "run": run, "dry-run": dry}

    # -- the flow ran as designed (so the search below is meaningful) ------------------------------
    assert run.returncode == 1, run.stderr.decode()
    assert dry.returncode == 0, dry.stderr.decode()
    manifest = json.loads((project / "jobs/leak_check/runs/r1/manifest.json").read_text())
    statuses = {node: m["status"] for node, m in manifest["modules"].items()}
    assert statuses == {
        "fp": "success", "dsn": "success", "setpw": "success", "chatty": "success", "again": "success",
        "read": "success", "adults": "success", "write": "success", "remote": "success",
        "remote_plain": "success", "shout": "failed",
    }
    assert manifest["modules"]["remote"]["globals"] == {"password_length": len(openbao.password)}
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    staged = {
        item["Key"]: s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="leak/")
        for item in page.get("Contents", [])
    }
    payloads = {key.split("/")[2]: json.loads(body) for key, body in staged.items() if key.endswith("/payload.json")}
    assert sorted(payloads) == ["remote", "remote_plain"], sorted(staged)
    payload = payloads["remote"]
    assert payload["configs"] == {"password": "{{vault.secret/app/db#password}}"}
    assert payload["globals"]["setpw.pw"] == {"$vault": "secret/app/db#password"}
    for sent in payloads.values():  # every payload carries the globals: secrets as references only
        assert sent["globals"]["setpw.pw"] == sent["globals"]["fp.value"] == {"$vault": "secret/app/db#password"}
        assert sent["globals"]["setpw.dsn"] == {"$vault_text": ["x:", {"$vault": "secret/app/db#password"}, "@h"]}
    assert manifest["modules"]["shout"]["attempts"] == 2
    assert "cannot connect with {'value': '***'} (password ***, again: '***')" in manifest["modules"]["shout"]["error"]
    fps = dict(line.split(" ", 1) for line in (project / "out/fp.txt").read_text().splitlines())
    assert fps["fp"] == fps["again"] == fingerprint(openbao.password)
    assert fps["dsn"] == fingerprint(f"postgresql://{openbao.user}:{openbao.password}@db:5432/app")
    log = (project / "jobs/leak_check/runs/r1/log.jsonl").read_text()
    assert '"event":"my_configs"' in log and '"plain":"***"' in log
    printed = [line for line in run.stdout.decode().splitlines() if line.startswith("configs: ")]
    assert printed in (["configs: {'value': '***', 'dsn': '***'}"], ["configs: {'dsn': '***', 'value': '***'}"])
    assert b"***" in dry.stdout
    spans = {s["name"] for s in receiver.spans}
    assert {"run leak_check", "module chatty", "module shout", "subflow fp"} <= spans
    chatty = next(s for s in receiver.spans if s["name"] == "module chatty")
    assert [e["name"] for e in chatty["events"]] == ["coerced_value"]
    assert chatty["events"][0]["attributes"]["value"] == "***"

    # -- zero hits ------------------------------------------------------------------------------
    written = sorted(p for p in project.rglob("*") if p.is_file() and p not in before)
    assert len(written) >= 8, written  # job folder (4), manifest, log, fp.txt, adults.csv
    places: dict[str, bytes] = {str(p.relative_to(project)): p.read_bytes() for p in written}
    for name, done in outputs.items():
        places[f"{name} stdout"] = done.stdout
        places[f"{name} stderr"] = done.stderr
    for key, body in staged.items():
        places[f"s3://{BUCKET}/{key}"] = body
    for index, body in enumerate(receiver.bodies):
        places[f"OTLP export #{index}"] = body
    assert receiver.bodies, "no spans were exported"
    secret_values = {"password": openbao.password.encode(), "user": openbao.user.encode()}
    hits = [(where, name) for where, data in places.items() for name, value in secret_values.items() if value in data]
    assert hits == []
