"""The reference job (issue 13), written by hand three ways and as a PYpeline flow.

The job: read the CSV files (:mod:`benchmarks.reference_data`), keep
``amount > 50``, add ``total = amount * qty``, write the kept rows to
Parquet, and ``sum(total), count(*)`` by ``region`` to Parquet.

Each ``run_*`` function is one variant, run alone in a child process by
:mod:`benchmarks.reference_job`; each writes ``rows.parquet`` (a file, or a
folder for dask) and ``agg.parquet`` into ``out``. The hand-written ones are
written the fast way for their library:

* ``pyarrow``: ``pyarrow.csv.read_csv`` file by file (multi-threaded),
  ``pyarrow.compute``, one ``ParquetWriter`` for the rows, per-file partial
  aggregates combined at the end;
* ``pandas``: ``pandas.read_csv(engine="pyarrow")`` per file, ``concat``,
  boolean mask, ``groupby``;
* ``dask``: ``dask.dataframe.read_csv(engine="pyarrow")``, both outputs
  computed in one ``dask.compute``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.reference_data import DTYPES

PYPE_MODES = ("auto", "stream", "arrow", "pandas", "dask")
"""The execution modes the flow runs in (``pype-<mode>`` variants)."""


def files_of(data: Path) -> list[Path]:
    return sorted(data.glob("*.csv"))


def run_pyarrow(data: Path, out: Path) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    types = {"id": pa.int64(), "ts": pa.string(), "region": pa.string(), "amount": pa.float64(),
             "qty": pa.int64(), "note": pa.string()}
    convert = pacsv.ConvertOptions(column_types=types)
    writer: Any = None
    partials = []
    for path in files_of(data):
        table = pacsv.read_csv(path, convert_options=convert)
        table = table.filter(pc.greater(table["amount"], 50))
        table = table.append_column("total", pc.multiply(table["amount"], table["qty"]))
        if writer is None:
            writer = pq.ParquetWriter(out / "rows.parquet", table.schema)
        writer.write_table(table)
        partials.append(table.group_by("region").aggregate([("total", "sum"), ("total", "count")]))
    writer.close()
    agg = pa.concat_tables(partials).group_by("region").aggregate([("total_sum", "sum"), ("total_count", "sum")])
    agg = pa.table({"region": agg["region"], "total": agg["total_sum_sum"], "orders": agg["total_count_sum"]})
    pq.write_table(agg.sort_by("region"), out / "agg.parquet")


def run_pandas(data: Path, out: Path) -> None:
    import pandas as pd

    frame = pd.concat([pd.read_csv(p, engine="pyarrow", dtype=DTYPES) for p in files_of(data)], ignore_index=True)
    frame = frame[frame["amount"] > 50]
    frame = frame.assign(total=frame["amount"] * frame["qty"])
    frame.to_parquet(out / "rows.parquet", index=False)
    agg = frame.groupby("region", sort=True).agg(total=("total", "sum"), orders=("id", "size")).reset_index()
    agg.to_parquet(out / "agg.parquet", index=False)


def run_dask(data: Path, out: Path) -> None:
    import dask.dataframe as dd
    from dask.base import compute

    frame = dd.read_csv(str(data / "*.csv"), engine="pyarrow", dtype=DTYPES)
    kept = frame[frame["amount"] > 50]
    kept = kept.assign(total=kept["amount"] * kept["qty"])
    rows = kept.to_parquet(str(out / "rows.parquet"), compute=False, write_index=False)
    grouped = kept.groupby("region").agg(total=("total", "sum"), orders=("id", "size"))
    _, agg = compute(rows, grouped)
    agg.sort_index().reset_index().to_parquet(out / "agg.parquet", index=False)


HAND_WRITTEN = {"pyarrow": run_pyarrow, "pandas": run_pandas, "dask": run_dask}


def flow_yaml(name: str, data: Path, out: Path, mode: str) -> str:
    """The reference job as a flow, in ``mode`` (``auto``: the default, no setting)."""
    settings = "" if mode == "auto" else f"settings: {{execution_mode: {mode}}}\n"
    return f"""flow: {{name: {name}}}
{settings}modules:
  - {{id: read, name: csv_source, configs: {{required: {{file_path: "{data}/*.csv"}},
                                          optional: {{dtypes: {json.dumps(DTYPES)}}}}}}}
  - {{id: keep, name: filter_mod, configs: {{required: {{condition: "amount > 50"}}}}}}
  - {{id: derive, name: derive_mod, configs: {{required: {{columns: [{{total: "amount * qty"}}]}}}}}}
  - id: agg
    name: aggregate_mod
    configs:
      required: {{aggregations: [{{total: "sum(total)"}}, {{orders: "count(*)"}}]}}
      optional: {{group_by: [region]}}
  - {{id: write_rows, name: parquet_sink, configs: {{required: {{output_path: "{out / 'rows.parquet'}"}}}}}}
  - {{id: write_agg, name: parquet_sink, configs: {{required: {{output_path: "{out / 'agg.parquet'}"}}}}}}
connections:
  data: ["read.data - keep.input", "keep.output - derive.input", "derive.output - write_rows.input",
         "derive.output - agg.input", "agg.output - write_agg.input"]
"""


def run_pype(job: Path) -> str:
    """Run a built job as ``pype run`` does (after :func:`prepare_process`); return the mode it ran in."""
    from pypeline.run.engine.dask_mode import prepare_process

    prepare_process(str(job))  # what `pype run` does first, before pyarrow is imported (stdlib only)
    from pypeline.run.run import RunOptions, run_job_sync

    result = run_job_sync(str(job), RunOptions(progress="none", echo_logs=False))
    if result.status != "success":
        raise SystemExit(f"run failed: {result.manifest['errors']}")
    return str(result.manifest["execution_mode"])


def outputs_agree(outs: dict[str, Path]) -> str | None:
    """``None`` when every variant wrote the same rows and groups, else what differs."""
    import numpy as np
    import pandas as pd

    reference: Any = None
    for variant, out in outs.items():
        agg = pd.read_parquet(out / "agg.parquet").sort_values("region").reset_index(drop=True)
        rows = pd.read_parquet(out / "rows.parquet", columns=["id", "total"])
        figures = (agg["region"].astype(str).tolist(), agg["orders"].astype(int).tolist(), agg["total"].to_numpy(),
                   len(rows), int(rows["id"].sum()), float(rows["total"].sum()))
        if reference is None:
            reference = figures
            continue
        same = (figures[0] == reference[0] and figures[1] == reference[1] and figures[3:5] == reference[3:5]
                and np.allclose(figures[2], reference[2]) and np.isclose(figures[5], reference[5]))
        if not same:
            return f"{variant}: outputs differ from {next(iter(outs))}'s"
    return None
