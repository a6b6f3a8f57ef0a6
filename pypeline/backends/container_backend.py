"""The ``container`` backend: run a module in a container image, with podman or docker.

::

    execution: {backend: container, image: "localhost/pypeline-worker:1", memory: 2g, cpus: 2}

``docker`` is another name for the same backend (the Petal spelling,
``backend: docker``); either way the engine is the ``engine`` option, else
podman when it is installed, else docker.

One attempt (the remote boundary of Lambda and Glue, through a folder instead
of S3, :mod:`pypeline.backends.remote_folder_stage`):

1. make a private folder for the attempt (under ``staging_dir``, default the
   system's temporary folder) and write the input frames into it as Arrow
   IPC files and the payload next to them (configs with ``{{vault...}}``
   templates unresolved, globals, context, iteration);
2. ``<engine> run --rm -i`` the image with the folder mounted (command line:
   :mod:`pypeline.backends.container_engine`); PYpeline's entry point
   (:mod:`pypeline.backends.container_entry`) runs the module there and
   writes the output frames and ``result.json``;
3. the Vault settings the far side needs travel on the container's standard
   input, never in its environment, command line or the payload; stdin then
   stays open as a lifeline the entry watches;
4. the container's stderr and stdout stream into the run's log as they come,
   tagged with the module's node id (the far side's JSON log lines as
   themselves with ``remote: true``, anything else as ``container_output``);
5. the result is applied as for every remote backend (globals, stats,
   outputs read back), the manifest records the engine, image, image id and
   digest, container name and exit code under the module's ``stats.container``,
   and the folder is deleted (``keep_staged: true`` keeps it).

Cancellation (a module ``timeout:``, a halting run, Ctrl-C) kills the
``run`` client, closes the lifeline and removes the container
(``rm --force``) before the attempt ends; when the run closes the backend,
any container still labelled with its owner id is removed too. A ``pype``
killed with SIGKILL cannot clean up: its containers see their standard input
close and end themselves, and ``--rm`` removes them.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import tempfile
import uuid
from pathlib import Path
from typing import Any

from pypeline.backends.base import ModuleTask
from pypeline.backends.container_engine import (
    LABEL_PREFIX,
    MOUNT_POINT,
    Engine,
    container_name,
    find_engine,
    image_inspect_command,
    is_rootfs,
    labels,
    list_command,
    remove_command,
    run_command,
)
from pypeline.backends.container_entry import PAYLOAD_FILE, RESULT_FILE
from pypeline.backends.container_output import OutputPump
from pypeline.backends.local import _to_the_end
from pypeline.backends.remote_client import RemoteBackend
from pypeline.backends.remote_folder_stage import FileUri, FolderStage
from pypeline.backends.remote_staging import StagingError
from pypeline.core.errors import BackendError
from pypeline.secrets.transport import WIRE_KEY, uses_secrets

VAULT_VARIABLES = (
    "VAULT_ADDR", "VAULT_TOKEN", "VAULT_ROLE_ID", "VAULT_SECRET_ID", "VAULT_APPROLE_MOUNT", "VAULT_NAMESPACE",
    "VAULT_KV_VERSION", "VAULT_SKIP_VERIFY", "VAULT_CACERT",
)
"""The settings of the Vault client (pypeline.secrets.vault) handed to a far side that needs them."""

EXIT_HINTS = {
    125: "the engine could not create or start the container",
    126: "the entrypoint in the image cannot be executed",
    127: "the entrypoint is not in the image (set the execution option 'entrypoint')",
    137: "the container was killed (SIGKILL; out of memory under the 'memory' limit?)",
}
RLIMIT_HINT = (
    "this host does not let the engine set its default resource limits: set the execution option "
    "ulimits, e.g. {nofile: 1024, nproc: 4096} (docs/executors.md)"
)
IMAGE_HINT = (
    "the image is not in the engine's local store: build it (pype package container, docs/executors.md) "
    "or pull it, or allow pulls (option pull)"
)
STOP_TIMEOUT = 60.0
"""Seconds to wait for an engine's ``rm``/``ps`` before giving up on it."""

_NAME = {"type": "string", "minLength": 1}
_MOUNT = {
    "oneOf": [
        {"type": "string", "pattern": "^[^:]+:/[^:]*(:(ro|rw))?$"},
        {
            "type": "object", "additionalProperties": False, "required": ["source", "target"],
            "properties": {"source": _NAME, "target": {"type": "string", "pattern": "^/"},
                           "read_only": {"type": "boolean"}},
        },
    ],
}


class ContainerBackend(RemoteBackend):
    """Runs each module attempt in its own container (see the module docstring)."""

    name = "container"
    OPTIONS_SCHEMA = {
        "type": "object",
        "additionalProperties": False,
        "required": ["image"],
        "properties": {
            "image": {**_NAME, "description": "image reference, or an absolute path to a root file system folder"},
            "engine": {"enum": ["podman", "docker"]},
            "runtime": {**_NAME, "description": "OCI runtime (--runtime), e.g. runc"},
            "entrypoint": {**_NAME, "description": "program that runs PYpeline's entry point (default python)"},
            "command": {"type": "array", "items": {"type": "string"},
                        "description": "its arguments before the attempt folder"},
            "env": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
            "cpus": {"type": "number", "exclusiveMinimum": 0},
            "memory": {"type": ["string", "integer"], "pattern": "^[0-9]+(\\.[0-9]+)?[bkmgBKMG]?$", "minimum": 1},
            "network": {**_NAME, "description": "none (default), host, or a network name"},
            "read_only": {"type": "boolean"},
            "mounts": {"type": "array", "items": _MOUNT},
            "user": _NAME,
            "workdir": {"type": "string", "pattern": "^/"},
            "pull": {"enum": ["always", "missing", "never"]},
            "ulimits": {"type": "object", "additionalProperties": {"type": ["string", "integer"]}},
            "run_args": {"type": "array", "items": {"type": "string"}},
            "staging_dir": _NAME,
            "keep_staged": {"type": "boolean"},
            "vault_addr": {"type": "string", "pattern": "^https?://"},
        },
    }

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)
        self.owner = uuid.uuid4().hex[:16]
        self._engines: dict[str | None, Engine] = {}
        self._used: dict[tuple[str, str | None], tuple[Engine, dict[str, Any]]] = {}
        self._images: dict[tuple[str, str], dict[str, Any]] = {}

    def where(self, task: ModuleTask) -> str:
        image = str(task.options.get("image", "?"))
        return f"container of {'root file system' if is_rootfs(image) else 'image'} '{image}'"

    def _engine(self, options: dict[str, Any]) -> Engine:
        wanted = options.get("engine")
        if wanted not in self._engines:
            self._engines[wanted] = find_engine(wanted)
        engine = self._engines[wanted]
        self._used[(engine.name, options.get("runtime"))] = (engine, options)
        return engine

    async def submit(self, task: ModuleTask) -> dict[str, Any]:
        options = task.options
        self._engine(options)  # no engine: fail before writing anything
        base = Path(str(options.get("staging_dir") or tempfile.gettempdir()))
        try:
            base.mkdir(parents=True, exist_ok=True)
            private = Path(tempfile.mkdtemp(prefix="pypeline-container-", dir=base))  # 0700: this user only
        except OSError as exc:
            raise BackendError(f"cannot make the attempt folder under {base}: {exc.strerror or exc}") from None
        folder = private / "attempt"
        folder.mkdir(mode=0o755)
        (folder / "out").mkdir(mode=0o777)
        os.chmod(folder / "out", 0o777)  # any user the image runs as writes here; the parent keeps others out
        stage = FolderStage(MOUNT_POINT, folder)
        try:
            payload = await self._payload(task, stage, stage.root)
            doc = await self.dispatch(task, payload, stage.root, stage)
            return await self.apply_result(task, doc, stage, self.where(task), replay_logs=False)
        finally:
            if options.get("keep_staged"):
                task.ctx.logger.info("container_staging_kept", folder=str(folder))
            else:
                await asyncio.shield(self.blocking(shutil.rmtree, private, ignore_errors=True))

    async def dispatch(self, task: ModuleTask, payload: dict[str, Any], prefix: FileUri, stage: FolderStage) -> Any:
        options = task.options
        engine = self._engine(options)
        where = self.where(task)
        handshake = {"lifeline": True, "env": self._vault_env(task, payload)}
        await self.blocking(stage.put_json, prefix.join(PAYLOAD_FILE), payload)
        name = container_name(task.ctx.run_id, task.node_id, task.attempt)
        argv = run_command(
            engine, options, name=name, labels=labels(task.ctx.run_id, task.node_id, self.owner), folder=stage.host
        )
        image = str(options["image"])
        facts: dict[str, Any] = {"engine": engine.name, "image": image, "container": name, "exit_code": None}
        task.ctx.logger.info("container_started", engine=engine.name, image=image, container=name)
        pump = OutputPump(task.ctx.logger, lambda line: self.replay_logs(task, [line]))
        try:
            code = await self._run(argv, handshake, pump, engine, options, name, task)
            facts["exit_code"] = code
            facts.update(await self._image_facts(engine, options, image))
        finally:
            task.ctx.add_stat("container", facts)
        task.ctx.logger.info("container_exited", container=name, exit_code=code)
        try:
            return await self.blocking(stage.get_json, prefix.join(RESULT_FILE), "result")
        except StagingError as exc:
            raise BackendError(self._no_result(where, code, pump, exc)) from None

    def _vault_env(self, task: ModuleTask, payload: dict[str, Any]) -> dict[str, str]:
        """The Vault settings for the far side: only when the payload holds a secret reference."""
        if not (uses_secrets(task.remote_configs or {}) or f'"{WIRE_KEY}"' in json.dumps(payload)):
            return {}
        if str(task.options.get("network", "none")) == "none":
            raise BackendError(
                f"module '{task.node_id}' reads Vault secrets, which its container resolves itself, but the "
                "container has no network (network: none, the default): set the execution option network "
                "to host or to a network from which Vault is reachable (docs/executors.md)"
            )
        env = {key: os.environ[key] for key in VAULT_VARIABLES if os.environ.get(key)}
        if task.options.get("vault_addr"):
            env["VAULT_ADDR"] = str(task.options["vault_addr"])
        return env

    async def _run(
        self, argv: list[str], handshake: dict[str, Any], pump: OutputPump, engine: Engine,
        options: dict[str, Any], name: str, task: ModuleTask,
    ) -> int:
        """Run the container to its end and return its exit code; on cancellation, remove it first."""
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, start_new_session=True,  # Ctrl-C reaches the run, not the client
            )
        except OSError as exc:
            raise BackendError(f"{engine.name} ({engine.path}) cannot be started: {exc.strerror or exc}") from None
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        readers = [
            asyncio.ensure_future(pump.drain(proc.stderr, "stderr")),
            asyncio.ensure_future(pump.drain(proc.stdout, "stdout")),
        ]
        try:
            try:
                proc.stdin.write((json.dumps(handshake) + "\n").encode("utf-8"))
                await proc.stdin.drain()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client ended at once; its exit code and stderr say why
            await asyncio.gather(*readers)
            return await proc.wait()
        except asyncio.CancelledError:
            await _to_the_end(self._stop(proc, engine, options, name, task))
            raise
        finally:
            for reader in readers:
                reader.cancel()
            if not proc.stdin.is_closing():
                proc.stdin.close()

    async def _stop(
        self, proc: asyncio.subprocess.Process, engine: Engine, options: dict[str, Any], name: str,
        task: ModuleTask,
    ) -> None:
        """Kill the ``run`` client, close the lifeline, remove the container."""
        if proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.close()
        if proc.returncode is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            await proc.wait()
        code, _out, err = await _command(remove_command(engine, options, [name]))
        if code != 0 and await self._still_there(engine, options, name):
            task.ctx.logger.warning("container_remove_failed", container=name, error=err.strip()[-500:])
        else:
            task.ctx.logger.warning("container_removed", container=name, reason="the attempt was cancelled")

    async def _image_facts(self, engine: Engine, options: dict[str, Any], image: str) -> dict[str, Any]:
        """``image_id`` and ``image_digest`` of the image (once per run), or the root file system path."""
        if is_rootfs(image):
            return {"rootfs": image}
        key = (engine.name, image)
        if key not in self._images:
            code, out, _err = await _command(image_inspect_command(engine, options, image))
            image_id, _, digest = out.strip().partition("\t")
            if digest.startswith("["):  # docker: RepoDigests, a JSON list of name@sha256:...
                found = json.loads(digest) or [""]
                digest = str(found[0]).rpartition("@")[2]
            self._images[key] = {"image_id": image_id or None, "image_digest": digest or None} if code == 0 else {}
        return self._images[key]

    def _no_result(self, where: str, code: int, pump: OutputPump, exc: StagingError) -> str:
        """The message for a container that ended without writing ``result.json``."""
        tail = pump.tail_text()
        if "error setting rlimit" in tail:
            hint = RLIMIT_HINT
        elif "image not known" in tail or "No such image" in tail:
            hint = IMAGE_HINT
        else:
            hint = EXIT_HINTS.get(code, f"the entry point did not write it: {exc}")
        said = f"; it said: {tail}" if tail else ""
        return f"{where} exited with code {code} without a result: {hint}{said}"

    async def _still_there(self, engine: Engine, options: dict[str, Any], name: str) -> bool:
        """True when ``name`` is still among this backend's containers (or the engine cannot tell).

        A failed ``rm`` may have raced the engine's own removal of a container whose
        client was killed (``run --rm``): what counts is whether the container is gone.
        """
        code, out, _err = await _command(list_command(engine, options, f"{LABEL_PREFIX}.owner", self.owner))
        return code != 0 or name in out.split()

    async def aclose(self) -> None:
        """Remove any container this backend started that is still there (normally none)."""
        for engine, options in self._used.values():
            _code, out, _err = await _command(list_command(engine, options, f"{LABEL_PREFIX}.owner", self.owner))
            names = out.split()
            if names:
                await _command(remove_command(engine, options, names))


class DockerBackend(ContainerBackend):
    """``backend: docker``: the container backend under the Petal spelling (same options, same engine choice)."""

    name = "docker"


async def _command(argv: list[str]) -> tuple[int, str, str]:
    """Run a short engine command; ``(exit code, stdout, stderr)`` (code -1 when it hangs or cannot start)."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
    except OSError as exc:
        return -1, "", str(exc)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), STOP_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return -1, "", f"{argv[0]} did not answer within {STOP_TIMEOUT:g}s"
    code = proc.returncode if proc.returncode is not None else -1
    return code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")

