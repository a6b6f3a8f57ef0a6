"""The ``lambda`` backend: run a module in an AWS Lambda function PYpeline's handler serves.

::

    execution: {backend: lambda, function_name: pypeline-worker, staging: s3://my-bucket/pypeline,
                region: eu-west-1}

Each attempt is one synchronous invocation (``RequestResponse``) of the
function, whose handler is :func:`pypeline.backends.aws_lambda.handler`.
Frames cross through S3 as Parquet; the payload itself goes inline (up to
``inline_limit`` bytes, Lambda accepts 6 MB) or as an S3 object. botocore's
own retries are off: a retried invocation would run the module twice behind
PYpeline's back, so retries are PYpeline's (``retries:``), as for local
modules. A module ``timeout:`` stops waiting for the function; the function
itself stops at its configured timeout.

A function error (the runtime's ``FunctionError``, e.g. an import failure
before the handler ran) is reported as the module's error with the remote
stack trace in the log; errors the handler caught come back as a result
with ``status: error`` and are reported the same way.
"""

from __future__ import annotations

import json
from typing import Any

from pypeline.backends.aws_lambda import PAYLOAD_JSON_KEY, PAYLOAD_URI_KEY, RESULT_JSON_KEY
from pypeline.backends.base import ModuleTask
from pypeline.backends.remote_client import STAGING_OPTIONS, RemoteBackend
from pypeline.backends.remote_staging import S3Stage, S3Uri
from pypeline.core.errors import BackendError

DEFAULT_INLINE_LIMIT = 5_000_000


class LambdaBackend(RemoteBackend):
    """Invokes PYpeline's Lambda handler once per module attempt."""

    name = "lambda"
    OPTIONS_SCHEMA = {
        "type": "object",
        "additionalProperties": False,
        "required": ["function_name", "staging"],
        "properties": {
            "function_name": {"type": "string", "minLength": 1, "description": "function name or ARN"},
            "qualifier": {"type": "string", "minLength": 1, "description": "version or alias"},
            "read_timeout": {
                "type": "number",
                "exclusiveMinimum": 0,
                "description": "seconds to wait for the function's answer (default 905)",
            },
            "inline_limit": {
                "type": "integer",
                "minimum": 0,
                "description": "largest payload sent inline, in bytes; larger ones go through S3",
            },
            **STAGING_OPTIONS,
        },
    }

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)
        self._clients: dict[tuple[Any, ...], Any] = {}

    def where(self, task: ModuleTask) -> str:
        return f"lambda function '{task.options.get('function_name')}'"

    def _client(self, options: dict[str, Any]) -> Any:
        import boto3
        from botocore.config import Config

        key = (options.get("endpoint_url"), options.get("region"), options.get("read_timeout"))
        if key not in self._clients:
            config = Config(
                read_timeout=float(options.get("read_timeout", 905)),
                connect_timeout=10,
                retries={"total_max_attempts": 1},
            )
            self._clients[key] = boto3.client(
                "lambda", endpoint_url=options.get("endpoint_url"), region_name=options.get("region"), config=config
            )
        return self._clients[key]

    async def dispatch(self, task: ModuleTask, payload: dict[str, Any], prefix: S3Uri, stage: S3Stage) -> Any:
        options = task.options
        body = json.dumps({PAYLOAD_JSON_KEY: json.dumps(payload)}).encode("utf-8")
        if len(body) > int(options.get("inline_limit", DEFAULT_INLINE_LIMIT)):
            uri = prefix.join("payload.json")
            await self.blocking(stage.put_json, uri, payload)
            body = json.dumps({PAYLOAD_URI_KEY: str(uri)}).encode("utf-8")
        kwargs: dict[str, Any] = {
            "FunctionName": options["function_name"],
            "InvocationType": "RequestResponse",
            "Payload": body,
        }
        if options.get("qualifier"):
            kwargs["Qualifier"] = options["qualifier"]
        where = self.where(task)
        task.ctx.logger.info("lambda_invoke", function=options["function_name"], payload_bytes=len(body))
        try:
            client = await self.blocking(self._client, options)
            response = await self.blocking(_invoke, client, kwargs)
        except BackendError:
            raise
        except Exception as exc:
            raise BackendError(f"{where} could not be invoked: {_describe(exc)}") from None
        raw = response["body"]
        try:
            doc = json.loads(raw) if raw else None
        except ValueError:
            raise BackendError(f"{where} answered with something that is not JSON: {raw[:300]!r}") from None
        if response.get("function_error") or (isinstance(doc, dict) and "errorMessage" in doc):
            trace = doc.get("stackTrace") if isinstance(doc, dict) else None
            task.ctx.logger.error("remote_error", backend=self.name, traceback=_trace_text(trace))
            message = doc.get("errorMessage") if isinstance(doc, dict) else raw[:300]
            kind = doc.get("errorType", "FunctionError") if isinstance(doc, dict) else "FunctionError"
            raise BackendError(f"{where} failed ({kind}): {message}")
        if isinstance(doc, dict) and isinstance(doc.get(RESULT_JSON_KEY), str):
            try:
                return json.loads(doc[RESULT_JSON_KEY])
            except ValueError:
                raise BackendError(f"{where} answered a result that is not JSON") from None
        return doc


def _invoke(client: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    response = client.invoke(**kwargs)
    body = response["Payload"].read()
    return {"body": body.decode("utf-8", "replace"), "function_error": response.get("FunctionError")}


def _describe(exc: Exception) -> str:
    error = getattr(exc, "response", {}).get("Error", {}) if hasattr(exc, "response") else {}
    if error:
        return f"{error.get('Code', type(exc).__name__)}: {error.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"


def _trace_text(trace: Any) -> str:
    if isinstance(trace, list):
        return "".join(str(line) if str(line).endswith("\n") else f"{line}\n" for line in trace)
    return str(trace or "")
