"""Benchmark of the in-memory sweep (``costmodel.sweep`` -> DataFrame): configurations per second on
alpha x rho grids of 10^6 and 10^7 points, against two baselines measured in the same run:

* the previous implementation (commit BASELINE, before the chunked engine), extracted with
  ``git archive`` into a temporary directory and run in a subprocess;
* the scalar recount, ``analyze(build(...))`` one configuration at a time (timed on a random sample
  and extrapolated), which also checks the sampled rows exactly.

Every run is a subprocess, so its peak memory (max RSS) is its own.

    python benchmarks/bench_sweep.py [--net mobilenet_v2] [--repeat 3] [--quick]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sweep_common import BASELINE, baseline_tree, run_child  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

IN_MEMORY = """
import numpy as np, time, resource
from costmodel.sweeps import sweep
sweep("{net}", [1.0], [224])
alphas = np.linspace(0.35, 1.4, {A}).tolist() if {A} > 1 else [1.0]
res = list(range(96, 96 + {R})) if {old} else range(96, 96 + {R})
t = time.perf_counter()
df = sweep("{net}", alphas, res)
dt = time.perf_counter() - t
print(dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, len(df), int(df["madds"].iloc[-1]))
"""

RECOUNT = """
import numpy as np, random, time
import costmodel
rng = random.Random(0)
alphas = np.linspace(0.35, 1.4, {A}).tolist() if {A} > 1 else [1.0]
picks = [(rng.choice(alphas), rng.randrange(96, 96 + {R})) for _ in range({n})]
t = time.perf_counter()
for a, r in picks:
    costmodel.analyze(costmodel.build("{net}", alpha=a, res=r)).totals
print((time.perf_counter() - t) / {n})
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--net", default="mobilenet_v2")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="the 10^6 grids only")
    a = ap.parse_args()
    grids = [(1000, 1000), (1, 1_000_000), (100, 100_000), (1000, 10_000)]
    if a.quick:
        grids = grids[:2]
    with tempfile.TemporaryDirectory() as tmp:
        old = baseline_tree(tmp)
        per_one = float(run_child(RECOUNT.format(net=a.net, A=1000, R=1000, n=100), ROOT)[0])
        print(f"{a.net}: in-memory sweep (DataFrame), median of {a.repeat}; baseline = commit {BASELINE[:7]}; "
              f"scalar recount = analyze(build()) at {per_one * 1e3:.2f} ms per configuration\n")
        print("| grid (alpha x rho) | configurations | this: s | this: configs/s | peak MB | baseline: s | "
              "baseline peak MB | x baseline | x scalar recount |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for A, R in grids:
            n = A * R
            runs = [run_child(IN_MEMORY.format(net=a.net, A=A, R=R, old=False), ROOT) for _ in range(a.repeat)]
            t = statistics.median(float(r[0]) for r in runs)
            rss = max(int(r[1]) for r in runs) / 1e6
            check = runs[0][3]
            try:
                base = [run_child(IN_MEMORY.format(net=a.net, A=A, R=R, old=True), old, timeout=900)
                        for _ in range(1 if n > 2_000_000 else a.repeat)]
                tb = statistics.median(float(r[0]) for r in base)
                rb = max(int(r[1]) for r in base) / 1e6
                same = "" if base[0][3] == check else " (DIFFERENT last row!)"
                bcols = f"{tb:.2f} | {rb:,.0f} | x{tb / t:.1f}{same}"
            except (subprocess.TimeoutExpired, RuntimeError) as e:
                bcols = f"failed ({str(e)[:40]}) | | "
            print(f"| {A:,} x {R:,} | {n:,} | {t:.2f} | {n / t:,.0f} | {rss:,.0f} | {bcols} | "
                  f"x{n * per_one / t:,.0f} |")


if __name__ == "__main__":
    main()
