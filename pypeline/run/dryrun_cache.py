"""What ``pype run --dry-run`` says about the output cache: which modules would hit (docs/cache.md).

The dry run computes each cached module's key the way the run does
(:mod:`pypeline.run.nodes.cache`), from what is known before the run: configs
with their ``{{context...}}`` templates resolved and secrets kept as
references, the fingerprints of the files sources read now, and upstream
keys. It then looks the key up in the store. A module whose key needs a
value only the run knows (a global, an iteration item, a module that runs in
an iteration) shows ``cache: decided at run time``; so does everything
downstream of it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pypeline.core.references import Reference
from pypeline.core.templates import KeepTemplate, render
from pypeline.job.plan import JobPlan
from pypeline.job.spec import ModuleSpec
from pypeline.modules.loader import ModuleImportError, load_module_class
from pypeline.modules.sdk.config import expression_keys
from pypeline.run.cache.keys import code_hash, node_key
from pypeline.run.nodes.cache import cache_store, cache_wanted, files_part, sink_outputs_unchanged

RUN_TIME = "decided at run time"


class _RunTimeValue(Exception):
    """A template that only the run can resolve."""


def cache_notes(job: JobPlan, context_vars: dict[str, Any]) -> dict[str, str]:
    """Module id -> ``cache: hit (key ...)`` / ``cache: miss`` / ``cache: decided at run time`` for cached modules."""
    wanted = {m: cache_wanted(spec, job.settings) for m, spec in job.modules.items()}
    if not any(on for on, _ in wanted.values()):
        return {}
    store = cache_store(job.settings, Path(job.runs_dir).parent.parent)
    iterated = {sf for scope in job.scopes.values() for sf in scope}
    mode = str(job.settings.get("execution_mode", "pandas"))
    keys: dict[str, str | None] = {}
    notes: dict[str, str] = {}
    for subflow_id in job.subflow_order():
        for wave in job.subflows[subflow_id].waves:
            for module_id in wave:
                spec = job.modules[module_id]
                key = None if subflow_id in iterated else _key(job, spec, keys, context_vars, mode, wanted)
                keys[module_id] = key
                if not wanted[module_id][0]:
                    continue
                if key is None:
                    notes[module_id] = f"cache: {RUN_TIME}"
                elif _hits(store, job.name, spec, key):
                    notes[module_id] = f"cache: hit (key {key[:16]})"
                else:
                    notes[module_id] = f"cache: miss (key {key[:16]})"
    return notes


def _key(
    job: JobPlan, spec: ModuleSpec, keys: dict[str, str | None], context_vars: dict[str, Any], mode: str,
    wanted: dict[str, tuple[bool, bool]],
) -> str | None:
    inputs: dict[str, Any] = {}
    for edge in job.inputs_of.get(spec.id, ()):
        upstream = keys.get(edge.src)
        if upstream is None:
            return None
        inputs[edge.dst_port] = [upstream, edge.src_port]
    try:
        configs = _configs(spec, context_vars, keep_secrets=True)
        files = files_part(spec, _configs(spec, context_vars, keep_secrets=False), wanted[spec.id][1])
    except _RunTimeValue:
        return None
    except Exception:  # a file that cannot be fingerprinted now: the run tells what is wrong
        return None
    parts = {
        "module": [spec.name, spec.module_path, spec.version, code_hash(spec.module_path)],
        "configs": configs, "mode": mode, "iter_items": [], "inputs": inputs, "files": files,
    }
    return node_key(parts)


def _configs(spec: ModuleSpec, context_vars: dict[str, Any], *, keep_secrets: bool) -> dict[str, Any]:
    """``spec``'s configs as the run renders them for a key (context resolved, secrets kept)."""

    def lookup(key: str, ref: Reference) -> Any:
        if ref.kind == "context" and ref.name in context_vars:
            return context_vars[ref.name]
        if ref.kind == "secret" and keep_secrets:
            raise KeepTemplate
        raise _RunTimeValue(str(ref))

    try:
        expressions = expression_keys(load_module_class(spec.module_path).CONFIG_SCHEMA)
    except ModuleImportError:
        expressions = frozenset()
    result: dict[str, Any] = render(spec.configs, lookup, expressions=expressions)
    return result


def _hits(store: Any, job: str, spec: ModuleSpec, key: str) -> bool:
    try:
        entry = store.get(job, key)
        return entry is not None and (spec.type != "sink" or sink_outputs_unchanged(entry, None))
    except Exception:
        return False
