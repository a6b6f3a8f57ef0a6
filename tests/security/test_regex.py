"""Regular expressions from flows match in linear time (RE2); what needs backtracking is refused at build.

Python's ``re`` backtracks: ``^(a|aa)+$`` on 42 ``a`` and a ``!`` ran for 44 s
inside ``regex_filter_mod`` and reported success. These tests run such
patterns for real through ``pype`` and check that the build refuses the
patterns RE2 cannot run, with the file, line, module and reason.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from tests.conftest import FlowHarness, invoke
from tests.security.stalled_runs import REPO

PYPE = str(Path(sys.executable).with_name("pype"))


def regex_flow(pattern: str, *, match: str = "search", timeout: float = 3, extra: str = "") -> str:
    quoted = pattern.replace("'", "''")
    return f"""flow: {{name: rx}}
{extra}modules:
  - {{id: log, name: text_source, configs: {{required: {{file_path: data/in.txt}}}}}}
  - id: keep
    name: regex_filter_mod
    timeout: {timeout}
    configs:
      required: {{pattern: '{quoted}'}}
      optional: {{match: {match}}}
  - {{id: write, name: text_sink, configs: {{required: {{output_path: out/kept.txt}}}}}}
connections:
  data: ["log.data - keep.input", "keep.output - write.input"]
"""


REDOS = [  # each takes Python's re from minutes to years
    ("^(a|aa)+$", "a" * 42 + "!"),
    ("(a+)+$", "a" * 5000 + "!"),
    ("^(a|a)*b", "a" * 5000),
    ("(x+x+)+y", "x" * 5000),
    ("^(\\w+\\s?)*$", "word " * 2000 + "!"),
    ("(.*a){25}", "a" * 24 + "b" * 3000),
    ("^(([a-z])+.)+[A-Z]([a-z])+$", "a" * 5000),
]


class TestLinearTime:
    @pytest.mark.parametrize(("pattern", "line"), REDOS, ids=[p for p, _ in REDOS])
    async def test_catastrophic_patterns_take_milliseconds(
        self, flows: FlowHarness, data_dir: Path, pattern: str, line: str
    ) -> None:
        (data_dir / "in.txt").write_text(f"{line}\naaaa\n")
        result = await flows.run(regex_flow(pattern))
        assert result.status == "success", result.manifest["errors"]
        node = result.manifest["modules"]["keep"]
        # Python's re needs minutes to hours for each of these (exponential or high-degree polynomial);
        # a bound of seconds, not milliseconds, keeps a loaded machine from failing the test
        assert node["duration_ms"] < 2000, node
        assert (flows.root / "out" / "kept.txt").exists()

    async def test_the_reported_case_matches_like_re_would(self, flows: FlowHarness, data_dir: Path) -> None:
        (data_dir / "in.txt").write_text("a" * 42 + "!\naaaa\n" + "a" * 43 + "\n")
        result = await flows.run(regex_flow("^(a|aa)+$"))
        assert result.status == "success"
        assert (flows.root / "out" / "kept.txt").read_text().splitlines() == ["aaaa", "a" * 43]
        assert result.manifest["modules"]["keep"]["globals"] == {"row_count": 2, "rows_dropped": 1}


CASES = [
    ("search", "err", False, False),
    ("search", "^err", True, False),
    ("search", "(?i)warn|ERROR", False, False),
    ("search", "\\d{3}$", False, False),
    ("search", "^$", False, False),
    ("full", "[a-z ]+", False, False),
    ("full", "err|error.*", True, False),
    ("search", "(?P<word>o)", False, True),
    ("search", "é|ü", False, False),
]


@pytest.mark.parametrize(("match", "pattern", "ignore_case", "invert"), CASES, ids=[c[1] for c in CASES])
def test_matches_what_python_re_matches_for_patterns_both_accept(
    match: str, pattern: str, ignore_case: bool, invert: bool
) -> None:
    from pypeline.modules.common.regex import full_pattern
    from pypeline.modules.mods.regex_filter_mod import regex_filter

    values = ["error 404", "Error 500", "warn x", "", "ok fine", None, "err", "äöü é 123", "ERROR"]
    frame = pd.DataFrame({"line": pd.Series(values, dtype="str"), "n": range(len(values))})
    compiled = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    test = compiled.fullmatch if match == "full" else compiled.search
    expected = [n for n, v in enumerate(values) if (v is not None and test(v) is not None) != invert]
    used = full_pattern(pattern) if match == "full" else pattern
    got = regex_filter(frame, "line", used, ignore_case, invert)
    assert list(got["n"]) == expected


REFUSED = [
    ("(\\w+) \\1", "uses a backreference '\\1'"),
    ("(?P<w>a)(?P=w)", "uses a backreference to a named group '(?P=w)'"),
    ("(?<w>a)\\k<w>", "uses a backreference to a named group '\\k<w>'"),
    ("foo(?=bar)", "uses lookaround '(?='"),
    ("foo(?!bar)", "uses lookaround '(?!'"),
    ("(?<=a)b", "uses lookaround '(?<='"),
    ("(?<!a)b", "uses lookaround '(?<!'"),
    ("(?>a+)b", "uses an atomic group '(?>'"),
    ("a++b", "uses a possessive quantifier '++'"),
    ("end\\Z", "is not valid RE2 syntax: write \\z for the end of the text"),
    ("(?x) a b", "is not valid RE2 syntax: verbose mode (?x) does not exist in RE2"),
    ("a{2000}", "is refused: its counted repetitions exceed RE2's limit of 1000"),
    ("((a{100}){100}){100}", "is refused: its counted repetitions exceed RE2's limit of 1000"),
    ("(unclosed", "is not a valid regular expression (RE2 syntax, see docs/modules.md#regex_filter_mod): missing )"),
]


class TestRefusedAtBuild:
    @pytest.mark.parametrize(("pattern", "reason"), REFUSED, ids=[p for p, _ in REFUSED])
    def test_refused_with_file_line_module_and_reason(
        self, cli: CliRunner, project: Path, pattern: str, reason: str
    ) -> None:
        (project / "flow.yaml").write_text(regex_flow(pattern))
        result = invoke(cli, "build", "flow.yaml")
        assert result.exit_code == 2
        assert "Traceback" not in result.output
        assert f"flow.yaml:7: module 'keep' (regex_filter_mod): pattern '{pattern}' {reason}" in result.output
        if "RE2 does not support" in result.output:
            assert "linear in the text" in result.output
        assert not (project / "jobs").exists()

    def test_one_line_on_stderr_and_nothing_from_re2_itself(self, project: Path) -> None:
        """RE2 logs its errors to stderr from C++ unless told not to: the user must see our line only."""
        (project / "flow.yaml").write_text(regex_flow("(a)\\1"))
        done = subprocess.run([PYPE, "build", "flow.yaml"], cwd=project, capture_output=True, text=True,
                              env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, timeout=120)
        assert done.returncode == 2
        assert done.stderr.splitlines() == [
            "error: flow.yaml:7: module 'keep' (regex_filter_mod): pattern '(a)\\1' uses a backreference '\\1', "
            "which RE2 does not support: RE2 matches in time linear in the text and has no backtracking "
            "(see docs/modules.md#regex_filter_mod)"
        ]

    async def test_a_templated_pattern_is_checked_when_it_is_resolved(self, flows: FlowHarness, data_dir: Path) -> None:
        (data_dir / "in.txt").write_text("aa\n")
        text = regex_flow("{{context.pattern}}", extra="context: {default: {pattern: a}}\n")
        result = await flows.run(text, overrides={"pattern": "(a)\\1"})
        assert result.status == "failed"
        assert result.manifest["modules"]["keep"]["error"].startswith(
            "pattern '(a)\\1' uses a backreference '\\1', which RE2 does not support"
        )
        assert not (flows.root / "out").exists()


class TestCsvDelimiters:
    """pandas reads a separator longer than one character as a Python regex; ours is literal text."""

    @pytest.mark.parametrize("delimiter", ["||", "..", "(a|aa)+$", "::"], ids=["pipes", "dots", "redos", "colons"])
    async def test_a_long_delimiter_is_literal(self, flows: FlowHarness, data_dir: Path, delimiter: str) -> None:
        (data_dir / "in.csv").write_text(delimiter.join(["k", "v"]) + "\n" + delimiter.join(["1", "a.b|c"]) + "\n")
        quoted = delimiter.replace("'", "''")
        result = await flows.run(f"""flow: {{name: delim}}
modules:
  - id: read
    name: csv_source
    timeout: 10
    configs: {{required: {{file_path: data/in.csv}}, optional: {{delimiter: '{quoted}'}}}}
  - {{id: write, name: csv_sink, configs: {{required: {{output_path: out/o.csv}}}}}}
connections:
  data: ["read.data - write.input"]
""")
        assert result.status == "success", result.manifest["errors"]
        assert (flows.root / "out" / "o.csv").read_text() == "k,v\n1,a.b|c\n"
