"""Time to build and analyze one network (goal: a few milliseconds). Prints milliseconds per
network and the ratio to the goal; no assertion (performance goals live here, not in tests)."""
import time

import costmodel as cm

GOAL_MS = 5.0


def bench(name, repeat=50):
    cm.analyze(cm.build(name))  # warm up (imports, registry)
    t = time.perf_counter()
    for _ in range(repeat):
        cm.analyze(cm.build(name))
    return (time.perf_counter() - t) / repeat * 1e3


def main():
    print(f"{'network':28s} {'build+analyze ms':>16s} {'x goal':>8s}")
    for name in cm.networks():
        ms = bench(name)
        print(f"{name:28s} {ms:16.2f} {ms / GOAL_MS:8.2f}")


if __name__ == "__main__":
    main()
