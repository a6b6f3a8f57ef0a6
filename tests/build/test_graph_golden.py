"""``pype graph`` output of every example flow, checked against committed golden files.

Regenerate after an intended change (then review the diff)::

    PYPELINE_REGEN_GOLDEN=1 .venv/bin/pytest tests/build/test_graph_golden.py

Every YAML file under ``examples/<name>/`` that is a flow (a mapping with
``flow`` and ``modules``) has goldens in ``tests/golden/graph/``, named
``<name>`` for ``flow.yaml`` and ``<name>__<stem>`` for any other file:
``.txt`` (ASCII), ``.mmd`` (Mermaid) and ``.dot`` (Graphviz), or
``.error.txt`` holding the message for an example that is invalid on
purpose. A new example without goldens fails the test, and so does a golden
whose example is gone. Project modules (``modules/*.py``) are registered
first into a scratch registry, as ``pype auto-register`` would, so examples
that use them by registry name draw too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from pypeline.build.render import graph_plan, render_ascii, render_dot, render_mermaid
from pypeline.core.errors import PypelineError
from pypeline.modules.registry import Registry

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden" / "graph"
REGENERATE = os.environ.get("PYPELINE_REGEN_GOLDEN") == "1"
RENDERERS = {".txt": render_ascii, ".mmd": render_mermaid, ".dot": render_dot}


def example_flows() -> dict[str, Path]:
    """Golden key -> example flow file (paths relative to the repository root)."""
    found: dict[str, Path] = {}
    for path in sorted((REPO / "examples").glob("*/*.y*ml")):
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError:
            document = None
        if not (isinstance(document, dict) and "flow" in document and "modules" in document):
            continue
        example = path.parent.name
        key = example if path.stem == "flow" else f"{example}__{path.stem}"
        found[key] = path.relative_to(REPO)
    return found


def expected_outputs(relative: Path) -> dict[str, str]:
    """Golden suffix -> text for one example, rendered from the repository root like a user would."""
    try:
        view = graph_plan(relative)
    except PypelineError as exc:
        return {".error.txt": exc.format_message() + "\n"}
    return {suffix: render(view) for suffix, render in RENDERERS.items()}


@pytest.fixture(autouse=True)
def _repo_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.chdir(REPO)
    monkeypatch.syspath_prepend(str(REPO))  # project modules of the examples (modules/*.py), as `pype` does
    registry = tmp_path / "ModRegistry.json"
    monkeypatch.setenv("PYPELINE_REGISTRY", str(registry))
    Registry(registry).auto_register(REPO)
    yield


FLOWS = example_flows()


@pytest.mark.parametrize("key", sorted(FLOWS), ids=sorted(FLOWS))
def test_graph_matches_golden(key: str) -> None:
    outputs = expected_outputs(FLOWS[key])
    for suffix, text in outputs.items():
        golden = GOLDEN / f"{key}{suffix}"
        if REGENERATE:
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(text, encoding="utf-8")
        assert golden.exists(), (
            f"{FLOWS[key]} has no golden {golden.relative_to(REPO)}; create it with "
            "PYPELINE_REGEN_GOLDEN=1 .venv/bin/pytest tests/build/test_graph_golden.py and review it"
        )
        assert golden.read_text(encoding="utf-8") == text, f"pype graph {FLOWS[key]} changed; see {golden}"


def test_every_golden_has_an_example() -> None:
    keys = set(FLOWS)
    assert keys, "no example flows found"
    stale = sorted(p.name for p in GOLDEN.iterdir() if p.name.split(".")[0] not in keys)
    assert not stale, f"goldens without an example (delete them): {stale}"
    if not REGENERATE:
        for key in keys:
            suffixes = {p.name[len(key):] for p in GOLDEN.glob(f"{key}.*")}
            assert suffixes in ({".txt", ".mmd", ".dot"}, {".error.txt"}), (key, suffixes)

