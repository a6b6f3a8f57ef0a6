"""What a flow does with its outputs: two sinks on one path (an error), outputs nobody reads (a warning).

* Two sinks that write the same path would replace each other's output (the
  last to finish wins, and which one that is depends on timing): the build
  refuses it, naming both modules. Paths are compared after normalising
  (``out/./x.csv`` is ``out/x.csv``); a path that holds a template is known
  at run time only and is not compared.
* A source or transform whose outputs no module reads, and none of whose
  globals a template or condition reads, does work that is thrown away:
  usually a connection was forgotten. The build warns (``warning:`` on
  stderr) and goes on.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from pypeline.build.load.flow_spec import FlowSpec
from pypeline.core.errors import PlanError
from pypeline.core.templates import has_templates
from pypeline.job.globals_read import globals_read
from pypeline.job.spec import ControlEdge, DataEdge, ModuleSpec
from pypeline.modules.file_configs import PATH_KEY, file_configs


def check_sink_paths(flow: FlowSpec, modules: dict[str, ModuleSpec]) -> None:
    """Refuse two sinks that write one path.

    Raises:
        PlanError: at the second sink's line, naming both sinks and the path.
    """
    writers: dict[str, str] = {}
    for spec in modules.values():
        if spec.type != "sink":
            continue
        for path in file_configs(spec.type, spec.configs)[1]:
            if has_templates(path):
                continue
            key = os.path.normpath(os.path.abspath(path))
            first = writers.setdefault(key, spec.id)
            if first != spec.id:
                raise PlanError(
                    f"modules '{first}' and '{spec.id}' both write {path}: one would replace the other's output",
                    path=flow.path, line=_path_line(flow, spec), expected="one output path per sink",
                )


def _path_line(flow: FlowSpec, spec: ModuleSpec) -> int | None:
    keys = sorted(key for key in spec.configs if PATH_KEY.search(key))
    lines = [flow.config_lines[(spec.id, key)] for key in keys if (spec.id, key) in flow.config_lines]
    return lines[0] if lines else spec.line


def unread_outputs(
    modules: dict[str, ModuleSpec], data_edges: Iterable[DataEdge], control_edges: tuple[ControlEdge, ...]
) -> list[str]:
    """A warning per source or transform whose outputs and globals nothing reads (see the module docstring)."""
    read = {edge.src for edge in data_edges} | {edge.src for edge in control_edges if edge.type == "iterate"}
    globals_used = globals_read(modules, control_edges, modules)
    warnings = []
    for spec in modules.values():
        if spec.type not in ("source", "mod") or not spec.output_ports or spec.id in read or spec.id in globals_used:
            continue
        ports = ", ".join(f"'{p}'" for p in spec.output_ports)
        warnings.append(
            f"module '{spec.id}' ({spec.name}): no module reads its output ({ports}) and no template or condition "
            "reads its globals, so its work is thrown away; connect it, or remove it"
        )
    return warnings
