"""Several flows from one table: a flow per row of data/regions.csv, built and run in a loop.

Each row's values go into the flow's context (``{{context.min_amount}}``), not
into expression text: the filter's condition stays one fixed expression and
the value enters it as a literal (docs/flow-format.md, "Templates and conditions"). Run from the
repository root::

    python -m examples.python_api.from_table
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pypeline

TABLE = Path("examples/python_api/data/regions.csv")


def make_flow(region: str, min_amount: str, currency: str) -> pypeline.Flow:
    """One region's flow: its orders at or above its minimum, written to its own CSV file."""
    flow = pypeline.Flow(f"orders_{region}", description=f"{region} orders of at least {min_amount} {currency}")
    flow.context("default", min_amount=float(min_amount), currency=currency)
    orders = flow.module("orders", "csv_source", configs={"file_path": f"examples/python_api/data/orders_{region}.csv"})
    big = flow.module("big", "filter_mod", configs={"condition": "amount >= {{context.min_amount}}"},
                      inputs={"input": orders["data"]})
    flow.module("write", "csv_sink", configs={"output_path": f"out/python_api/{region}_big.csv"},
                inputs={"input": big["output"]})
    return flow


def main() -> int:
    with TABLE.open(newline="", encoding="utf-8") as table:
        flows = [make_flow(row["region"], row["min_amount"], row["currency"]) for row in csv.DictReader(table)]
    failed = 0
    for flow in flows:
        report = flow.run()
        print(f"{flow.name}: {report.status}, {report.modules['big'].rows_out} orders kept")
        failed += not report.ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
