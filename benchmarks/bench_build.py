"""Time to build and analyze one network: ``costmodel.analyze(costmodel.build(name))`` for every
registry network (the project's goal: at most 5 ms each), now and with a previous implementation
measured in the same run, and their ratio. No assertion (performance goals live here, not in tests).

The previous implementation is a git revision of this repository (``--baseline``, default the commit
before the build-speed work), extracted with ``git archive`` into a temporary directory. Each
implementation runs in a worker process of its own (``--processes N``: N each, and each cell the
median over all their rounds); the two are asked in turn, network by network and round by round, so
that a change of the machine's load affects both alike. A round times ``--repeat``
calls in CPU time of the worker (``time.process_time``: on a quiet machine the wall time; on a busy one
other processes' turns do not count); the table shows the median round (milliseconds per call) and, as
a check that nothing changed,
whether both implementations give the same ``analyze`` JSON (``same``).

Also measured: the split of the current implementation's time (build, rows and totals, memory plan,
optimal-schedule peak, weight bytes) with ``--split``.

Run: python benchmarks/bench_build.py [--baseline REV] [--rounds 7] [--repeat 20] [--processes 1] [--markdown] [NET ...]
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine_speed import REFERENCE, spread  # noqa: E402

GOAL_MS = 5.0
#: the last commit before the build-speed work (issue 17): the "before" column
BASELINE = "672db62"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: the worker: reads "NAME REPEAT" lines, answers one JSON line: CPU ms per call of build + analyze, and of
#: build + analyze + its per-layer rows (made on first use since the build-speed work), a hash of the
#: analyze JSON, the number of nodes, and the CPU ms of a fixed pure-Python reference workload timed just
#: before (the machine's speed at that moment: on a shared virtual machine it swings by up to 2x)
WORKER = REFERENCE + r"""
import hashlib, json, sys, time
import costmodel as cm
print(json.dumps({"ready": cm.__file__}), flush=True)

def per_call(fn, repeat):
    t = time.process_time()  # CPU time of this process: other processes' load does not count
    for _ in range(repeat):
        fn()
    return (time.process_time() - t) / repeat * 1e3

for line in sys.stdin:
    name, repeat = line.split()
    repeat = int(repeat)
    r = cm.analyze(cm.build(name))  # warm: imports, registry, first-call caches
    ref = min(per_call(reference, 1) for _ in range(3))
    ms = per_call(lambda: cm.analyze(cm.build(name)), repeat)
    ms_rows = per_call(lambda: cm.analyze(cm.build(name)).rows, repeat)
    digest = hashlib.sha256(json.dumps(r.to_dict(), sort_keys=True, default=str).encode()).hexdigest()
    print(json.dumps({"ms": ms, "ms_rows": ms_rows, "hash": digest, "nodes": len(r.rows), "ref": ref}), flush=True)
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
    ap.add_argument("--processes", type=int, default=1, help="worker processes per implementation, taking "
                    "turns round by round; the median is over all their rounds (a process's timings drift "
                    "by up to about 15%% from the next one's on a shared machine)")
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
        k = max(1, args.processes)
        news = [Worker(ROOT) for _ in range(k)]
        olds = [Worker(old_root) for _ in range(k)] if old_root else []
        print(f"# load average {os.getloadavg()[0]:.2f} at the start; after: {news[0].file}"
              + (f"; before: {args.baseline} ({olds[0].file})" if olds else "")
              + (f"; {k} worker processes per implementation" if k > 1 else ""))
        rows = []
        if not args.markdown:
            print(f"{'network':28s} {'nodes':>5s} {'before ms':>10s} {'after ms':>9s} {'ratio':>7s} "
                  f"{'+rows ms':>9s} {'ratio':>7s} {'x goal':>7s}")
        for name in names:
            got = {"new": [], "old": []}
            for _ in range(args.rounds):  # interleaved: both see the same load
                for i in range(k):
                    got["new"].append(news[i].time(name, args.repeat))
                    if olds:
                        got["old"].append(olds[i].time(name, args.repeat))
            same = None if not olds else got["new"][0]["hash"] == got["old"][0]["hash"]
            row = Row(name, got["new"][0]["nodes"], _median(got["old"], "ms_rows"), _median(got["new"], "ms"),
                      _median(got["new"], "ms_rows"), same, [g["ref"] for g in got["new"]])
            rows.append(row)
            if not args.markdown:
                print(row.line(), flush=True)
        for w in news + olds:
            w.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.markdown:
        print("| network | nodes | before (ms) | after (ms) | before / after | after, rows made (ms) | before / after "
              "| after / goal | same JSON |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for r in rows:
            print(r.markdown())
        print()
    print(summary(rows))


class Row:
    """One network's result: ``before`` is the previous implementation (its rows always made),
    ``after`` the current one (rows left to first use), ``after_rows`` the current one with the rows
    made; milliseconds per call; ``refs`` the reference workload's times before each round (ms)."""

    def __init__(self, name, nodes, before, after, after_rows, same, refs):
        self.name, self.nodes, self.before, self.after, self.after_rows, self.same, self.refs = (
            name, nodes, before, after, after_rows, same, refs)

    def ratios(self):
        if not self.before:
            return None, None
        return self.before / self.after, self.before / self.after_rows

    def line(self):
        r1, r2 = self.ratios()
        b = f"{self.before:10.2f}" if self.before else f"{'-':>10s}"
        s = "" if self.same is None else ("same" if self.same else "DIFFERENT")
        return (f"{self.name:28s} {self.nodes:5d} {b} {self.after:9.2f} {_x(r1):>7s} {self.after_rows:9.2f} "
                f"{_x(r2):>7s} {self.after / GOAL_MS:7.2f} {s}")

    def markdown(self):
        r1, r2 = self.ratios()
        b = f"{self.before:.2f}" if self.before else "-"
        s = "-" if self.same is None else ("yes" if self.same else "**no**")
        return (f"| {self.name} | {self.nodes} | {b} | {self.after:.2f} | {_x(r1)} | {self.after_rows:.2f} | {_x(r2)} "
                f"| {self.after / GOAL_MS:.2f} | {s} |")


def summary(rows) -> str:
    afters = [r.after for r in rows]
    worst = max(rows, key=lambda r: r.after)
    text = (f"after: median {statistics.median(afters):.2f} ms, slowest {worst.name} {worst.after:.2f} ms "
            f"({'within' if worst.after <= GOAL_MS else 'OVER'} the {GOAL_MS:g} ms goal); "
            f"{sum(a <= GOAL_MS for a in afters)}/{len(afters)} networks within the goal "
            f"({sum(r.after_rows <= GOAL_MS for r in rows)} with their rows made)")
    refs = [x for r in rows for x in r.refs]
    if refs:
        text += "; " + spread(refs, "every round of the current implementation", "rounds")
    ratios = [r.ratios() for r in rows if r.before]
    if ratios:
        text += (f"; before / after: median {statistics.median(a for a, _ in ratios):.2f}x "
                 f"(min {min(a for a, _ in ratios):.2f}x, max {max(a for a, _ in ratios):.2f}x), "
                 f"with the rows made median {statistics.median(b for _, b in ratios):.2f}x")
    return text


def _median(results, key):
    return statistics.median(r[key] for r in results) if results else None


def _x(ratio):
    return "-" if ratio is None else f"{ratio:.2f}x"


if __name__ == "__main__":
    main()
