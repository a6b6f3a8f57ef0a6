"""The AWS Lambda handler PYpeline ships: ``pypeline.backends.aws_lambda.handler``.

Deploy a function whose handler is this (``pype package lambda`` builds the
zip; see docs/executors.md) and point a module at it with
``execution: {backend: lambda, function_name: ..., staging: s3://...}``.

The event carries a payload (:mod:`pypeline.backends.remote_payload`) as
JSON *text*, ``{"pypeline_payload_json": "..."}``, or as an S3 object,
``{"pypeline_payload_uri": "s3://..."}``, when it is too large to send
inline; a bare payload object is accepted too (manual invocations). The
answer is ``{"pypeline_result_json": "..."}``. Documents travel as text
because whatever sits between caller and handler may re-encode JSON numbers
(a JavaScript hop turns ``2.0`` into ``2``, and a float global would come
back an int). The handler reads input frames from S3, runs the module, writes
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
import json
import time
from typing import Any

PAYLOAD_URI_KEY = "pypeline_payload_uri"
PAYLOAD_JSON_KEY = "pypeline_payload_json"
RESULT_JSON_KEY = "pypeline_result_json"


def handler(event: Any, context: Any = None) -> dict[str, str]:
    """Run one module attempt described by ``event``; return ``{"pypeline_result_json": text}``.

    Args:
        event: ``{"pypeline_payload_json": text}``, ``{"pypeline_payload_uri": "s3://..."}``
            or a payload object.
        context: the Lambda context (unused; the module sees a PYpeline RunContext).
    """
    from pypeline.backends.remote_far_side import error_result, execute_payload
    from pypeline.backends.remote_staging import S3Stage, S3Uri, make_s3_client

    started = time.perf_counter()
    try:
        stage = S3Stage(make_s3_client())
        doc = event
        if isinstance(event, dict) and PAYLOAD_URI_KEY in event:
            doc = stage.get_json(S3Uri.parse(str(event[PAYLOAD_URI_KEY])), "payload")
        elif isinstance(event, dict) and PAYLOAD_JSON_KEY in event:
            try:
                doc = json.loads(str(event[PAYLOAD_JSON_KEY]))
            except ValueError as exc:
                raise ValueError(f"malformed payload: {PAYLOAD_JSON_KEY} is not JSON ({exc})") from None
    except Exception as exc:
        result = error_result(exc, logs=[], redact=lambda text: text, started=started)
    else:
        result = asyncio.run(execute_payload(doc, stage))
    return {RESULT_JSON_KEY: json.dumps(result)}
