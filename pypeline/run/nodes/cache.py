"""The output cache at the node runner: skip a module whose outputs are stored under its key (docs/cache.md).

:class:`NodeCache` is asked twice per node when the job caches anything:

* :meth:`NodeCache.restore`, before the first attempt: computes the node's
  key (:mod:`pypeline.run.cache.keys`; every node gets one, cached or not,
  because keys downstream are built from it) and, for a module with caching
  on, looks the key up in the store. A hit returns the stored outputs, sets the
  stored globals, and records the node ``cached`` with the key: the module
  does not run. Stored frames come back as :class:`CachedFrame` references,
  read only when a module that runs takes them as input
  (:meth:`NodeCache.load_inputs`): a rerun whose modules all hit reads no
  frame at all. A
  sink hits only when every file it wrote is still there with the
  fingerprint recorded after the write; otherwise it runs again.
* :meth:`NodeCache.save`, after a successful attempt: stores the outputs,
  globals and facts under the key (``entry.json`` last). Outputs or globals
  that hold a secret are never stored (the node simply is not cached).

A problem with the store (unreachable, full) never fails the run: the node
runs as if uncached and a ``cache_error`` line says why.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from pypeline.core.secret import mask
from pypeline.job.plan import JobPlan
from pypeline.job.spec import ModuleSpec
from pypeline.modules.frames import expand_paths
from pypeline.modules.kinds import is_stream
from pypeline.modules.sdk.globals import GlobalStore, node_id_for
from pypeline.run.artifacts.artifact import is_frame
from pypeline.run.cache.fingerprints import files_fingerprint, path_fingerprint
from pypeline.run.cache.keys import code_hash, node_key
from pypeline.run.cache.store import CacheStore
from pypeline.run.nodes.configs import ModuleConfigs
from pypeline.run.state.records import NodeRecord
from pypeline.run.templater.templater import Scope

ThreadCall = Callable[..., Awaitable[Any]]


class CachedFrame:
    """A frame output of a cache hit, read from the store only when a module that runs needs it."""

    def __init__(self, store: CacheStore, job: str, key: str, ref: Mapping[str, Any]) -> None:
        self._store, self._job, self._key, self._ref = store, job, key, dict(ref)

    def load(self) -> Any:
        """The frame (a pandas frame, or a lazy dask read of the stored files)."""
        return self._store.read_output(self._job, self._key, self._ref)


def cache_wanted(spec: ModuleSpec, settings: Mapping[str, Any]) -> tuple[bool, bool]:
    """(caching on for ``spec``, strict fingerprints) from its ``cache:`` and ``settings.cache``."""
    flow = settings.get("cache") or {}
    strict = bool(flow.get("strict", False))
    if isinstance(spec.cache, dict):
        return True, bool(spec.cache.get("strict", strict))
    if spec.cache is None:
        return bool(flow.get("enabled", False)), strict
    return bool(spec.cache), strict


class NodeCache:
    """Looks node outputs up in the cache store and stores them (see the module docstring)."""

    def __init__(
        self, plan: JobPlan, configs: ModuleConfigs, store: CacheStore, globals_store: GlobalStore, log: Any
    ) -> None:
        self._plan = plan
        self._configs = configs
        self._store = store
        self._globals = globals_store
        self._log = log
        self._keys: dict[str, str | None] = {}
        self._mode = str(plan.settings.get("execution_mode", "pandas"))

    async def restore(self, spec: ModuleSpec, record: NodeRecord, scope: Scope, threads: ThreadCall) -> Any:
        """The stored outputs of this node when its key hits (the node is then recorded ``cached``), else ``None``."""
        wanted, strict = cache_wanted(spec, self._plan.settings)
        try:
            key = await threads(self._key, spec, scope, record.node_id, strict)
        except Exception as exc:  # a file that cannot be fingerprinted: the module says what is wrong
            key = None
            self._logger(record).info("cache_no_key", reason=f"{type(exc).__name__}: {exc}")
        self._keys[record.node_id] = key
        if key is None or not wanted:
            return None
        try:
            return await threads(self._restore, spec, record, key)
        except Exception as exc:
            self._logger(record).warning("cache_error", key=key, error=f"{type(exc).__name__}: {exc}")
            return None

    async def save(self, spec: ModuleSpec, record: NodeRecord, outputs: dict[str, Any], threads: ThreadCall) -> Any:
        """Store ``outputs`` (and the node's globals and facts) under its key; return the outputs to pass on."""
        key = self._keys.get(record.node_id)
        if key is None or not cache_wanted(spec, self._plan.settings)[0]:
            return outputs
        try:
            return await threads(self._save, spec, record, key, outputs)
        except Exception as exc:
            self._logger(record).warning("cache_error", key=key, error=f"{type(exc).__name__}: {exc}")
            return outputs

    async def load_inputs(self, inputs: dict[str, Any], threads: ThreadCall) -> dict[str, Any]:
        """``inputs`` with every :class:`CachedFrame` read from the store (a module is about to run on them)."""
        if not any(isinstance(v, CachedFrame) for v in inputs.values()):
            return inputs
        return {port: await threads(v.load) if isinstance(v, CachedFrame) else v for port, v in inputs.items()}

    # -- keys -----------------------------------------------------------------------------------

    def _key(self, spec: ModuleSpec, scope: Scope, node_id: str, strict: bool) -> str | None:
        inputs: dict[str, Any] = {}
        for edge in self._plan.inputs_of.get(spec.id, ()):
            upstream = self._keys.get(node_id_for(edge.src, scope.iter_path))
            if upstream is None:
                return None
            inputs[edge.dst_port] = [upstream, edge.src_port]
        parts = {
            "module": [spec.name, spec.module_path, spec.version, code_hash(spec.module_path)],
            "configs": self._configs.remote(spec, scope),
            "mode": self._mode,
            "iter_items": list(scope.iter_items),
            "inputs": inputs,
            "files": self._files(spec, scope, node_id, strict),
        }
        return node_key(parts)

    def _files(self, spec: ModuleSpec, scope: Scope, node_id: str, strict: bool) -> Any:
        if not reads_files(spec):
            return None
        configs = self._configs.render(spec, scope, node_id, 0, str(spec.execution.get("backend", "local")))
        return files_part(spec, configs, strict)

    # -- the store ------------------------------------------------------------------------------

    def _restore(self, spec: ModuleSpec, record: NodeRecord, key: str) -> dict[str, Any] | None:
        entry = self._store.get(self._plan.name, key)
        logger = self._logger(record)
        if entry is None:
            logger.info("cache_miss", key=key)
            return None
        if spec.type == "sink" and not sink_outputs_unchanged(entry, spec.configs.get("storage_options")):
            logger.info("cache_miss", key=key, reason="the sink's output changed or is gone since it was cached")
            return None
        outputs = {
            port: ref["value"] if ref["kind"] == "json" else CachedFrame(self._store, self._plan.name, key, ref)
            for port, ref in entry["outputs"].items()
        }
        for name, value in entry.get("globals", {}).items():
            self._globals.set(record.node_id, name, value)
        record.globals = dict(entry.get("globals", {}))
        record.facts = {**entry.get("facts", {}), "cache": {"status": "hit", "key": key}}
        record.status = "cached"
        record.attempts = 0
        counts = [ref["rows"] for ref in entry["outputs"].values() if ref["kind"] == "frame"]
        record.rows_out = sum(counts) if counts else None
        logger.info("cache_hit", key=key)
        return outputs

    def _save(self, spec: ModuleSpec, record: NodeRecord, key: str, outputs: dict[str, Any]) -> dict[str, Any]:
        job, logger = self._plan.name, self._logger(record)
        stored = {"globals": record.globals, "outputs": outputs}
        if mask(record.globals) is not record.globals or any(
            not is_frame(v) and mask(v) is not v for v in outputs.values()
        ):
            logger.info("cache_skipped", key=key, reason="an output or global holds a secret")
            return outputs
        if any(is_stream(v) for v in outputs.values()):
            logger.info("cache_skipped", key=key, reason="stream mode: an output stream is read by the modules "
                        "after this one, not stored")
            return outputs
        refs: dict[str, Any] = {}
        passed = dict(outputs)
        for port, value in stored["outputs"].items():
            if is_frame(value):
                refs[port] = self._store.write_frame(job, key, port, value)
                if refs[port]["kind"] == "dask":  # downstream reads the stored files, not the graph again
                    passed[port] = self._store.read_output(job, key, refs[port])
            else:
                refs[port] = {"kind": "json", "value": value}
        doc: dict[str, Any] = {
            "module_id": spec.id, "node_id": record.node_id, "module": spec.name, "outputs": refs,
            "globals": record.globals, "facts": {k: v for k, v in record.facts.items() if k != "cache"},
        }
        if spec.type == "sink":
            doc["sink_outputs"] = self._sink_fingerprints(spec, record)
        self._store.commit(job, key, doc)
        record.facts = {**record.facts, "cache": {"status": "stored", "key": key}}
        logger.info("cache_stored", key=key)
        return passed

    def _sink_fingerprints(self, spec: ModuleSpec, record: NodeRecord) -> dict[str, Any]:
        strict = cache_wanted(spec, self._plan.settings)[1]
        options = spec.configs.get("storage_options")
        found = {}
        for path in record.facts.get("files_written", []):
            fingerprint = path_fingerprint(path, strict=strict, options=options)
            if fingerprint is not None:
                found[path] = fingerprint
        return found

    def _logger(self, record: NodeRecord) -> Any:
        return self._log.logger(node_id=record.node_id, module=record.module_id)


def reads_files(spec: ModuleSpec) -> bool:
    """True for a source or solo module with a ``file_path`` or ``directory`` config (its key fingerprints them)."""
    return spec.type in ("source", "solo") and bool({"file_path", "directory"} & set(spec.configs))


def files_part(spec: ModuleSpec, configs: Mapping[str, Any], strict: bool) -> Any:
    """The key's ``files`` part: fingerprints of the files ``spec`` reads, from its rendered ``configs``."""
    if not reads_files(spec):
        return None
    options = configs.get("storage_options")
    if "file_path" in configs:
        return files_fingerprint(expand_paths(configs["file_path"], options), strict=strict)
    return path_fingerprint(configs["directory"], strict=strict, options=options)


def sink_outputs_unchanged(entry: Mapping[str, Any], options: Any) -> bool:
    """True when every file a cached sink wrote is still there with the fingerprint recorded then."""
    recorded: dict[str, Any] = entry.get("sink_outputs") or {}
    if not recorded:
        return False  # nothing proves the output is still there: the sink runs
    for path, fingerprint in recorded.items():
        if path_fingerprint(path, strict=_strictness(fingerprint), options=options) != fingerprint:
            return False
    return True


def _strictness(fingerprint: Any) -> bool:
    if isinstance(fingerprint, dict) and "folder" in fingerprint:
        return any(_strictness(f) for f in fingerprint["folder"].values())
    return bool(isinstance(fingerprint, dict) and fingerprint.get("strict"))


DEFAULT_STORE = ".pype-cache"
"""The store's folder beside the job folders (``jobs/.pype-cache``) when ``settings.cache.store`` is not set."""


def node_cache(plan: JobPlan, configs: ModuleConfigs, globals_store: GlobalStore, log: Any, jobs_root: Any) -> Any:
    """The run's :class:`NodeCache`, or ``None`` when no module of ``plan`` caches (then nothing is hashed)."""
    if not any(cache_wanted(spec, plan.settings)[0] for spec in plan.modules.values()):
        return None
    return NodeCache(plan, configs, cache_store(plan.settings, jobs_root), globals_store, log)


def cache_store(settings: Mapping[str, Any], jobs_root: Any) -> CacheStore:
    """The store ``settings.cache`` names (``store``, ``storage_options``), by default ``<jobs_root>/.pype-cache``."""
    flow = settings.get("cache") or {}
    root = flow.get("store") or str(Path(jobs_root) / DEFAULT_STORE)
    return CacheStore(str(root), flow.get("storage_options") or None)
