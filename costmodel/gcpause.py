"""Python's cyclic garbage collector paused while a graph is built or analyzed.

Building and analyzing a network makes about ten container objects per node (the node, its shape
tuples, its plan unit and buffer, their dicts): some 10^4 for EfficientNet-B7's 816 nodes. They
form no reference cycles (tests/test_build_fast_paths.py checks every representative network), so
reference counting frees them, and the collector has nothing to find in them. Yet CPython runs it
every 700 allocations of container objects, every tenth run through the middle generation too, and
up to every hundredth (once enough objects have survived) through every object of the process:
10-30% of the time of a large network's build + analyze (``benchmarks/bench_build.py``). The
collector is paused for the call and resumes after it, as it was (a caller that disabled it keeps
it disabled); it then collects whatever cycles other code made meanwhile."""
from __future__ import annotations

import functools
import gc


def gc_paused(fn):
    """``fn`` run with the cyclic collector paused (see the module's docstring)."""
    @functools.wraps(fn)
    def paused(*args, **kwargs):
        if not gc.isenabled():
            return fn(*args, **kwargs)
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            gc.enable()
    return paused
