"""The spec's sample flow (examples/spec_sample/flow.yaml), written in Python.

Its job folder equals the one ``pype build examples/spec_sample/flow.yaml``
writes but for what names the YAML text (docs/python-api.md, 'The job folder').
Run from the repository root::

    python -m examples.python_api.spec_sample
"""

from __future__ import annotations

import sys

import pypeline


def make_flow() -> pypeline.Flow:
    """The sample flow: read a CSV, keep the adults, write Parquet."""
    flow = pypeline.Flow("sample_etl", version="1.0.0", authors=["developer"], created="2025-01-15")
    flow.settings(timeout=3600, retries=1, fail_strategy="halt", execution_mode="pandas", threads=8)
    source = flow.module("source_csv", "csv_source",
                         configs={"file_path": "examples/spec_sample/data/input.csv", "encoding": "utf-8"})
    transform = flow.module("transform_data", "filter_mod", configs={"condition": "age > 18"})
    sink = flow.module("output_parquet", "parquet_sink", configs={"output_path": "out/sample_etl/output.parquet"})
    flow.connect(source["data"], transform["input"])
    flow.connect(transform["output"], sink["input"])
    return flow


def main() -> int:
    flow = make_flow()
    print(flow.to_yaml())
    report = flow.run()
    print(f"{report.status}: {report.modules['transform_data'].rows_out} adults, manifest {report.manifest_path}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
