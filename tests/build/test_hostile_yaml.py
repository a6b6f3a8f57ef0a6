"""Hostile YAML ends in one clear FlowSyntaxError within seconds: never a hang, a crash or a RecursionError.

Wall times are asserted loosely (10 s) only as a guard against a hang; the
real figures are a fraction of a second.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from pypeline.build.load import yaml_events, yaml_source
from pypeline.build.load.yaml_source import parse_yaml_text, read_yaml_file
from pypeline.core.errors import FlowSchemaError, FlowSyntaxError
from tests.conftest import invoke

GUARD_SECONDS = 10


def billion_laughs(levels: int = 9) -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + f"\nflow: {{name: boom}}\nmodules: [*l{levels}]\n"


def write(path: Path, data: str | bytes) -> Path:
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def load_timed(path: Path) -> FlowSyntaxError:
    start = time.monotonic()
    with pytest.raises(FlowSyntaxError) as info:
        read_yaml_file(path)
    assert time.monotonic() - start < GUARD_SECONDS
    return info.value


class TestHostileInput:
    def test_alias_bomb(self, tmp_path: Path) -> None:
        error = load_timed(write(tmp_path / "bomb.yaml", billion_laughs()))
        assert str(error).startswith(f"{tmp_path / 'bomb.yaml'}:")
        assert "the YAML expands to more than 1,000,000 values (an alias bomb?)" in str(error)

    def test_only_what_aliases_add_counts(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Values written out cost bytes (MAX_BYTES bounds them); the alias limit counts expansion only."""
        monkeypatch.setattr(yaml_events, "MAX_ALIAS_VALUES", 100)
        honest = parse_yaml_text("a: [" + "x, " * 500 + "]\nb: {" + ", ".join(f"k{i}: {i}" for i in range(500)) + "}\n",
                                 "f.yaml")
        assert len(honest.data["a"]) == 500 and len(honest.data["b"]) == 500
        # an anchor of 10 values (a list and its 9 items), used 10 times: 100 values added, the limit
        used = "base: &b [1, 2, 3, 4, 5, 6, 7, 8, 9]\nuses: [" + ", ".join(["*b"] * 10) + "]\n"
        assert len(parse_yaml_text(used, "f.yaml").data["uses"]) == 10
        with pytest.raises(FlowSyntaxError, match=r"^f\.yaml:2:\d+: the YAML expands to more than 100 values"):
            parse_yaml_text(used.replace("*b]", "*b, *b]"), "f.yaml")

    @pytest.mark.slow
    def test_a_million_values_without_aliases_load(self) -> None:
        """The old count refused any file of more than 1,000,000 values (100,000 modules) as an alias bomb."""
        doc = parse_yaml_text("a:\n" + "- 0\n" * (yaml_events.MAX_ALIAS_VALUES + 1), "f.yaml")
        assert len(doc.data["a"]) == yaml_events.MAX_ALIAS_VALUES + 1

    def test_small_aliases_are_fine(self) -> None:
        doc = parse_yaml_text(billion_laughs(levels=3), "f.yaml")
        assert len(doc.data["l3"]) == 9 and doc.data["l3"][0][0][0] == ["lol"] * 9

    @pytest.mark.parametrize(
        ("label", "text"),
        [
            ("flow-sequences", "flow: " + "[" * 200_000 + "]" * 200_000 + "\n"),
            ("flow-mappings", "flow: " + "{a: " * 50_000 + "1" + "}" * 50_000 + "\n"),
            ("block-mappings", "".join("  " * i + f"k{i}:\n" for i in range(3000)) + "  " * 3000 + "v\n"),
            ("block-sequences", "".join("  " * i + "-\n" for i in range(3000)) + "  " * 3000 + "x\n"),
        ],
    )
    def test_deep_nesting(self, label: str, text: str, tmp_path: Path) -> None:
        error = load_timed(write(tmp_path / f"{label}.yaml", text))
        assert f"the YAML nests deeper than {yaml_source.MAX_DEPTH} levels" in str(error)

    def test_nesting_within_the_limit_is_fine(self) -> None:
        depth = yaml_source.MAX_DEPTH - 1
        doc = parse_yaml_text("[" * depth + "1" + "]" * depth, "f.yaml")
        value = doc.data
        for _ in range(depth - 1):
            value = value[0]
        assert value == [1]

    def test_file_over_the_size_limit(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        line = "  - {id: m, name: noop_mod}  # " + "x" * 200 + "\n"
        path = write(tmp_path / "huge.yaml", "modules:\n" + line * (yaml_source.MAX_BYTES // len(line) + 1))
        error = load_timed(path)
        assert str(error) == (
            f"{path}: flow file is {path.stat().st_size / 1e6:.1f} MB, larger than the 16 MiB limit "
            "(expected a smaller flow file)"
        )

    def test_not_utf8(self, tmp_path: Path) -> None:
        error = load_timed(write(tmp_path / "latin1.yaml", "flow:\n  name: café\n".encode("latin-1")))
        assert str(error) == f"{tmp_path / 'latin1.yaml'}:2:12: byte 0xe9 is not valid UTF-8 (expected a UTF-8 " \
            "encoded text file)"

    def test_utf16_is_not_utf8(self, tmp_path: Path) -> None:
        error = load_timed(write(tmp_path / "utf16.yaml", "flow: {name: x}\n".encode("utf-16")))
        assert "is not valid UTF-8" in str(error)

    def test_utf8_bom_is_accepted(self) -> None:
        from pypeline.build.load.yaml_source import parse_yaml_bytes

        assert parse_yaml_bytes(b"\xef\xbb\xbfflow: {name: x}\n", "f.yaml").data == {"flow": {"name": "x"}}

    def test_nul_byte(self, tmp_path: Path) -> None:
        error = load_timed(write(tmp_path / "nul.yaml", b"flow:\n  name: a\x00b\n"))
        assert str(error) == f"{tmp_path / 'nul.yaml'}:2:10: the file holds a NUL character; is it a binary file? " \
            "(expected a YAML text file)"

    @pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n"])
    def test_empty_file(self, text: str, tmp_path: Path) -> None:
        path = write(tmp_path / "empty.yaml", text)
        if text == "---\n":  # an explicit empty document is a null value: not a mapping
            from pypeline.build.load.flow_loader import load_flow

            with pytest.raises(FlowSchemaError, match=re.escape(f"{path}:2: the flow must be a mapping, got null")):
                load_flow(path)
            return
        error = load_timed(path)
        assert str(error) == f"{path}: the flow file is empty (expected a mapping with 'flow' and 'modules')"

    def test_recursive_alias(self) -> None:
        with pytest.raises(FlowSyntaxError, match=r"alias '\*a' is used inside its own anchor"):
            parse_yaml_text("a: &a [1, *a]\n", "f.yaml")

    def test_missing_file_and_folder(self, tmp_path: Path) -> None:
        with pytest.raises(FlowSyntaxError, match="flow file not found"):
            read_yaml_file(tmp_path / "nope.yaml")
        with pytest.raises(FlowSyntaxError, match="is a folder, expected a flow YAML file"):
            read_yaml_file(tmp_path)


class TestThroughTheCli:
    @pytest.mark.parametrize(
        ("name", "data", "message"),
        [
            ("bomb.yaml", billion_laughs(), "bomb.yaml:7:10: the YAML expands to more than 1,000,000 values"),
            ("deep.yaml", "flow: " + "[" * 100_000, "deep.yaml:1:70: the YAML nests deeper than 64 levels"),
            ("bin.yaml", b"\x89PNG\r\n\x1a\n\x00\x00", "bin.yaml:1:1: byte 0x89 is not valid UTF-8"),
            ("empty.yaml", b"", "empty.yaml: the flow file is empty"),
        ],
    )
    def test_exit_2_one_line(self, name: str, data: str | bytes, message: str, project: Path, cli: CliRunner) -> None:
        write(project / name, data)
        result = invoke(cli, "validate", name)
        assert result.exit_code == 2
        assert result.stderr.startswith("error: " + message)
        assert result.stderr.count("\n") == 1

    def test_deep_nesting_does_not_crash_the_process(self, tmp_path: Path) -> None:
        """Before the event-stream loader, libyaml's recursive composer segfaulted on this file."""
        write(tmp_path / "deep.yaml", "flow: " + "[" * 300_000 + "]" * 300_000 + "\n")
        pype = Path(sys.executable).with_name("pype")
        done = subprocess.run([str(pype), "validate", "deep.yaml"], cwd=tmp_path, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 2
        assert done.stderr == "error: deep.yaml:1:70: the YAML nests deeper than 64 levels\n"


class TestYamlSemantics:
    """The event-stream loader types values as PyYAML's safe loader does, and keeps positions."""

    def test_values_match_safe_load(self) -> None:
        import yaml

        text = (
            "a: 1\nb: [1, 2.5, 'x', yes, ~, null, 0x10, 1_000, .inf, -3, true, '1', \"on\"]\n"
            "c: {d: e, f: [g, {h: i}]}\ns: |\n  two\n  lines\nt: !!str 3\nu: !!int '4'\n"
        )
        assert parse_yaml_text(text, "f.yaml").data == yaml.safe_load(text)

    def test_dates_become_iso_strings(self) -> None:
        doc = parse_yaml_text("created: 2025-01-15\nat: 2025-01-15 10:20:30\n", "f.yaml")
        assert doc.data == {"created": "2025-01-15", "at": "2025-01-15T10:20:30"}

    def test_keys_keep_their_text(self) -> None:
        assert parse_yaml_text("on: 1\n1.0: x\nyes: y\n", "f.yaml").data == {"on": 1, "1.0": "x", "yes": "y"}

    def test_merge_keys(self) -> None:
        text = "base: &b {x: 1, y: 2}\nmore: &m {z: 9, x: 7}\nm:\n  <<: [*b, *m]\n  y: 3\n"
        assert parse_yaml_text(text, "f.yaml").data["m"] == {"x": 1, "y": 3, "z": 9}

    def test_positions(self) -> None:
        doc = parse_yaml_text("flow:\n  name: x\nmodules:\n  - id: a\n    name: b\n  - {id: c}\n", "f.yaml")
        assert doc.line_of("/flow/name") == 2
        assert doc.line_of("/modules/0") == 4
        assert doc.line_of("/modules/1/id") == 6
        assert doc.line_of("/modules/1/nothing/here") == 6
        assert doc.column_of("/modules/0/name") == 5

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("a: !!binary aGVsbG8=\n", "f.yaml:1:4: the tag '!!binary' is not allowed"),
            ("a: !custom x\n", "f.yaml:1:4: the tag '!custom' is not allowed"),
            ("? [a]\n: 1\n", "f.yaml:1:3: mapping keys must be plain strings"),
            ("a:\n  <<: 3\n", "f.yaml:2:7: a merge key '<<' needs a mapping or a list of mappings"),
            ("a: 1\na: 2\n", "f.yaml:2:1: duplicate key 'a'"),
        ],
    )
    def test_refused(self, text: str, message: str) -> None:
        with pytest.raises(FlowSyntaxError) as info:
            parse_yaml_text(text, "f.yaml")
        assert str(info.value).startswith(message)
