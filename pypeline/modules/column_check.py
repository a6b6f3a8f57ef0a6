"""Column names through a flow, checked before anything runs.

Each module class may say which columns come out of it given those that come
in (``output_columns``) and which input columns its configs name
(``columns_used``; see :mod:`pypeline.modules.sdk.columns`). Walking the
modules in data order, :func:`check_columns` carries the known columns from
each output port to the inputs it feeds and reports every name a config uses
that is not among the columns known to reach that input::

    read (csv_source, column_names: [name, age, country])
      └─ adults (filter_mod, condition: "agee > 18")   unknown column 'agee'; did you mean 'age'?

Knowledge stops where a module cannot tell (a custom module, a source whose
columns are only in its files): the columns after it are unknown and nothing
that depends on them is judged, so the check never raises a false alarm.
Columns known only in part (a CSV source with ``dtypes`` for some columns)
are carried, but never make a name unknown.

The build runs it on the configs alone (``build/plan/columns.py``: a problem
fails the build). ``pype run --dry-run`` and ``pype validate --with-data``
also let sources read their columns from their data (``data_columns``, a
file header), with the context's values in the configs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pypeline.core.templates import has_templates
from pypeline.core.text import did_you_mean
from pypeline.job.spec import DataEdge, ModuleSpec
from pypeline.modules.loader import ModuleImportError, load_module_class
from pypeline.modules.sdk.columns import Columns

DataColumns = Callable[[ModuleSpec, type[Any], Mapping[str, Any]], "Columns | None"]
"""How a source's columns are read from its data (``None``: the configs alone decide)."""


@dataclass(frozen=True, slots=True)
class ColumnProblem:
    """A config naming a column that does not reach the module's input."""

    module_id: str
    config: str
    column: str
    message: str


@dataclass(slots=True)
class ColumnFlow:
    """What :func:`check_columns` found: the columns on each output port, and the problems."""

    outputs: dict[tuple[str, str], Columns | None] = field(default_factory=dict)
    problems: list[ColumnProblem] = field(default_factory=list)


def check_columns(
    modules: Mapping[str, ModuleSpec],
    data_edges: Iterable[DataEdge],
    order: Iterable[str],
    *,
    configs_of: Callable[[ModuleSpec], Mapping[str, Any]] | None = None,
    data_columns: DataColumns | None = None,
) -> ColumnFlow:
    """Carry columns along ``order`` (every module after those that feed it) and check each use.

    Args:
        modules: the flow's modules by id.
        data_edges: its data connections.
        order: module ids, each after the modules that feed it (the sub flows' waves).
        configs_of: the configs to judge (default: as written; the dry run passes them with
            the context's values filled in).
        data_columns: reads a source's columns from its data (dry run, ``validate --with-data``).
    """
    feeds: dict[str, list[DataEdge]] = defaultdict(list)
    for edge in data_edges:
        feeds[edge.dst].append(edge)
    flow = ColumnFlow()
    for module_id in order:
        spec = modules[module_id]
        configs = configs_of(spec) if configs_of is not None else spec.configs
        try:
            cls = load_module_class(spec.module_path)
        except ModuleImportError:
            cls = None
        inputs = {edge.dst_port: flow.outputs.get((edge.src, edge.src_port)) for edge in feeds[module_id]}
        outputs: Mapping[str, Columns | None] = {}
        if cls is not None:
            flow.problems.extend(_unknown_uses(spec, cls, configs, inputs))
            outputs = _outputs(spec, cls, configs, inputs, data_columns) or {}
        for port in spec.output_ports:
            flow.outputs[(module_id, port)] = _known(outputs.get(port))
    return flow


def _known(columns: Any) -> Columns | None:
    """``columns`` when it is a :class:`Columns` of plain names; a name still holding a template is unknown."""
    if not isinstance(columns, Columns) or any(has_templates(name) for name in columns.names):
        return None
    return columns


def _outputs(
    spec: ModuleSpec, cls: type[Any], configs: Mapping[str, Any], inputs: Mapping[str, Columns | None],
    data_columns: DataColumns | None,
) -> Mapping[str, Columns | None] | None:
    if data_columns is not None and spec.type == "source" and spec.output_ports:
        read = _declared(data_columns, spec, cls, configs)
        if read is not None:
            return {spec.output_ports[0]: read}
    declared: Mapping[str, Columns | None] | None = _declared(cls.output_columns, configs, inputs)
    return declared


def _unknown_uses(
    spec: ModuleSpec, cls: type[Any], configs: Mapping[str, Any], inputs: Mapping[str, Columns | None]
) -> list[ColumnProblem]:
    problems = []
    for use in _declared(cls.columns_used, configs) or []:
        known = inputs.get(use.port)
        if known is None or not known.complete or use.column in known:
            continue
        side = "its input" if len(spec.input_ports) == 1 else f"its input '{use.port}'"
        has = ", ".join(known.names) or "no columns"
        problems.append(ColumnProblem(
            module_id=spec.id, config=use.config, column=use.column,
            message=(f"module '{spec.id}' ({spec.name}), config '{use.config}': unknown column "
                     f"'{use.column}'{did_you_mean(use.column, known.names)} ({side} has: {has})"),
        ))
    return problems


def _declared(method: Callable[..., Any], *args: Any) -> Any:
    """What a module's declaration returns; ``None`` when it fails (a declaration never breaks a build)."""
    try:
        return method(*args)
    except Exception:  # a module's own code: opaque rather than a crash or a false alarm
        return None


def module_order(waves_of_subflows: Iterable[Iterable[Iterable[str]]]) -> list[str]:
    """Module ids in data order from each sub flow's waves."""
    return [module_id for waves in waves_of_subflows for wave in waves for module_id in wave]
