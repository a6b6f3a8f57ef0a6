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
  the loader counts the values aliases add to the document; more than
  :data:`MAX_ALIAS_VALUES` is refused before anything is expanded (values
  written out cost bytes, which :data:`MAX_BYTES` bounds);
* duplicate keys in a mapping (YAML would silently keep the last one);
* tags other than YAML's standard scalar ones (``!!python/object`` and the like).

Scalars are typed as PyYAML's safe loader types them (YAML 1.1: ``yes`` is
``true``, ``1_000`` is ``1000``); dates and times (``created: 2025-01-15``)
become ISO strings. Merge keys (``<<: *defaults``) work as in PyYAML: keys
written in the mapping win over merged ones.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from pypeline.build.load.yaml_events import MAX_ALIAS_VALUES, MAX_DEPTH, EventBuilder, YamlDocument, pointer_join
from pypeline.core.errors import FlowSyntaxError

MAX_BYTES = 16 * 1024 * 1024

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

__all__ = ["MAX_ALIAS_VALUES", "MAX_BYTES", "MAX_DEPTH", "YamlDocument", "parse_yaml_bytes", "parse_yaml_text",
           "pointer_join", "read_yaml_file"]


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
    builder = EventBuilder(doc)
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
    if problem == "exceeded maximum nesting depth" and mark is not None:
        return _depth_error(text[: mark.index], path) or FlowSyntaxError(
            f"the YAML nests deeper than {MAX_DEPTH} levels", path=path, line=line, column=column
        )
    if mark is not None and _char_at(text, mark.line, mark.column) == "\t":
        problem = "a tab character where YAML expects spaces"
        context = ""
        expected = "spaces for indentation"
    return FlowSyntaxError(f"YAML syntax error: {problem}{context}", path=path, line=line, column=column,
                           expected=expected)


def _depth_error(head: str, path: str) -> FlowSyntaxError | None:
    """Our own depth error for ``head``, the text before the point where libyaml gave up.

    libyaml >= 0.2.6 refuses 1,000 levels of flow nesting while scanning ahead, before the
    event stream reaches :data:`MAX_DEPTH`; the text before its mark holds no more than its
    limit, so reading it again lets our check name the first level too deep.
    """
    builder = EventBuilder(YamlDocument(path=path, data=None, text=head))
    try:
        builder.consume(yaml.parse(head, Loader=_Loader))
    except FlowSyntaxError as exc:
        return exc
    except yaml.YAMLError:
        return None
    return None


def _char_at(text: str, line: int, column: int) -> str:
    start = 0
    for _ in range(line):
        start = text.find("\n", start) + 1
        if start == 0:
            return ""
    index = start + column
    return text[index] if index < len(text) else ""
