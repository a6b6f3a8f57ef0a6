"""Build Python data from libyaml's event stream, with positions and limits.

The stack-based builder behind :mod:`pypeline.build.load.yaml_source` (its
docstring says why events and not a composed node tree): it records the line
and column of every JSON pointer and refuses alias bombs, deep nesting,
duplicate keys and non-standard tags as it goes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import yaml

from pypeline.core.errors import FlowSyntaxError

MAX_ALIAS_VALUES = 1_000_000
"""How many values aliases may add to a document in all (an honest file's own size is bounded by its bytes)."""
MAX_DEPTH = 64

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


class EventBuilder:
    """Turns libyaml events into Python data, recording positions and enforcing limits."""

    def __init__(self, doc: YamlDocument) -> None:
        self.doc = doc
        self.positions = doc.positions
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.expanded = 0
        """Values the aliases read so far add (each alias adds a copy of its anchor's value, nested ones included)."""
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
                self._expand(found[1], event.start_mark)
                self._add(found[0], found[1], event.start_mark)
            elif kind is yaml.DocumentStartEvent:
                self.documents += 1
                if self.documents > 1:
                    raise self.fail("the file holds more than one YAML document ('---')", event.start_mark,
                                    expected="one flow per file")

    def _expand(self, size: int, mark: Any) -> None:
        """Count what an alias adds; refuse a document whose aliases add more than :data:`MAX_ALIAS_VALUES`.

        Only expansion counts: values written in the file cost their bytes, which
        :data:`~pypeline.build.load.yaml_source.MAX_BYTES` bounds, so a large file
        without aliases (100,000 modules) loads, while nested aliases, whose
        expansion grows geometrically with the file, stop before anything is copied.
        """
        self.expanded += size
        if self.expanded > MAX_ALIAS_VALUES:
            raise self.fail(
                f"the YAML expands to more than {MAX_ALIAS_VALUES:,} values (an alias bomb?)", mark,
                expected="a flow without runaway aliases",
            )

    def _open(self, event: Any, is_map: bool) -> None:
        mark = event.start_mark
        if len(self.stack) >= MAX_DEPTH:
            raise self.fail(f"the YAML nests deeper than {MAX_DEPTH} levels", mark)
        tag = event.tag
        if tag is not None and tag != "!" and tag != (_MAP_TAG if is_map else _SEQ_TAG):
            raise self.fail(f"the tag '{_shown(tag)}' is not allowed", mark, expected="plain YAML without tags")
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
