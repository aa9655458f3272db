"""Benchmark of per-stage sweeps (``costmodel sweep NET --stage-width ... --stage-kernel ...``):
points per second enumerated and sampled, against the scalar recount of the same points (the whole
graph of each point built and analyzed: ``analyze(point_graph(...))``, timed on a random sample and
extrapolated, which also checks those points exactly).

    python benchmarks/bench_sweep_stages.py [--net mobilenet_v2] [--sample 100000]
"""
import argparse
import random
import time

import numpy as np

import costmodel
from costmodel.sweeps import SWEEP_KEYS, frame, prepare, recipe


def recount(p, df, n=60):
    """Seconds per point of the scalar recount, and how many of the sampled rows agree exactly."""
    rng = random.Random(0)
    rows = rng.sample(range(len(df)), min(n, len(df)))
    t = time.perf_counter()
    ok = 0
    for i in rows:
        r = df.iloc[i]
        pt = int(r["point"])
        digits = [(pt // p.Q ** (p.S - 1 - s)) % p.Q for s in range(p.S)]
        tot = costmodel.analyze(p.point_graph(float(r["alpha"]), p._choices(digits),
                                              (int(r["height"]), int(r["width"])))).totals
        ok += all(int(r[k]) == tot[k] for k in SWEEP_KEYS)
    return (time.perf_counter() - t) / len(rows), ok, len(rows)


def run(label, net, axes, res=(224,)):
    t = time.perf_counter()
    p = prepare(recipe(net, None, list(res), stages=axes))
    t_prep = time.perf_counter() - t
    t = time.perf_counter()
    df = frame(p)
    t_rows = time.perf_counter() - t
    per_one, ok, m = recount(p, df)
    n = len(df)
    total = t_prep + t_rows
    print(f"| {label} | {p.P * p.R:,} | {n:,} | {t_prep:.2f} | {t_rows:.2f} | {n / total:,.0f} | "
          f"{per_one * 1e3:.1f} | x{n * per_one / total:,.0f} | {ok}/{m} |", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--net", default="mobilenet_v2")
    ap.add_argument("--sample", type=int, default=100_000)
    a = ap.parse_args()
    print(f"{a.net}: per-stage design spaces (all 7 stages of the table), one resolution (224)\n")
    print("| space | points in the space | rows computed | prepare s | rows s | rows/s (prepare included) | "
          "recount ms/point | x recount | sampled rows exact |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    run("width {0.5,0.75,1,1.25} x kernel {3,5}, enumerated", a.net,
        {"width": [0.5, 0.75, 1.0, 1.25], "kernel": [3, 5]})
    big = {"width": list(np.linspace(0.5, 1.5, 5)), "depth": [0.5, 1.0, 1.5, 2.0], "kernel": [3, 5, 7]}
    run(f"width 5 x depth 4 x kernel 3, {a.sample:,} sampled", a.net, dict(big, sample=a.sample))


if __name__ == "__main__":
    main()
