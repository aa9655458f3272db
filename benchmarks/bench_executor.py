"""Benchmark the NumPy reference executor against PyTorch CPU on the same graph and weights.

    python benchmarks/bench_executor.py [--net mobilenet_v2] [--alpha 1.0] [--res 224] [--batch 1]
                                        [--threads N] [--repeat 20]

Prints the executor's median and minimum time and, when PyTorch is installed, PyTorch's (the
same graph and weights through costmodel.torch_bridge, eval mode, no_grad,
torch.set_num_threads(N)) and their ratio. Other processes on the machine distort both: compare
the minimum times when it is busy. BLAS threads are set to the same N before NumPy is imported
(OMP/OPENBLAS/MKL_NUM_THREADS).
Goal (issue 5): MobileNetV2 1.0 at 224, batch 1, within 3x of PyTorch.
"""
import argparse
import os
import statistics
import sys
import time


def timings(fns, repeat):
    """Per function: warm up, pause, then ``repeat`` timed runs; (median ms, min ms). The two
    engines run in separate blocks, not interleaved: OpenBLAS's and PyTorch's OpenMP worker
    threads spin for a while after each call and would steal each other's cores."""
    out = []
    for fn in fns:
        fn()
        time.sleep(0.5)
        t = []
        for _ in range(repeat):
            start = time.perf_counter()
            fn()
            t.append(1000 * (time.perf_counter() - start))
        out.append((statistics.median(t), min(t)))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--net", default="mobilenet_v2")
    ap.add_argument("--alpha", type=float, default=None)
    ap.add_argument("--res", type=int, default=224)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--repeat", type=int, default=20)
    a = ap.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(a.threads)

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import costmodel
    from costmodel.executor import execute, init_weights, random_input

    g = costmodel.build(a.net, alpha=a.alpha, res=a.res)
    w = init_weights(g, 0)
    x = random_input(g, a.batch, 0)
    macs = costmodel.analyze(g).totals["madds"]
    print(f"{a.net} alpha {g.meta.get('alpha')} res {a.res} batch {a.batch}: {len(g)} nodes, "
          f"{macs / 1e6:.1f} M MACs per sample, {a.threads} thread(s)")
    run_np = lambda: execute(g, x, weights=w)  # noqa: E731
    try:
        import torch
    except ImportError:
        (med, best), = timings([run_np], a.repeat)
        print(f"numpy executor  {med:8.1f} ms median, {best:.1f} ms min of {a.repeat}")
        print("pytorch         not installed (pip install torch==2.13.0) - no comparison")
        return 0
    from costmodel.torch_bridge import to_torch
    torch.set_num_threads(a.threads)
    m = to_torch(g, w)
    xt = torch.from_numpy(x)

    def run_pt():
        with torch.no_grad():
            m(xt)

    (np_med, np_min), (pt_med, pt_min) = timings([run_np, run_pt], a.repeat)
    print(f"numpy executor  {np_med:8.1f} ms median, {np_min:.1f} ms min of {a.repeat}")
    print(f"pytorch {torch.__version__:8s}{pt_med:8.1f} ms median, {pt_min:.1f} ms min "
          f"(eval, no_grad, {torch.get_num_threads()} threads)")
    print(f"ratio           {np_med / pt_med:8.2f} x median, {np_min / pt_min:.2f} x min (goal: within 3x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
