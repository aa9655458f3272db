"""Benchmark of the Dask engine (``costmodel sweep --engine dask``): end-to-end configurations per
second to a partitioned Parquet dataset with 1 and 2 local worker processes (dask.distributed
LocalCluster, started before timing), against the local engine writing one Parquet file, in the
same run; the datasets are read back and compared with the local file.

    python benchmarks/bench_sweep_dask.py [--alphas 10] [--res 1000000]
"""
import argparse
import os
import tempfile
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--net", default="mobilenet_v2")
    ap.add_argument("--alphas", type=int, default=10)
    ap.add_argument("--res", type=int, default=1_000_000)
    a = ap.parse_args()
    import pandas as pd
    from distributed import LocalCluster
    from costmodel.sweeps import recipe, sweep_to
    from costmodel.sweeps.distributed import run_dask
    alphas = np.linspace(0.35, 1.4, a.alphas).tolist()
    res = range(96, 96 + a.res)
    n = a.alphas * a.res
    with tempfile.TemporaryDirectory() as tmp:
        local = os.path.join(tmp, "local.parquet")
        t = time.perf_counter()
        sweep_to(local, a.net, alphas, res)
        t_local = time.perf_counter() - t
        ref = pd.read_parquet(local, columns=["madds", "mac"])
        print(f"{a.net}: {a.alphas} alphas x {a.res:,} resolutions = {n:,} configurations, Parquet\n")
        print("| engine | workers | s | configs/s | x local | equal to local |")
        print("|---|---:|---:|---:|---:|---|")
        print(f"| local (one process, one file) | - | {t_local:.1f} | {n / t_local:,.0f} | x1.0 | - |", flush=True)
        for workers in (1, 2):
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster:
                out = os.path.join(tmp, f"dask{workers}")
                t = time.perf_counter()
                s = run_dask(recipe(a.net, alphas, res), out, cluster.scheduler_address)
                dt = time.perf_counter() - t
            got = pd.read_parquet(out, columns=["madds", "mac"])
            same = bool((got["madds"].values == ref["madds"].values).all() and
                        (got["mac"].values == ref["mac"].values).all())
            print(f"| dask ({s['partitions']} tasks) | {workers} | {dt:.1f} | {n / dt:,.0f} | x{t_local / dt:.2f} | "
                  f"{same} |", flush=True)


if __name__ == "__main__":
    main()
