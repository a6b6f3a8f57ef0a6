"""The boundary documents: payload and result checks, JSON-safety, secret detection, S3 URIs."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest

from pypeline.backends.remote_client import secret_values
from pypeline.backends.remote_payload import BoundaryError, check_payload, check_result, json_safe
from pypeline.backends.remote_staging import S3Uri, node_segment


def payload(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "pypeline_payload": 1, "run_id": "r1", "module_id": "m", "node_id": "m#0", "module_path": "a.B",
        "attempt": 1, "execution_mode": "pandas", "configs": {}, "iter_path": [0], "iter_items": ["x"],
        "globals": {}, "context": {}, "output_prefix": "s3://b/p/out/", "output_key": "job/r1/m#0",
        "inputs": {"input": {"kind": "frame", "uri": "s3://b/p/in/input.parquet"}, "n": {"kind": "json", "value": 3}},
    }
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not ...}


class TestPayload:
    def test_valid(self) -> None:
        assert check_payload(payload()) == payload()

    @pytest.mark.parametrize(
        ("doc", "message"),
        [
            ("text", "malformed payload: expected a JSON object, got str"),
            (payload(pypeline_payload=2), "'pypeline_payload' is 2, expected 1"),
            (payload(node_id=...), "malformed payload: field 'node_id' is missing"),
            (payload(attempt=True), "field 'attempt' is bool, expected <class 'int'>"),
            (payload(execution_mode="spark"), "execution_mode 'spark' is not pandas or dask"),
            (payload(output_prefix="/tmp/out"), "output_prefix '/tmp/out' is not an s3:// or file:// URI"),
            (payload(inputs={"a": {"kind": "frame", "uri": "http://x/a"}}), "input 'a' has no s3:// or file:// 'uri'"),
            (payload(inputs={"a": {"kind": "pickle"}}), "input 'a' is not a {'kind': 'frame'|'json', ...}"),
            (payload(inputs={"a": {"kind": "json"}}), "input 'a' has no 'value'"),
        ],
        ids=["not-object", "version", "missing", "bool-int", "mode", "prefix", "uri", "kind", "value"],
    )
    def test_malformed(self, doc: Any, message: str) -> None:
        with pytest.raises(BoundaryError, match=re.escape(message)):
            check_payload(doc)


class TestResult:
    def test_ok_and_error(self) -> None:
        ok = {"pypeline_result": 1, "status": "ok", "outputs": {"o": {"kind": "json", "value": [1]}},
              "globals": {}, "stats": {}}
        assert check_result(ok, "x") is ok
        error = {"pypeline_result": 1, "status": "error", "error": {"type": "E", "message": "m"}}
        assert check_result(error, "x") is error

    @pytest.mark.parametrize(
        ("doc", "message"),
        [
            ({"errorMessage": "x"}, "fn did not answer with a PYpeline result (got {\"errorMessage\": \"x\"})"),
            ({"pypeline_result": 1, "status": "error"}, "fn answered status 'error' without an error message"),
            ({"pypeline_result": 1, "status": "maybe"}, "fn answered with status 'maybe'"),
            ({"pypeline_result": 1, "status": "ok", "outputs": {}}, "fn answered without a 'globals' object"),
        ],
        ids=["foreign", "no-message", "status", "no-globals"],
    )
    def test_malformed(self, doc: Any, message: str) -> None:
        with pytest.raises(BoundaryError, match=re.escape(message)):
            check_result(doc, "fn")


class TestJsonSafe:
    def test_plain_values_pass(self) -> None:
        value = {"a": [1, 2.5, "x", None, True, (3, 4)], "b": {"c": np.int64(7), "d": np.float64(0.5)}}
        assert json_safe(value, "v") == {"a": [1, 2.5, "x", None, True, [3, 4]], "b": {"c": 7, "d": 0.5}}

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ({1, 2}, "v: a builtins.set cannot cross to a remote backend"),
            ({"k": [math.nan]}, "v.k[0]: nan cannot travel as JSON"),
            ({3: "x"}, "v: key 3 is not a string"),
        ],
        ids=["set", "nan", "int-key"],
    )
    def test_refused(self, value: Any, message: str) -> None:
        with pytest.raises(TypeError, match=re.escape(message)):
            json_safe(value, "v")


def test_secret_values_found_where_templates_were() -> None:
    configs = {"dsn": "postgres://etl:pa55word@db/x", "token": 123456, "list": ["plain", "tok3n-value"], "n": 1}
    remote = {
        "dsn": "postgres://etl:{{vault.kv/db#pw}}@db/x", "token": "{{vault.kv/api#n}}",
        "list": ["plain", "{{ vault.kv/api#t }}"], "n": 1,
    }
    assert secret_values(configs, remote) == ["pa55word", "123456", "tok3n-value"]


@pytest.mark.parametrize(
    ("raw", "resolved", "values"),
    [
        ("a{{vault.x#y}}{{vault.z#w}}b", "aONE-TWOb", ["ONE-TWO"]),  # adjacent: kept together
        ("x{{vault.a#b}}y", "nothing like it", ["nothing like it"]),  # literals do not fit: the whole text
        ("k={{vault.a#b}};" * 3, "k=alpha123;k=beta4567;k=gamma890;", ["alpha123", "beta4567", "gamma890"]),
    ],
    ids=["adjacent", "no-fit", "repeated-literals"],
)
def test_secret_values_between_literals(raw: str, resolved: str, values: list[str]) -> None:
    assert secret_values({"c": resolved}, {"c": raw}) == values


def test_secret_values_read_hostile_config_text_in_linear_time() -> None:
    # 40 templates separated by one repeated character over a long value: a pattern of lazy groups
    # backtracks polynomially here (the run would hang); the literal scan reads the text once
    raw = "-".join("{{vault.s#k" + str(i) + "}}" for i in range(40)) + "!"
    resolved = "-".join(["secretvalue"] * 39 + ["x" * 200_000])  # no "!" at the end: the literals do not fit
    assert secret_values({"c": resolved}, {"c": raw}) == [resolved]


def test_s3_uri() -> None:
    uri = S3Uri.parse("s3://bucket/pre/fix")
    assert (uri.bucket, uri.key) == ("bucket", "pre/fix")
    assert str(uri.join("run", node_segment("m#1#2"), "in/x.parquet")) == "s3://bucket/pre/fix/run/m@1@2/in/x.parquet"
    assert str(S3Uri.parse("s3://bucket").join("a")) == "s3://bucket/a"
    with pytest.raises(ValueError, match="is not an s3:// URI"):
        S3Uri.parse("https://bucket/x")
