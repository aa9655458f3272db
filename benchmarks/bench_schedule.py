"""Time of the optimal-schedule search (and the streamed one) for every zoo network at its default
resolution, and for wide user graphs (N parallel conv 1x1 -> conv 3x3 branches joined by a concat,
input 8x16x16) where the search is bounded by memory.EXPANSION_BUDGET; goal: under a second each.
"search" says whether the downsets were searched exhaustively or by the bounded beam; "exact" whether
the result is proven optimal (exhaustive, or a beam meeting the lower bound).
Run: python benchmarks/bench_schedule.py"""
import time

import costmodel
from costmodel import memory as M
from costmodel.graph import GraphBuilder
from costmodel.ops import Concat


def best_of(fn, n=3):
    t = float("inf")
    for _ in range(n):
        t0 = time.perf_counter()
        out = fn()
        t = min(t, time.perf_counter() - t0)
    return t, out


def wide_branches(n):
    g = GraphBuilder(f"wide N={n}", (8, 16, 16))
    outs = []
    for i in range(n):
        a = g.conv("input", 8, 1, name=f"b{i}.a")
        outs.append(g.conv(a, 8, 3, name=f"b{i}.b"))
    g.add(Concat(), outs, "cat")
    return g.build()


def main():
    print(f"{'network':28s} {'units':>5s} {'optimal ms':>10s} {'streamed ms':>11s} {'peak (fp32)':>14s} "
          f"{'search':>10s} exact")
    worst = 0.0
    cases = [(name, costmodel.build(name)) for name in costmodel.networks()]
    cases += [(f"mobilenet_v2 head={h}", costmodel.build("mobilenet_v2", head=h))
              for h in ("ssd", "ssdlite", "deeplabv3")]
    cases += [(f"wide N={n} (user graph)", wide_branches(n)) for n in (12, 24, 48, 96, 150)]
    for name, g in cases:
        p = M.plan(g)
        t_opt, s = best_of(lambda: M.schedule(p, "optimal"))
        t_str, _ = best_of(lambda: M.schedule(p, "streamed"))
        worst = max(worst, t_opt, t_str)
        search = "exhaustive" if M.optimal_order(p)[1] else "beam"
        print(f"{name:28s} {len(p.units):5d} {t_opt * 1e3:10.1f} {t_str * 1e3:11.1f} {s.peak * 4:14,d} "
              f"{search:>10s} {s.exact}")
    print(f"slowest: {worst * 1e3:.1f} ms ({'within' if worst < 1 else 'OVER'} the 1 s goal)")


if __name__ == "__main__":
    main()
