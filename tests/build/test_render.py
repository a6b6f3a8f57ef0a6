"""Drawing flows: ASCII, Mermaid and DOT renderers and ``pype graph``."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import pydot
import pytest
from click.testing import CliRunner

from pypeline.build.render import graph_plan, render_ascii, render_dot, render_mermaid
from pypeline.build.render.mermaid import mermaid_text
from tests.conftest import FlowHarness, invoke

FLOW = """\
flow: {name: demo, version: "1.0"}
modules:
  - {id: list_files, name: file_list, configs: {required: {directory: data}}}
  - {id: load_one, name: csv_source, configs: {required: {file_path: "{{iter.item}}"}}}
  - {id: other, name: csv_source, configs: {required: {file_path: b.csv}}}
  - {id: both, name: union_mod}
  - {id: keep, name: filter_mod, configs: {required: {condition: "a > 1"}}}
  - {id: write, name: csv_sink, configs: {required: {output_path: out/x.csv}}}
  - {id: copy, name: csv_sink, configs: {required: {output_path: out/y.csv}}}
  - {id: report, name: set_globals, configs: {required: {values: {a: 1}}}}
  - {id: archive, name: set_globals, configs: {required: {values: {b: 1}}}}
connections:
  data:
    - "load_one.data - both.input1"
    - "other.data - both.input2"
    - "both.output - keep.input"
    - "keep.output - write.input"
    - "both.output - copy.input"
  control:
    - {from: list_files, to: load_one, order: 1, type: iterate, port: files}
    - "list_files (2|list_files__file_count > 0 and \\"x|y\\" != 'q') report"
    - {from: report, to: archive, order: 1, type: start}
"""

ASCII = """\
flow demo (version 1.0): 9 modules in 4 sub flows, 3 control connections

+- sub flow list_files (root) -----------+
| wave 1  list_files  file_list (source) |
+----------------------------------------+
  list_files -(1|)-[iterate files]-> load_one
  list_files -(2|list_files__file_count > 0 and "x|y" != 'q')-> report

  +- sub flow load_one -------------------+
  | wave 1  load_one  csv_source (source) |
  |           data -> both.input1         |
  |         other     csv_source (source) |
  |           data -> both.input2         |
  | wave 2  both      union_mod (mod)     |
  |           output -> copy.input        |
  |           output -> keep.input        |
  | wave 3  copy      csv_sink (sink)     |
  |         keep      filter_mod (mod)    |
  |           output -> write.input       |
  | wave 4  write     csv_sink (sink)     |
  +---------------------------------------+

  +- sub flow report ------------------+
  | wave 1  report  set_globals (solo) |
  +------------------------------------+
    report -(1|)-[start]-> archive

    +- sub flow archive ------------------+
    | wave 1  archive  set_globals (solo) |
    +-------------------------------------+

planned order: list_files > load_one > report > archive
"""


def parse_dot(text: str) -> Any:
    """The one graph pydot reads from ``text`` (a real DOT parser; pydot 4 trips pyparsing's deprecation warnings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graphs = pydot.graph_from_dot_data(text)
        assert graphs is not None, text
        (graph,) = graphs
    return graph


@pytest.fixture
def demo(flows: FlowHarness) -> Path:
    return flows.write(FLOW)


class TestAscii:
    def test_boxes_waves_data_and_control(self, demo: Path) -> None:
        assert render_ascii(graph_plan(demo)) == ASCII

    def test_only_ascii_characters(self, demo: Path) -> None:
        assert render_ascii(graph_plan(demo)).isascii()

    def test_job_folder_draws_the_same(self, flows: FlowHarness, demo: Path) -> None:
        job = flows.build(FLOW)
        from_job, from_yaml = graph_plan(job), graph_plan(demo)
        for render in (render_ascii, render_mermaid, render_dot):
            assert render(from_job) == render(from_yaml)

    def test_remote_backend_is_shown(self, flows: FlowHarness) -> None:
        path = flows.write(
            "flow: {name: b}\nmodules:\n  - {id: s, name: set_globals, configs: {required: {values: {a: 1}}}, "
            "execution: {backend: local}}\n"
        )
        assert "s  set_globals (solo)" in render_ascii(graph_plan(path))


class TestDot:
    def test_parses_and_has_every_node_and_edge(self, demo: Path) -> None:
        graph = parse_dot(render_dot(graph_plan(demo)))
        clusters = {s.get_name().strip('"') for s in graph.get_subgraphs()}
        assert clusters == {"cluster_list_files", "cluster_load_one", "cluster_report", "cluster_archive"}
        nodes = {n.get_name().strip('"') for s in graph.get_subgraphs() for n in s.get_nodes()}
        assert nodes == {"list_files", "load_one", "other", "both", "keep", "write", "copy", "report", "archive"}
        edges = {(e.get_source().strip('"'), e.get_destination().strip('"')): e for e in graph.get_edges()}
        assert len(edges) == 8
        assert edges[("list_files", "report")].get_label() == '"(2|list_files__file_count > 0 and \\"x|y\\" != \'q\')"'
        assert "dashed" in edges[("report", "archive")].get_style()

    def test_quotes_and_backslashes_are_escaped(self, flows: FlowHarness) -> None:
        path = flows.write(
            "flow: {name: q}\nmodules:\n"
            "  - {id: a, name: set_globals, configs: {required: {values: {n: 1}}}}\n"
            "  - {id: b, name: set_globals, configs: {required: {values: {n: 1}}}}\n"
            "connections: {control: ['a (1|a__n == \"x\\\\\\\\y\") b']}\n"
        )
        graph = parse_dot(render_dot(graph_plan(path)))
        assert len(graph.get_edges()) == 1


class TestMermaid:
    def test_structure(self, demo: Path) -> None:
        text = render_mermaid(graph_plan(demo))
        lines = text.splitlines()
        assert lines[1] == "flowchart TD"
        assert sum(1 for line in lines if line.strip().startswith("subgraph ")) == 4
        assert sum(1 for line in lines if line.strip() == "end") == 4
        declared = set(re.findall(r"^\s+(m_\w+)\[", text, re.M))
        used = set(re.findall(r"(m_\w+) (?:-->|==>|-\.->)", text)) | set(re.findall(r"\| (m_\w+)$", text, re.M))
        assert len(declared) == 9 and used <= declared
        assert '  m_report -.->|"(1#124;) start"| m_archive' in lines
        assert '  m_list_files ==>|"(1#124;) iterate files"| m_load_one' in lines

    def test_label_escaping(self) -> None:
        assert mermaid_text('a > 0 | "b" # <c>') == "a #gt; 0 #124; #quot;b#quot; #35; #lt;c#gt;"


class TestCommand:
    def test_prints_ascii_and_writes_files(self, cli: CliRunner, demo: Path) -> None:
        result = invoke(cli, "graph", str(demo), "--mermaid", "g.mmd", "--dot", "g.dot")
        assert result.exit_code == 0
        assert result.stdout == ASCII
        assert Path("g.mmd").read_text() == render_mermaid(graph_plan(demo))
        assert Path("g.dot").read_text() == render_dot(graph_plan(demo))

    def test_dash_writes_to_stdout_instead(self, cli: CliRunner, demo: Path) -> None:
        result = invoke(cli, "graph", str(demo), "--dot", "-")
        assert result.stdout == render_dot(graph_plan(demo))

    def test_invalid_flow_is_one_message_exit_2(self, cli: CliRunner, flows: FlowHarness) -> None:
        path = flows.write("flow: {name: bad}\nmodules:\n  - {id: a, name: nope_mod}\n")
        result = cli.invoke(__import__("pypeline.cli.cli", fromlist=["main"]).main, ["graph", str(path)])
        assert result.exit_code == 2
        assert result.stderr.startswith(f"error: {path}:3: ")
        assert "Traceback" not in result.output

    def test_folder_that_is_not_a_job(self, cli: CliRunner, project: Path) -> None:
        (project / "empty").mkdir()
        result = cli.invoke(__import__("pypeline.cli.cli", fromlist=["main"]).main, ["graph", "empty"])
        assert result.exit_code == 2
        assert "empty: not a job folder (expected one *_execution_metadata.json, found 0)" in result.stderr


COMPOSED = """\
flow: {name: composed}
modules:
  - {id: files, name: file_list, configs: {required: {directory: data}}}
  - {id: part, include: parts/part.yaml}
  - {id: alert, name: set_globals, configs: {required: {values: {why: "{{part.write__error_message}}"}}}}
  - {id: post, name: set_globals, configs: {required: {values: {done: 1}}}}
connections:
  control:
    - "files (1|) part [iterate, parallel=3]"
    - "part (1|) alert [on_error, handled]"
    - "part (2|) post [always]"
"""
PART = """\
flow: {name: part}
ports: {entry: load, exit: write}
modules:
  - {id: load, name: csv_source, configs: {required: {file_path: "{{iter.item}}"}}}
  - {id: inner, include: inner.yaml}
  - {id: write, name: csv_sink, configs: {required: {output_path: out/x.csv}}}
connections:
  data: ["load.data - inner.rows", "inner.kept - write.input"]
"""
INNER = """\
flow: {name: inner}
ports: {inputs: {rows: keep.input}, outputs: {kept: keep.output}}
modules:
  - {id: keep, name: filter_mod, configs: {required: {condition: "a > 1"}}}
"""


class TestComposition:
    """Error triggers, parallel iteration and include boundaries in the three drawings."""

    @pytest.fixture
    def composed(self, flows: FlowHarness) -> Path:
        (flows.root / "parts").mkdir()
        flows.write(PART, "parts/part.yaml")
        flows.write(INNER, "parts/inner.yaml")
        return flows.write(COMPOSED)

    def test_ascii_names_types_options_and_includes(self, composed: Path) -> None:
        text = render_ascii(graph_plan(composed))
        assert "include part: parts/part.yaml (modules part.*)" in text
        assert "include part.inner: inner.yaml (modules part.inner.*)" in text
        assert "files -(1|)-[iterate files parallel=3]-> part.load" in text
        assert "part.write -(1|)-[on_error handled]-> alert" in text
        assert "part.write -(2|)-[always]-> post" in text

    def test_dot_nests_include_clusters_inside_the_sub_flow(self, composed: Path) -> None:
        graph = parse_dot(render_dot(graph_plan(composed)))
        [subflow] = [s for s in graph.get_subgraphs() if s.get_name().strip('"') == "cluster_part.load"]
        [outer] = subflow.get_subgraphs()
        assert outer.get_name().strip('"') == "cluster_part.load/part"
        assert {n.get_name().strip('"') for n in outer.get_nodes()} == {"part.load", "part.write"}
        [inner] = outer.get_subgraphs()
        assert {n.get_name().strip('"') for n in inner.get_nodes()} == {"part.inner.keep"}
        edges = {(e.get_source().strip('"'), e.get_destination().strip('"')): e for e in graph.get_edges()}
        assert "#b3261e" in edges[("part.write", "alert")].get_color()
        assert "dotted" in edges[("part.write", "post")].get_style()
        assert edges[("files", "part.load")].get_label() == '"(1|) iterate files parallel=3"'

    def test_mermaid_nests_includes_and_marks_error_triggers(self, composed: Path) -> None:
        text = render_mermaid(graph_plan(composed))
        lines = text.splitlines()
        assert '    subgraph inc_part__load__part["include part: parts/part.yaml"]' in lines
        assert '      subgraph inc_part__load__part__inner["include part.inner: inner.yaml"]' in lines
        assert sum(1 for line in lines if line.strip().startswith("subgraph ")) == sum(
            1 for line in lines if line.strip() == "end")
        assert '  m_part__write --x|"(1#124;) on_error handled"| m_alert' in lines
        assert '  m_part__write --o|"(2#124;) always"| m_post' in lines
        declared = set(re.findall(r"^\s+(m_\w+)\[", text, re.M))
        assert declared == {"m_files", "m_part__load", "m_part__inner__keep", "m_part__write", "m_alert", "m_post"}

    def test_job_folder_draws_the_same(self, flows: FlowHarness, composed: Path) -> None:
        from pypeline.build.build import build_flow

        job = build_flow(composed, flows.root / "jobs")
        for render in (render_ascii, render_mermaid, render_dot):
            assert render(graph_plan(job)) == render(graph_plan(composed))
