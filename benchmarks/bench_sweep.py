"""Benchmark of the vectorized sweep: 1,000 alphas x 1,000 resolutions of MobileNetV2 (goal: under a
second), configurations per second, and the speed-up over costing the same configurations one by
one with the totals of analyze(build()) (measured on a random sample, extrapolated).

    python benchmarks/bench_sweep.py [--alphas 1000] [--res 1000] [--sample 200] [--net mobilenet_v2]
"""
import argparse
import random
import statistics
import time

import numpy as np

import costmodel
from costmodel.sweeps import sweep


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--net", default="mobilenet_v2")
    ap.add_argument("--alphas", type=int, default=1000)
    ap.add_argument("--res", type=int, default=1000)
    ap.add_argument("--sample", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    alphas = np.linspace(0.35, 1.4, a.alphas).tolist()
    res = list(range(96, 96 + a.res))
    sweep(a.net, [1.0], [224])  # warm up imports (pandas, numpy) and the registry
    times = []
    for _ in range(a.repeat):
        t = time.perf_counter()
        df = sweep(a.net, alphas, res)
        times.append(time.perf_counter() - t)
    n = len(df)
    best, med = min(times), statistics.median(times)
    rng = random.Random(0)
    idx = rng.sample(range(n), min(a.sample, n))
    t = time.perf_counter()
    mismatches = 0
    for i in idx:
        row = df.iloc[i]
        tot = costmodel.analyze(costmodel.build(a.net, alpha=float(row.alpha), res=int(row.resolution))).totals
        mismatches += any(tot[k] != row[k] for k in ("params", "params_with_bn", "madds", "flops", "mac"))
    per_one = (time.perf_counter() - t) / len(idx)
    print(f"{a.net}: {a.alphas} alphas x {a.res} resolutions = {n:,} configurations")
    print(f"vectorized sweep: median {med:.3f} s, best {best:.3f} s over {a.repeat} runs "
          f"-> {n / med:,.0f} configurations/s (goal: 1,000,000 in under 1 s)")
    print(f"one by one (analyze(build()), {len(idx)} sampled): {per_one * 1e3:.2f} ms each -> "
          f"{n * per_one:,.0f} s extrapolated for the grid; speed-up x{n * per_one / med:,.0f}")
    print(f"agreement on the sample: {len(idx) - mismatches}/{len(idx)} rows equal to analyze() exactly")


if __name__ == "__main__":
    main()
