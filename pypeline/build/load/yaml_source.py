"""Read a flow YAML into plain Python data plus a map of where each value is.

Every later message must name a line, so the loader keeps, for each JSON
pointer (``/modules/2/configs/required/file_path``), the line and column
where that value starts. It composes the YAML node tree with libyaml when
available and builds the data itself, which also lets it refuse hostile
input with one clear message instead of hanging or crashing:

* files larger than :data:`MAX_BYTES`, and bytes that are not UTF-8;
* alias bombs: the expanded document may hold at most :data:`MAX_NODES` values;
* nesting deeper than :data:`MAX_DEPTH`;
* duplicate keys in a mapping (YAML would silently keep the last one).

Dates and times YAML recognises (``created: 2025-01-15``) become ISO strings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pypeline.core.errors import FlowSyntaxError

MAX_BYTES = 50 * 1024 * 1024
MAX_NODES = 1_000_000
MAX_DEPTH = 64

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # type: ignore[assignment]


@dataclass(slots=True)
class YamlDocument:
    """A parsed YAML document and where its values are."""

    path: str
    data: Any
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)
    text: str = ""

    def line_of(self, pointer: str) -> int | None:
        """1-based line of the value at ``pointer``, or of its closest parent that has one."""
        while True:
            pos = self.positions.get(pointer)
            if pos is not None:
                return pos[0]
            if not pointer:
                return None
            pointer = pointer.rsplit("/", 1)[0]

    def column_of(self, pointer: str) -> int | None:
        """1-based column of the value at ``pointer`` (None when unknown)."""
        pos = self.positions.get(pointer)
        return pos[1] if pos else None


def pointer_join(base: str, key: str | int) -> str:
    """Append one JSON pointer token (escaping ``~`` and ``/``)."""
    token = str(key).replace("~", "~0").replace("/", "~1")
    return f"{base}/{token}"


def read_yaml_file(path: str | Path) -> YamlDocument:
    """Read and parse ``path`` (see the module docstring for the limits).

    Raises:
        FlowSyntaxError: for a missing or unreadable file, bad encoding or bad YAML.
    """
    shown = str(path)
    file = Path(path)
    try:
        size = file.stat().st_size
    except FileNotFoundError:
        raise FlowSyntaxError("flow file not found", path=shown) from None
    except OSError as exc:
        raise FlowSyntaxError(f"cannot read the flow file: {exc.strerror}", path=shown) from exc
    if file.is_dir():
        raise FlowSyntaxError("is a folder, expected a flow YAML file", path=shown)
    if size > MAX_BYTES:
        raise FlowSyntaxError(
            f"flow file is {size / 1e6:.1f} MB, larger than the {MAX_BYTES // (1024 * 1024)} MiB limit",
            path=shown,
        )
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise FlowSyntaxError(f"cannot read the flow file: {exc.strerror}", path=shown) from exc
    return parse_yaml_bytes(raw, shown)


def parse_yaml_bytes(raw: bytes, path: str) -> YamlDocument:
    """Decode (UTF-8, BOM allowed) and parse YAML bytes.

    Raises:
        FlowSyntaxError: for bad encoding or YAML.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise FlowSyntaxError(
            f"byte 0x{raw[exc.start]:02x} is not valid UTF-8", path=path, line=line, column=column,
            expected="a UTF-8 encoded file",
        ) from None
    return parse_yaml_text(text, path)


def parse_yaml_text(text: str, path: str) -> YamlDocument:
    """Parse YAML text into a :class:`YamlDocument`.

    Raises:
        FlowSyntaxError: for bad YAML (with line and column) or hostile structure.
    """
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise FlowSyntaxError("the file holds a NUL character; is it a binary file?", path=path, line=line)
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        raise FlowSyntaxError(
            f"YAML syntax error: {problem}{context}",
            path=path,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise FlowSyntaxError(f"YAML syntax error: {exc}", path=path) from None
    except RecursionError:
        raise FlowSyntaxError(f"the YAML nests deeper than {MAX_DEPTH} levels", path=path) from None
    doc = YamlDocument(path=path, data=None, text=text)
    if node is None:
        raise FlowSyntaxError("the flow file is empty", path=path, expected="a mapping with 'flow' and 'modules'")
    builder = _Builder(doc)
    doc.data = builder.build(node, "", 0)
    return doc


class _Builder:
    """Turns a composed node tree into Python data, recording positions and enforcing limits."""

    def __init__(self, doc: YamlDocument) -> None:
        self.doc = doc
        self.count = 0
        self.constructor = yaml.SafeLoader("")  # for scalar resolution only

    def build(self, node: yaml.Node, pointer: str, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise FlowSyntaxError(
                f"the YAML expands to more than {MAX_NODES:,} values (an alias bomb?)",
                path=self.doc.path,
                line=node.start_mark.line + 1,
            )
        if depth > MAX_DEPTH:
            raise FlowSyntaxError(
                f"the YAML nests deeper than {MAX_DEPTH} levels", path=self.doc.path, line=node.start_mark.line + 1
            )
        if pointer not in self.doc.positions:
            self.doc.positions[pointer] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, pointer, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, pointer_join(pointer, i), depth + 1) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _mapping(self, node: yaml.MappingNode, pointer: str, depth: int) -> dict[Any, Any]:
        self.constructor.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self._scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if key is None or isinstance(key, (list, dict)):
                raise FlowSyntaxError(
                    "mapping keys must be plain strings", path=self.doc.path, line=key_node.start_mark.line + 1
                )
            if not isinstance(key, str):
                key = str(key).lower() if isinstance(key, bool) else str(key)
            if key in result:
                raise FlowSyntaxError(
                    f"duplicate key '{key}' (YAML would keep only the last one)",
                    path=self.doc.path,
                    line=key_node.start_mark.line + 1,
                    column=key_node.start_mark.column + 1,
                )
            result[key] = self.build(value_node, pointer_join(pointer, key), depth + 1)
        return result

    def _scalar(self, node: yaml.Node) -> Any:
        try:
            value = self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise FlowSyntaxError(f"bad value: {exc}", path=self.doc.path, line=node.start_mark.line + 1) from None
        if isinstance(value, (dt.date, dt.datetime)):
            return value.isoformat()
        if isinstance(value, bytes):
            raise FlowSyntaxError("binary values are not allowed", path=self.doc.path, line=node.start_mark.line + 1)
        if isinstance(value, float) and value != value:  # .nan
            return value
        return value
