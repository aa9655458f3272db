"""Benchmark the executor's depthwise kernels layer by layer: the compiled kernel (the ``fast``
extra, numba) and the NumPy kernel against ``torch.nn.functional.conv2d`` (oneDNN), one thread.

    python benchmarks/bench_depthwise.py [--repeat 30] [--markdown]

Shapes are depthwise layers of MobileNetV2, MobileNetV3-Large and MixNet-S at 224 (channels, map
side, kernel, stride), batch 1, padding k // 2, a bias as the shift. Each engine is timed in its own
block (warm-up, then the minimum of ``--repeat`` calls: the kernels are short and the minimum is
the least disturbed). The executor's kernels are called directly (``conv2d(op, (x,), Ctx(...))``,
weights prepared and the bias added in the call as in a run), without the executor's per-node
work. Ratios are kernel / PyTorch (below 1 the kernel is faster). The first run in a fresh
checkout compiles the kernel (a few seconds, not timed).
"""
import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

#: (channels, side, kernel, stride) of depthwise layers in MobileNetV2 / V3-Large / MixNet-S at 224
SHAPES = [(32, 112, 3, 1), (96, 112, 3, 2), (144, 56, 3, 1), (144, 56, 3, 2), (192, 28, 3, 1),
          (384, 14, 3, 1), (576, 14, 3, 1), (960, 7, 3, 1), (72, 56, 5, 2), (120, 28, 5, 1),
          (672, 14, 5, 1), (960, 7, 5, 1), (240, 14, 9, 1), (480, 7, 11, 1)]


def best_ms(fn, repeat):
    fn()
    t = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        t.append(1000 * (time.perf_counter() - start))
    return min(t)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args(argv)
    import torch

    from costmodel import GraphBuilder
    from costmodel.executor import init_weights
    from costmodel.kernels import Ctx
    from costmodel.kernels import conv as conv_kernels
    from costmodel.kernels import depthwise_jit
    from costmodel.ops import Conv2d

    torch.set_num_threads(1)
    if depthwise_jit.kernel() is None:
        raise SystemExit("bench_depthwise: the compiled kernel needs numba: pip install '.[fast]'")
    real = conv_kernels.depthwise
    rows = []
    for c, side, k, s in SHAPES:
        op = Conv2d(c, k, s, k // 2, groups=c, bias=True)
        g = GraphBuilder("dw", (c, side, side))
        g.add(op, "input", "dw")
        g = g.build()
        w = init_weights(g, 0)
        x = np.random.default_rng(0).standard_normal((1, c, side, side)).astype(np.float32)
        xt, wt, bt = (torch.from_numpy(v) for v in (x, w["dw"]["weight"], w["dw"]["bias"]))
        with torch.no_grad():
            ref = best_ms(lambda: torch.nn.functional.conv2d(xt, wt, bt, s, k // 2, 1, c), a.repeat)
        conv_kernels.depthwise = real
        def kernel():
            return conv_kernels.conv2d(op, (x,), Ctx(w["dw"], False, workspace=1 << 30))
        jit = best_ms(kernel, a.repeat)
        conv_kernels.depthwise = lambda *_: False
        plain = best_ms(kernel, a.repeat)
        conv_kernels.depthwise = real
        rows.append((f"{c}x{side}x{side}, {k}x{k}/{s}", ref, jit, plain))
    head = ["layer", "PyTorch ms", "compiled ms", "compiled / PyTorch", "NumPy ms", "NumPy / PyTorch"]
    cells = [[n, f"{r:.3f}", f"{j:.3f}", f"{j / r:.2f}x", f"{p:.3f}", f"{p / r:.2f}x"] for n, r, j, p in rows]
    if a.markdown:
        print("| " + " | ".join(head) + " |")
        print("|---|" + "---:|" * (len(head) - 1))
        for row in cells:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(head)]
        for row in [head] + cells:
            print("  ".join(v.rjust(wd) if i else v.ljust(wd) for i, (v, wd) in enumerate(zip(row, widths))))


if __name__ == "__main__":
    main()
