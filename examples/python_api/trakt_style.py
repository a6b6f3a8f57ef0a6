"""Trakt's Python workflow, with PYpeline's names: a step function declared by attributes, a fluent chain.

Trakt's ``workflow(...).input(...).step(...).output(...).run(runner)`` is
``Flow(...).add(...)...run()`` here: inputs and outputs are modules (a CSV
source and a CSV sink), the step is a module, ``with_`` bindings are data
connections. Run from the repository root (``python -m`` makes this file
importable by path, so ``pype run`` and ``--resume`` find ``double_amount``)::

    python -m examples.python_api.trakt_style
"""

from __future__ import annotations

import sys
from typing import Any

import pandas as pd

import pypeline
from pypeline import RunContext


def double_amount(ctx: RunContext, input: pd.DataFrame, output: str) -> dict[str, Any]:
    """Trakt's step signature: ``ctx``, the input frame, and the output's name."""
    frame = input.copy()
    frame["amount"] = frame["amount"] * 2
    return {"output": frame}


double_amount.declared_inputs = ["input"]  # type: ignore[attr-defined]  # mypy cannot type function attributes
double_amount.declared_outputs = ["output"]  # type: ignore[attr-defined]


def make_flow() -> pypeline.Flow:
    """Trakt's workflow: an input, one step, an output."""
    return (
        pypeline.Flow("python_workflow")
        .add("records", "csv_source", configs={"file_path": "examples/python_api/data/records.csv"})
        .add("double_amount", double_amount, inputs={"input": "records.data"})
        .add("final", "csv_sink", configs={"output_path": "out/python_api/final.csv"},
             inputs={"input": "double_amount.output"})
    )


def main() -> int:
    report = make_flow().run()
    print(report.status)
    print(report.manifest_path)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
