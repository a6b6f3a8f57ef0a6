"""``Flow``: a flow built in Python, part by part as its YAML says it.

Each method mirrors a part of the YAML (docs/flow-format.md)::

    Flow("etl", version="1.0")            flow: {name: etl, version: "1.0"}
    .settings(retries=1)                  settings: {retries: 1}
    .context("prod", db="prod.db")        context: {prod: {db: prod.db}}
    .module("read", "csv_source",         modules: [{id: read, name: csv_source,
            configs={...})                            configs: {required: ..., optional: ...}}]
    .connect(read["data"], keep["input"]) connections: {data: ["read.data - keep.input"]}
    .control(keep_sink, report, order=2)  connections: {control: ["keep_sink (2|) report"]}

and records the Python line that called it. Nothing is checked here that the
build checks: :meth:`Flow.build` writes the flow as YAML and hands it to the
build's own load and plan steps (:mod:`pypeline.api.building`), whose messages
then name these lines. The builder refuses at once only what YAML cannot say
(a value that is not plain data, a function the job folder could not import,
a module id given twice).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pypeline.api.building import build_document, plan_document
from pypeline.api.document import FlowDocument, generated_document, yaml_text
from pypeline.api.entries import registered_class, resolve_module, split_configs
from pypeline.api.parts import ModulePart, Parts
from pypeline.api.refs import ModuleRef, Port, PortLike
from pypeline.api.report import RunReport
from pypeline.api.running import RunSettings, run_with, run_with_async
from pypeline.api.sites import Site, caller_site
from pypeline.api.values import checked
from pypeline.build.load.yaml_source import pointer_join
from pypeline.core.errors import PlanError
from pypeline.core.text import did_you_mean
from pypeline.modules.registry import Registry
from pypeline.modules.sdk.base import BaseModule

ModuleLike = str | Callable[..., Any] | type[BaseModule]
"""A registry name or dotted path, a function that declares its ports, or a BaseModule subclass."""


class Flow:
    """A flow built in Python (see the module docstring and docs/python-api.md).

    Args:
        name: the flow's name, also its job folder ``jobs/<name>/``.
        version: ``flow.version``.
        authors: ``flow.authors``.
        created: ``flow.created``.
        description: ``flow.description``.
        registry: where module names resolve (the project's ``ModRegistry.json`` by default).
    """

    def __init__(
        self,
        name: str,
        *,
        version: str | int | float | None = None,
        authors: Sequence[str] | None = None,
        created: str | None = None,
        description: str | None = None,
        registry: Registry | None = None,
    ) -> None:
        site = caller_site()
        given = {"name": name, "version": version, "authors": authors, "created": created,
                 "description": description}
        meta = checked({k: v for k, v in given.items() if v is not None}, "the flow's metadata", site)
        self._parts = Parts(meta=meta, origin=site)
        self._registry = registry
        self._source: FlowDocument | None = None
        """The YAML file a loaded flow came from, while the flow is unchanged (it then builds from the file)."""

    @classmethod
    def from_parts(cls, parts: Parts, *, source: FlowDocument | None, registry: Registry | None) -> Flow:
        """A flow holding ``parts`` (:func:`pypeline.load` makes one from a YAML file, ``source``)."""
        flow = cls.__new__(cls)
        flow._parts = parts
        flow._registry = registry
        flow._source = source
        return flow

    @property
    def name(self) -> str:
        """The flow's name."""
        return str(self._parts.meta.get("name", ""))

    @property
    def module_ids(self) -> tuple[str, ...]:
        """The ids of the modules, in the order they were added."""
        return tuple(self._parts.modules)

    def __getitem__(self, module_id: str) -> ModuleRef:
        if module_id not in self._parts.modules:
            raise KeyError(f"no module '{module_id}' in flow '{self.name}'{did_you_mean(module_id, self.module_ids)}")
        return ModuleRef(module_id)

    def __contains__(self, module_id: object) -> bool:
        return module_id in self._parts.modules

    def __repr__(self) -> str:
        return f"Flow({self.name!r}, {len(self._parts.modules)} modules)"

    # -- parts ----------------------------------------------------------------------------------

    def settings(self, **values: Any) -> Flow:
        """Set ``settings:`` keys (``retries=1``, ``fail_strategy="continue"``, ``spill={...}``); returns the flow."""
        site = caller_site()
        for key, value in values.items():
            self._parts.settings[key] = checked(value, f"setting '{key}'", site)
            self._parts.setting_sites[key] = site
            self._forget(f"/settings/{key}")
        return self._changed()

    def context(self, env: str, values: Mapping[str, Any] | None = None, /, **variables: Any) -> Flow:
        """Set variables of the context environment ``env`` (``default``, ``prod``, ...); returns the flow."""
        site = caller_site()
        given = checked({**(values or {}), **variables}, f"context '{env}'", site)
        self._parts.context.setdefault(env, {}).update(given)
        self._parts.context_sites.setdefault(env, site)
        for key in given:
            self._parts.context_sites[f"{env}/{key}"] = site
            self._forget(pointer_join(pointer_join("/context", env), key))
        return self._changed()

    def module(
        self,
        id: str,
        module: ModuleLike,
        *,
        configs: Mapping[str, Any] | None = None,
        inputs: Mapping[str, PortLike] | None = None,
        execution: Mapping[str, Any] | None = None,
        retries: int | None = None,
        timeout: float | None = None,
        description: str | None = None,
    ) -> ModuleRef:
        """Add a module and return it (``ref["port"]`` names its ports).

        Args:
            id: the module id (letters, digits, single underscores).
            module: a registry name or dotted path, a function declared with
                :func:`pypeline.module` (or Trakt's ``declared_inputs``/``declared_outputs``),
                or a :class:`~pypeline.BaseModule` subclass.
            configs: the module's configs, one dict (split into required and optional by its schema).
            inputs: input port -> the port feeding it, as data connections added here.
            execution: the ``execution:`` block (``{"backend": "dask"}``).
            retries: the module's own retries.
            timeout: the module's own timeout in seconds.
            description: a note on this module.

        Raises:
            FlowError: at once for an id used twice, a value that is not plain data, or a
                function or class the job folder could not import; anything else when the flow is built.
        """
        self._add_module(caller_site(), id, module, configs, inputs, execution, retries, timeout, description)
        return ModuleRef(id)

    def add(
        self,
        id: str,
        module: ModuleLike,
        *,
        configs: Mapping[str, Any] | None = None,
        inputs: Mapping[str, PortLike] | None = None,
        execution: Mapping[str, Any] | None = None,
        retries: int | None = None,
        timeout: float | None = None,
        description: str | None = None,
    ) -> Flow:
        """:meth:`module`, returning the flow for chaining (``Flow("x").add(...).add(...).run()``)."""
        self._add_module(caller_site(), id, module, configs, inputs, execution, retries, timeout, description)
        return self

    def connect(self, source: PortLike, target: PortLike) -> Flow:
        """Add the data connection ``source - target`` (an output port feeding an input port); returns the flow."""
        site = caller_site()
        text = f"{self._end(source, 'output', site)} - {self._end(target, 'input', site)}"
        self._parts.data.append((text, site))
        return self._changed()

    def control(
        self,
        source: ModuleRef | str,
        target: ModuleRef | str,
        *,
        order: int | str = 1,
        condition: str | None = None,
        type: str = "normal",
        port: str | None = None,
        **options: Any,
    ) -> Flow:
        """Add a control connection: when ``source``'s sub flow has finished, start ``target``'s; returns the flow.

        Args:
            source: a source, sink or solo module.
            target: a source or solo module (the start of another sub flow).
            order: 1, 2, ... or ``"Last"``: outgoing connections fire in ascending order.
            condition: an expression over globals and context (``"load__row_count > 0"``).
            type: ``normal``, ``iterate`` (once per item of ``source``'s list output) or ``start``.
            port: for ``iterate``, the list output of ``source`` (when it has several).
            **options: further keys of the connection mapping, as the flow format names them.
        """
        site = caller_site()
        src, dst = str(source), str(target)
        item: str | dict[str, Any]
        if type == "normal" and port is None and not options:
            item = f"{src} ({order}|{condition or ''}) {dst}"
        else:
            given = {"from": src, "to": dst, "type": type, "order": order, "condition": condition, "port": port,
                     **options}
            item = checked({k: v for k, v in given.items() if v is not None}, "the control connection", site)
        self._parts.control.append((item, site))
        return self._changed()

    # -- what the build reads -----------------------------------------------------------------

    def to_yaml(self) -> str:
        """The flow as YAML text: what ``<name>.yaml`` in its job folder holds, and what ``pype build`` takes."""
        data, _sites = self._parts.data_and_sites()
        return yaml_text(data)

    def document(self) -> FlowDocument:
        """The YAML text, its parsed document and the sites of its parts (what the build reads)."""
        if self._source is not None:
            return self._source
        data, sites = self._parts.data_and_sites()
        return generated_document(data, sites, self._parts.origin)

    def validate(self) -> None:
        """Check the flow as ``pype validate`` does, without writing anything.

        Raises:
            FlowError: the first problem, naming the Python line (or YAML line) that added the part.
        """
        plan_document(self.document(), self._modules_registry())

    def build(self, out: str | Path = "jobs") -> Path:
        """Check the flow and write its job folder ``out/<name>/``; return the folder.

        Raises:
            FlowError: the first problem, naming the Python line (or YAML line) that added the part;
                nothing is written then.
        """
        return build_document(self.document(), out, self._modules_registry())

    # -- internals --------------------------------------------------------------------------------

    def _modules_registry(self) -> Registry:
        if self._registry is None:
            self._registry = Registry()
        return self._registry

    def _changed(self) -> Flow:
        self._source = None
        return self

    def _forget(self, pointer: str) -> None:
        """Drop the finer sites a loaded flow had under ``pointer`` (a Python call now sets it)."""
        finer = self._parts.finer_sites
        for known in [p for p in finer if p == pointer or p.startswith(pointer + "/")]:
            del finer[known]

    def _add_module(
        self, site: Site, module_id: str, module: ModuleLike, configs: Mapping[str, Any] | None,
        inputs: Mapping[str, PortLike] | None, execution: Mapping[str, Any] | None, retries: int | None,
        timeout: float | None, description: str | None,
    ) -> None:
        known = self._parts.modules.get(module_id)
        if known is not None:
            raise PlanError(f"module id '{module_id}' is used twice (first at {known.site})", path=site.path,
                            line=site.line, expected="unique module ids")
        resolved = resolve_module(module, module_id, self._modules_registry(), site)
        item: dict[str, Any] = {"id": module_id, "name": resolved.name}
        if description is not None:
            item["description"] = description
        sections = split_configs(checked(dict(configs or {}), f"module '{module_id}': configs", site), resolved.cls)
        if sections:
            item["configs"] = sections
        if execution is not None:
            item["execution"] = checked(dict(execution), f"module '{module_id}': execution", site)
        for key, value in (("retries", retries), ("timeout", timeout)):
            if value is not None:
                item[key] = checked(value, f"module '{module_id}': {key}", site)
        wired = [(f"{self._end(source, 'output', site)} - {module_id}.{port}", site)
                 for port, source in (inputs or {}).items()]  # before adding: a refused call adds nothing
        self._parts.modules[module_id] = ModulePart(item, site, resolved.cls)
        self._parts.data.extend(wired)
        self._changed()

    def _end(self, end: PortLike, side: str, site: Site) -> str:
        """``module.port`` of one end of a data connection; a bare module stands for its only port on ``side``."""
        if isinstance(end, Port):
            return str(end)
        text = str(end)
        if "." in text:
            return text
        module = self._parts.modules.get(text)
        if module is None:
            raise PlanError(f"data connection: unknown module '{text}'{did_you_mean(text, self.module_ids)}",
                            path=site.path, line=site.line, expected="the id of a module added before")
        cls = module.cls or registered_class(module.data["name"], self._modules_registry())
        ports = [] if cls is None else list(cls.OUTPUT_PORTS if side == "output" else cls.INPUT_PORTS)
        if len(ports) != 1:
            listed = ", ".join(ports) or "none known"
            raise PlanError(
                f"data connection: module '{text}' has {len(ports)} {side} ports ({listed}); name one",
                path=site.path, line=site.line, expected=f"a port such as {text}[\"{ports[0] if ports else 'port'}\"]",
            )
        return f"{text}.{ports[0]}"

    # -- running ------------------------------------------------------------------------------------

    def run(
        self,
        out: str | Path = "jobs",
        *,
        env: str = "default",
        overrides: Mapping[str, Any] | None = None,
        run_id: str | None = None,
        resume: bool | str = False,
        threads: int | None = None,
        progress: str = "none",
        echo_logs: bool = False,
        log_level: str = "info",
    ) -> RunReport:
        """Build the job folder under ``out`` and run it; the options are those of :func:`pypeline.run`.

        Raises:
            FlowError: when the flow does not build (nothing runs then).
            JobError: for an unknown context, a run id in use, ...
        """
        folder = self.build(out)
        return run_with(folder, RunSettings(
            env=env, overrides=dict(overrides or {}), run_id=run_id, resume=resume, threads=threads,
            progress=progress, echo_logs=echo_logs, log_level=log_level,
        ))

    async def run_async(
        self,
        out: str | Path = "jobs",
        *,
        env: str = "default",
        overrides: Mapping[str, Any] | None = None,
        run_id: str | None = None,
        resume: bool | str = False,
        threads: int | None = None,
        progress: str = "none",
        echo_logs: bool = False,
        log_level: str = "info",
    ) -> RunReport:
        """:meth:`run` for async code (the run shares the caller's event loop)."""
        folder = self.build(out)
        return await run_with_async(folder, RunSettings(
            env=env, overrides=dict(overrides or {}), run_id=run_id, resume=resume, threads=threads,
            progress=progress, echo_logs=echo_logs, log_level=log_level,
        ))
