"""canonical_json gives exactly the bytes of json.dumps(sort_keys, indent=2), faster."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pypeline.core.jsonio import _default, atomic_write_json, canonical_json, compact_json, has_nonfinite, json_line


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


def standard_compact(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


def test_compact_json_reads_back_as_the_standard_encoder_s_text() -> None:
    """orjson writes most objects; NaN, infinities, big integers and other keys take the standard encoder."""
    rng = random.Random(11)
    for _ in range(3000):
        value = random_value(rng)
        text = compact_json(value)
        assert "\n" not in text
        # canonical_json writes NaN as NaN: equal texts mean equal values, NaN included
        assert canonical_json(json.loads(text)) == canonical_json(json.loads(standard_compact(value)))


@pytest.mark.parametrize(
    "value",
    [{"n": float("nan")}, [1, [float("-inf")]], {"big": 2**70}, {1: "int key"}, {"x": 1e-05, "s": "é\x01\u2028"}],
    ids=["nan", "nested-inf", "big-int", "int-key", "float-and-text"],
)
def test_compact_json_edge_cases(value: Any) -> None:
    assert canonical_json(json.loads(compact_json(value))) == canonical_json(json.loads(standard_compact(value)))


def test_compact_json_errors_as_the_standard_encoder() -> None:
    with pytest.raises(TypeError, match="cannot serialise object"):
        compact_json({"x": object()})


def test_has_nonfinite_looks_everywhere() -> None:
    np = pytest.importorskip("numpy")
    assert has_nonfinite({"a": [1, {"b": (2, float("inf"))}]})
    assert has_nonfinite({float("nan")}) and has_nonfinite(np.float32("nan"))
    assert not has_nonfinite({"a": [1, "nan", None, True, 2.5, np.int64(3), np.float64(1.0)]})


def test_log_lines_parse_with_any_reader() -> None:
    """A log line is compact, sorted JSON; NaN and infinities become null, other objects their text."""
    line = json_line({"b": float("nan"), "a": [float("inf"), 1.5], "path": Path("x/y"), "big": 2**70, "c": object})
    # an integer beyond 64 bits: the standard encoder writes this line, with the same nulls
    assert line.startswith('{"a":[null,1.5],"b":null,"big":1180591620717411303424,')
    assert json_line({"b": float("nan"), "a": [float("-inf"), 1.5]}) == '{"a":[null,1.5],"b":null}'
    assert json.loads(json_line({"z": 1, "path": Path("x/y"), "c": object})) == {
        "c": str(object), "path": "x/y", "z": 1,
    }
    assert json_line({"b": 1, "a": "é"}) == '{"a":"é","b":1}'


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
