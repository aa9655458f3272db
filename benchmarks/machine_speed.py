"""The machine's speed beside a timing: a shared virtual machine's speed swings by up to 2x for
minutes at a time (docs/benchmarks_build.md), so the benchmarks time a fixed pure-Python workload
just before each measurement and print its spread, saying how much of a run fell in a slow phase.

``REFERENCE`` is source code (benchmarks time it inside their child processes, which may import
another revision of costmodel); ``spread`` is the summary sentence."""
import statistics

#: defines ``reference()``, the fixed workload (a 20,000-entry dict of tuples and small dicts)
REFERENCE = '''
def reference():
    d = {}
    for i in range(20000):
        d[(i, i + 1)] = {"a": i, "b": (i, i)}
    return len(d)
'''


def spread(times_ms, before: str, what: str) -> str:
    """One sentence on the reference workload's times (ms), each timed before ``before``; ``what``
    names the measurements (rounds, sweeps)."""
    t = sorted(times_ms)
    return (f"the machine's speed (a fixed pure-Python workload before {before}): median "
            f"{statistics.median(t):.2f} ms, fastest {t[0]:.2f} ms, slowest {t[-1]:.2f} ms; "
            f"{sum(x > 1.2 * t[0] for x in t)}/{len(t)} {what} began more than 20% slower than the fastest")
