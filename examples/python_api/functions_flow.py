"""A flow of plain functions: read, add tax, split, write; then, once ``ready`` exists, a summary.

Run from the repository root::

    python -m examples.python_api.functions_flow          # fails at 'approved': out/python_api/ready is missing
    touch out/python_api/ready
    python -m examples.python_api.functions_flow --resume # runs only what did not finish
"""

from __future__ import annotations

import sys

import pypeline
from examples.python_api import steps

OUT = "out/python_api"


def make_flow() -> pypeline.Flow:
    """The flow: two sub flows joined by a control connection through the solo module 'approved'."""
    flow = pypeline.Flow("python_functions", description="plain functions as modules")
    flow.settings(retries=0)
    read = flow.module("read", steps.read_orders, configs={"path": "examples/python_api/data/orders.csv"})
    taxed = flow.module("taxed", steps.add_tax, configs={"rate": 0.25}, inputs={"orders": read["orders"]})
    split = flow.module("split", steps.split_big, inputs={"orders": taxed})
    write_big = flow.module("write_big", steps.write_csv, configs={"output_path": f"{OUT}/big.csv"},
                            inputs={"frame": split["big"]})
    flow.module("write_small", steps.write_csv, configs={"output_path": f"{OUT}/small.csv"},
                inputs={"frame": split["small"]})
    approved = flow.module("approved", steps.require_file, configs={"path": f"{OUT}/ready"})
    flow.control(write_big, approved)
    reread = flow.module("reread", steps.read_orders, configs={"path": f"{OUT}/big.csv"})
    flow.module("summary", "aggregate_mod", configs={"aggregations": {"orders": "count(*)", "gross": "sum(gross)"}},
                inputs={"input": reread["orders"]})
    flow.module("write_summary", steps.write_csv, configs={"output_path": f"{OUT}/summary.csv"},
                inputs={"frame": "summary.output"})
    flow.control(approved, reread, condition="split__big_count > 0")
    return flow


def main() -> int:
    report = make_flow().run(resume="--resume" in sys.argv[1:])
    print(f"{report.status}: {report.manifest_path}")
    for node, module in report.modules.items():
        print(f"  {node}: {module.status}, rows in {module.rows_in}, out {module.rows_out}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
