"""What the remote execution backends cost: dask per-module overhead, and a 1 GB frame crossing a boundary.

1. **dask per-module overhead.** A chain of 2,000 small modules
   (``csv_source`` of 10 rows, then 1,999 ``filter_mod`` that keep every row)
   is built once with every filter ``local`` and once with every filter on the
   ``dask`` backend (a LocalCluster of 2 worker processes that the run starts).
   Both are run in process; the overhead per module is
   ``(t_dask - t_local) / 1,999``. The cluster's start-up (~1-2 s) is part of
   the dask run, as it is for a user; it is also printed on its own.
2. **1 GB across the boundary**, next to a plain Parquet write + read of the
   same frame to local disk in the same process (the hand-written baseline):

   * ``lambda/glue``: what the remote executors do per frame and direction:
     ``S3Stage.put_frame`` (Parquet to a temp file, multipart upload) then
     ``S3Stage.get_frame`` (download, read) against a moto S3 server on
     127.0.0.1;
   * ``dask``: ``client.scatter`` of the frame to a LocalCluster worker, then
     ``client.gather`` back (what the dask backend does for a pandas input and
     its output).

Usage (from the repository root)::

    python benchmarks/executors_overhead.py [--modules 2000] [--gb 1.0] [--skip-frame] [--skip-chain]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def chain_flow(name: str, modules: int, data: Path, backend: str) -> str:
    lines = [
        f"flow: {{name: {name}}}",
        "settings: {dask: {n_workers: 2, threads_per_worker: 1}}",
        "modules:",
        "  - " + json.dumps({"id": "m0", "name": "csv_source", "configs": {"required": {"file_path": str(data)}}}),
    ]
    edges = []
    for i in range(1, modules):
        module = {"id": f"m{i}", "name": "filter_mod", "configs": {"required": {"condition": "value >= 0"}}}
        if backend != "local":
            module["execution"] = {"backend": backend}
        lines.append("  - " + json.dumps(module))
        port = "data" if i == 1 else "output"
        edges.append(f"m{i - 1}.{port} - m{i}.input")
    lines.append("connections:")
    lines.append("  data: " + json.dumps(edges))
    return "\n".join(lines) + "\n"


async def run_chain(modules: int, workdir: Path) -> dict[str, float]:
    from pypeline.build.build import build_flow
    from pypeline.run.run import RunOptions, run_job

    data = workdir / "small.csv"
    data.write_text("name,value\n" + "".join(f"n{i},{i}\n" for i in range(10)), encoding="utf-8")
    times: dict[str, float] = {}
    for backend in ("local", "dask"):
        flow = workdir / f"chain_{backend}.yaml"
        flow.write_text(chain_flow(f"chain_{backend}", modules, data, backend), encoding="utf-8")
        job = build_flow(flow, workdir / "jobs")
        started = time.perf_counter()
        result = await run_job(job, RunOptions(progress="none", echo_logs=False))
        times[backend] = time.perf_counter() - started
        if result.status != "success":
            raise SystemExit(f"{backend} chain failed: {result.manifest.get('errors')}")
    from distributed import Client, LocalCluster

    started = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=":0") as cluster:
        with Client(cluster, set_as_default=False):
            times["cluster_start"] = time.perf_counter() - started
    return times


def make_frame(gigabytes: float):  # type: ignore[no-untyped-def]
    import numpy as np
    import pandas as pd

    rows = int(gigabytes * 1e9 / 64)
    rng = np.random.default_rng(7)
    columns: dict[str, Any] = {f"f{i}": rng.random(rows) for i in range(6)}
    columns["id"] = np.arange(rows, dtype="int64")
    columns["bucket"] = rng.integers(0, 1000, rows, dtype="int64")
    return pd.DataFrame(columns)


def frame_crossings(gigabytes: float, workdir: Path) -> dict[str, float]:
    import boto3
    import pandas as pd
    from moto.server import ThreadedMotoServer

    from pypeline.backends.remote_staging import S3Stage, S3Uri, make_s3_client

    frame = make_frame(gigabytes)
    size = frame.memory_usage(index=True, deep=True).sum()
    out: dict[str, float] = {"bytes": float(size)}

    path = workdir / "plain.parquet"
    started = time.perf_counter()
    frame.to_parquet(path)
    back = pd.read_parquet(path)
    out["parquet_local"] = time.perf_counter() - started
    out["parquet_file_bytes"] = float(path.stat().st_size)
    assert len(back) == len(frame)
    del back
    path.unlink()

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request
    for key, value in {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}.items():
        os.environ.setdefault(key, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        assert server._server is not None
        host, port = server._server.server_address[:2]  # port 0: ask the server which port it got
        endpoint = f"http://{host!s}:{port}"
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="bench")
        stage = S3Stage(make_s3_client(endpoint, "us-east-1"))
        uri = S3Uri("bench", "run/node/attempt-1/in/input.parquet")
        started = time.perf_counter()
        stage.put_frame(uri, frame)
        out["s3_put"] = time.perf_counter() - started
        started = time.perf_counter()
        back = stage.get_frame(uri, "input")
        out["s3_get"] = time.perf_counter() - started
        assert len(back) == len(frame)
        del back
    finally:
        server.stop()

    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, host="127.0.0.1", dashboard_address=":0",
                      memory_limit=0) as cluster, Client(cluster, set_as_default=False) as client:
        started = time.perf_counter()
        future = client.scatter(frame, hash=False)
        out["dask_scatter"] = time.perf_counter() - started
        started = time.perf_counter()
        back = future.result()
        out["dask_gather"] = time.perf_counter() - started
        assert len(back) == len(frame)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--modules", type=int, default=2000)
    parser.add_argument("--gb", type=float, default=1.0)
    parser.add_argument("--skip-chain", action="store_true")
    parser.add_argument("--skip-frame", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pypeline-bench-") as tmp:
        workdir = Path(tmp)
        os.chdir(workdir)
        if not args.skip_chain:
            times = asyncio.run(run_chain(args.modules, workdir))
            per = (times["dask"] - times["local"]) / (args.modules - 1) * 1000
            print(f"chain of {args.modules} modules: local {times['local']:.2f} s, dask {times['dask']:.2f} s "
                  f"(LocalCluster start alone {times['cluster_start']:.2f} s)")
            print(f"dask backend overhead per module: {per:.2f} ms "
                  f"(local run: {times['local'] / args.modules * 1000:.2f} ms per module)")
        if not args.skip_frame:
            f = frame_crossings(args.gb, workdir)
            base = f["parquet_local"]
            print(f"frame: {f['bytes'] / 1e9:.2f} GB in memory, {f['parquet_file_bytes'] / 1e9:.2f} GB as Parquet")
            print(f"  baseline  Parquet write + read, local disk : {base:6.2f} s")
            s3 = f["s3_put"] + f["s3_get"]
            print(f"  lambda/glue  S3 stage put + get (moto)     : {s3:6.2f} s "
                  f"(put {f['s3_put']:.2f}, get {f['s3_get']:.2f}; {s3 / base:.1f}x baseline)")
            dk = f["dask_scatter"] + f["dask_gather"]
            print(f"  dask  scatter + gather (LocalCluster)      : {dk:6.2f} s "
                  f"(scatter {f['dask_scatter']:.2f}, gather {f['dask_gather']:.2f}; {dk / base:.1f}x baseline)")


if __name__ == "__main__":
    main()
