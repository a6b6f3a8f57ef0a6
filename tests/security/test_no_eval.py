"""No text reaches an evaluator: the package holds no eval/exec/query/numexpr call."""

from __future__ import annotations

import re
from pathlib import Path

import pypeline

PATTERN = re.compile(r"\.query\(|\.eval\(|pd\.eval|numexpr|(^|[^.a-z_])(eval|exec)\(")


def test_the_package_has_no_evaluator_call() -> None:
    root = Path(pypeline.__file__).parent
    hits = [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for path in sorted(root.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if PATTERN.search(line)
    ]
    assert hits == []
