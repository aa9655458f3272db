"""Wall time of ``costmodel table mobilenet_v2 --alpha 0.75 --res 160`` (goal: under 0.3 s), median of
several runs, and whether the command imported pandas or matplotlib (it must not).

    python benchmarks/bench_cli.py [--runs 7]
"""
import argparse
import statistics
import subprocess
import sys
import time

CMD = [sys.executable, "-m", "costmodel", "table", "mobilenet_v2", "--alpha", "0.75", "--res", "160"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    a = ap.parse_args()
    subprocess.run(CMD, capture_output=True, check=True)  # warm the file cache
    times = []
    for _ in range(a.runs):
        t = time.perf_counter()
        subprocess.run(CMD, capture_output=True, check=True)
        times.append(time.perf_counter() - t)
    imp = subprocess.run([sys.executable, "-X", "importtime"] + CMD[1:], capture_output=True, text=True)
    heavy = sorted({line.split("|")[-1].strip().split(".")[0] for line in imp.stderr.splitlines()
                    if line.split("|")[-1].strip().split(".")[0] in ("pandas", "matplotlib")})
    print(f"{' '.join(CMD[1:])}: median {statistics.median(times):.3f} s, min {min(times):.3f} s over "
          f"{a.runs} runs (goal: under 0.3 s)")
    print(f"heavy imports on this path: {', '.join(heavy) or 'none (no pandas, no matplotlib)'}")


if __name__ == "__main__":
    main()
