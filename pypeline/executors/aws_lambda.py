"""The AWS Lambda handler PYpeline ships: ``pypeline.executors.aws_lambda.handler``.

Deploy a function whose handler is this (``pype package lambda`` builds the
zip; see docs/executors.md) and point a module at it with
``execution: {backend: lambda, function_name: ..., staging: s3://...}``.

The event is a payload (:mod:`pypeline.executors.remote.payload`), inline or
as ``{"pypeline_payload_uri": "s3://..."}`` when it is too large to send
inline. The handler reads input frames from S3, runs the module, writes
output frames to S3 and returns the result document. It never raises: a
module error, a malformed payload or a missing object all come back as
``{"status": "error", ...}`` with the traceback, so the caller fails fast
with a clear message instead of waiting for a runtime timeout.

Environment on the function: ``AWS_ENDPOINT_URL_S3`` (only for an
S3-compatible store), ``VAULT_ADDR`` / ``VAULT_TOKEN`` when configs use
``{{vault...}}`` secrets. Imports stay light until the first event.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

PAYLOAD_URI_KEY = "pypeline_payload_uri"


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    """Run one module attempt described by ``event``; return the result document.

    Args:
        event: the payload dict, or ``{"pypeline_payload_uri": "s3://..."}``.
        context: the Lambda context (unused; the module sees a PYpeline RunContext).
    """
    from pypeline.executors.remote.far_side import error_result, execute_payload
    from pypeline.executors.remote.staging import S3Stage, S3Uri, make_s3_client

    started = time.perf_counter()
    try:
        stage = S3Stage(make_s3_client())
        doc = event
        if isinstance(event, dict) and PAYLOAD_URI_KEY in event:
            doc = stage.get_json(S3Uri.parse(str(event[PAYLOAD_URI_KEY])), "payload")
    except Exception as exc:
        return error_result(exc, logs=[], redact=lambda text: text, started=started)
    return asyncio.run(execute_payload(doc, stage))
