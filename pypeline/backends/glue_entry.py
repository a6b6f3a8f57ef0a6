"""The AWS Glue job script PYpeline ships (uploaded to ``<staging>/_pypeline/glue_entry.py``).

A Glue job run started by the ``glue`` backend receives two arguments::

    --pypeline_payload s3://bucket/prefix/<run>/<node>/attempt-<n>/payload.json
    --pypeline_result  s3://bucket/prefix/<run>/<node>/attempt-<n>/result.json

The script reads the payload, runs the module through
:func:`pypeline.backends.remote_far_side.execute_payload` (inputs and
outputs as Parquet in S3, secrets resolved here) and writes the result
document to ``--pypeline_result``. It exits 0 when the module succeeded and 1
otherwise, so the Glue console shows the run as failed too; the caller reads
the result document either way. Glue adds arguments of its own
(``--JOB_ID``, ``--JOB_RUN_ID``, ...): they are ignored.

The job needs PYpeline installed (``--additional-python-modules`` naming its wheel in S3
or a wheel in ``--extra-py-files``); see docs/executors.md.
"""

from __future__ import annotations

import asyncio
import sys
import time

PAYLOAD_ARG = "--pypeline_payload"
RESULT_ARG = "--pypeline_result"


def parse_args(argv: list[str]) -> dict[str, str]:
    """``{"--name": value}`` for ``--name value`` and ``--name=value`` pairs (unknown ones kept)."""
    values: dict[str, str] = {}
    index = 0
    while index < len(argv):
        item = argv[index]
        if item.startswith("--") and "=" in item:
            name, _, value = item.partition("=")
            values[name] = value
        elif item.startswith("--") and index + 1 < len(argv):
            values[item] = argv[index + 1]
            index += 1
        index += 1
    return values


def main(argv: list[str] | None = None) -> int:
    """Run the payload named on the command line; write the result; 0 on success, 1 otherwise."""
    from pypeline.backends.remote_far_side import error_result, execute_payload
    from pypeline.backends.remote_staging import S3Stage, S3Uri, make_s3_client

    args = parse_args(sys.argv[1:] if argv is None else argv)
    if PAYLOAD_ARG not in args or RESULT_ARG not in args:
        print(f"glue_entry: usage: {PAYLOAD_ARG} s3://... {RESULT_ARG} s3://...", file=sys.stderr)
        return 2
    started = time.perf_counter()
    stage = S3Stage(make_s3_client())
    result_uri = S3Uri.parse(args[RESULT_ARG])
    try:
        doc = stage.get_json(S3Uri.parse(args[PAYLOAD_ARG]), "payload")
    except Exception as exc:
        result = error_result(exc, logs=[], redact=lambda text: text, started=started)
    else:
        result = asyncio.run(execute_payload(doc, stage))
    stage.put_json(result_uri, result)
    if result["status"] != "ok":
        print(f"glue_entry: {result['error']['type']}: {result['error']['message']}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
