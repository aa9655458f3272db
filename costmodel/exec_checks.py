"""Checks the NumPy executor (``costmodel.executor``) makes before it allocates anything: the seed,
the input array, and whether the run fits in memory.

``check_run(graph, x, seed, keep)`` is called first thing by ``executor.run`` (so by ``execute``
and ``costmodel verify``); ``memory_need(graph, batch)`` is the estimate it refuses by.

Memory need (bytes, float32 everywhere, as the executor allocates):

- weights: every array each op declares (``Op.weights`` and ``Op.buffers``: what ``init_weights``
  draws), 4 bytes per element;
- activations: the executor's own liveness, replayed on the graph's shapes: before node i runs, the
  live tensors (the input and every output still to be read, at ``batch`` samples) plus node i's
  outputs, plus its scratch (a convolution's padded input copy, repeated by its channel
  multiplier, and its im2col tile: at most ``im2col_bytes`` or one output row; a pooling's padded
  input; another op's temporaries, counted as one more output); with ``keep`` every tensor stays;
- the peak over the nodes of the sum of those, plus the weights.

It is an estimate of the order of magnitude (NumPy's own temporaries vary by kernel), made to
refuse a run that cannot fit, in one line, instead of a ``MemoryError`` after minutes of work.
The limit is ``exec_bytes`` of the resource policy (costmodel.limits: the memory available,
``COSTMODEL_MAX_EXEC_BYTES`` to change it).
"""
from __future__ import annotations

import math
import numbers
import os
from typing import Dict, Optional

from .errors import GraphError, KnobError
from .graph import INPUT, Graph

#: float32
ELEMENT_BYTES = 4
#: an upper bound of the executor's im2col tile (its kernels' temporaries are bounded by a quarter of
#: the analytic peak, ``executor.WORKSPACE_FRACTION``; this estimate stays on the safe side)
DEFAULT_IM2COL_BYTES = 64 * 2 ** 20


def check_seed(seed, where: str = "seed") -> int:
    """A random seed: a non-negative integer (NumPy's generators take no negative seed)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or int(seed) < 0:
        from .validate import short
        raise KnobError(f"{where} must be a non-negative integer, got {short(seed)}")
    return int(seed)


def check_input(x, graph: Graph):
    """The input as an array, if it is one the executor can run on float32 without losing
    anything it would not say: real numbers (integers, booleans and floats are converted);
    complex numbers (their imaginary part would be dropped silently), strings, objects and
    ragged sequences are refused in one line. Shape is checked by the executor."""
    import numpy as np
    want = f"(N,) + {tuple(graph.input_shape)}"
    try:
        a = x if isinstance(x, np.ndarray) else np.asarray(x)
    except (TypeError, ValueError):
        raise GraphError(f"input must be a numeric array of shape {want}, got {type(x).__name__}") from None
    if a.dtype.kind == "c":
        raise GraphError(f"input is complex ({a.dtype}); the executor runs on real float32 and would drop the "
                         f"imaginary part: pass x.real (or np.abs(x)) explicitly")
    if a.dtype.kind not in "biuf":
        raise GraphError(f"input must be a numeric array of shape {want}, got an array of {a.dtype} "
                         f"({type(x).__name__})")
    return a


def _prod(shape) -> int:
    return math.prod(int(d) for d in shape)


def memory_need(graph: Graph, batch: int = 1, keep: bool = False,
                im2col_bytes: int = DEFAULT_IM2COL_BYTES) -> Dict[str, int]:
    """Bytes the executor would allocate for ``graph`` at ``batch`` (module docstring):
    {"weights", "activations" (the peak of live tensors and scratch), "total", "at" (the node of
    the peak)}. Exact Python integers: any size is estimated without overflow."""
    weights = 0
    for n in graph.nodes:
        shapes = {**n.op.weights(n.in_shapes), **n.op.buffers(n.in_shapes)}
        weights += sum(_prod(s) for s in shapes.values())
    weights *= ELEMENT_BYTES
    per = batch * ELEMENT_BYTES
    last_use: Dict[str, int] = {}
    for i, n in enumerate(graph.nodes):
        for r in n.inputs:
            last_use[r] = i
    for r in graph.outputs:
        last_use[r] = len(graph.nodes)
    live = {INPUT: _prod(graph.input_shape) * per}
    held = live[INPUT]
    peak, at = held, INPUT
    for i, n in enumerate(graph.nodes):
        outs = [_prod(s) * per for s in n.out_shapes]
        need = held + sum(outs) + _scratch(n, per, im2col_bytes, max(outs, default=0))
        if need > peak:
            peak, at = need, n.name
        if not keep:
            for r in set(n.inputs):
                if last_use.get(r) == i and r in live:
                    held -= live.pop(r)
        for r, b in zip(n.outputs, outs):
            live[r] = b
            held += b
    return {"weights": weights, "activations": peak, "total": weights + peak, "at": at}


def _scratch(node, per: int, im2col_bytes: int, out_bytes: int) -> int:
    """Temporaries of one node's kernel beyond its inputs and outputs (module docstring)."""
    op, shape = node.op, node.in_shapes[0] if node.in_shapes else ()
    if op.kind not in ("conv2d", "maxpool", "avgpool") or len(shape) != 3:
        return out_bytes
    c, h, w = (int(d) for d in shape)
    t, b, left, r = op.pads((h, w))
    padded = c * (h + t + b) * (w + left + r) * per
    if op.kind != "conv2d":
        return padded
    kh, kw = op.kernel
    co = int(node.out_shapes[0][0])
    if op.groups == c and c:  # depthwise: the padded input repeated by the channel multiplier
        return padded * max(1, co // c)
    ho, wo = (int(d) for d in node.out_shapes[0][1:])
    row = c * kh * kw * wo * per
    tile = min(row * ho, max(im2col_bytes, row))
    return padded + 2 * tile


def check_memory(graph: Graph, batch: int = 1, keep: bool = False, im2col_bytes: int = DEFAULT_IM2COL_BYTES,
                 where: Optional[str] = None, runner: str = "the NumPy executor",
                 need: Optional[Dict[str, int]] = None) -> Dict[str, int]:
    """``memory_need``, refused in one line (``LimitError``) beyond the limit ``exec_bytes``.
    ``runner`` names what would run the graph (``costmodel measure`` checks its runtimes with the
    executor's estimate: they hold the same weights and at least the same live activations)."""
    from . import limits
    need = memory_need(graph, batch, keep, im2col_bytes) if need is None else need  # given: already estimated
    b = limits.binary_size
    what = (f"memory for {runner} (weights {b(need['weights'])}, activations {b(need['activations'])} "
            f"at batch {batch:,}, peaking at {need['at']!r})")
    own = limits.LIMITS["exec_bytes"].env in os.environ
    limits.check("exec_bytes", need["total"], what, where or graph.name,
                 hint=None if own else (lambda: ", the memory available now"))
    return need


def check_run(graph: Graph, x=None, seed=0, keep: bool = False, im2col_bytes: int = DEFAULT_IM2COL_BYTES,
              need_of=None):
    """Everything ``executor.run`` checks before allocating: the seed, the input's kind (returned
    as an array, or None when ``x`` is None: a random batch of one) and the memory need at its
    batch (``need_of(batch)``, when given, returns the estimate: the executor caches it per graph).
    Raises one-line ``KnobError``, ``GraphError`` or ``LimitError``."""
    check_seed(seed)
    a = None if x is None else check_input(x, graph)
    batch = 1
    if a is not None and a.ndim == len(graph.input_shape) + 1 and a.shape[0] >= 1:
        batch = int(a.shape[0])
    check_memory(graph, batch, keep, im2col_bytes, need=None if need_of is None else need_of(batch))
    return a


__all__ = ["check_input", "check_memory", "check_run", "check_seed", "memory_need"]
