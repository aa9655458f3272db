"""Latency on this machine and the honest score of every predictor (issue 10).

    python benchmarks/bench_latency.py                       # score the committed results
    python benchmarks/bench_latency.py --calibrate [--budget 10m] [--threads 1]
    python benchmarks/bench_latency.py --guidelines          # measure the G1-G4 stacks again
    python benchmarks/bench_latency.py --example             # one measured example (README)

--calibrate measures the designed workloads with onnxruntime (costmodel.calibrate) and writes
benchmarks/results/this_machine.json (a device file: --device benchmarks/results/this_machine.json);
--guidelines writes benchmarks/results/guidelines_measured.json (the notebook loads both).
Without them, the committed files are scored: leave-one-family-out on this machine's zoo
measurements, leave-one-out on each published device table, for the calibrated predictor and the
Mult-Adds, MAC and uncalibrated-roofline baselines, printed as the Markdown tables of
docs/latency.md. The load average before and after is printed: numbers taken on a busy machine
say so. Goals: >= 90% within +-10% and Spearman >= 0.95 on left-out families here; >= 80% within
+-10% on the Pixel-1 MobileNetV2 rows.
"""
import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
RESULTS = os.path.join(ROOT, "benchmarks", "results")
MACHINE = os.path.join(RESULTS, "this_machine.json")
GUIDELINES = os.path.join(RESULTS, "guidelines_measured.json")


def pct(v):
    return "-" if v != v else f"{100 * v:.0f}%"


def score_table(results):
    head = ("| device (protocol) | configs | predictor within +-10% | MAPE | Spearman | Mult-Adds within +-10% | "
            "MAPE | Spearman | MAC within +-10% | roofline within +-10% | roofline MAPE |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    lines = [head]
    for r in results:
        b = r["baselines"]
        proto = "leave-one-family-out" if r["protocol"].startswith("leave-one-family") else "leave-one-out"
        lines.append(f"| {r['device']} ({proto}) | {r['n_configs']} | {pct(r['within_10pct'])} | {pct(r['mape'])} | "
                     f"{r['spearman']:.3f} | {pct(b['madds']['within_10pct'])} | {pct(b['madds']['mape'])} | "
                     f"{b['madds']['spearman']:.3f} | {pct(b['mac']['within_10pct'])} | "
                     f"{pct(b['roofline']['within_10pct'])} | {pct(b['roofline']['mape'])} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calibrate", action="store_true")
    ap.add_argument("--guidelines", action="store_true")
    ap.add_argument("--example", action="store_true")
    ap.add_argument("--budget", default="10m")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--nice", type=int, default=0,
                    help="Raise this process's priority by N (root only) and pin it to one CPU while measuring: on "
                         "a machine shared with other jobs, fewer runs are interrupted (docs/latency.md says when "
                         "the committed numbers were taken this way).")
    a = ap.parse_args(argv)
    if a.nice:
        os.nice(-a.nice)
        if hasattr(os, "sched_setaffinity") and a.threads == 1:
            os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
        print(f"priority raised by {a.nice} (nice {os.nice(0)}), pinned to CPU {sorted(os.sched_getaffinity(0))}")
    from costmodel.calibrate import evaluate
    from costmodel.commands.calibrate import parse_budget
    from costmodel.measure import cpu_model, load_average
    from costmodel.published import DEVICES
    from costmodel.roofline import device
    os.makedirs(RESULTS, exist_ok=True)
    print(f"{cpu_model()}; load average {load_average()} at start")
    if a.calibrate:
        from costmodel.calibrate import calibrate
        t = time.time()
        d = calibrate("onnxruntime", a.threads, parse_budget(a.budget), "this-machine-onnxruntime-1t",
                      log=lambda s: print("  " + s, flush=True))
        with open(MACHINE, "w") as f:
            json.dump(d, f, indent=1)
            f.write("\n")
        print(f"calibrated in {time.time() - t:.0f} s: {MACHINE}")
    if a.guidelines:
        from costmodel.guidelines import measure_stacks
        rows = measure_stacks(threads=a.threads, seconds=1.0)
        with open(GUIDELINES, "w") as f:
            json.dump({"cpu": cpu_model(), "threads": a.threads, "load_average": load_average(),
                       "rows": [{k: r[k] for k in ("table", "config", "platform", "column", "measured_s")}
                                for r in rows]}, f, indent=1)
            f.write("\n")
        print(f"guideline stacks measured: {GUIDELINES}")
    if a.example:
        import costmodel
        from costmodel.measure import measure
        from costmodel.roofline import predict
        g = costmodel.build("mobilenet_v2", alpha=1.0, res=224)
        m = measure(g, "onnxruntime", a.threads)
        line = (f"MobileNetV2 1.0-224, onnxruntime {m.backend_version}, {m.threads} thread, {m.cpu}: median "
                f"{m.median_s * 1e3:.2f} ms (p10 {m.p10_s * 1e3:.2f}, p90 {m.p90_s * 1e3:.2f}, fastest "
                f"{m.min_s * 1e3:.2f}) over {m.runs} runs, 95% CI of the median +-{m.ci_rel:.1%}; CPU time of the "
                f"thread per run: median {m.cpu_median_s * 1e3:.2f} ms")
        if os.path.exists(MACHINE):
            line += f"; predicted {predict(g, device(MACHINE)) * 1e3:.2f} ms (this_machine.json)"
        print(line)
    results = []
    if os.path.exists(MACHINE):
        results.append(evaluate(device(MACHINE)))
    results += [evaluate(device(n)) for n in DEVICES]
    print()
    print(score_table(results))
    for r in results:
        for k, g in r.get("goals", {}).items():
            print(f"{r['device']}: goal {k} >= {g['target']:g}: {'reached' if g['reached'] else 'NOT reached'} "
                  f"({r[k]:.3f})")
    if results and results[0]["protocol"].startswith("leave-one-family"):
        r = results[0]
        print("\n| left-out family | configs | within +-10% | MAPE | Mult-Adds within +-10% |\n"
              "|---|---:|---:|---:|---:|")
        for f, v in r["by_family"].items():
            print(f"| {f} | {v['n']} | {pct(v['within_10pct'])} | {pct(v['mape'])} | {pct(v['madds_within_10pct'])} |")
    print(f"\nload average {load_average()} at the end")


if __name__ == "__main__":
    main()
