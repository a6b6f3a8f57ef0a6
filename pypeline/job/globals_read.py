"""Which globals of each module the flow reads (in a template or a condition).

In ``execution_mode: dask`` a transform or source returns a lazy frame and
leaves ``row_count`` unset: counting would compute the frame (docs/dask-mode.md,
row counts). When the flow reads that count anyway (``read__row_count > 0``),
the run counts the rows of the module's output after it ran, and only then
(the run's node runner, ``count_rows_read_later``); this map says
when.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from pypeline.core.expressions import parse_expression
from pypeline.core.references import Reference
from pypeline.core.templates import find_templates
from pypeline.job.spec import ControlEdge, ModuleSpec


def globals_read(
    modules: Mapping[str, ModuleSpec], control_edges: Iterable[ControlEdge], templated: Iterable[str]
) -> dict[str, frozenset[str]]:
    """Module id -> the (lower-case) names of its globals that a template or a condition of the flow reads."""
    refs: list[Reference] = []
    for module_id in templated:
        refs.extend(ref for _key, _raw, ref in find_templates(modules[module_id].configs))
    for edge in control_edges:
        if edge.condition:
            refs.extend(parse_expression(edge.condition).references)
    by_lower = {module_id.lower(): module_id for module_id in modules}
    read: dict[str, set[str]] = defaultdict(set)
    for ref in refs:
        if ref.kind == "global" and ref.module.lower() in by_lower:
            read[by_lower[ref.module.lower()]].add(ref.name.lower())
    return {module_id: frozenset(names) for module_id, names in read.items()}
