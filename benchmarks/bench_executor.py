"""Benchmark the NumPy reference executor against PyTorch CPU on the same graph and weights.

    python benchmarks/bench_executor.py [--net mobilenet_v2] [--alpha 1.0] [--res 224] [--batch 1]
                                        [--threads N] [--repeat 10]

Prints the executor's median time, PyTorch's (the graph translated by costmodel.torch_bridge,
eval mode, no_grad, torch.set_num_threads(N)) when PyTorch is installed, and their ratio. BLAS
threads are set to the same N before NumPy is imported (OMP/OPENBLAS/MKL_NUM_THREADS).
Goal (issue 5): MobileNetV2 1.0 at 224, batch 1, within 3x of PyTorch.
"""
import argparse
import os
import statistics
import sys
import time


def median_ms(fn, repeat):
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--net", default="mobilenet_v2")
    ap.add_argument("--alpha", type=float, default=None)
    ap.add_argument("--res", type=int, default=224)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--repeat", type=int, default=10)
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
    t_np = median_ms(lambda: execute(g, x, weights=w), a.repeat)
    print(f"numpy executor  {t_np:8.1f} ms  (median of {a.repeat})")
    try:
        import torch
    except ImportError:
        print("pytorch         not installed (pip install torch==2.13.0) - no comparison")
        return 0
    from costmodel.torch_bridge import to_torch
    torch.set_num_threads(a.threads)
    m = to_torch(g, w)
    xt = torch.from_numpy(x)
    with torch.no_grad():
        t_pt = median_ms(lambda: m(xt), a.repeat)
    print(f"pytorch {torch.__version__:8s}{t_pt:8.1f} ms  (eval, no_grad, {torch.get_num_threads()} threads)")
    print(f"ratio           {t_np / t_pt:8.2f} x  (goal: within 3x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
