"""The job folder (docs/flow-format.md): four files, byte-identical builds, tie-breaking by name where it should."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pypeline.build.build import build_flow, validate_flow
from tests.conftest import invoke

FLOW = """\
flow:
  name: shapes
  version: 2
context:
  default: {in_dir: data, limit: 10}
  prod: {in_dir: /srv/data, limit: 100}
modules:
  - {id: files, name: file_list, configs: {required: {directory: "{{context.in_dir}}"}}}
  - {id: one, name: csv_source, configs: {required: {file_path: "{{iter.item}}"}}}
  - {id: keep, name: filter_mod, configs: {required: {condition: "x > 1"}}}
  - {id: out, name: csv_sink, configs: {required: {output_path: out/x.csv}}}
  - {id: mark, name: set_globals, configs: {required: {values: {n: "{{out__row_count}}"}}}}
  - {id: report, name: set_globals, configs: {required: {values: {done: true}}}}
  - {id: archive, name: set_globals, configs: {required: {values: {done: true}}}}
connections:
  data: ["one.data - keep.input", "keep.output - out.input"]
  control:
    - {from: files, to: one, type: iterate}
    - "out (1|) mark"
    - "mark (2|mark__n > context.limit) archive"
    - "mark (1|) report"
    - {from: files, to: report, order: Last}
"""


def build_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


class TestJobFolder:
    def test_four_files(self, project: Path, cli: CliRunner) -> None:
        (project / "flow.yaml").write_text(FLOW)
        result = invoke(cli, "build", "flow.yaml")
        assert result.exit_code == 0, result.stderr
        built, mode = result.stdout.splitlines()
        assert built == "built " + str(project / "jobs" / "shapes")
        assert mode == (  # the build says which execution mode runs, and why not a faster one
            "execution mode: arrow (auto: arrow, not stream: module 'one' (csv_source): no dtypes declared "
            "(stream mode types columns from each file's first 4 MB: declare dtypes to stream))"
        )
        folder = project / "jobs" / "shapes"
        assert sorted(build_files(folder)) == [
            "context/shapes_default.json",
            "context/shapes_prod.json",
            "shapes.yaml",
            "shapes_dag.json",
            "shapes_execution_metadata.json",
        ]
        assert (folder / "shapes.yaml").read_text() == FLOW
        assert json.loads((folder / "context" / "shapes_prod.json").read_text()) == {
            "in_dir": "/srv/data", "limit": 100
        }

    def test_dag_json(self, flows: Any) -> None:
        folder = flows.build(FLOW)
        dag = json.loads((folder / "shapes_dag.json").read_text())
        assert dag["schema_version"] == 1
        assert [n["id"] for n in dag["nodes"]] == sorted(["files", "one", "keep", "out", "mark", "report", "archive"])
        keep = next(n for n in dag["nodes"] if n["id"] == "keep")
        assert keep["module_path"] == "pypeline.modules.mods.filter_mod.FilterMod"
        assert keep["type"] == "mod" and keep["category"] == "Transforms"
        assert keep["input_ports"] == ["input"] and keep["output_ports"] == ["output"]
        assert keep["configs"] == {"condition": "x > 1"}
        assert keep["execution"] == {"backend": "local"}
        files = next(n for n in dag["nodes"] if n["id"] == "files")
        assert files["configs"]["directory"] == "{{context.in_dir}}"  # templates stay unresolved
        assert files["configs"]["pattern"] == "*"  # defaults filled in
        assert dag["edges"]["data"] == [
            {"kind": "data", "from": "one", "from_port": "data", "to": "keep", "to_port": "input"},
            {"kind": "data", "from": "keep", "from_port": "output", "to": "out", "to_port": "input"},
        ]
        last = dag["edges"]["control"][4]
        assert (last["from"], last["to"], last["order"]) == ("files", "report", 2)  # Last = max(order 1) + 1

    def test_execution_metadata(self, flows: Any) -> None:
        folder = flows.build(FLOW)
        meta = json.loads((folder / "shapes_execution_metadata.json").read_text())
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", meta["flow_hash"])
        assert meta["flow_name"] == "shapes"
        assert meta["flow_path"] == str((flows.root / "flow.yaml").resolve())
        assert meta["settings"]["fail_strategy"] == "halt"
        assert meta["environments"] == ["default", "prod"]
        subflows = {sf["id"]: sf for sf in meta["subflows"]}
        assert subflows["one"]["waves"] == [["one"], ["keep"], ["out"]]
        assert meta["root_subflows"] == ["files"]
        assert [(p["subflow"], p["depth"]) for p in meta["planned_order"]] == [
            ("files", 0), ("one", 1), ("mark", 2), ("report", 3), ("archive", 3),
        ]

    def test_flow_hash_follows_the_flow(self, flows: Any) -> None:
        first = json.loads((flows.build(FLOW) / "shapes_execution_metadata.json").read_text())["flow_hash"]
        again = json.loads((flows.build(FLOW) / "shapes_execution_metadata.json").read_text())["flow_hash"]
        changed = flows.build(FLOW.replace("x > 1", "x > 2"))
        assert first == again
        assert json.loads((changed / "shapes_execution_metadata.json").read_text())["flow_hash"] != first


class TestDeterminism:
    def test_two_builds_byte_identical(self, project: Path) -> None:
        (project / "flow.yaml").write_text(FLOW)
        a = build_files(build_flow(project / "flow.yaml", project / "a"))
        b = build_files(build_flow(project / "flow.yaml", project / "b"))
        assert a == b

    def test_build_in_a_fresh_process_is_byte_identical(self, project: Path) -> None:
        """Hash seeds differ between processes: set iteration order must never reach the output."""
        import subprocess
        import sys

        (project / "flow.yaml").write_text(FLOW)
        in_process = build_files(build_flow(project / "flow.yaml", project / "a"))
        pype = Path(sys.executable).with_name("pype")
        for seed in ("1", "2"):
            subprocess.run([str(pype), "build", "flow.yaml", "--out", f"p{seed}"], cwd=project, check=True,
                           env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"}, capture_output=True, timeout=60)
            assert build_files(project / f"p{seed}" / "shapes") == in_process

    def test_declaration_order_does_not_change_nodes_edges_or_waves(self, flows: Any) -> None:
        lines = FLOW.splitlines(keepends=True)
        start = lines.index("modules:\n") + 1
        end = lines.index("connections:\n")
        modules = lines[start:end]
        seen_dags = set()
        seen_waves = set()
        for perm in itertools.islice(itertools.permutations(modules), 0, 5040, 97):
            text = "".join(lines[:start] + list(perm) + lines[end:])
            plan = validate_flow(flows.write(text))
            dag_nodes = [{k: v for k, v in m.to_dict().items() if k != "line"} for _, m in sorted(plan.modules.items())]
            seen_dags.add(json.dumps([dag_nodes, sorted(str(e) for e in plan.data_edges)], sort_keys=True))
            seen_waves.add(json.dumps(sorted(sf.waves for sf in plan.subflows.values())))
        assert len(seen_dags) == 1
        assert len(seen_waves) == 1

    @pytest.mark.parametrize("names", list(itertools.permutations("abcde")), ids="".join)
    def test_tie_breaking_by_name_only_within_waves(self, names: tuple[str, ...], flows: Any) -> None:
        """dask's ``abcde`` idea: relabel the same graph; the plan's shape must not change.

        Graph: root source ``r`` fans out to five noop transforms (labels permuted),
        each feeding its own sink; five solo modules hang off the sinks by control
        connections of orders 2, 1, 1, 3, Last. Planned order depends on orders and
        declaration only; waves list labels sorted by name.
        """
        position = dict(zip("abcde", names, strict=True))
        mods = ["  - {id: r, name: csv_source, configs: {required: {file_path: in.csv}}}"]
        data, control = [], []
        for i, label in enumerate("abcde"):
            n = position[label]
            mods += [f"  - {{id: t{n}, name: noop_mod}}", f"  - {{id: s{n}, name: noop_sink}}",
                     f"  - {{id: z{n}, name: set_globals, configs: {{required: {{values: {{v: {i}}}}}}}}}"]
            data += [f'"r.data - t{n}.input"', f'"t{n}.output - s{n}.input"']
            control.append(f'"s{n} ({["2", "1", "1", "3", "Last"][i]}|) z{n}"')
        text = (
            "flow: {name: abcde}\nmodules:\n" + "\n".join(mods) + "\nconnections:\n"
            f"  data: [{', '.join(data)}]\n  control: [{', '.join(control)}]\n"
        )
        plan = validate_flow(flows.write(text))
        back = {v: k for k, v in position.items()}  # label in the flow -> position in the graph
        order = [back[p["subflow"][1]] if p["subflow"] != "r" else "r" for p in plan.planned_order]
        # z of position b and c (order 1) first, then a (2), d (3), e (Last = 4): declaration breaks ties
        assert order == ["r", "b", "c", "a", "d", "e"]
        waves = plan.subflows["r"].waves
        assert waves[0] == ("r",)
        assert waves[1] == tuple(sorted(f"t{n}" for n in names))
        assert waves[2] == tuple(sorted(f"s{n}" for n in names))


class TestValidateAndRebuild:
    def test_validate_writes_nothing(self, project: Path, cli: CliRunner) -> None:
        (project / "flow.yaml").write_text(FLOW)
        before = sorted(p.name for p in project.rglob("*"))
        result = invoke(cli, "validate", "flow.yaml")
        assert result.exit_code == 0
        assert result.stdout == (
            "flow.yaml: valid: flow 'shapes', 7 modules, 5 sub flows, 5 control connections\n"
        )
        assert sorted(p.name for p in project.rglob("*")) == before

    def test_rebuild_keeps_runs_and_drops_stale_context(self, flows: Any) -> None:
        folder = flows.build(FLOW)
        run = folder / "runs" / "20260101T000000-abc"
        run.mkdir(parents=True)
        (run / "manifest.json").write_text("{}")
        folder2 = flows.build(FLOW.replace("  prod: {in_dir: /srv/data, limit: 100}\n", ""))
        assert folder2 == folder
        assert (run / "manifest.json").read_text() == "{}"
        assert sorted(p.name for p in (folder / "context").iterdir()) == ["shapes_default.json"]
        assert not list(folder.rglob("*.pype-tmp"))

    def test_unwritable_out_is_one_error(self, project: Path, cli: CliRunner) -> None:
        (project / "flow.yaml").write_text(FLOW)
        (project / "afile").write_text("")
        result = invoke(cli, "build", "flow.yaml", "--out", "afile/jobs")
        assert result.exit_code == 2
        assert result.stderr == (
            f"error: {project / 'afile' / 'jobs' / 'shapes'}: cannot write the job folder: Not a directory\n"
        )

    def test_build_out_option(self, project: Path, cli: CliRunner) -> None:
        (project / "flow.yaml").write_text(FLOW)
        result = invoke(cli, "build", "flow.yaml", "--out", "elsewhere/jobs")
        assert result.exit_code == 0
        assert (project / "elsewhere" / "jobs" / "shapes" / "shapes_dag.json").is_file()


class TestFlowHash:
    """One definition of the flow hash: line ends and a BOM do not count, content does."""

    def test_line_ends_and_bom_do_not_count(self) -> None:
        from pypeline.job.folder import compute_flow_hash

        text, dag = "flow:\n  name: x\ns: |\n  a\n  b\n", '{\n  "a": 1\n}\n'
        expected = compute_flow_hash(text, dag)
        for form in (text.replace("\n", "\r\n"), text.replace("\n", "\r"), "\ufeff" + text,
                     "\ufeff" + text.replace("\n", "\r\n")):
            assert compute_flow_hash(form, dag.replace("\n", "\r\n")) == expected
        assert compute_flow_hash(text.replace("a", "b"), dag) != expected
        assert compute_flow_hash(text + "\n", dag) != expected
        assert compute_flow_hash(text, dag.replace("1", "2")) != expected
