"""Time of the optimal-schedule search (and the streamed one) for every zoo network at its default
resolution; goal: under a second each. Run: python benchmarks/bench_schedule.py"""
import time

import costmodel
from costmodel import memory as M


def best_of(fn, n=3):
    t = float("inf")
    for _ in range(n):
        t0 = time.perf_counter()
        out = fn()
        t = min(t, time.perf_counter() - t0)
    return t, out


def main():
    print(f"{'network':28s} {'units':>5s} {'optimal ms':>10s} {'streamed ms':>11s} {'peak (fp32)':>14s} exact")
    worst = 0.0
    cases = [(name, {}) for name in costmodel.networks()]
    cases += [("mobilenet_v2", {"head": h}) for h in ("ssd", "ssdlite", "deeplabv3")]
    for name, knobs in cases:
        g = costmodel.build(name, **knobs)
        name = name + "".join(f" {k}={v}" for k, v in knobs.items())
        p = M.plan(g)
        t_opt, s = best_of(lambda: M.schedule(p, "optimal"))
        t_str, _ = best_of(lambda: M.schedule(p, "streamed"))
        worst = max(worst, t_opt, t_str)
        print(f"{name:28s} {len(p.units):5d} {t_opt * 1e3:10.1f} {t_str * 1e3:11.1f} {s.peak * 4:14,d} {s.exact}")
    print(f"slowest: {worst * 1e3:.1f} ms ({'within' if worst < 1 else 'OVER'} the 1 s goal)")


if __name__ == "__main__":
    main()
