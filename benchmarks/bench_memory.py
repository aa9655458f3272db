"""Time of the device memory views for every zoo network at its default resolution (and the mcunet
model-zoo networks): the arena plans (TFLite Micro's greedy and linear planners over the optimal
schedule, with and without in-place kernels) and the automatic patch-based split (4x4 patches, 10%
Mult-Adds budget). Goal (issue 11): every network's arena planned in under a second; the patch search
(every valid split, 16 patches each, then the optimal order of the rest) is timed beside it. Prints the arena beside the
liveness peak (the fragmentation) at 8 bits. Run: python benchmarks/bench_memory.py"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's costmodel
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import costmodel  # noqa: E402
from costmodel import mcunet  # noqa: E402
from costmodel import memory as M  # noqa: E402
from costmodel.memory_arena import plan_arena  # noqa: E402
from costmodel.memory_patches import patch_schedule  # noqa: E402
from bench_schedule import best_of  # noqa: E402  (the same best-of-n timer)


def main():
    print(f"{'network':26s} {'bufs':>5s} {'greedy ms':>9s} {'linear ms':>9s} {'in-place ms':>11s} {'patch ms':>9s} "
          f"{'peak B':>11s} {'greedy B':>11s} {'frag':>6s} {'linear B':>12s}")
    worst, worst_patch = 0.0, 0.0
    cases = [(name, costmodel.build(name)) for name in costmodel.networks()]
    cases += [(f"mobilenet_v2 head={h}", costmodel.build("mobilenet_v2", head=h)) for h in ("ssd", "ssdlite")]
    cases += [(n, mcunet.build(n)) for n in mcunet.nets()]
    for name, g in cases:
        s = M.schedule(g)
        t_g, a = best_of(lambda: plan_arena(M.schedule(g), "greedy", 8))
        t_l, lin = best_of(lambda: plan_arena(M.schedule(g), "linear", 8))
        t_i, _ = best_of(lambda: plan_arena(M.schedule(g, inplace="dw,add"), "greedy", 8))
        try:
            t_p, _ = best_of(lambda: patch_schedule(g, "4x4", "auto", bits=8, inplace="dw,fused-add"), n=1)
            patch = f"{t_p * 1e3:9.1f}"
        except costmodel.CostModelError:
            t_p, patch = 0.0, f"{'-':>9s}"
        worst = max(worst, t_g, t_l, t_i)
        worst_patch = max(worst_patch, t_p)
        frag = a.fragmentation_bytes / a.arena_bytes if a.arena_bytes else 0.0
        print(f"{name:26s} {len(s.plan.buffers):5d} {t_g * 1e3:9.1f} {t_l * 1e3:9.1f} {t_i * 1e3:11.1f} {patch} "
              f"{a.peak_bytes:11,d} {a.arena_bytes:11,d} {frag:6.1%} {lin.arena_bytes:12,d}")
    print(f"slowest arena plan: {worst * 1e3:.1f} ms ({'within' if worst < 1 else 'OVER'} the 1 s goal; "
          f"ratio to the goal {worst:.3f})")
    print(f"slowest automatic patch split: {worst_patch * 1e3:.1f} ms (ratio to 1 s: {worst_patch:.3f})")


if __name__ == "__main__":
    main()
