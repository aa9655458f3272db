"""Benchmark of streamed sweeps (``costmodel.sweeps.sweep_to``): end-to-end configurations per second
to Parquet, CSV and JSON lines (writing included), and peak memory (max RSS of the process), on
grids of 10^7 and 10^8 points and on 1 alpha x 10^7 resolutions, against the previous implementation
(commit BASELINE: the whole grid in memory, then ``DataFrame.to_parquet`` / ``to_csv``, as its CLI
wrote CSV) measured in the same run where it fits in memory. Goals: >= 5*10^6 configurations/s to
Parquet, peak memory < 500 MB whatever the grid.

Each child process first runs a small sweep and imports the writer's library (pyarrow for
Parquet), in this implementation and in the baseline alike, and the modules of the streaming path
(``STREAM_MODULES``: until the sixth session they were imported inside the timed call, 4.5-7.5 ms),
so that the timed part is the sweep and its writing, not a process's one-time imports. Finding
the BLAS libraries (once per process, about 2.5-7 ms) stays in the timed part of this first
("cold") sweep. Each child then runs the same sweep again to a new file ("warm": what a process
that has swept before sees; no sweep's results are cached between the two, only the process's
one-time costs are paid: the BLAS lookup, pyarrow's writer set-up, about 6 ms on its first table,
and the first growth of the heap), and prints both. ``--repeat N`` runs each case N times in fresh
processes and prints the median times (and the largest peak).

    python benchmarks/bench_sweep_stream.py [--net mobilenet_v2] [--big] [--formats parquet,csv,jsonl] [--repeat N]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine_speed import REFERENCE, spread  # noqa: E402
from sweep_common import BASELINE, baseline_tree, run_child  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: the writer's library, imported before timing (a process's one-time cost, not the sweep's)
WARM = {"parquet": "import pyarrow.parquet", "csv": "import pyarrow.csv"}

#: the streaming path's own modules, imported lazily by ``sweep_to`` (one-time imports)
STREAM_MODULES = "import costmodel.sweeps.writers, costmodel.fileio, costmodel.blas, threadpoolctl, concurrent.futures"

STREAM = """
import numpy as np, time, resource, os
from costmodel.sweeps import sweep, sweep_to
sweep("{net}", [1.0], [224])
{warm}
{stream_modules}
ref = []  # the machine's speed just before the sweep (machine_speed.REFERENCE)
for _ in range(3):
    t = time.process_time(); reference(); ref.append(time.process_time() - t)
alphas = np.linspace(0.35, 1.4, {A}).tolist() if {A} > 1 else [1.0]
t = time.perf_counter()
s = sweep_to("{out}", "{net}", alphas, range(96, 96 + {R}))
dt = time.perf_counter() - t
size = os.path.getsize("{out}")
os.remove("{out}")
t = time.perf_counter()
sweep_to("{out}", "{net}", alphas, range(96, 96 + {R}))  # warm: the process's one-time costs are paid
dt2 = time.perf_counter() - t
print(dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, s["rows"], size, min(ref), dt2)
"""

OLD = """
import numpy as np, time, resource, os
from costmodel.sweeps import sweep
sweep("{net}", [1.0], [224])
{warm}
alphas = np.linspace(0.35, 1.4, {A}).tolist() if {A} > 1 else [1.0]
t = time.perf_counter()
df = sweep("{net}", alphas, list(range(96, 96 + {R})))
if "{fmt}" == "parquet":
    df.to_parquet("{out}", index=False)
elif "{fmt}" == "csv":
    open("{out}", "w").write(df.to_csv(index=False))
else:
    df.to_json("{out}", orient="records", lines=True)
dt = time.perf_counter() - t
print(dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, len(df), os.path.getsize("{out}"))
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--net", default="mobilenet_v2")
    ap.add_argument("--big", action="store_true", help="also the 10^8-point grid and 1 alpha x 10^7 resolutions")
    ap.add_argument("--formats", default="parquet,csv,jsonl")
    ap.add_argument("--repeat", type=int, default=1, help="runs per case (fresh processes); the median is printed")
    a = ap.parse_args()
    fmts = a.formats.split(",")
    cases = [(fmt, 1000, 10_000) for fmt in fmts] + [("parquet", 1, 1_000_000)]
    if a.big:
        cases += [("parquet", 1, 10_000_000), ("parquet", 100, 1_000_000), ("csv", 1, 10_000_000)]
    suffix = {"parquet": ".parquet", "csv": ".csv", "jsonl": ".jsonl"}
    with tempfile.TemporaryDirectory() as tmp:
        old = baseline_tree(tmp)
        print(f"{a.net}: streamed sweeps, writing included, median of {max(1, a.repeat)}; baseline = commit "
              f"{BASELINE[:7]} (whole grid in memory, then written by pandas); load average "
              f"{os.getloadavg()[0]:.2f}\n")
        print("| output | grid (alpha x rho) | configurations | this: s | configs/s | warm: configs/s | peak MB | "
              "bytes/row | baseline: s | baseline peak MB | x baseline |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        refs = []
        for fmt, A, R in cases:
            n = A * R
            out = os.path.join(tmp, "grid" + suffix[fmt])
            warm = WARM.get(fmt, "")
            runs = []
            for _ in range(max(1, a.repeat)):
                r = run_child(REFERENCE + STREAM.format(net=a.net, A=A, R=R, out=out, warm=warm,
                                                                 stream_modules=STREAM_MODULES), ROOT, timeout=3600)
                runs.append((float(r[0]), int(r[1]) / 1e6, int(r[3]), float(r[5])))
                refs.append(float(r[4]) * 1e3)
                os.remove(out)
            t = statistics.median(x[0] for x in runs)
            t_warm = statistics.median(x[3] for x in runs)
            rss, size = max(x[1] for x in runs), runs[0][2]
            if n <= 10_000_000 and not (A == 1 and R > 1_000_000):
                try:
                    b = run_child(OLD.format(net=a.net, A=A, R=R, fmt=fmt, out=out, warm=warm), old, timeout=3600)
                    tb, rb = float(b[0]), int(b[1]) / 1e6
                    base = f"{tb:.1f} | {rb:,.0f} | x{tb / t:.1f}"
                    os.remove(out)
                except (subprocess.TimeoutExpired, RuntimeError) as e:
                    base = f"failed: {str(e)[:50]} | | "
            else:
                base = "not run (does not fit: 1 alpha x 10^6 resolutions already takes 2.9 GB) | | "
            print(f"| {fmt} | {A:,} x {R:,} | {n:,} | {t:.1f} | {n / t:,.0f} | {n / t_warm:,.0f} | {rss:,.0f} | "
                  f"{size / n:.1f} | {base} |", flush=True)
        print("\n" + spread(refs, "each timed sweep of this implementation", "sweeps"))


if __name__ == "__main__":
    main()
