"""Time to build and analyze one network: ``costmodel.analyze(costmodel.build(name))`` for every
registry network (the project's goal: at most 5 ms each), now and with a previous implementation
measured in the same run, and their ratio. No assertion (performance goals live here, not in tests).

The previous implementation is a git revision of this repository (``--baseline``, default the commit
before the build-speed work), extracted with ``git archive`` into a temporary directory. Each
implementation runs in a worker process of its own; the two are asked in turn, network by network and
round by round, so that a change of the machine's load affects both alike. A round times ``--repeat``
calls in CPU time of the worker (``time.process_time``: on a quiet machine the wall time; on a busy one
other processes' turns do not count); the table shows the median round (milliseconds per call) and, as
a check that nothing changed,
whether both implementations give the same ``analyze`` JSON (``same``).

Also measured: the split of the current implementation's time (build, rows and totals, memory plan,
optimal-schedule peak, weight bytes) with ``--split``.

Run: python benchmarks/bench_build.py [--baseline REV] [--rounds 7] [--repeat 20] [--markdown] [NET ...]
(check ``uptime`` first: on a loaded machine the ratios hold better than the milliseconds).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

GOAL_MS = 5.0
#: the last commit before the build-speed work (issue 17): the "before" column
BASELINE = "672db62"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: the worker: reads "NAME REPEAT" lines, answers one JSON line (ms per call, hash of the JSON, nodes)
WORKER = r"""
import hashlib, json, sys, time
import costmodel as cm
print(json.dumps({"ready": cm.__file__}), flush=True)
for line in sys.stdin:
    name, repeat = line.split()
    repeat = int(repeat)
    cm.analyze(cm.build(name))  # warm: imports, registry, first-call caches
    t = time.process_time()  # CPU time of this process: other processes' load does not count
    for _ in range(repeat):
        r = cm.analyze(cm.build(name))
    ms = (time.process_time() - t) / repeat * 1e3
    digest = hashlib.sha256(json.dumps(r.to_dict(), sort_keys=True, default=str).encode()).hexdigest()
    print(json.dumps({"ms": ms, "hash": digest, "nodes": len(r.rows)}), flush=True)
"""


class Worker:
    """One implementation in a process of its own (``root`` holds its ``costmodel`` package)."""

    def __init__(self, root):
        env = dict(os.environ, PYTHONPATH=root)
        self.proc = subprocess.Popen([sys.executable, "-c", WORKER], cwd=root, env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.file = json.loads(self.proc.stdout.readline())["ready"]

    def time(self, name, repeat):
        self.proc.stdin.write(f"{name} {repeat}\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def extract(rev, where):
    """``git archive`` of ``rev``'s costmodel package into ``where`` (None if git cannot)."""
    try:
        data = subprocess.run(["git", "archive", rev, "costmodel"], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", where], input=data, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"cannot extract baseline {rev}: {e}; timing the current implementation only", file=sys.stderr)
        return None
    return where


def split(names, repeat):
    """Where the current implementation's time goes, per network (ms per call, in process)."""
    sys.path.insert(0, ROOT)
    import costmodel as cm
    from costmodel import analysis, registry
    from costmodel.memory import plan
    from costmodel.memory_liveness import optimal_peak
    from costmodel.precision import layer_weight_bytes

    def ms(fn):
        fn()
        t = time.perf_counter()
        for _ in range(repeat):
            fn()
        return (time.perf_counter() - t) / repeat * 1e3

    print(f"{'network':28s} {'build':>7s} {'rows':>7s} {'plan':>7s} {'peak':>7s} {'weights':>7s} {'total':>7s}")
    for name in names:
        c = registry.configure(name)
        # each stage on a fresh graph, so that no per-node result is cached from an earlier stage
        t_build = ms(c.build)
        t_rows = ms(lambda: (lambda g: (analysis.layer_rows(g), analysis.count_totals(g)))(c.build())) - t_build
        t_plan = ms(lambda: plan(c.build())) - t_build
        g = c.build()
        p = plan(g)
        t_peak = ms(lambda: optimal_peak(p))
        t_wb = ms(lambda: layer_weight_bytes(g, 32, None, p))
        t_all = ms(lambda: cm.analyze(cm.build(name)))
        print(f"{name:28s} {t_build:7.2f} {t_rows:7.2f} {t_plan:7.2f} {t_peak:7.2f} {t_wb:7.2f} {t_all:7.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("networks", nargs="*", help="registry names (default: every network)")
    ap.add_argument("--baseline", default=BASELINE, help="git revision of the previous implementation "
                    f"(default {BASELINE}); 'none' to time the current one only")
    ap.add_argument("--rounds", type=int, default=7, help="rounds per network and implementation (median)")
    ap.add_argument("--repeat", type=int, default=20, help="calls per round")
    ap.add_argument("--markdown", action="store_true", help="print the table as markdown")
    ap.add_argument("--split", action="store_true", help="print where the current implementation's time goes")
    args = ap.parse_args()
    sys.path.insert(0, ROOT)
    import costmodel as cm
    names = args.networks or list(cm.networks())
    if args.split:
        split(names, args.repeat)
        return
    tmp = tempfile.mkdtemp(prefix="bench_build_")
    try:
        old_root = None if args.baseline == "none" else extract(args.baseline, tmp)
        new = Worker(ROOT)
        old = Worker(old_root) if old_root else None
        print(f"# load average {os.getloadavg()[0]:.2f} at the start; after: {new.file}"
              + (f"; before: {args.baseline} ({old.file})" if old else ""))
        rows = []
        if not args.markdown:
            print(f"{'network':28s} {'nodes':>5s} {'before ms':>10s} {'after ms':>10s} {'ratio':>9s} {'x goal':>7s}")
        for name in names:
            t_new, t_old = [], []
            for _ in range(args.rounds):  # interleaved: both see the same load
                a = new.time(name, args.repeat)
                t_new.append(a["ms"])
                if old:
                    b = old.time(name, args.repeat)
                    t_old.append(b["ms"])
            after = statistics.median(t_new)
            before = statistics.median(t_old) if old else None
            rows.append((name, a["nodes"], before, after, None if not old else a["hash"] == b["hash"]))
            if not args.markdown:
                print(_line(*rows[-1]), flush=True)
        new.close()
        if old:
            old.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    afters = [r[3] for r in rows]
    worst = max(rows, key=lambda r: r[3])
    summary = (f"after: median {statistics.median(afters):.2f} ms, slowest {worst[0]} {worst[3]:.2f} ms "
               f"({'within' if worst[3] <= GOAL_MS else 'OVER'} the {GOAL_MS:g} ms goal); "
               f"{sum(a <= GOAL_MS for a in afters)}/{len(afters)} networks within the goal")
    if any(r[2] for r in rows):
        ratios = [r[2] / r[3] for r in rows if r[2]]
        summary += (f"; speed-up median {statistics.median(ratios):.2f}x "
                    f"(min {min(ratios):.2f}x, max {max(ratios):.2f}x)")
    if args.markdown:
        print("| network | nodes | before (ms) | after (ms) | before / after | after / goal | same counts |")
        print("|---|---:|---:|---:|---:|---:|---|")
        for name, nodes, before, after, same in rows:
            b = f"{before:.2f}" if before else "-"
            r = f"{before / after:.2f}x" if before else "-"
            s = "-" if same is None else ("yes" if same else "**no**")
            print(f"| {name} | {nodes} | {b} | {after:.2f} | {r} | {after / GOAL_MS:.2f} | {s} |")
        print()
    print(summary)


def _line(name, nodes, before, after, same):
    b = f"{before:10.2f}" if before else f"{'-':>10s}"
    r = f"{before / after:8.2f}x" if before else f"{'-':>9s}"
    s = "" if same is None else ("same" if same else "DIFFERENT")
    return f"{name:28s} {nodes:5d} {b} {after:10.2f} {r} {after / GOAL_MS:7.2f} {s}"


if __name__ == "__main__":
    main()
