"""The lambda backend for real: serverless-offline runs PYpeline's handler, moto serves S3 staging."""

from __future__ import annotations

import io
import json
import re

import boto3
import pandas as pd
import pytest

from tests.backends.conftest import Bao, read_log, staged_keys
from tests.backends.flows import M, block, pipeline, single, write_values
from tests.backends.servers import BUCKET, REPO
from tests.conftest import FlowHarness

pytestmark = pytest.mark.slow

WORKER = "pypeline-test-test-worker"
SHORT = "pypeline-test-test-short"


def lam(endpoint: str, moto: str, function: str = WORKER, **options: object) -> str:
    return block(
        "lambda", function_name=function, endpoint_url=endpoint, s3_endpoint_url=moto,
        staging=f"s3://{BUCKET}/runs", region="us-east-1", **options,
    )


async def test_hybrid_local_dask_lambda_equals_all_local(
    flows: FlowHarness, lambda_endpoint: str, moto_endpoint: str
) -> None:
    data = write_values(flows.root / "data" / "values.csv")
    local = await flows.run(pipeline("all_local", data, flows.root / "out" / "local.csv"))
    assert local.status == "success", local.manifest
    out = flows.root / "out" / "hybrid.csv"
    result = await flows.run(
        pipeline("hybrid", data, out, scale=lam(lambda_endpoint, moto_endpoint), keep=block("dask"),
                 shift=lam(lambda_endpoint, moto_endpoint, inline_limit=0))
    )
    assert result.status == "success", result.manifest
    pd.testing.assert_frame_equal(pd.read_csv(out), pd.read_csv(flows.root / "out" / "local.csv"))
    modules, expected = result.manifest["modules"], local.manifest["modules"]
    assert [modules[m]["backend"] for m in ("read", "scale", "keep", "shift")] == ["local", "lambda", "dask", "lambda"]
    # shift read scale's global on the far side (globals snapshot in the payload), and set its own.
    assert modules["shift"]["globals"] == expected["shift"]["globals"]
    assert modules["scale"]["stats"] == {"scaled_rows": 12}
    lines = read_log(result.run_dir)
    assert any(line["event"] == "scaled" and line.get("remote") and line["node_id"] == "scale" for line in lines)
    assert [line["payload_bytes"] < 200 for line in lines if line["event"] == "lambda_invoke"] == [False, True]
    assert staged_keys(moto_endpoint, f"runs/{result.run_id}/") == []  # staged objects removed on success


async def test_module_error_fails_fast_with_remote_traceback_and_retries(
    flows: FlowHarness, lambda_endpoint: str, moto_endpoint: str
) -> None:
    data = write_values(flows.root / "data" / "values.csv")
    result = await flows.run(
        single("boom", data, f"{M}.Boom", "{optional: {message: kaput}}", lam(lambda_endpoint, moto_endpoint, SHORT),
               settings="{retries: 1, retry_delay: 0}")
    )
    # Fast: both attempts end with the module's own error, which the function reports before its
    # timeout (3 s) would (a timed-out attempt reports the timeout). No wall-clock bound: under
    # load, starting the function's process alone can take seconds.
    assert result.status == "failed"
    record = result.manifest["modules"]["remote"]
    assert record["attempts"] == 2
    assert record["error"] == (
        "lambda function 'pypeline-test-test-short' reported ValueError: kaput (12 rows)"
    )
    tracebacks = [line["traceback"] for line in read_log(result.run_dir) if line["event"] == "remote_error"]
    assert len(tracebacks) == 2 and "sample_modules.py" in tracebacks[0] and "ValueError: kaput" in tracebacks[0]


async def test_flaky_module_is_retried_per_settings(
    flows: FlowHarness, lambda_endpoint: str, moto_endpoint: str
) -> None:
    data = write_values(flows.root / "data" / "values.csv")
    marker = flows.root / "marker"
    result = await flows.run(
        single("flaky", data, f"{M}.FlakyOnce", f'{{required: {{marker: "{marker}"}}}}',
               lam(lambda_endpoint, moto_endpoint), settings="{retries: 1, retry_delay: 0}")
    )
    assert result.status == "success", result.manifest
    assert result.manifest["modules"]["remote"]["attempts"] == 2
    assert marker.read_text() == "failed once"
    assert staged_keys(moto_endpoint, f"runs/{result.run_id}/") == []  # the failed attempt's objects too


async def test_module_timeout_applies_and_is_retried(
    flows: FlowHarness, lambda_endpoint: str, moto_endpoint: str
) -> None:
    data = write_values(flows.root / "data" / "values.csv")
    result = await flows.run(
        single("slow", data, f"{M}.Sleepy", "{required: {seconds: 4}}", lam(lambda_endpoint, moto_endpoint),
               settings="{retries: 1, retry_delay: 0}")
        .replace("    execution:", "    timeout: 1.5\n    execution:")
    )
    assert result.status == "failed"
    record = result.manifest["modules"]["remote"]
    assert record["attempts"] == 2 and record["error"] == "timed out after 1.5s"


async def test_function_timeout_is_a_module_error(
    flows: FlowHarness, lambda_endpoint: str, moto_endpoint: str
) -> None:
    data = write_values(flows.root / "data" / "values.csv")
    result = await flows.run(
        single("too_slow", data, f"{M}.Sleepy", "{required: {seconds: 6}}", lam(lambda_endpoint, moto_endpoint, SHORT))
    )
    assert result.status == "failed"
    error = result.manifest["modules"]["remote"]["error"]
    # serverless-offline's answer for a function that outlived its timeout (AWS says Sandbox.Timedout).
    assert error == "lambda function 'pypeline-test-test-short' failed (Error): [504] - Lambda timeout.", error


async def test_secret_is_resolved_on_the_far_side_and_never_staged(
    flows: FlowHarness, lambda_endpoint: str, moto_endpoint: str, vault_env: Bao
) -> None:
    data = write_values(flows.root / "data" / "values.csv")
    result = await flows.run(
        single("secret", data, f"{M}.Secretive", '{required: {password: "{{vault.secret/app/db#password}}"}}',
               lam(lambda_endpoint, moto_endpoint, keep_staged=True))
    )
    assert result.status == "success", result.manifest
    # The handler read the secret from Vault itself: the module saw the real value.
    assert result.manifest["modules"]["remote"]["globals"] == {"password_length": len(vault_env.password)}
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    keys = staged_keys(moto_endpoint, f"runs/{result.run_id}/")
    assert any(key.endswith("/in/input.parquet") for key in keys)
    for key in keys:
        assert vault_env.password.encode() not in s3.get_object(Bucket=BUCKET, Key=key)["Body"].read(), key
    assert vault_env.password not in (result.run_dir / "log.jsonl").read_text()
    assert vault_env.password not in json.dumps(result.manifest)


async def test_payload_holds_the_template_not_the_value(
    flows: FlowHarness, lambda_endpoint: str, moto_endpoint: str, vault_env: Bao
) -> None:
    """The payload, sent through S3 here so the test can read it, names the secret and omits its value."""
    data = write_values(flows.root / "data" / "values.csv")
    result = await flows.run(
        single("secret_s3", data, f"{M}.Secretive", '{required: {password: "{{vault.secret/app/db#password}}"}}',
               lam(lambda_endpoint, moto_endpoint, keep_staged=True, inline_limit=0))
    )
    assert result.status == "success", result.manifest
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    key = f"runs/{result.run_id}/remote/attempt-1/payload.json"
    payload = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    assert payload["configs"] == {"password": "{{vault.secret/app/db#password}}"}
    assert vault_env.password not in json.dumps(payload)


def test_malformed_payloads_come_back_as_structured_errors(lambda_endpoint: str, moto_endpoint: str) -> None:
    client = boto3.client("lambda", endpoint_url=lambda_endpoint, region_name="us-east-1")
    cases = {
        "not a dict": (["a list"], "malformed payload: expected a JSON object, got list"),
        "not JSON text": ({"pypeline_payload_json": "{oops"}, "malformed payload: pypeline_payload_json is not JSON"),
        "old version": ({"pypeline_payload": 99}, "'pypeline_payload' is 99, expected 1"),
        "missing field": ({"pypeline_payload": 1, "run_id": "r"}, "field 'module_id' is missing"),
        "missing payload object": (
            {"pypeline_payload_uri": f"s3://{BUCKET}/nowhere/payload.json"},
            f"payload s3://{BUCKET}/nowhere/payload.json does not exist",
        ),
    }
    for label, (event, expected) in cases.items():
        response = client.invoke(FunctionName=WORKER, Payload=json.dumps(event).encode())
        body = json.loads(json.loads(response["Payload"].read())["pypeline_result_json"])
        assert body["pypeline_result"] == 1 and body["status"] == "error", label
        assert expected in body["error"]["message"], (label, body["error"]["message"])
        assert "Traceback" in body["error"]["traceback"], label


async def test_missing_function_is_a_clear_module_error(
    flows: FlowHarness, lambda_endpoint: str, moto_endpoint: str
) -> None:
    data = write_values(flows.root / "data" / "values.csv")
    result = await flows.run(
        single("nofn", data, f"{M}.Scale", "{required: {factor: 1}}", lam(lambda_endpoint, moto_endpoint, "nope"))
    )
    assert result.status == "failed"
    assert re.fullmatch(
        r"lambda function 'nope' could not be invoked: ResourceNotFoundException: .*nope.*",
        result.manifest["modules"]["remote"]["error"],
    )


async def test_list_outputs_cross_as_json_and_drive_an_iteration(
    flows: FlowHarness, lambda_endpoint: str, moto_endpoint: str
) -> None:
    result = await (
        flows.run(
            f"""
flow: {{name: lists}}
modules:
  - id: files
    name: {M}.ListFiles
    configs: {{required: {{names: [a.csv, b.csv]}}}}
    execution: {lam(lambda_endpoint, moto_endpoint)}
  - {{id: show, name: set_globals, configs: {{required: {{values: {{n: "{{{{files__count}}}}"}}}}}}}}
connections:
  control:
    - {{from: files, to: show, type: iterate, order: 1}}
"""
        )
    )
    assert result.status == "success", result.manifest
    assert result.manifest["modules"]["files"]["globals"] == {"count": 2}
    assert sorted(k for k in result.manifest["modules"] if k.startswith("show")) == ["show#0", "show#1"]
    assert result.manifest["modules"]["show#1"]["globals"] == {"n": 2}


async def test_a_function_that_is_not_pypelines_handler_is_a_clear_error(
    flows: FlowHarness, lambda_endpoint: str, moto_endpoint: str
) -> None:
    data = write_values(flows.root / "data" / "values.csv")
    result = await flows.run(
        single("foreign", data, f"{M}.Scale", "{required: {factor: 1}}",
               lam(lambda_endpoint, moto_endpoint, "pypeline-test-test-foreign"))
    )
    assert result.status == "failed"
    assert result.manifest["modules"]["remote"]["error"] == (
        "lambda function 'pypeline-test-test-foreign' did not answer with a PYpeline result "
        '(got {"echo": ["pypeline_payload_json"]})'
    )


async def test_modules_on_lambda_read_and_write_the_bucket_themselves(
    flows: FlowHarness, lambda_endpoint: str, moto_endpoint: str
) -> None:
    """examples/lambda_s3: a source and a sink on Lambda reach s3:// themselves (docs/storage.md)."""
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.put_object(Bucket=BUCKET, Key="orders/a.csv", Body=b"id,region,amount\n1,eu,5\n2,us,7\n4,us,-1\n")
    s3.put_object(Bucket=BUCKET, Key="orders/b.csv", Body=b"id,region,amount\n3,eu,9\n")
    example = (REPO / "examples" / "lambda_s3" / "flow.yaml").read_text()
    backend = '{function_name: pypeline-worker, staging: "s3://my-bucket/pypeline", region: eu-west-1}'
    assert backend in example
    text = example.replace(backend, lam(lambda_endpoint, moto_endpoint).replace('"backend": "lambda", ', ""))
    result = await flows.run(text.replace("my-bucket", BUCKET))
    assert result.status == "success", result.manifest
    modules = result.manifest["modules"]
    assert [modules[m]["backend"] for m in ("read", "keep", "write")] == ["lambda", "local", "lambda"]
    assert modules["read"]["files_read"] == [f"s3://{BUCKET}/orders/a.csv", f"s3://{BUCKET}/orders/b.csv"]
    assert modules["write"]["files_written"] == [f"s3://{BUCKET}/lake/orders"]
    marker = json.loads(s3.get_object(Bucket=BUCKET, Key="lake/orders/_PYPELINE")["Body"].read())
    assert marker["job"] == "lambda_s3" and marker["module"] == "write"
    frames = []
    for name in marker["files"]:
        body = s3.get_object(Bucket=BUCKET, Key=f"lake/orders/{name}")["Body"].read()
        frames.append(pd.read_parquet(io.BytesIO(body)).assign(region=name.split("/")[0].split("=")[1]))
    assert sorted(pd.concat(frames)[["id", "region"]].itertuples(index=False, name=None)) == [
        (1, "eu"), (2, "us"), (3, "eu")
    ]
