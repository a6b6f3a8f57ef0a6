"""The entry point PYpeline ships for the container backend: ``python -m pypeline.backends.container_entry DIR``.

The ``container`` backend runs it in the module's image with the attempt
folder mounted at ``DIR`` (``/pypeline/attempt``)::

    DIR/payload.json           the payload (:mod:`pypeline.backends.remote_payload`)
    DIR/in/<port>.arrow        input frames, Arrow IPC files
    DIR/out/<port>.arrow       output frames, written here
    DIR/result.json            the result document, written here last

It runs the payload through
:func:`pypeline.backends.remote_far_side.execute_payload` (the module's life
as everywhere; log lines as JSON on stderr, which the run reads as they come)
and exits 0 when the module succeeded, 1 when it failed (the result says
why), 2 for a usage error.

**Standard input** carries, first, one line of JSON, the *handshake*::

    {"lifeline": true, "env": {"VAULT_ADDR": "...", "VAULT_TOKEN": "..."}}

``env`` holds the Vault settings the far side needs to resolve the
``{{vault...}}`` templates of the payload (only when it has some). They
reach this process through a pipe, so they are in no file, no command line
and no container configuration (``podman inspect`` does not show them); the
entry puts them in its own environment, where the secret resolver reads
them. After the handshake standard input stays open as a *lifeline*: when it
reaches its end, the run that started the container is gone (killed, even
with SIGKILL, or the attempt was cancelled), and the entry empties the
attempt folder and ends the container at once. Without a handshake (standard input empty or a
terminal, as when you run an image by hand) there is no lifeline.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, TextIO

PAYLOAD_FILE = "payload.json"
RESULT_FILE = "result.json"
EXIT_ORPHANED = 70
"""Exit status when the lifeline broke (the run is gone)."""


def read_handshake(stream: TextIO) -> dict[str, Any]:
    """The handshake line from ``stream`` (``{}`` when there is none).

    Raises:
        ValueError: when the first line is not a JSON object.
    """
    if stream.isatty():
        return {}
    line = stream.readline()
    if not line.strip():
        return {}
    doc = json.loads(line)
    if not isinstance(doc, dict):
        raise ValueError("the handshake on standard input is not a JSON object")
    return doc


def hold_lifeline(stream: TextIO, folder: Path) -> None:
    """End this process when ``stream`` reaches its end (a daemon thread waits for it).

    The run that would have removed the attempt folder is gone, so its files
    (input frames, the payload) are deleted here first; only the empty mount
    point stays on the host.
    """

    def wait() -> None:
        try:
            while stream.readline():
                pass
        except (OSError, ValueError):
            pass
        print(
            json.dumps({"level": "error", "event": "container_orphaned",
                        "reason": "standard input closed: the run that started this container is gone"}),
            file=sys.stderr, flush=True,
        )
        for child in folder.iterdir() if folder.is_dir() else ():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
        os._exit(EXIT_ORPHANED)

    threading.Thread(target=wait, name="pypeline-lifeline", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    """Run the attempt in the folder named on the command line; write its result; 0 on success."""
    from pypeline.backends.remote_folder_stage import FolderStage

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].startswith("/"):
        print("container_entry: usage: python -m pypeline.backends.container_entry /absolute/attempt/folder",
              file=sys.stderr)
        return 2
    started = time.perf_counter()
    stage = FolderStage(args[0], Path(args[0]))
    try:
        handshake = read_handshake(sys.stdin)
        env = handshake.get("env") or {}
        os.environ.update({str(k): str(v) for k, v in env.items()})
        if handshake.get("lifeline"):
            hold_lifeline(sys.stdin, Path(args[0]))
        doc = stage.get_json(stage.root.join(PAYLOAD_FILE), "payload")
        # pandas and pyarrow load here: a broken install in the image becomes the module's error too
        from pypeline.backends.remote_far_side import execute_payload
    except Exception as exc:
        result = failure(exc, started)
    else:
        result = asyncio.run(execute_payload(doc, stage))
    stage.put_json(stage.root.join(RESULT_FILE), result)
    return 0 if result["status"] == "ok" else 1


def failure(exc: BaseException, started: float) -> dict[str, Any]:
    """The result document of an attempt that failed before the module could run."""
    from pypeline.backends.remote_payload import RESULT_VERSION

    return {
        "pypeline_result": RESULT_VERSION,
        "status": "error",
        "error": {"type": type(exc).__name__, "message": str(exc), "traceback": traceback.format_exc()},
        "logs": [],
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
    }


if __name__ == "__main__":
    sys.exit(main())
