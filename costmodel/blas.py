"""The threads NumPy's BLAS may use: the executor bounds them by its ``threads``, the streamed
sweep to one (its writer needs the other core). Small on purpose: importing it costs nothing
beyond threadpoolctl."""
from __future__ import annotations

import contextlib
import os

_CONTROLLER = None


def default_threads() -> int:
    """Threads the executor uses when not told: OMP_NUM_THREADS or OPENBLAS_NUM_THREADS (the
    BLAS's own setting) if set, else the CPUs this process may run on."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        v = os.environ.get(var, "")
        if v.isdigit() and int(v) > 0:
            return int(v)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def forget_libraries() -> None:
    """Find the BLAS libraries again at the next ``blas_threads`` (after a library that loads its
    own, such as numba with SciPy's OpenBLAS, is imported)."""
    global _CONTROLLER
    _CONTROLLER = None


def blas_threads(n: int):
    """A context in which NumPy's BLAS uses at most ``n`` threads (threadpoolctl), so that the
    executor's ``threads`` bounds the whole run. Without it OpenBLAS runs every matrix product on
    one thread per CPU beside the executor's own pool, and on a machine where another process is
    busy its waiting threads slow a run by an order of magnitude (MobileNetV2 at batch 1 with
    ``threads=1``, another process using 0.4 of 2 CPUs: 457 ms unbounded, 26 ms bounded)."""
    global _CONTROLLER
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # a dependency; without it BLAS keeps its own setting
        return contextlib.nullcontext()
    if _CONTROLLER is None:
        # finds the BLAS libraries NumPy loaded: once per process, about 7 ms (threadpoolctl
        # resolves the path of every loaded library; finding them on the writer's thread while a
        # sweep's first chunk is computed gained nothing: both hold the GIL)
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=max(1, int(n)), user_api="blas")
