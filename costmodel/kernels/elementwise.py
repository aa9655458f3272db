"""Element-wise kernels (BatchNorm, activations, add, multiply), global and adaptive pooling, data
movement and upsampling (see ``costmodel.kernels``)."""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .base import ACTIVATIONS, SMALL, _chan, apply_post, bn_affine, channel_tiles, epilogue


# ----------------------------------------------------------------------------- element-wise
def _eltwise(ctx, out: np.ndarray, fn: Callable) -> np.ndarray:
    """fn(b, c0, c1) over channel tiles of ``out`` (N, C, ...) on the pool, then the fused
    activations of ``ctx.post`` on each tile while it is in cache; one call for small tensors or
    vectors."""
    acts = [op.fn for op, _ in ctx.post] if all(op.kind == "activation" for op, _ in ctx.post) else []

    def tile(bi, c0, c1):
        fn(bi, c0, c1)
        for a in acts:
            ACTIVATIONS[a](out[bi, c0:c1], out[bi, c0:c1])

    ctx.fused = bool(acts)
    if out.size <= SMALL or out.ndim < 3:
        tile(slice(None), 0, out.shape[1])
        return out
    n, c = out.shape[:2]
    per = math.prod(out.shape[2:])
    for t in channel_tiles(n, c, per, ctx.tile() // 2):
        tile(*t)
    return out


def batchnorm(op, ins, ctx):
    """Inference form y = (x - mean) / sqrt(var + eps) * gamma + beta, as y = x * a + b."""
    (x,) = ins
    w = ctx.w
    if ctx.calibrate:  # running statistics := this input's per-channel statistics
        axes = (0,) + tuple(range(2, x.ndim))
        w["running_mean"] = x.mean(axis=axes, dtype=np.float64).astype(np.float32)
        var = x.var(axis=axes, dtype=np.float64)
        w["running_var"] = (var + 0.1 * var.mean() + 1e-3).astype(np.float32)  # no near-constant channel blows up
    a, b = (_chan(v.astype(np.float32), x.ndim - 1) for v in bn_affine(op, w))
    out = ctx.out_like(x)

    def fn(bi, c0, c1):  # a, b (C, 1, ..., 1) broadcast over a tile (c, ...) or the whole (N, C, ...)
        o = np.multiply(x[bi, c0:c1], a[c0:c1], out=out[bi, c0:c1])
        o += b[c0:c1]

    return (_eltwise(ctx, out, fn),)


def activation(op, ins, ctx):
    (x,) = ins
    out, act = ctx.out_like(x), ACTIVATIONS[op.fn]
    return (_eltwise(ctx, out, lambda bi, c0, c1: act(x[bi, c0:c1], out[bi, c0:c1])),)


def add(op, ins, ctx):
    out = ctx.out_like(ins[0])

    def fn(bi, c0, c1):
        o = np.add(ins[0][bi, c0:c1], ins[1][bi, c0:c1], out=out[bi, c0:c1])
        for y in ins[2:]:
            o += y[bi, c0:c1]

    return (_eltwise(ctx, out, fn),)


def multiply(op, ins, ctx):
    """a * b with a (C, 1, 1) gate broadcast over (C, H, W) as SE does (either operand)."""
    a, b = ins
    shape = np.broadcast_shapes(a.shape, b.shape)
    out = a if ctx.inplace and a.shape == shape else np.empty(shape, np.float32)
    if a.ndim < 3 or a.shape[:2] != shape[:2] or b.shape[:2] != shape[:2]:  # tiles need (N, C) on both
        return (np.multiply(a, b, out=out),)
    return (_eltwise(ctx, out, lambda bi, c0, c1: np.multiply(a[bi, c0:c1], b[bi, c0:c1], out=out[bi, c0:c1])),)


def adaptive_avgpool(op, ins, ctx):
    """Window sums from 2-D prefix sums (no loop over pixels): cell (i, j) = S[r1, c1] - S[r0, c1]
    - S[r1, c0] + S[r0, c0] over PyTorch's adaptive windows, divided by the window's area."""
    from ..ops import adaptive_windows
    (x,) = ins
    n, c, h, w = x.shape
    s = np.zeros((n, c, h + 1, w + 1), np.float64)
    s[:, :, 1:, 1:] = x.cumsum(axis=2, dtype=np.float64).cumsum(axis=3)
    rows = np.array(adaptive_windows(h, op.size[0]))
    cols = np.array(adaptive_windows(w, op.size[1]))
    r0, r1 = rows[:, 0][:, None], rows[:, 1][:, None]
    c0, c1 = cols[:, 0][None, :], cols[:, 1][None, :]
    total = s[:, :, r1, c1] - s[:, :, r0, c1] - s[:, :, r1, c0] + s[:, :, r0, c0]
    return ((total / ((r1 - r0) * (c1 - c0))).astype(np.float32),)


def global_avgpool(op, ins, ctx):
    (x,) = ins
    return (x.mean(axis=(2, 3), keepdims=True, dtype=np.float32),)


# ----------------------------------------------------------------------------- data movement
def concat(op, ins, ctx):
    """Inputs joined along channels; with a fused BatchNorm epilogue (``ctx.post``), each input's
    channels are scaled and shifted on their way into the output (and activated), tile by tile."""
    post = ctx.post and ins[0].ndim > 2 and epilogue(ctx, None, sum(x.shape[1] for x in ins))
    if not post:
        return (np.concatenate(ins, axis=1),)
    scale, shift, acts = post
    n = ins[0].shape[0]
    out = np.empty((n, sum(x.shape[1] for x in ins)) + ins[0].shape[2:], np.float32)
    per = math.prod(out.shape[2:])
    c0 = 0
    for x in ins:
        for b, t0, t1 in channel_tiles(n, x.shape[1], per, ctx.tile() // 2):
            lo, hi = c0 + t0, c0 + t1
            if scale is not None:
                np.multiply(x[b, t0:t1], _chan(scale[lo:hi], x.ndim - 1), out=out[b, lo:hi])
            else:
                out[b, lo:hi] = x[b, t0:t1]
            apply_post(out[b, lo:hi], lo, hi, None, shift, acts)
        c0 += x.shape[1]
    ctx.fused = True
    return (out,)


def split(op, ins, ctx):
    """Views of the input's channel ranges (no copy)."""
    (x,) = ins
    out, c0 = [], 0
    for size in op.sizes:
        out.append(x[:, c0:c0 + size])
        c0 += size
    return tuple(out)


def channel_shuffle(op, ins, ctx):
    """(N, g, C/g, H, W) -> transpose to (N, C/g, g, H, W) -> (N, C, H, W), as torch's."""
    (x,) = ins
    n, c = x.shape[:2]
    y = x.reshape((n, op.groups, c // op.groups) + x.shape[2:]).swapaxes(1, 2)
    return (np.ascontiguousarray(y).reshape(x.shape),)


def flatten(op, ins, ctx):
    (x,) = ins
    return (x.reshape(x.shape[0], -1),)


def dropout(op, ins, ctx):
    return (ins[0],)


def _bilinear_axis(n_in, n_out):
    """Source indices i0, i1 and weight of i1 along one axis, align_corners=False:
    src = max((dst + 0.5) * n_in / n_out - 0.5, 0)."""
    scale = np.float32(n_in / n_out)
    src = np.maximum((np.arange(n_out, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5), 0)
    i0 = np.minimum(src.astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, (src - i0).astype(np.float32)


def _nearest_axis(n_in, n_out):
    """floor(dst * n_in / n_out), clipped (torch 'nearest')."""
    scale = np.float32(n_in / n_out)
    return np.minimum(np.floor(np.arange(n_out, dtype=np.float32) * scale).astype(np.int64), n_in - 1)


def upsample(op, ins, ctx):
    (x,) = ins
    _, _, h, w = x.shape
    ho, wo = op.size
    if op.mode == "nearest":
        return (x[:, :, _nearest_axis(h, ho)][:, :, :, _nearest_axis(w, wo)],)
    i0, i1, lh = _bilinear_axis(h, ho)
    y = x[:, :, i0] * (1 - lh)[:, None] + x[:, :, i1] * lh[:, None]
    j0, j1, lw = _bilinear_axis(w, wo)
    return (y[..., j0] * (1 - lw) + y[..., j1] * lw,)


#: op kind -> kernel(op, inputs, ctx) -> tuple of output arrays
