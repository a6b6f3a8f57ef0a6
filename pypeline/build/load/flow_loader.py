"""Load phase: YAML -> schema -> modules -> configs, into a :class:`FlowSpec`.

Each step raises the first problem it finds as a :class:`FlowError` naming the
file, the line and the module id; nothing is written while loading.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pypeline.backends.registry import check_execution_block
from pypeline.build.load.flow_spec import FlowSpec
from pypeline.build.load.includes import ConfigRewrite, assemble
from pypeline.build.load.schema_check import validate_against_schema
from pypeline.build.load.yaml_source import YamlDocument, pointer_join, read_yaml_file
from pypeline.core.errors import ConfigError, ModuleResolutionError
from pypeline.core.text import did_you_mean
from pypeline.job.spec import ModuleSpec, merge_settings
from pypeline.modules.registry import ModuleNotFound, Registry
from pypeline.modules.sdk.base import BaseModule
from pypeline.modules.sdk.config import ConfigProblem, encoding_problems, resolve_configs
from pypeline.modules.storage.locations import url_problems

_RESOLUTION_HINTS = {
    "unknown": "a registered module name (see 'pype list-modules') or a dotted import path",
    "import": "an importable dotted path to a BaseModule subclass "
    "(is its package installed, or its file in the project's modules/ folder?)",
    "invalid": "a BaseModule subclass whose declarations follow the SDK (docs/flow-format.md, 'Writing a module')",
}


def load_flow(path: str | Path, registry: Registry | None = None) -> FlowSpec:
    """Read and check a flow YAML file.

    Raises:
        FlowError: the first problem found, with file and line.
    """
    doc = read_yaml_file(path)
    return load_document(doc, registry or Registry())


def load_document(doc: YamlDocument, registry: Registry) -> FlowSpec:
    """Check an already parsed document (see :func:`load_flow`); its includes are inlined (``includes.py``)."""
    validate_against_schema(doc)
    data: dict[str, Any] = doc.data
    settings = merge_settings(data.get("settings"))
    checks = _ExecutionChecks(settings)

    def load_module(
        part: YamlDocument, item: dict[str, Any], pointer: str, rewrite: ConfigRewrite | None
    ) -> ModuleSpec:
        return _load_module(part, item, pointer, registry, settings, checks, rewrite)

    assembly = assemble(doc, load_module)
    context = {env: dict(values or {}) for env, values in (data.get("context") or {}).items()}
    return FlowSpec(
        path=doc.path,
        name=data["flow"]["name"],
        meta=dict(data["flow"]),
        settings=settings,
        context=context,
        modules=tuple(assembly.modules),
        raw_data_connections=tuple(assembly.data),
        raw_control_connections=tuple(assembly.control),
        source_text=doc.text,
        config_lines=assembly.config_lines,
        module_origins=assembly.module_origins,
        data_origins=tuple(assembly.data_origins),
        control_origins=tuple(assembly.control_origins),
        includes=tuple(assembly.includes),
    )


class _ExecutionChecks:
    """``check_execution_block`` once per distinct block: most modules share one (or none)."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self.seen: dict[str, str | None] = {}

    def problem(self, execution: dict[str, Any]) -> str | None:
        backend = execution.get("backend", "local")
        defaults = self.settings["backends"].get(backend)
        key = json.dumps([execution, defaults], sort_keys=True, default=str)
        if key not in self.seen:
            self.seen[key] = check_execution_block(execution, defaults)
        return self.seen[key]


def _load_module(
    doc: YamlDocument,
    item: dict[str, Any],
    pointer: str,
    registry: Registry,
    settings: dict[str, Any],
    checks: _ExecutionChecks,
    rewrite: ConfigRewrite | None = None,
) -> ModuleSpec:
    module_id = item["id"]
    try:
        info = registry.resolve(item["name"])
    except ModuleNotFound as exc:
        raise ModuleResolutionError(
            f"module '{module_id}': {exc.reason}{did_you_mean(item['name'], exc.candidates)}",
            path=doc.path,
            line=doc.line_of(pointer + "/name"),
            expected=_RESOLUTION_HINTS[exc.kind],
        ) from None
    cls = info.cls
    configs = _checked_configs(doc, item, pointer, cls, rewrite)
    execution = dict(item.get("execution") or {"backend": "local"})
    problem = checks.problem(execution)
    if problem:
        raise ConfigError(
            f"module '{module_id}': {problem}", path=doc.path, line=doc.line_of(pointer + "/execution")
        )
    if settings["execution_mode"] == "dask" and not cls.SUPPORTS_DASK:
        raise ConfigError(
            f"module '{module_id}' ({item['name']}) does not support execution_mode: dask",
            path=doc.path,
            line=doc.line_of(pointer),
            expected="execution_mode: pandas, or another module",
        )
    return _module_spec(doc, item, pointer, info.module_path, cls, configs, execution)


def _checked_configs(
    doc: YamlDocument, item: dict[str, Any], pointer: str, cls: type[BaseModule], rewrite: ConfigRewrite | None
) -> dict[str, Any]:
    """The module's configs (renamed and with their params replaced, in an include) with defaults filled,
    checked against its schema and its own rules.

    Raises:
        ConfigError: naming the module, the key and its line.
    """
    module_id = item["id"]
    configs_given = item.get("configs") or {}
    if rewrite is not None:
        configs_given = rewrite(configs_given, cls)
    try:
        configs = resolve_configs(cls.CONFIG_SCHEMA, configs_given)
    except ConfigProblem as exc:
        key_pointer = pointer + "/configs"
        if exc.section and exc.key in (configs_given.get(exc.section) or {}):
            key_pointer = pointer_join(f"{key_pointer}/{exc.section}", exc.key)
        raise ConfigError(
            f"module '{module_id}' ({item['name']}): {exc.message}",
            path=doc.path,
            line=doc.line_of(key_pointer),
            expected=exc.expected,
        ) from None
    problems = cls.check_configs(configs) + encoding_problems(configs)  # rules the schema cannot express
    if "storage_options" in configs:  # a file module: its literal URLs name a known store (docs/storage.md)
        problems += url_problems(configs)
    if problems:
        raise ConfigError(
            f"module '{module_id}' ({item['name']}): {'; '.join(problems)}",
            path=doc.path,
            line=doc.line_of(pointer + "/configs") or doc.line_of(pointer),
        )
    return configs


def _module_spec(
    doc: YamlDocument, item: dict[str, Any], pointer: str, module_path: str, cls: type[BaseModule],
    configs: dict[str, Any], execution: dict[str, Any],
) -> ModuleSpec:
    module_id = item["id"]
    declared = cls.declared_globals(configs)
    return ModuleSpec(
        id=module_id,
        name=item["name"],
        module_path=module_path,
        type=cls.TYPE,
        version=cls.VERSION,
        category=cls.CATEGORY,
        description=cls.DESCRIPTION,
        input_ports=tuple(cls.INPUT_PORTS),
        optional_inputs=tuple(cls.OPTIONAL_INPUTS),
        output_ports=tuple(cls.OUTPUT_PORTS),
        list_outputs=tuple(cls.LIST_OUTPUTS),
        globals=None if declared is None else tuple(declared),
        configs=configs,
        execution=execution,
        retries=item.get("retries"),
        timeout=item.get("timeout"),
        line=doc.line_of(pointer),
        cache=item.get("cache"),
    )
