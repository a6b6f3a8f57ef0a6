"""The schema check: the fast compiled validator and jsonschema agree, and messages name the line."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pypeline.build.load.schema_check import _fast_check, _validator, flow_schema, validate_against_schema
from pypeline.build.load.yaml_source import parse_yaml_text
from pypeline.core.errors import FlowSchemaError

EXAMPLE = Path(__file__).parents[2] / "examples" / "spec_sample" / "flow.yaml"

FULL = {
    "flow": {"name": "full", "version": "1.0", "authors": ["a"], "created": "2025-01-15", "description": "d"},
    "settings": {
        "timeout": 60, "retries": 1, "retry_delay": 0.5, "retry_max_delay": 5, "fail_strategy": "continue",
        "execution_mode": "pandas", "threads": 4,
        "spill": {"threshold_rows": 10, "max_ram_share": 0.5, "dir": "/tmp/x"},
        "checkpoint": {"enabled": False},
        "dask": {"address": "tcp://127.0.0.1:8786", "n_workers": 2, "threads_per_worker": 1},
        "backends": {"local": {}},
    },
    "context": {"default": {"a": 1, "b": "x", "c": None, "d": True}, "prod": {"a": 2}},
    "modules": [
        {"id": "m1", "name": "csv_source", "description": "x", "configs": {"required": {"file_path": "a"},
         "optional": None}, "execution": {"backend": "local"}, "retries": 2, "timeout": 1.5},
        {"id": "m2", "name": "noop_sink"},
    ],
    "connections": {
        "data": ["m1.data - m2.input"],
        "control": ["m2 (1|) m1", {"from": "a", "to": "b", "order": "Last", "condition": None, "type": "start"},
                    {"from": "a", "to": "b", "order": 3, "type": "iterate", "port": "files"}],
    },
}


def mutations(rng: random.Random, value: Any, count: int) -> list[Any]:
    """``count`` random single-point mutations of ``value`` (many of them invalid)."""
    replacements = [None, 0, -1, 1.5, "x", "", "Last", True, [], {}, ["x"], {"zz": 1}, "..", "a__b"]
    out = []
    for _ in range(count):
        doc = copy.deepcopy(value)
        node, key = doc, None
        for _ in range(rng.randrange(1, 5)):
            container = node if key is None else node[key]
            if isinstance(container, dict) and container:
                node, key = container, rng.choice(sorted(container))
            elif isinstance(container, list) and container:
                node, key = container, rng.randrange(len(container))
            else:
                break
        if key is None:
            continue
        action = rng.randrange(3)
        if action == 0:
            node[key] = rng.choice(replacements)
        elif action == 1 and isinstance(node, dict):
            del node[key]
        elif isinstance(node, dict):
            node[key + "_x" if isinstance(key, str) else key] = 1
        else:
            node[key] = rng.choice(replacements)
        out.append(doc)
    return out


class TestFastValidatorAgreement:
    def test_schema_is_valid_2020_12(self) -> None:
        jsonschema.Draft202012Validator.check_schema(flow_schema())

    def test_full_document_is_valid_for_both(self) -> None:
        assert _validator().is_valid(FULL)
        _fast_check()(FULL)

    def test_random_mutations(self) -> None:
        """The fast validator accepts exactly what jsonschema accepts (a fast-path bug would let bad flows in)."""
        import fastjsonschema

        rng = random.Random(20260101)
        disagreements = []
        invalid = 0
        for doc in mutations(rng, FULL, 3000):
            slow_ok = _validator().is_valid(doc)
            try:
                _fast_check()(doc)
                fast_ok = True
            except fastjsonschema.JsonSchemaException:
                fast_ok = False
            invalid += not slow_ok
            if slow_ok != fast_ok:
                disagreements.append(json.dumps(doc)[:300])
        assert invalid > 1000
        assert disagreements == []


class TestMessages:
    def check(self, text: str) -> str:
        with pytest.raises(FlowSchemaError) as info:
            validate_against_schema(parse_yaml_text(text, "f.yaml"))
        return str(info.value)

    def test_first_problem_by_line_and_count_of_the_rest(self) -> None:
        text = "flow: {name: x}\nsettings:\n  retries: -1\n  threads: zero\nmodules: []\n"
        assert self.check(text) == (
            "f.yaml:3: at settings.retries: value -1 is out of range (and 2 more schema problems) "
            "(expected a value >= 0)"
        )

    def test_context_names(self) -> None:
        text = "flow: {name: x}\ncontext:\n  default: {2bad: 1}\nmodules: [{id: a, name: b}]\n"
        assert self.check(text) == (
            "f.yaml:3: at context.default: invalid name '2bad' "
            "(expected a variable name: letters, digits and '_', not starting with a digit)"
        )

    def test_empty_modules(self) -> None:
        assert self.check("flow: {name: x}\nmodules: []\n") == (
            "f.yaml:2: at modules: the list is empty (expected at least 1 item)"
        )
