"""Kernel context, channel tiles, activations and fused epilogues of the executor's kernels (see
``costmodel.kernels``); BLAS threads are bounded by ``costmodel.blas``."""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..blas import blas_threads, default_threads  # noqa: F401 (re-exported by costmodel.kernels)
from .attention import gelu

#: BatchNorm epsilon (PyTorch's default)
BN_EPS = 1e-5
#: smallest workspace (elements) a kernel gets, whatever the graph's peak
MIN_WORKSPACE = 1 << 15
#: largest tile (elements) of element-wise and depthwise kernels: small enough to stay in L2
MAX_TILE = 1 << 17
#: below this many elements an element-wise op runs in one call on the calling thread
SMALL = 1 << 15
#: depthwise outputs with fewer pixels than this, and kernels of at most SMALL_TAPS taps, accumulate
#: tap by tap instead of by einsum (measured: 3x3 on 7x7 maps 1.5x faster tap by tap, 5x5 1.5x slower)
SMALL_MAP = 64
SMALL_TAPS = 9


class Ctx:
    """What a kernel gets besides the op and its inputs: the layer's weights, whether it may
    overwrite its first input, the Mult-Adds counter it must feed, the fused epilogue ops
    (``post``: (op, weights) of a folded BatchNorm and fused activations; a kernel that applies
    them sets ``fused``) and its workspace in elements. A kernel runs on the calling thread (the
    executor's threads are whole samples and BLAS's, see ``executor.run``)."""

    __slots__ = ("calibrate", "fused", "inplace", "madds", "post", "w", "workspace")

    def __init__(self, w, inplace, calibrate=False, post=(), workspace=MIN_WORKSPACE):
        self.w = w
        self.inplace = inplace
        self.madds = 0
        self.calibrate = calibrate
        self.post = tuple(post)
        self.fused = False
        self.workspace = max(MIN_WORKSPACE, int(workspace))

    def matmul(self, a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """a (..., M, K) @ b (..., K, P), counting prod(batch) * M * K * P Mult-Adds."""
        res = np.matmul(a, b, out=out)
        m, k = a.shape[-2:]
        self.madds += math.prod(res.shape[:-2]) * m * k * b.shape[-1]
        return res

    def out_like(self, x: np.ndarray) -> np.ndarray:
        return x if self.inplace else np.empty_like(x)

    def tile(self) -> int:
        """Elements of temporaries one tile may hold: the workspace, at most ``MAX_TILE``."""
        return max(1, min(MAX_TILE, self.workspace))


def channel_tiles(n: int, c: int, per_channel: int, budget: int) -> list[tuple[int, int, int]]:
    """(sample, first channel, end channel) tiles of about ``budget`` elements, ``per_channel``
    elements per channel (at least one channel per tile)."""
    cc = max(1, min(c, budget // max(1, per_channel)))
    return [(b, c0, min(c, c0 + cc)) for b in range(n) for c0 in range(0, c, cc)]


def _chan(a: np.ndarray, ndim: int) -> np.ndarray:
    """A per-channel vector shaped to broadcast over a (channels, *spatial) block."""
    return a.reshape((-1,) + (1,) * (ndim - 1))


# ----------------------------------------------------------------------------- activations
def _relu(x, out):
    return np.maximum(x, 0.0, out=out)


def _relu6(x, out):
    return np.clip(x, 0.0, 6.0, out=out)


def _hsigmoid(x, out):
    """relu6(x + 3) / 6."""
    np.add(x, 3.0, out=out)
    np.clip(out, 0.0, 6.0, out=out)
    out *= np.float32(1.0 / 6.0)
    return out


def _sigmoid(x, out):
    """1 / (1 + exp(-x))."""
    with np.errstate(over="ignore"):
        np.negative(x, out=out)
        np.exp(out, out=out)
    out += 1.0
    np.reciprocal(out, out=out)
    return out


def _swish(x, out):
    """x / (1 + exp(-x)) = x * sigmoid(x), as PyTorch's SiLU computes it: four passes, one
    temporary the size of x."""
    t = np.empty_like(x)
    with np.errstate(over="ignore"):
        np.negative(x, out=t)
        np.exp(t, out=t)
    t += 1.0
    return np.divide(x, t, out=out)


def _hswish(x, out):
    """x * relu6(x + 3) / 6 (a temporary the size of x)."""
    return np.multiply(x, _hsigmoid(x, np.empty_like(x)), out=out)


#: activation name -> fn(x, out) writing into out (which may be x)
ACTIVATIONS: dict[str, Callable] = {"relu": _relu, "relu6": _relu6, "sigmoid": _sigmoid, "swish": _swish,
                                    "hsigmoid": _hsigmoid, "hswish": _hswish, "gelu": gelu}


# ----------------------------------------------------------------------------- epilogues
def bn_affine(op, w) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) float64 of the inference BatchNorm y = x * a + b: a = gamma / sqrt(var + eps),
    b = beta - mean * a."""
    a = 1.0 / np.sqrt(w["running_var"].astype(np.float64) + BN_EPS)
    if op.affine:
        a = a * w["weight"]
    b = (w["bias"] if op.affine else 0.0) - w["running_mean"] * a
    return a, np.broadcast_to(b, a.shape)


def epilogue(ctx, bias: np.ndarray | None, c: int):
    """The fused ops of ``ctx.post`` as (scale, shift, activation names): output channel
    y = act(x * scale + shift) with the layer's own ``bias`` folded into the shift (float32
    vectors of length ``c``, or None). ``None`` when ``ctx.post`` holds something else."""
    scale, shift, acts = None, None if bias is None else bias.astype(np.float64), []
    for op, w in ctx.post:
        if op.kind == "batchnorm" and not acts and scale is None:
            a, b = bn_affine(op, w)
            if a.shape != (c,):
                return None
            scale, shift = a, b if shift is None else shift * a + b
        elif op.kind == "activation":
            acts.append(op.fn)
        else:
            return None
    return _f32(scale), _f32(shift), acts


def _f32(v):
    return None if v is None else v.astype(np.float32)


def apply_post(block: np.ndarray, c0: int, c1: int, scale, shift, acts) -> None:
    """Epilogue on channels c0:c1 held in ``block`` (channels first), in place."""
    if scale is not None:
        block *= _chan(scale[c0:c1], block.ndim)
    if shift is not None:
        block += _chan(shift[c0:c1], block.ndim)
    for fn in acts:
        ACTIVATIONS[fn](block, block)


def post_tiles(ctx, out: np.ndarray, scale, shift, acts) -> None:
    """The epilogue over a (N, C, ...) output, tile by tile on the pool."""
    if scale is None and shift is None and not acts:
        return
    n, c = out.shape[:2]
    per = math.prod(out.shape[2:])

    def work(t):
        b, c0, c1 = t
        apply_post(out[b, c0:c1], c0, c1, scale, shift, acts)

    for t in channel_tiles(n, c, per, ctx.tile() // 2):
        work(t)
