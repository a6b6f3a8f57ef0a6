"""The local half of a remote backend: stage, dispatch, read back, apply.

:class:`RemoteBackend` does everything Lambda and Glue share; a subclass
only says how a payload reaches the far side and how the result comes back
(:meth:`RemoteBackend.dispatch`). One attempt:

1. stage every input frame as Parquet under
   ``<staging>/<run_id>/<node>/attempt-<n>/in/`` and build the payload from
   the task's ``remote_configs`` (secret templates unresolved; globals and
   iteration items holding secrets as references, ``secrets/transport.py``).
   As a second line of defence the payload text is searched for every form of
   every secret the run resolved (and the values the local configs hold);
   finding one refuses the attempt;
2. ``dispatch`` it and check the result document;
3. replay the far side's log lines into the module's logger (tagged
   ``remote=True``); on a remote error log its traceback and raise
   :class:`BackendError`, which the node runner reports as the module's
   error and retries per the settings;
4. apply globals and stats to the local context, read output frames back
   (as dask frames in ``execution_mode: dask``) and delete the node's
   staged objects, those of failed earlier attempts included (unless
   ``keep_staged``). A module that fails for good leaves its attempts'
   objects in place for inspection.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from typing import Any

from pypeline.backends.base import Backend, ModuleTask
from pypeline.backends.remote_payload import PAYLOAD_VERSION, BoundaryError, check_result, json_safe
from pypeline.backends.remote_staging import S3Stage, S3Uri, Stage, StagingError, make_s3_client, node_segment
from pypeline.core.errors import BackendError
from pypeline.core.templates import TEMPLATE_RE
from pypeline.modules.frames import is_dask
from pypeline.secrets.transport import NotWirable, from_wire, lookup_from_env, to_wire

STAGING_OPTIONS: dict[str, Any] = {
    "staging": {
        "type": "string",
        "pattern": "^s3://[^/]+",
        "description": "s3://bucket/prefix under which frames, payloads and results are staged",
    },
    "region": {"type": "string", "minLength": 1},
    "endpoint_url": {"type": "string", "pattern": "^https?://", "description": "service endpoint (tests, proxies)"},
    "s3_endpoint_url": {"type": "string", "pattern": "^https?://", "description": "S3 endpoint for staging"},
    "keep_staged": {"type": "boolean", "description": "keep staged objects after a successful attempt"},
}
"""Options every remote backend accepts (merged into each backend's OPTIONS_SCHEMA)."""

_MIN_SECRET_LEN = 4


def secret_values(configs: Any, remote: Any) -> list[str]:
    """The secret values the resolved ``configs`` hold, found where ``remote`` has a secret template.

    ``remote`` is the same structure with secret templates as written, so the
    literal text around each template tells where its value sits in the
    resolved string (``"user:{{vault.db#pw}}@host"`` vs ``"user:s3cret@host"``).
    """
    found: list[str] = []
    if isinstance(remote, str):
        parts = TEMPLATE_RE.split(remote)  # literal, inner, literal, inner, ..., literal
        if any(inner.strip().startswith("vault.") for inner in parts[1::2]):
            if not isinstance(configs, str):
                found.append(json.dumps(configs, default=str))
            else:
                found.extend(_between_literals(parts, configs))
    elif isinstance(remote, dict) and isinstance(configs, dict):
        for key, value in remote.items():
            if key in configs:
                found.extend(secret_values(configs[key], value))
    elif isinstance(remote, list) and isinstance(configs, list):
        for resolved, raw in zip(configs, remote, strict=False):
            found.extend(secret_values(resolved, raw))
    return [text for text in found if len(text) >= _MIN_SECRET_LEN]


def _between_literals(parts: list[str], text: str) -> list[str]:
    """The values that filled the templates of ``parts`` (literal, inner, literal, ...) to give ``text``.

    Each literal is found after the previous one, leftmost (linear in ``text``; a
    pattern of lazy groups could backtrack polynomially on config text). Two
    templates with no literal between them give one value; a text the literals do
    not fit is returned whole.
    """
    literals = parts[0::2]
    if not text.startswith(literals[0]) or not text.endswith(literals[-1]):
        return [text]
    values: list[str] = []
    pos, end = len(literals[0]), len(text) - len(literals[-1])
    pending = pos
    for literal in literals[1:-1]:
        if not literal:
            continue  # adjacent templates: their values stay together
        found = text.find(literal, pos, end)
        if found < 0:
            return [text]
        values.append(text[pending:found])
        pos = pending = found + len(literal)
    if pending > end:
        return [text]
    values.append(text[pending:end])
    return values


def _json_or_skip(values: dict[str, Any], secrets: Any = None) -> dict[str, Any]:
    """The entries of ``values`` that can travel as JSON, secrets as references (others cannot be read remotely).

    A global holding a secret no reference rebuilds is not sent: a far-side module
    reading it fails as for any unknown global, instead of getting ``***`` as data.
    """
    kept: dict[str, Any] = {}
    for key, value in values.items():
        try:
            kept[key] = json_safe(to_wire(value, secrets), key)
        except (TypeError, NotWirable):
            continue
    return kept


class RemoteBackend(Backend):
    """Shared local side of the Lambda and Glue backends (see the module docstring)."""

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)
        self._stages: dict[tuple[str | None, str | None], S3Stage] = {}

    @abstractmethod
    async def dispatch(self, task: ModuleTask, payload: dict[str, Any], prefix: Any, stage: Any) -> Any:
        """Send ``payload`` to the far side and return the decoded result document.

        ``prefix`` is the attempt's staging location, ``stage`` the :class:`Stage` holding it.

        Raises:
            BackendError: when the far side cannot be reached or answers without a result.
        """

    def where(self, task: ModuleTask) -> str:
        """Who runs the module, for messages (``lambda function 'x'``)."""
        return f"{self.name} backend"

    def stage(self, options: dict[str, Any]) -> S3Stage:
        """The S3 stage for these options (one client per endpoint and region)."""
        key = (options.get("s3_endpoint_url"), options.get("region"))
        if key not in self._stages:
            self._stages[key] = S3Stage(make_s3_client(*key))
        return self._stages[key]

    async def submit(self, task: ModuleTask) -> dict[str, Any]:
        options = task.options
        if "staging" not in options:
            raise BackendError(f"module '{task.node_id}': the {self.name} backend needs the 'staging' option")
        node_prefix = S3Uri.parse(str(options["staging"])).join(task.ctx.run_id, node_segment(task.node_id))
        prefix = node_prefix.join(f"attempt-{task.attempt}")
        stage = await self.blocking(self.stage, options)
        where = self.where(task)
        payload = await self._payload(task, stage, prefix)
        doc = await self.dispatch(task, payload, prefix, stage)
        outputs = await self.apply_result(task, doc, stage, where)
        if not options.get("keep_staged"):
            try:
                # every attempt's objects: failed attempts are kept for inspection only until one succeeds
                await self.blocking(stage.delete_prefix, node_prefix)
            except Exception as exc:  # cleanup is best-effort; the run already has its data
                task.ctx.logger.warning("staging_cleanup_failed", prefix=str(node_prefix), error=str(exc))
        return outputs

    async def apply_result(
        self, task: ModuleTask, doc: Any, stage: Stage, where: str, *, replay_logs: bool = True
    ) -> dict[str, Any]:
        """Check the far side's result document, apply it to the task's context and return the outputs.

        Args:
            replay_logs: replay the result's log lines (off when a backend already
                streamed them into the log while the module ran).

        Raises:
            BackendError: for a malformed result, or the module's error on the far side.
        """
        try:
            result = check_result(doc, where)
        except BoundaryError as exc:
            raise BackendError(str(exc)) from None
        if replay_logs:
            self.replay_logs(task, result.get("logs"))
        if result["status"] == "error":
            error = result["error"]
            task.ctx.logger.error(
                "remote_error", backend=self.name, error_type=error.get("type"), traceback=error.get("traceback", "")
            )
            raise BackendError(f"{where} reported {error.get('type', 'an error')}: {error['message']}")
        resolve = lookup_from_env()
        for key, value in result["globals"].items():
            task.ctx.set_global(key, from_wire(value, resolve))
        task.ctx.stats.merge(result["stats"])
        return await self._read_outputs(task, result["outputs"], stage, where)

    async def _payload(self, task: ModuleTask, stage: Stage, prefix: Any) -> dict[str, Any]:
        if task.remote_configs is None:
            raise BackendError(
                f"module '{task.node_id}': no remote configs were prepared for the {self.name} backend"
            )
        inputs: dict[str, Any] = {}
        for port, value in task.inputs.items():
            if is_dask(value) and hasattr(value, "compute"):
                value = await self.blocking(value.compute)
            if hasattr(value, "to_parquet") and hasattr(value, "columns"):
                uri = prefix.join("in", f"{port}{stage.frame_suffix}")
                rows = await self.blocking(stage.put_frame, uri, value)
                inputs[port] = {"kind": "frame", "uri": str(uri), "rows": rows}
            else:
                try:
                    inputs[port] = {"kind": "json", "value": json_safe(value, f"input port '{port}'")}
                except TypeError as exc:
                    raise BackendError(f"module '{task.node_id}': {exc}") from None
        ctx = task.ctx
        try:
            iter_items = json_safe(to_wire(list(ctx.iter_items), ctx.secrets), "iteration items")
            configs = json_safe(task.remote_configs, "configs")
        except NotWirable as exc:
            raise BackendError(
                f"module '{task.node_id}': its iteration item cannot be sent to the {self.name} backend: {exc}"
            ) from None
        except TypeError as exc:
            raise BackendError(f"module '{task.node_id}': {exc}") from None
        payload = {
            "pypeline_payload": PAYLOAD_VERSION,
            "run_id": ctx.run_id,
            "module_id": task.module_id,
            "node_id": task.node_id,
            "module_path": task.module_path,
            "attempt": task.attempt,
            "execution_mode": ctx.execution_mode,
            "configs": configs,
            "inputs": inputs,
            "iter_path": list(ctx.iter_path),
            "iter_items": iter_items,
            "globals": _json_or_skip(ctx.globals_snapshot(), ctx.secrets),  # a secret travels as its reference
            "context": _json_or_skip(dict(ctx.context_vars)),
            "output_prefix": str(prefix.join("out")) + "/",
            "output_key": ctx.output_key,
        }
        text = json.dumps(payload)
        leaked = ctx.secrets is not None and ctx.secrets.contains_secret(text)
        if leaked or any(secret in text for secret in secret_values(task.configs, task.remote_configs)):
            raise BackendError(
                f"module '{task.node_id}': refusing to send the payload to the {self.name} backend: "
                "it would contain a secret value (through globals, context or iteration items)"
            )
        return payload

    def replay_logs(self, task: ModuleTask, lines: Any) -> None:
        """Log the far side's log lines (dicts with ``level`` and ``event``) as the module's, ``remote=True``."""
        if not isinstance(lines, list):
            return
        for line in lines:
            if not isinstance(line, dict):
                continue
            fields = {k: v for k, v in line.items() if k not in ("level", "event", "run_id", "node_id")}
            level = str(line.get("level", "info"))
            method = getattr(task.ctx.logger, level if level in ("debug", "info", "warning", "error") else "info")
            method(str(line.get("event", "remote_log")), remote=True, **fields)

    async def _read_outputs(
        self, task: ModuleTask, refs: dict[str, Any], stage: Stage, where: str
    ) -> dict[str, Any]:
        outputs: dict[str, Any] = {}
        for port, ref in refs.items():
            if ref["kind"] == "json":
                outputs[port] = ref["value"]
                continue
            try:
                frame = await self.blocking(stage.get_frame, stage.parse(ref["uri"]), f"output '{port}'")
            except (StagingError, ValueError) as exc:
                raise BackendError(f"{where} answered, but {exc}") from None
            if task.ctx.execution_mode == "dask":
                from pypeline.modules.frames import to_dask

                frame = to_dask(frame)
            outputs[port] = frame
        return outputs
