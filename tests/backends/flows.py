"""Flow texts shared by the executor tests: the same pipeline with a backend chosen per module."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

M = "tests.backends.sample_modules"


def write_values(path: Path, rows: int = 12) -> Path:
    """A CSV of ``name,value`` rows (value = 1..rows)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["name,value", *(f"n{i},{i}" for i in range(1, rows + 1))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def block(backend: str, **options: Any) -> str:
    """An inline YAML execution block."""
    return json.dumps({"backend": backend, **options})


def pipeline(
    name: str,
    data: Path,
    out: Path,
    *,
    scale: str = '{"backend": "local"}',
    keep: str = '{"backend": "local"}',
    shift: str = '{"backend": "local"}',
    settings: str = "{}",
) -> str:
    """read (local) -> scale -> keep -> shift -> write (local); ``shift`` reads ``scale``'s global."""
    return f"""
flow: {{name: {name}}}
settings: {settings}
modules:
  - {{id: read, name: csv_source, configs: {{required: {{file_path: "{data}"}}}}}}
  - id: scale
    name: {M}.Scale
    configs: {{required: {{factor: 2}}, optional: {{label: scaled}}}}
    execution: {scale}
  - id: keep
    name: filter_mod
    configs: {{required: {{condition: "value > 6"}}}}
    execution: {keep}
  - id: shift
    name: {M}.Scale
    configs: {{required: {{factor: 10}}, optional: {{offset_from: scale__total}}}}
    execution: {shift}
  - {{id: write, name: csv_sink, configs: {{required: {{output_path: "{out}"}}}}}}
connections:
  data: ["read.data - scale.input", "scale.output - keep.input", "keep.output - shift.input",
         "shift.output - write.input"]
"""


def single(name: str, data: Path, module: str, configs: str, execution: str, settings: str = "{}",
           extra: str = "") -> str:
    """read (local) -> one module on a backend -> nothing."""
    return f"""
flow: {{name: {name}}}
settings: {settings}
modules:
  - {{id: read, name: csv_source, configs: {{required: {{file_path: "{data}"}}}}}}
  - id: remote
    name: {module}
    configs: {configs}
    execution: {execution}
{extra}
connections:
  data: ["read.data - remote.input"]
"""
