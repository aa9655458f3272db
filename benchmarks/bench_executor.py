"""Benchmark the NumPy reference executor against PyTorch CPU and against the previous executor.

    python benchmarks/bench_executor.py [--nets mobilenet_v2,resnet50] [--batches 1,8] [--threads 1,2]
                                        [--repeat 10] [--runs 1] [--baseline REV] [--markdown]

For each thread count N a child process, with OMP/OPENBLAS/MKL_NUM_THREADS=N set before NumPy and
PyTorch are imported, runs every network (default resolution, ``init_weights`` seed 0) at every
batch size and times, each in its own block (warm-up, pause, ``--repeat`` runs; the median is
reported): the executor (``costmodel.execute(..., threads=N)``), PyTorch on the same graph and
weights (``costmodel.torch_bridge.to_torch``, eval, no_grad, ``torch.set_num_threads(N)``) and the
previous executor (``costmodel/executor.py`` as of git revision ``--baseline``, loaded from git
into this checkout's package). The engines run in separate blocks, not interleaved: OpenBLAS's and
PyTorch's worker threads spin for a while after each call and would steal each other's cores.

With the ``fast`` extra installed each child loads numba's compiled depthwise kernel before timing
(``depthwise_jit.kernel()``, as it imports PyTorch before timing); the header line says which
depthwise kernel ran. ``COSTMODEL_JIT=0`` measures the NumPy kernel instead.

Peak memory is measured with tracemalloc (NumPy reports its array buffers to it) on a separate run:
the peak of what the run allocates, plus the input array the caller holds, divided by the analytic
optimal peak ``costmodel.memory.schedule(graph, "optimal").peak`` x 4 bytes x batch.

A process's own timings drift by up to about 30% from one process to the next on the development
machine (the same code, the same quiet machine: memory placement, huge pages, frequency), for
PyTorch and the executor alike. ``--runs N`` runs N child processes per thread count, in turn,
and reports per cell the medians of the times over the runs, the median of the runs' ratios and
their range.

Other processes distort timings: each child reports the CPUs other processes used on average while
it ran (from /proc/stat, less its own CPU time); measure on a quiet machine. Goals (issue 17):
batch 8 within 2x PyTorch with 2 threads, batch 1 within 1.5x, peak memory within 1.5x the
analytic optimal peak.
"""
import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
NETS = ["mobilenet_v1", "mobilenet_v2", "mobilenet_v3_large", "shufflenet_v2", "mixnet_s", "resnet50"]
#: the executor before issue 17 (strided-slice depthwise, 64 MB im2col, no fusion, no thread pool)
BASELINE = "09c01ccd29db5b160c1b2e4e28e2763e861d44ca"


def median_ms(fn, repeat):
    """Warm up, pause (other engines' spinning threads settle), then the median of ``repeat`` runs."""
    fn()
    time.sleep(0.5)
    t = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        t.append(1000 * (time.perf_counter() - start))
    return statistics.median(t)


def peak_bytes(fn, x):
    """tracemalloc's peak of what ``fn()`` allocates, plus the input ``x`` it is given."""
    import tracemalloc
    fn()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] + x.nbytes
    finally:
        tracemalloc.stop()


def load_baseline(rev):
    """costmodel/executor.py at git revision ``rev``, imported as a module of this checkout's package
    (``costmodel._executor_baseline``) from a temporary copy."""
    import importlib.util
    import tempfile
    src = subprocess.run(["git", "-C", ROOT, "show", f"{rev}:costmodel/executor.py"], capture_output=True,
                         text=True, check=True).stdout
    name = "costmodel._executor_baseline"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "_executor_baseline.py")
        with open(path, "w") as f:
            f.write(src)
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod  # dataclasses look their module up
        spec.loader.exec_module(mod)
    return mod


def busy_seconds():
    """CPU seconds all processes have used since boot (/proc/stat; None where there is none)."""
    try:
        with open("/proc/stat") as f:
            user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, f.readline().split()[1:9])
    except (OSError, ValueError):
        return None
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_seconds():
    t = os.times()
    return t.user + t.system


def torch_forward(torch, model, xt):
    with torch.no_grad():
        model(xt)


def child(a):
    """Measure every (network, batch) at this process's thread count; print one JSON row each."""
    sys.path.insert(0, ROOT)
    import torch

    import costmodel
    from costmodel.executor import execute, init_weights, random_input
    from costmodel.kernels import depthwise_jit
    from costmodel.memory import schedule
    from costmodel.torch_bridge import to_torch
    torch.set_num_threads(a.threads)
    jit = depthwise_jit.kernel() is not None  # load numba's kernel before timing, as torch is imported
    old = load_baseline(a.baseline) if a.baseline else None
    print(json.dumps({"load": os.getloadavg()[0], "torch": torch.__version__, "jit": jit}), flush=True)
    busy0, own0, wall0 = busy_seconds(), own_seconds(), time.perf_counter()
    for name in a.nets.split(","):
        g = costmodel.build(name)
        w = init_weights(g, 0)
        optimal = schedule(g, "optimal").peak * 4
        model = to_torch(g, w)
        for batch in map(int, a.batches.split(",")):
            x = random_input(g, batch, 0)
            run_pt = functools.partial(torch_forward, torch, model, torch.from_numpy(x))
            run_new = functools.partial(execute, g, x, weights=w, threads=a.threads)
            row = {"net": name, "batch": batch, "threads": a.threads,
                   "new_ms": median_ms(run_new, a.repeat), "torch_ms": median_ms(run_pt, a.repeat),
                   "new_peak": peak_bytes(run_new, x) / (optimal * batch)}
            if old is not None:
                run_old = functools.partial(old.execute, g, x, weights=w)
                row.update(old_ms=median_ms(run_old, a.repeat), old_peak=peak_bytes(run_old, x) / (optimal * batch))
            print(json.dumps(row), flush=True)
    busy1, own1, wall1 = busy_seconds(), own_seconds(), time.perf_counter()
    others = None if busy0 is None else ((busy1 - busy0) - (own1 - own0)) / (wall1 - wall0)
    print(json.dumps({"load": os.getloadavg()[0], "others": others}), flush=True)


def combine(rows):
    """One row per (network, batch, threads): median times over the runs, the median of the runs'
    executor / PyTorch ratios (``ratio``) and all of them (``ratios``)."""
    groups = {}
    for r in rows:
        groups.setdefault((r["net"], r["batch"], r["threads"]), []).append(r)
    out = []
    for key, rs in sorted(groups.items()):
        row = {k: rs[0][k] for k in ("net", "batch", "threads")}
        for k in ("new_ms", "torch_ms", "old_ms", "new_peak", "old_peak"):
            if k in rs[0]:
                row[k] = statistics.median(r[k] for r in rs)
        row["ratios"] = sorted(r["new_ms"] / r["torch_ms"] for r in rs)
        row["ratio"] = statistics.median(row["ratios"])
        out.append(row)
    return out


def table(rows, markdown):
    runs = max(len(r.get("ratios", ())) for r in rows) if rows else 1
    head = ["network", "batch", "threads", "executor ms", "PyTorch ms", "ratio"] + \
        (["ratio range"] if runs > 1 else []) + ["previous ms", "previous ratio", "speed-up", "peak / optimal",
                                                 "previous peak / optimal"]
    body = []
    for r in rows:
        old = "old_ms" in r
        rng = [f"{r['ratios'][0]:.2f}-{r['ratios'][-1]:.2f}x"] if runs > 1 else []
        body.append([r["net"], str(r["batch"]), str(r["threads"]), f"{r['new_ms']:.1f}", f"{r['torch_ms']:.1f}",
                     f"{r.get('ratio', r['new_ms'] / r['torch_ms']):.2f}x"] + rng + [
                     f"{r['old_ms']:.1f}" if old else "-", f"{r['old_ms'] / r['torch_ms']:.2f}x" if old else "-",
                     f"{r['old_ms'] / r['new_ms']:.2f}x" if old else "-", f"{r['new_peak']:.2f}",
                     f"{r['old_peak']:.2f}" if old else "-"])
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" if i > 0 else "---" for i in range(len(head)))
                 + "|"]
        return "\n".join(lines + ["| " + " | ".join(b) + " |" for b in body])
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]

    def fmt(cells):
        return "  ".join(c.rjust(wd) if i else c.ljust(wd) for i, (c, wd) in enumerate(zip(cells, widths)))

    return "\n".join([fmt(head)] + [fmt(b) for b in body])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nets", default=",".join(NETS))
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (one child process each)")
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--runs", type=int, default=1, help="child processes per thread count, in turn (medians over them)")
    ap.add_argument("--baseline", default=BASELINE, help="git revision of the previous executor ('' to skip)")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        a.threads = int(a.threads)
        child(a)
        return 0
    try:
        import torch  # noqa: F401
    except ImportError:
        print("this benchmark compares with PyTorch: pip install torch==2.13.0")
        return 2
    rows, quiet = [], []
    for n in [t for _ in range(max(1, a.runs)) for t in a.threads.split(",")]:
        env = dict(os.environ, OMP_NUM_THREADS=n, OPENBLAS_NUM_THREADS=n, MKL_NUM_THREADS=n)
        cmd = [sys.executable, os.path.abspath(__file__), "--child", "--threads", n, "--nets", a.nets,
               "--batches", a.batches, "--repeat", str(a.repeat), "--baseline", a.baseline]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
        for line in proc.stdout:
            r = json.loads(line)
            if "net" in r:
                rows.append(r)
                print(f"  {r['net']} batch {r['batch']} threads {r['threads']}: executor {r['new_ms']:.1f} ms, "
                      f"PyTorch {r['torch_ms']:.1f} ms", file=sys.stderr, flush=True)
            else:
                print(f"{n} thread(s): load average {r['load']:.2f}" + (f", torch {r['torch']}" if "torch" in r else "")
                      + (", depthwise " + ("compiled (numba)" if r["jit"] else "NumPy") if "jit" in r else "")
                      + (f"; other processes used {r['others']:.2f} CPUs on average during the run"
                         if r.get("others") is not None else ""), file=sys.stderr, flush=True)
                if r.get("others") is not None:
                    quiet.append(f"{n} thread(s): {r['others']:.2f}")
        if proc.wait():
            return proc.returncode
    print(table(combine(rows), a.markdown))
    if quiet:
        print(f"\nCPUs used by other processes during each run (of {os.cpu_count()}): {'; '.join(quiet)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
