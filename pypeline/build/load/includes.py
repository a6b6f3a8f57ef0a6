"""``include:``: inline other flow files into one flow, at build time.

A module entry ``{id: east, include: parts/clean.yaml, params: {...}}`` puts
the modules and connections of ``parts/clean.yaml`` (a path relative to the
including file) into the flow, renamed under ``east.`` (``renaming.py``),
with its ``{{params.x}}`` replaced (``params.py``). The included file is a
flow file like any other (its ``flow``, ``settings`` and ``context`` are
read but not used: the including flow's apply). It may declare what the
including flow can connect to::

    ports:
      inputs:  {rows: clean.input}     # "x.data - east.rows" feeds east.clean.input
      outputs: {result: clean.output}  # "east.result - y.input" reads east.clean.output
      entry: load                      # "a (1|) east" starts east.load
      exit: write                      # "east (1|) b" fires when east.write's sub flow ends

Includes nest (``east.inner.load``); a file that includes itself, directly or
through others, is refused, and so is a chain deeper than
:data:`MAX_INCLUDE_DEPTH` or a flow of more than :data:`MAX_INCLUDES` includes.
A problem inside an included file is reported with that file and line, and the chain of includes that led there
(``[in include 'east' at flow.yaml:9]``): the load phase adds the chain as
the error leaves each include, the plan phase finds it in the
:class:`~pypeline.build.load.flow_spec.Origin` of each module and connection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pypeline.build.load.connection_text import join_control, split_control, split_data
from pypeline.build.load.flow_spec import Origin
from pypeline.build.load.params import ParamProblem, Params
from pypeline.build.load.renaming import Namespace
from pypeline.build.load.schema_check import validate_against_schema
from pypeline.build.load.yaml_source import YamlDocument, pointer_join, read_yaml_file
from pypeline.core.errors import ConfigError, FlowError, PlanError
from pypeline.core.text import did_you_mean
from pypeline.job.spec import ModuleSpec
from pypeline.modules.sdk.base import BaseModule
from pypeline.modules.sdk.config import expression_keys

MAX_INCLUDE_DEPTH = 16
MAX_INCLUDES = 1000
"""Includes inlined in one flow at most: files that include each other twice over and over would
otherwise multiply (2 ** 16 copies at the depth limit), the alias bomb of includes."""

ConfigRewrite = Callable[[dict[str, Any], type[BaseModule]], dict[str, Any]]
LoadModule = Callable[[YamlDocument, dict[str, Any], str, ConfigRewrite | None], ModuleSpec]
"""Loads one module entry (``_load_module`` of the loader): document, entry, JSON pointer, config rewrite."""


@dataclass(slots=True)
class Assembly:
    """Everything the flow holds once its includes are inlined, with where each piece was written."""

    modules: list[ModuleSpec] = field(default_factory=list)
    data: list[tuple[str, int | None]] = field(default_factory=list)
    control: list[tuple[Any, int | None]] = field(default_factory=list)
    data_origins: list[Origin | None] = field(default_factory=list)
    control_origins: list[Origin | None] = field(default_factory=list)
    module_origins: dict[str, Origin] = field(default_factory=dict)
    config_lines: dict[tuple[str, str], int] = field(default_factory=dict)
    includes: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Boundary:
    """The declared ports of one include, as ids of the whole flow."""

    inputs: dict[str, str]
    outputs: dict[str, str]
    entry: str | None
    exit: str | None


@dataclass(frozen=True, slots=True)
class _Part:
    """One flow file as the assembly reads it."""

    doc: YamlDocument
    names: Namespace
    params: Params | None
    origin: Origin | None
    files: tuple[Path, ...]


def assemble(doc: YamlDocument, load_module: LoadModule) -> Assembly:
    """The modules and connections of ``doc`` with its includes inlined (see the module docstring).

    Raises:
        FlowError: the first problem, in whichever file it is.
    """
    assembly = Assembly()
    declared = doc.data.get("params") or {}
    defaults = {name: (spec or {})["default"] for name, spec in declared.items() if "default" in (spec or {})}
    params = Params(defaults, set(declared) - set(defaults)) if "{{" in doc.text and "params." in doc.text else None
    part = _Part(doc, Namespace("", ()), params, None, (Path(doc.path).resolve(),))
    _Assembler(assembly, load_module).read(part)
    return assembly


class _Assembler:
    def __init__(self, assembly: Assembly, load_module: LoadModule) -> None:
        self.out = assembly
        self.load_module = load_module

    def read(self, part: _Part) -> Boundary:
        """Add ``part``'s modules (and its includes', in place) and connections; return its ports."""
        doc = part.doc
        items: list[dict[str, Any]] = doc.data["modules"]
        names = Namespace(part.names.prefix, [item["id"] for item in items])
        part = _Part(doc, names, part.params, part.origin, part.files)
        _check_unique_ids(doc, items)
        boundaries: dict[str, Boundary] = {}
        for index, item in enumerate(items):
            pointer = f"/modules/{index}"
            if "include" in item:
                boundaries[item["id"]] = self._include(part, item, pointer)
            else:
                self._module(part, item, pointer)
        self._connections(part, boundaries)
        return _ports(part, boundaries)

    def _module(self, part: _Part, item: dict[str, Any], pointer: str) -> None:
        module_id = part.names.module(item["id"])
        rewrite = None
        if part.names.prefix or part.params is not None:
            def rewrite(configs: dict[str, Any], cls: type[BaseModule]) -> dict[str, Any]:
                return _rewrite_configs(part, pointer, module_id, configs, cls)
        spec = self.load_module(part.doc, {**item, "id": module_id}, pointer, rewrite)
        self.out.modules.append(spec)
        if part.origin is not None:
            self.out.module_origins[module_id] = part.origin
        for section in ("required", "optional"):
            for key in (item.get("configs") or {}).get(section) or {}:
                line = part.doc.line_of(pointer_join(f"{pointer}/configs/{section}", key))
                if line is not None:
                    self.out.config_lines[(module_id, str(key))] = line

    def _include(self, part: _Part, item: dict[str, Any], pointer: str) -> Boundary:
        doc, include_id = part.doc, part.names.module(item["id"])
        line = doc.line_of(pointer)
        path = Path(doc.path).parent / item["include"]
        resolved = path.resolve()
        where: dict[str, Any] = {"path": doc.path, "line": doc.line_of(pointer + "/include") or line}
        if resolved in part.files:
            loop = " -> ".join(str(f) for f in (*part.files[part.files.index(resolved):], resolved))
            raise PlanError(f"include '{include_id}': {item['include']} includes itself ({loop})", **where,
                            expected="includes without a cycle")
        if len(part.files) > MAX_INCLUDE_DEPTH or len(self.out.includes) >= MAX_INCLUDES:
            raise PlanError(
                f"include '{include_id}': too many includes (more than {MAX_INCLUDES} in the flow, or a chain "
                f"deeper than {MAX_INCLUDE_DEPTH} files)", **where,
            )
        if not path.is_file():
            raise PlanError(f"include '{include_id}': file '{item['include']}' not found (looked for {path})",
                            **where, expected="a flow file, relative to the including file")
        step = f"include '{include_id}' at {doc.path}:{line}"
        origin = Origin(str(path), (step, *(part.origin.chain if part.origin else ())))
        try:
            child = read_yaml_file(path)
            validate_against_schema(child)
        except FlowError as exc:
            raise exc.included(step) from None
        params = _child_params(part, item, pointer, child, include_id)  # a problem of the including file
        try:
            boundary = self.read(_Part(child, Namespace(include_id + ".", ()), params, origin, (*part.files, resolved)))
        except FlowError as exc:
            raise exc.included(step) from None
        self.out.includes.append({"id": include_id, "file": item["include"], "in": doc.path, "line": line})
        return boundary

    def _connections(self, part: _Part, boundaries: dict[str, Boundary]) -> None:
        doc = part.doc
        connections = doc.data.get("connections") or {}
        for index, text in enumerate(connections.get("data") or []):
            line = doc.line_of(f"/connections/data/{index}")
            self.out.data.append((_data_text(part, boundaries, text, line), line))
            self.out.data_origins.append(part.origin)
        for index, item in enumerate(connections.get("control") or []):
            line = doc.line_of(f"/connections/control/{index}")
            self.out.control.append((_control_item(part, boundaries, item, line), line))
            self.out.control_origins.append(part.origin)


def _check_unique_ids(doc: YamlDocument, items: list[dict[str, Any]]) -> None:
    seen: dict[str, int | None] = {}
    for index, item in enumerate(items):
        module_id = item["id"]
        if module_id in seen:
            raise PlanError(
                f"module id '{module_id}' is used twice (first at line {seen[module_id]})",
                path=doc.path, line=doc.line_of(f"/modules/{index}/id"), expected="unique module ids",
            )
        seen[module_id] = doc.line_of(f"/modules/{index}")


def _rewrite_configs(
    part: _Part, pointer: str, module_id: str, configs: dict[str, Any], cls: type[BaseModule]
) -> dict[str, Any]:
    """A module's configs renamed into the flow's name space, its ``{{params.x}}`` replaced."""
    expressions = expression_keys(cls.CONFIG_SCHEMA)
    result: dict[str, Any] = {}
    for section, values in configs.items():
        if not isinstance(values, dict):
            result[section] = values
            continue
        result[section] = {}
        for key, value in values.items():
            renamed = part.names.configs(value)
            try:
                result[section][key] = (
                    renamed if part.params is None else part.params.configs({key: renamed}, expressions)[key]
                )
            except ParamProblem as exc:
                raise ConfigError(
                    f"module '{module_id}', config '{key}': {exc}", path=part.doc.path,
                    line=part.doc.line_of(pointer_join(f"{pointer}/configs/{section}", key)),
                ) from None
    return result


def _child_params(part: _Part, item: dict[str, Any], pointer: str, child: YamlDocument, include_id: str) -> Params:
    """The values of the included file's parameters: given by ``item`` (in the includer's terms), else defaults."""
    declared: dict[str, Any] = {name: spec or {} for name, spec in (child.data.get("params") or {}).items()}
    given: dict[str, Any] = item.get("params") or {}
    where: dict[str, Any] = {
        "path": part.doc.path, "line": part.doc.line_of(pointer + "/params") or part.doc.line_of(pointer)
    }
    for name in given:
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise PlanError(
                f"include '{include_id}': unknown parameter '{name}'{did_you_mean(name, declared)}",
                **where, expected=f"a parameter {item['include']} declares under 'params:' ({known})",
            )
    values: dict[str, Any] = {}
    try:
        for name, value in given.items():
            renamed = part.names.configs(value)
            values[name] = renamed if part.params is None else part.params.configs(renamed)
    except ParamProblem as exc:
        raise PlanError(f"include '{include_id}': {exc}", **where) from None
    child_names = Namespace(include_id + ".", [m["id"] for m in child.data["modules"]])
    missing = []
    for name, spec in declared.items():
        if name in values:
            continue
        if "default" in spec:
            values[name] = child_names.configs(spec["default"])
        else:
            missing.append(name)
    if missing:
        raise PlanError(
            f"include '{include_id}': parameter{'s' * (len(missing) > 1)} {', '.join(map(repr, missing))} "
            f"of {item['include']} {'have' if len(missing) > 1 else 'has'} no default",
            **where, expected="a value under the include's 'params:'",
        )
    return Params(values)


def _data_text(part: _Part, boundaries: dict[str, Boundary], text: Any, line: int | None) -> Any:
    """A data connection of ``part`` in the flow's ids; an include's declared port becomes its module's port."""
    pieces = split_data(text) if isinstance(text, str) else None
    if pieces is None:
        return text  # the plan phase says what is wrong with it
    src, src_port, dst, dst_port = pieces
    src, src_port = _end(part, boundaries, src, src_port, "outputs", line)
    dst, dst_port = _end(part, boundaries, dst, dst_port, "inputs", line)
    return f"{src}.{src_port} - {dst}.{dst_port}"


def _end(
    part: _Part, boundaries: dict[str, Boundary], module_id: str, port: str, side: str, line: int | None
) -> tuple[str, str]:
    boundary = boundaries.get(module_id)
    if boundary is None:
        return part.names.module(module_id), port
    ports: dict[str, str] = getattr(boundary, side)
    if port not in ports:
        listed = ", ".join(sorted(ports)) or "none"
        raise PlanError(
            f"include '{part.names.module(module_id)}' has no {side[:-1]} port '{port}'{did_you_mean(port, ports)}",
            path=part.doc.path, line=line, expected=f"one of the ports it declares under ports.{side}: {listed}",
        )
    target, _, target_port = ports[port].rpartition(".")
    return target, target_port


def _control_item(part: _Part, boundaries: dict[str, Boundary], item: Any, line: int | None) -> Any:
    """A control connection of ``part`` in the flow's ids; an include as an end means its entry or exit."""
    if isinstance(item, dict):
        renamed = dict(item)
        renamed["from"] = _control_end(part, boundaries, item["from"], "exit", line)
        renamed["to"] = _control_end(part, boundaries, item["to"], "entry", line)
        if isinstance(item.get("condition"), str):
            renamed["condition"] = _condition(part, item["condition"], line)
        return renamed
    pieces = split_control(item) if isinstance(item, str) else None
    if pieces is None:
        return item
    src, valve, dst, options = pieces
    order, bar, condition = valve.partition("|")
    return join_control(
        _control_end(part, boundaries, src, "exit", line), order + bar + _condition(part, condition, line),
        _control_end(part, boundaries, dst, "entry", line), options,
    )


def _control_end(part: _Part, boundaries: dict[str, Boundary], module_id: str, side: str, line: int | None) -> str:
    boundary = boundaries.get(module_id)
    if boundary is None:
        return part.names.module(module_id)
    target: str | None = getattr(boundary, side)
    if target is None:
        raise PlanError(
            f"include '{part.names.module(module_id)}' declares no {side} module, so a control connection "
            f"cannot {'end' if side == 'entry' else 'start'} at it",
            path=part.doc.path, line=line, expected=f"'ports: {{{side}: <module id>}}' in the included file, "
            "or a connection to one of its modules ('<include>.<module>')",
        )
    return target


def _condition(part: _Part, text: str, line: int | None) -> str:
    renamed = part.names.condition(text)
    if part.params is None:
        return renamed
    try:
        return part.params.expression(renamed)
    except ParamProblem as exc:
        raise PlanError(f"condition {text.strip()!r}: {exc}", path=part.doc.path, line=line) from None


def _ports(part: _Part, boundaries: dict[str, Boundary]) -> Boundary:
    """The ports ``part`` declares, as ids of the whole flow (through nested includes' own ports)."""
    ports = part.doc.data.get("ports") or {}
    modules = {item["id"] for item in part.doc.data["modules"] if "include" not in item}

    def data_port(side: str, name: str, target: str) -> str:
        module_id, _, port = target.rpartition(".")
        if module_id in modules and port:
            return f"{part.names.module(module_id)}.{port}"
        if module_id in boundaries and port in getattr(boundaries[module_id], side):
            return str(getattr(boundaries[module_id], side)[port])
        raise PlanError(
            f"ports.{side}.{name}: {target!r} names no port of a module of this flow{did_you_mean(module_id, modules)}",
            path=part.doc.path, line=part.doc.line_of(f"/ports/{side}/{name}"), expected="'<module id>.<port>'",
        )

    def control_end(side: str) -> str | None:
        module_id = ports.get(side)
        if module_id is None:
            return None
        if module_id in modules:
            return part.names.module(module_id)
        if module_id in boundaries and getattr(boundaries[module_id], side) is not None:
            return str(getattr(boundaries[module_id], side))
        raise PlanError(
            f"ports.{side}: {module_id!r} is no module of this flow{did_you_mean(module_id, modules)}",
            path=part.doc.path, line=part.doc.line_of(f"/ports/{side}"), expected="the id of one of its modules",
        )

    return Boundary(
        inputs={n: data_port("inputs", n, t) for n, t in (ports.get("inputs") or {}).items()},
        outputs={n: data_port("outputs", n, t) for n, t in (ports.get("outputs") or {}).items()},
        entry=control_end("entry"),
        exit=control_end("exit"),
    )
