"""Column names checked at build time: an unknown column fails the build (exit 2) with file and line.

The walk itself is :func:`pypeline.modules.column_check.check_columns` (the
dry run uses it too); this file runs it on a flow being built and words its
first problem as a :class:`PlanError` at the line of the config that names the
column. ``pype validate --with-data`` adds what the sources' files say
(a CSV header, a Parquet schema), with the configs rendered in the
``default`` context.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pypeline.build.load.flow_spec import FlowSpec
from pypeline.core.errors import PlanError
from pypeline.core.templates import context_configs
from pypeline.job.plan import DEFAULT_ENV
from pypeline.job.spec import DataEdge, ModuleSpec, SubFlow
from pypeline.modules.column_check import check_columns, module_order
from pypeline.modules.sdk.columns import Columns


def check_flow_columns(
    flow: FlowSpec, modules: dict[str, ModuleSpec], data_edges: tuple[DataEdge, ...], subflows: dict[str, SubFlow],
    *, with_data: bool = False,
) -> None:
    """Raise a :class:`PlanError` for the first config naming a column that does not reach its module.

    Raises:
        PlanError: naming the module, the config, the unknown column, a close match and the known columns.
    """
    context = flow.context.get(DEFAULT_ENV, {})
    found = check_columns(
        modules, data_edges, module_order(sf.waves for sf in subflows.values()),
        configs_of=(lambda spec: context_configs(spec.configs, context)) if with_data else None,
        data_columns=_from_data if with_data else None,
    )
    if not found.problems:
        return
    first, others = found.problems[0], len(found.problems) - 1
    more = f" (and {others} more unknown column{'s' if others > 1 else ''})" if others else ""
    line = flow.config_lines.get((first.module_id, first.config.split(".")[0]), modules[first.module_id].line)
    raise PlanError(first.message + more, path=flow.path, line=line)


def _from_data(spec: ModuleSpec, cls: type[Any], configs: Mapping[str, Any]) -> Columns | None:
    columns: Columns | None = cls.data_columns(configs)
    return columns
