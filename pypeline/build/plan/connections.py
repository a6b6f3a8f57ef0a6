"""Parse connection strings and mappings into typed edges, and check them.

Data connections are written ``"a.port - b.port"`` (module ids of an
included flow hold dots, ``east.load.data``: the port is after the last
dot). Control connections are written as a string ``"a (order|condition) b"``
(``"a (1|) b"``, ``"a (Last|a__row_count > 0) b"``), optionally followed by
the type and its options in brackets (``"load (1|) alert [on_error, handled]"``,
``"files (1|) load [iterate, parallel=4]"``), or as a mapping::

    - {from: list_files, to: load_one, type: iterate, order: 1, parallel: 4}

Checks here: ids and ports exist, every input port is fed at most once and
required ones at least once, the category table of docs/flow-format.md, order 0
reserved, conditions parse, iterate connections leave a list output,
``handled`` only on ``on_error`` and ``parallel`` (1 or more) only on ``iterate``.
"""

from __future__ import annotations

import re
from typing import Any

from pypeline.build.load.connection_text import split_control, split_data
from pypeline.build.load.flow_spec import FlowSpec
from pypeline.core.errors import PlanError
from pypeline.core.expressions import ExpressionError, parse_expression
from pypeline.core.text import did_you_mean
from pypeline.job.spec import CONTROL_TYPES, ControlEdge, DataEdge, ModuleSpec

DATA_OUT = ("source", "mod")
DATA_IN = ("mod", "sink")
CONTROL_OUT = ("source", "sink", "solo")
CONTROL_IN = ("source", "solo")
LAST = "Last"


def parse_data_edges(flow: FlowSpec, modules: dict[str, ModuleSpec]) -> tuple[DataEdge, ...]:
    """Parse and check every data connection.

    Raises:
        PlanError: naming the connection, the rule and the line.
    """
    edges: list[DataEdge] = []
    fed: dict[tuple[str, str], DataEdge] = {}
    for index, (text, line) in enumerate(flow.raw_data_connections):
        at = flow.data_at(index, line)
        parts = split_data(text)
        if parts is None:
            raise PlanError(
                f"data connection {text!r} is not of the form 'module.port - module.port'",
                **at,
                expected="e.g. 'source_csv.data - filter.input'",
            )
        src, src_port, dst, dst_port = parts
        edge = DataEdge(src=src, src_port=src_port, dst=dst, dst_port=dst_port, line=line)
        _check_end(modules, edge, src, src_port, "output", at)
        _check_end(modules, edge, dst, dst_port, "input", at)
        if src == dst:
            raise PlanError(f"data connection '{edge}' connects '{src}' to itself", **at)
        if (dst, dst_port) in fed:
            raise PlanError(
                f"input port '{dst}.{dst_port}' is fed twice: by '{fed[(dst, dst_port)]}' "
                f"(line {fed[(dst, dst_port)].line}) and by '{edge}'",
                **at, expected="one connection per input port (use union_mod to merge)",
            )
        fed[(dst, dst_port)] = edge
        edges.append(edge)
    for spec in modules.values():
        for port in spec.input_ports:
            if port not in spec.optional_inputs and (spec.id, port) not in fed:
                raise PlanError(
                    f"module '{spec.id}' ({spec.name}): input port '{port}' is not connected",
                    **flow.module_at(spec.id, spec.line),
                    expected=f"a data connection 'some_module.port - {spec.id}.{port}'",
                )
    return tuple(edges)


def _check_end(
    modules: dict[str, ModuleSpec], edge: DataEdge, module_id: str, port: str, side: str, at: dict[str, Any]
) -> None:
    if module_id not in modules:
        raise PlanError(
            f"data connection '{edge}': unknown module '{module_id}'{did_you_mean(module_id, modules)}",
            **at, expected="the id of a module of this flow",
        )
    spec = modules[module_id]
    # The category rule first: "a source takes no data input" says more than "no input port 'data'".
    if side == "output" and spec.type not in DATA_OUT:
        raise PlanError(
            f"data connection '{edge}': '{module_id}' is a {spec.type} module, which has no data output "
            "(see docs/flow-format.md, 'Module categories')",
            **at, expected="a source or mod (transform) on the left",
        )
    if side == "input" and spec.type not in DATA_IN:
        raise PlanError(
            f"data connection '{edge}': '{module_id}' is a {spec.type} module, which takes no data input "
            "(see docs/flow-format.md, 'Module categories')",
            **at, expected="a mod (transform) or sink on the right",
        )
    ports = spec.output_ports if side == "output" else spec.input_ports
    if port not in ports:
        listed = ", ".join(ports) if ports else "none"
        raise PlanError(
            f"data connection '{edge}': module '{module_id}' ({spec.name}) has no {side} port "
            f"'{port}'{did_you_mean(port, ports)}",
            **at, expected=f"one of its {side} ports: {listed}",
        )


def parse_control_edges(
    flow: FlowSpec, modules: dict[str, ModuleSpec], subflow_of: dict[str, str]
) -> tuple[ControlEdge, ...]:
    """Parse and check every control connection; ``order: Last`` becomes max(order)+1 per sub flow.

    Raises:
        PlanError: naming the connection, the rule and the line.
    """
    parsed: list[dict[str, Any]] = []
    for index, (item, line) in enumerate(flow.raw_control_connections):
        fields = _control_fields(item, flow.control_at(index, line))
        fields.update(index=index, line=line)
        _check_control(flow, modules, subflow_of, fields)
        parsed.append(fields)
    max_order: dict[str, int] = {}
    for fields in parsed:
        if fields["order"] != LAST:
            key = subflow_of[fields["src"]]
            max_order[key] = max(max_order.get(key, 0), fields["order"])
    edges = []
    for fields in parsed:
        if fields["order"] == LAST:
            fields["order"] = max_order.get(subflow_of[fields["src"]], 0) + 1
        edges.append(ControlEdge(**fields))
    return tuple(edges)


def _category_problem(src: str, src_spec: ModuleSpec, dst: str, dst_spec: ModuleSpec) -> str | None:
    """The category rule (docs/flow-format.md) a control connection breaks, if any."""
    if src_spec.type not in CONTROL_OUT:
        return (
            f"'{src}' is a {src_spec.type} module; a control connection starts at a source, sink or solo "
            "module (see docs/flow-format.md, 'Module categories')"
        )
    if dst_spec.type not in CONTROL_IN:
        return (
            f"'{dst}' is a {dst_spec.type} module; a control connection ends at a source or solo module, "
            "the start of a sub flow (see docs/flow-format.md, 'Module categories')"
        )
    return None


def _control_fields(item: Any, at: dict[str, Any]) -> dict[str, Any]:
    if isinstance(item, str):
        parts = split_control(item)
        if parts is None:
            raise PlanError(
                f"control connection {item!r} is not of the form 'from (order|condition) to'",
                **at, expected="e.g. 'load (1|) report' or 'load (2|load__row_count > 0) mail'",
            )
        src, valve, dst, options = parts
        order_text, _, condition = valve.partition("|")
        order_text = order_text.strip()
        order: int | str
        if order_text == LAST:
            order = LAST
        elif order_text == "":
            order = 1
        else:
            try:
                order = int(order_text)
            except ValueError:
                raise PlanError(
                    f"control connection {item!r}: order {order_text!r} is not a whole number or 'Last'",
                    **at, expected="an order 1, 2, ... or Last",
                ) from None
        return {
            "src": src, "dst": dst, "order": order, "condition": condition.strip() or None,
            **_string_options(item, options or "", at),
        }
    order = item.get("order", 1)
    condition = item.get("condition")
    return {
        "src": item["from"], "dst": item["to"], "order": order,
        "condition": condition.strip() if isinstance(condition, str) and condition.strip() else None,
        "type": item.get("type", "normal"), "port": item.get("port"),
        "handled": item.get("handled", False), "parallel": item.get("parallel"),
    }


def _string_options(item: str, text: str, at: dict[str, Any]) -> dict[str, Any]:
    """The bracketed part of a string control connection: ``[on_error, handled]``, ``[iterate, parallel=4]``."""
    fields: dict[str, Any] = {"type": "normal", "port": None, "handled": False, "parallel": None}
    types: list[str] = []
    for word in (w.strip() for w in text.split(",")):
        name, sep, value = (part.strip() for part in word.partition("="))
        if not word:
            continue
        if not sep and name in CONTROL_TYPES:
            types.append(name)
        elif not sep and name == "handled":
            fields["handled"] = True
        elif sep and name == "port" and value:
            fields["port"] = value
        elif sep and name == "parallel" and re.fullmatch(r"-?\d+", value):
            fields["parallel"] = int(value)
        else:
            raise PlanError(
                f"control connection {item!r}: {word!r} is not a connection type or option"
                f"{did_you_mean(name, (*CONTROL_TYPES, 'handled', 'parallel', 'port'))}",
                **at,
                expected="a type (" + ", ".join(CONTROL_TYPES) + ") and options handled, parallel=N, port=NAME, "
                "e.g. '[on_error, handled]'",
            )
    if len(types) > 1:
        raise PlanError(
            f"control connection {item!r}: two types ({', '.join(types)})", **at,
            expected="one type per connection",
        )
    fields["type"] = types[0] if types else "normal"
    return fields


def _check_control(
    flow: FlowSpec, modules: dict[str, ModuleSpec], subflow_of: dict[str, str], fields: dict[str, Any]
) -> None:
    src, dst = fields["src"], fields["dst"]
    at = flow.control_at(fields["index"], fields["line"])
    shown = f"{src} ({fields['order']}|{fields['condition'] or ''}) {dst}"
    for module_id in (src, dst):
        if module_id not in modules:
            raise PlanError(
                f"control connection '{shown}': unknown module '{module_id}'{did_you_mean(module_id, modules)}",
                **at, expected="the id of a module of this flow",
            )
    if isinstance(fields["order"], int) and fields["order"] < 1:
        why = "is reserved for data connections" if fields["order"] == 0 else "is negative"
        raise PlanError(
            f"control connection '{shown}': order {fields['order']} {why}",
            **at, expected="an order of 1 or more, or Last",
        )
    if fields["type"] not in CONTROL_TYPES:
        raise PlanError(
            f"control connection '{shown}': unknown type {fields['type']!r}"
            f"{did_you_mean(str(fields['type']), CONTROL_TYPES)}",
            **at, expected=", ".join(CONTROL_TYPES),
        )
    _check_trigger_options(flow, shown, fields)
    src_spec, dst_spec = modules[src], modules[dst]
    category = _category_problem(src, src_spec, dst, dst_spec)
    if subflow_of[src] == subflow_of[dst]:
        also = f"; besides, {category}" if category else ""
        raise PlanError(
            f"control connection '{shown}': '{src}' and '{dst}' are in the same sub flow "
            f"('{subflow_of[src]}'); control connections link different sub flows, data connections "
            f"already order modules inside one{also}",
            **at, expected="remove this control connection",
        )
    if category:
        raise PlanError(
            f"control connection '{shown}': {category}",
            **at,
            expected="a control connection from a source, sink or solo module to a source or solo module",
        )
    if fields["condition"]:
        try:
            parse_expression(fields["condition"])
        except ExpressionError as exc:
            raise PlanError(
                f"control connection '{shown}': bad condition: {exc}", **at
            ) from None
    _check_port(flow, shown, src, src_spec, fields)


def _check_port(flow: FlowSpec, shown: str, src: str, src_spec: ModuleSpec, fields: dict[str, Any]) -> None:
    """An iterate connection reads one list output of ``src`` (its ``port``, named when there are several)."""
    at = flow.control_at(fields["index"], fields["line"])
    if fields["type"] == "iterate":
        lists = src_spec.list_outputs
        if not lists:
            raise PlanError(
                f"control connection '{shown}': an iterate connection needs a list output, and "
                f"'{src}' ({src_spec.name}) has none",
                **at, expected="a module with a list output such as file_list",
            )
        port = fields["port"]
        if port is None:
            if len(lists) > 1:
                raise PlanError(
                    f"control connection '{shown}': '{src}' has several list outputs ({', '.join(lists)})",
                    **at, expected="a 'port:' naming one of them",
                )
            fields["port"] = lists[0]
        elif port not in lists:
            raise PlanError(
                f"control connection '{shown}': '{port}' is not a list output of '{src}'{did_you_mean(port, lists)}",
                **at, expected="one of: " + ", ".join(lists),
            )
    elif fields["port"] is not None:
        raise PlanError(
            f"control connection '{shown}': 'port' is only meaningful for type iterate",
            **at,
        )


def _check_trigger_options(flow: FlowSpec, shown: str, fields: dict[str, Any]) -> None:
    """``handled`` belongs to ``on_error``, ``parallel`` (1 or more) to ``iterate``; ``parallel`` becomes an int."""
    kind = fields["type"]
    at = flow.control_at(fields["index"], fields["line"])
    if fields["handled"] and kind != "on_error":
        raise PlanError(
            f"control connection '{shown}': 'handled' is only meaningful for type on_error (this one is {kind})",
            **at, expected="type on_error, or no 'handled'",
        )
    parallel = fields["parallel"]
    if parallel is not None and kind != "iterate":
        raise PlanError(
            f"control connection '{shown}': 'parallel' is only meaningful for type iterate (this one is {kind})",
            **at, expected="type iterate, or no 'parallel'",
        )
    if parallel is not None and parallel < 1:
        raise PlanError(
            f"control connection '{shown}': parallel {parallel} would run no item",
            **at, expected="parallel: 1 or more (1 runs the items one after the other)",
        )
    fields["parallel"] = parallel or 1
    fields["handled"] = bool(fields["handled"])
