"""Read a flow YAML into plain Python data plus a map of where each value is.

Every later message must name a line, so the loader keeps, for each JSON
pointer (``/modules/2/configs/required/file_path``), the line and column of
that entry (the key's position for a mapping entry, the item's for a list
item).

It does not let PyYAML compose a node tree: libyaml's composer recurses in C
and a file nested a few hundred thousand levels deep crashes the process.
Instead it reads libyaml's flat event stream (``yaml.parse``) and builds the
data with an explicit stack, which also makes every hostile input end in one
:class:`~pypeline.core.errors.FlowSyntaxError` within seconds:

* files larger than :data:`MAX_BYTES`; bytes that are not UTF-8; NUL characters;
* nesting deeper than :data:`MAX_DEPTH` (refused as soon as the parser gets there);
* alias bombs ("billion laughs"): an alias re-uses the anchored value, and
  the loader counts the values the document would expand to; more than
  :data:`MAX_NODES` is refused before anything is expanded;
* duplicate keys in a mapping (YAML would silently keep the last one);
* tags other than YAML's standard scalar ones (``!!python/object`` and the like).

Scalars are typed as PyYAML's safe loader types them (YAML 1.1: ``yes`` is
``true``, ``1_000`` is ``1000``); dates and times (``created: 2025-01-15``)
become ISO strings. Merge keys (``<<: *defaults``) work as in PyYAML: keys
written in the mapping win over merged ones.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pypeline.core.errors import FlowSyntaxError

MAX_BYTES = 16 * 1024 * 1024
MAX_NODES = 1_000_000
MAX_DEPTH = 64

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_TAG}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}
_MAP_TAG = f"{_TAG}map"
_SEQ_TAG = f"{_TAG}seq"
_MERGE = object()


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
    token = str(key)
    if "~" in token or "/" in token:
        token = token.replace("~", "~0").replace("/", "~1")
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
            expected="a smaller flow file",
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
    if len(raw) > MAX_BYTES:
        raise FlowSyntaxError(
            f"flow text is {len(raw) / 1e6:.1f} MB, larger than the {MAX_BYTES // (1024 * 1024)} MiB limit",
            path=path,
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise FlowSyntaxError(
            f"byte 0x{raw[exc.start]:02x} is not valid UTF-8",
            path=path,
            line=line,
            column=column,
            expected="a UTF-8 encoded text file",
        ) from None
    return parse_yaml_text(text, path)


def parse_yaml_text(text: str, path: str) -> YamlDocument:
    """Parse YAML text into a :class:`YamlDocument`.

    Raises:
        FlowSyntaxError: for bad YAML (with line and column) or hostile structure.
    """
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        column = nul - (text.rfind("\n", 0, nul) + 1) + 1
        raise FlowSyntaxError(
            "the file holds a NUL character; is it a binary file?",
            path=path,
            line=line,
            column=column,
            expected="a YAML text file",
        )
    doc = YamlDocument(path=path, data=None, text=text)
    builder = _Builder(doc)
    try:
        builder.consume(yaml.parse(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, text, path) from None
    except yaml.YAMLError as exc:
        raise FlowSyntaxError(f"YAML syntax error: {exc}", path=path) from None
    if not builder.has_root:
        raise FlowSyntaxError("the flow file is empty", path=path, expected="a mapping with 'flow' and 'modules'")
    doc.data = builder.root
    return doc


def _syntax_error(exc: yaml.MarkedYAMLError, text: str, path: str) -> FlowSyntaxError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "invalid YAML"
    context = f" ({exc.context})" if exc.context and exc.problem else ""
    line = mark.line + 1 if mark else None
    column = mark.column + 1 if mark else None
    expected = None
    if mark is not None and _char_at(text, mark.line, mark.column) == "\t":
        problem = "a tab character where YAML expects spaces"
        context = ""
        expected = "spaces for indentation"
    return FlowSyntaxError(f"YAML syntax error: {problem}{context}", path=path, line=line, column=column,
                           expected=expected)


def _char_at(text: str, line: int, column: int) -> str:
    start = 0
    for _ in range(line):
        start = text.find("\n", start) + 1
        if start == 0:
            return ""
    index = start + column
    return text[index] if index < len(text) else ""


def _shown(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


class _Frame:
    """An open mapping or sequence while its events are read."""

    __slots__ = ("anchor", "container", "key", "key_line", "merges", "pointer", "size", "start")

    def __init__(self, container: Any, pointer: str, anchor: str | None, start: tuple[int, int]) -> None:
        self.container = container
        self.pointer = pointer
        self.anchor = anchor
        self.start = start
        self.size = 1
        self.key: Any = None
        self.key_line: tuple[int, int] = start
        self.merges: list[dict[str, Any]] = []


class _Builder:
    """Turns libyaml events into Python data, recording positions and enforcing limits."""

    def __init__(self, doc: YamlDocument) -> None:
        self.doc = doc
        self.positions = doc.positions
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.count = 0
        self.root: Any = None
        self.has_root = False
        self.documents = 0
        self._plain_cache: dict[str, Any] = {}
        self._constructor = yaml.SafeLoader("")
        self._resolvers = yaml.SafeLoader.yaml_implicit_resolvers

    def fail(self, what: str, mark: Any, expected: str | None = None) -> FlowSyntaxError:
        return FlowSyntaxError(
            what, path=self.doc.path, line=mark.line + 1, column=mark.column + 1, expected=expected
        )

    def consume(self, events: Any) -> None:
        scalar, alias = yaml.ScalarEvent, yaml.AliasEvent
        map_start, seq_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
        collection_end = yaml.CollectionEndEvent
        for event in events:
            kind = type(event)
            if kind is scalar:
                self._count(1, event.start_mark)
                stack = self.stack
                if stack and stack[-1].key is None and type(stack[-1].container) is dict:
                    # A key is a name: keep its text (YAML 1.1 would turn ``on:`` into true).
                    value = event.value
                    is_merge = value == "<<" and event.implicit[0] and event.tag is None
                else:
                    value = self._scalar(event)
                    is_merge = False
                if event.anchor is not None:
                    self.anchors[event.anchor] = (value, 1)
                self._add(value, 1, event.start_mark, is_merge_key=is_merge)
            elif kind is map_start or kind is seq_start:
                self._open(event, kind is map_start)
            elif issubclass(kind, collection_end):
                self._close()
            elif kind is alias:
                found = self.anchors.get(event.anchor)
                if found is None and any(frame.anchor == event.anchor for frame in self.stack):
                    raise self.fail(f"alias '*{event.anchor}' is used inside its own anchor (a recursive structure)",
                                    event.start_mark, expected="data without cycles")
                if found is None:
                    raise self.fail(f"unknown alias '*{event.anchor}'", event.start_mark,
                                    expected=f"an anchor '&{event.anchor}' defined before it")
                self._count(found[1], event.start_mark)
                self._add(found[0], found[1], event.start_mark)
            elif kind is yaml.DocumentStartEvent:
                self.documents += 1
                if self.documents > 1:
                    raise self.fail("the file holds more than one YAML document ('---')", event.start_mark,
                                    expected="one flow per file")

    def _count(self, size: int, mark: Any) -> None:
        self.count += size
        if self.count > MAX_NODES:
            raise self.fail(
                f"the YAML expands to more than {MAX_NODES:,} values (an alias bomb?)", mark,
                expected="a flow without runaway aliases",
            )

    def _open(self, event: Any, is_map: bool) -> None:
        mark = event.start_mark
        if len(self.stack) >= MAX_DEPTH:
            raise self.fail(f"the YAML nests deeper than {MAX_DEPTH} levels", mark)
        tag = event.tag
        if tag is not None and tag != "!" and tag != (_MAP_TAG if is_map else _SEQ_TAG):
            raise self.fail(f"the tag '{_shown(tag)}' is not allowed", mark, expected="plain YAML without tags")
        self._count(1, mark)
        pointer = self._child_pointer(mark)
        frame = _Frame({} if is_map else [], pointer, event.anchor, (mark.line + 1, mark.column + 1))
        self.stack.append(frame)

    def _close(self) -> None:
        frame = self.stack.pop()
        value = frame.container
        if isinstance(value, dict) and frame.merges:
            merged: dict[str, Any] = {}
            for source in frame.merges:
                merged.update(source)
            merged.update(value)
            value = merged
        if frame.anchor is not None:
            self.anchors[frame.anchor] = (value, frame.size)
        self._add(value, frame.size, None, start=frame.start)

    def _child_pointer(self, mark: Any) -> str:
        """Pointer of the next value of the innermost open collection (a container being opened)."""
        if not self.stack:
            return ""
        parent = self.stack[-1]
        if isinstance(parent.container, list):
            return pointer_join(parent.pointer, len(parent.container))
        if parent.key is None:
            raise self.fail("mapping keys must be plain strings", mark)
        if parent.key is _MERGE:
            return parent.pointer
        return pointer_join(parent.pointer, parent.key)

    def _add(
        self, value: Any, size: int, mark: Any, *, is_merge_key: bool = False, start: tuple[int, int] | None = None
    ) -> None:
        position = start or (mark.line + 1, mark.column + 1)
        if not self.stack:
            self.root = value
            self.has_root = True
            self.positions.setdefault("", position)
            return
        parent = self.stack[-1]
        parent.size += size
        container = parent.container
        if isinstance(container, list):
            self.positions.setdefault(pointer_join(parent.pointer, len(container)), position)
            container.append(value)
            return
        if parent.key is None:  # this value is a key
            if is_merge_key:
                parent.key = _MERGE
                return
            if isinstance(value, (dict, list)) or value is None:
                raise FlowSyntaxError(
                    "mapping keys must be plain strings", path=self.doc.path, line=position[0], column=position[1]
                )
            key = value if isinstance(value, str) else (str(value).lower() if isinstance(value, bool) else str(value))
            if key in container:
                raise FlowSyntaxError(
                    f"duplicate key '{key}' (YAML would keep only the last one)",
                    path=self.doc.path, line=position[0], column=position[1], expected="each key once per mapping",
                )
            parent.key = key
            parent.key_line = position
            return
        key = parent.key
        parent.key = None
        if key is _MERGE:
            self._merge(parent, value, position)
            return
        self.positions.setdefault(pointer_join(parent.pointer, key), parent.key_line)
        container[key] = value

    def _merge(self, parent: _Frame, value: Any, position: tuple[int, int]) -> None:
        sources = value if isinstance(value, list) else [value]
        if not all(isinstance(s, dict) for s in sources):
            raise FlowSyntaxError(
                "a merge key '<<' needs a mapping or a list of mappings",
                path=self.doc.path, line=position[0], column=position[1],
            )
        # Earlier sources win over later ones; keys written in the mapping win over all.
        parent.merges.extend(reversed(sources))

    def _scalar(self, event: Any) -> Any:
        tag, text = event.tag, event.value
        if tag is None:
            if not event.implicit[0]:  # quoted or block scalar
                return text
            cached = self._plain_cache.get(text)
            if cached is not None or text in self._plain_cache:
                return cached
            tag = self._resolve(text)
            value = text if tag in (f"{_TAG}str", f"{_TAG}merge") else self._construct(tag, event)
            self._plain_cache[text] = value
            return value
        if tag == "!":
            return text
        if tag not in _SCALAR_TAGS:
            raise self.fail(
                f"the tag '{_shown(tag)}' is not allowed", event.start_mark, expected="plain YAML without tags"
            )
        return self._construct(tag, event)

    def _resolve(self, text: str) -> str:
        resolvers = self._resolvers.get(text[0] if text else "", []) + self._resolvers.get(None, [])
        for tag, regexp in resolvers:
            if regexp.match(text):
                return str(tag)
        return f"{_TAG}str"

    def _construct(self, tag: str, event: Any) -> Any:
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            value = self._constructor.yaml_constructors[tag](self._constructor, node)
        except (yaml.YAMLError, ValueError) as exc:
            raise self.fail(f"bad {tag.removeprefix(_TAG)} value {event.value!r}: {exc}", event.start_mark) from None
        if isinstance(value, (dt.date, dt.datetime)):
            return value.isoformat()
        return value
