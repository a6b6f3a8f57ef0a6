"""canonical_json gives exactly the bytes of json.dumps(sort_keys, indent=2), faster."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pypeline.core.jsonio import _default, atomic_write_json, canonical_json


def reference(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False, default=_default) + "\n"


def random_value(rng: random.Random, depth: int = 0) -> Any:
    choices: list[Callable[[], Any]] = [
        lambda: None, lambda: True, lambda: False,
        lambda: rng.randrange(-(10**20), 10**20),
        lambda: rng.random() * 10 ** rng.randrange(-30, 30),
        lambda: "".join(rng.choice('ab"\\\n\té€\x01\u2028😀') for _ in range(rng.randrange(6))),
        lambda: rng.choice([float("nan"), float("inf"), float("-inf"), -0.0]),
        lambda: [random_value(rng, depth + 1) for _ in range(rng.randrange(4))],
        lambda: (random_value(rng, depth + 1), random_value(rng, depth + 1)),
        lambda: {"".join(rng.choice('abé"/') for _ in range(3)): random_value(rng, depth + 1)
                 for _ in range(rng.randrange(4))},
    ]
    return rng.choice(choices[:7] if depth > 4 else choices)()


def test_same_bytes_as_the_standard_encoder() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        value = random_value(rng)
        assert canonical_json(value) == reference(value)


@pytest.mark.parametrize(
    "value",
    [{}, [], {"a": {}}, {"s": {3, 1}, "p": Path("a/b")}, {2: "int keys", 1: "sorted"}, {"x": [[], {}, [1]]}],
    ids=["empty-dict", "empty-list", "nested-empty", "set-and-path", "int-keys", "mixed"],
)
def test_edge_cases(value: Any) -> None:
    assert canonical_json(value) == reference(value)


def test_unserialisable_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="cannot serialise object"):
        canonical_json({"x": object()})


def test_atomic_write_json(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "x.json"
    atomic_write_json(target, {"b": 1, "a": [1, 2]})
    assert target.read_text() == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n'
    assert [p.name for p in target.parent.iterdir()] == ["x.json"]
    # a reader holding the old file keeps the old content: the new one was renamed over it, not written in place
    reader = tmp_path / "reader.json"
    os.link(target, reader)
    atomic_write_json(target, {"b": 2})
    assert json.loads(target.read_text()) == {"b": 2}
    assert json.loads(reader.read_text()) == {"a": [1, 2], "b": 1}
    assert sorted(p.name for p in target.parent.iterdir()) == ["x.json"]
