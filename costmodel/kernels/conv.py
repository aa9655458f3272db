"""Convolution (direct depthwise, 1x1 matrix products, k x k im2col), linear layers and window
pooling (see ``costmodel.kernels``)."""
from __future__ import annotations

import numpy as np

from ..errors import GraphError
from .base import SMALL_MAP, SMALL_TAPS, apply_post, channel_tiles, epilogue, post_tiles
from .depthwise_jit import ACT_CODES, depthwise


# ----------------------------------------------------------------------------- windows
def n_windows(size: int, k: int, s: int, d: int, p0: int, p1: int, ceil: bool = False) -> int:
    """Number of windows of a k-tap window with stride s and dilation d sliding over size + p0 + p1
    positions (0 if none fits); ``ceil`` as PyTorch pooling (a last, partial window is kept if it
    starts inside the input or the left padding)."""
    span = size + p0 + p1 - (d * (k - 1) + 1)
    if span < 0:
        return 0
    n = (-(-span // s) if ceil else span // s) + 1
    while ceil and n > 1 and (n - 1) * s >= size + p0:
        n -= 1
    return n


def _span(size: int, start: int, s: int, n: int) -> tuple[int, int]:
    """Outputs [lo, hi) of positions start + y * s (y < n) that fall inside [0, size)."""
    lo = min(n, max(0, -(start // s)))  # ceil(-start / s)
    hi = max(lo, min(n, -(-(size - start) // s)))
    return lo, hi


def phase_planes(xt: np.ndarray, fill: float, geom, ho: int, wo: int):
    """Yield (planes, offsets) per row phase of the stride for a (C, H, W) tile: ``planes``
    (kw, C, Hq * wo) holds, for each kernel column j, the input values the taps (i, j) of this phase
    read, so that tap (i, j)'s window values for all ho x wo outputs are the contiguous slice
    planes[j, :, off:off + ho * wo]; ``offsets`` lists (i, off) of the phase's kernel rows (evenly
    spaced). Positions outside the input are ``fill``.

    ``geom``: kh, kw, sh, sw, dh, dw, top and left padding. Output (y, x) of tap (i, j) reads input
    row i*dh + y*sh - top and column j*dw + x*sw - left: plane row y' of phase py holds input row
    py + y'*sh - top, and tap i of that phase starts at plane row (i*dh) // sh."""
    kh, kw, sh, sw, dh, dw, top, left = geom
    c, h, w = xt.shape
    for py in sorted({(i * dh) % sh for i in range(kh)}):
        its = [i for i in range(kh) if (i * dh) % sh == py]
        hq = ho + (its[-1] * dh) // sh
        ys0 = py - top
        y_lo, y_hi = _span(h, ys0, sh, hq)
        planes = np.empty((kw, c, hq, wo), np.float32)
        if y_lo:
            planes[:, :, :y_lo] = fill
        if y_hi < hq:
            planes[:, :, y_hi:] = fill
        for j in range(kw):
            xs0 = j * dw - left
            x_lo, x_hi = _span(w, xs0, sw, wo)
            if x_lo:
                planes[j, :, y_lo:y_hi, :x_lo] = fill
            if x_hi < wo:
                planes[j, :, y_lo:y_hi, x_hi:] = fill
            if y_hi > y_lo and x_hi > x_lo:
                planes[j, :, y_lo:y_hi, x_lo:x_hi] = xt[:, ys0 + y_lo * sh: ys0 + (y_hi - 1) * sh + 1: sh,
                                                        xs0 + x_lo * sw: xs0 + (x_hi - 1) * sw + 1: sw]
        flat = planes.reshape(kw, c, hq * wo)
        del planes  # the caller drops its reference before the next phase's planes are made
        yield flat, [(i, (i * dh) // sh * wo) for i in its]
        del flat


def tap_view(planes: np.ndarray, offsets, n: int) -> np.ndarray:
    """(C, kw, len(offsets), n) read-only view of the taps' slices planes[j, :, off:off + n] (offsets
    evenly spaced)."""
    base = planes[:, :, offsets[0][1]:]
    step = (offsets[1][1] - offsets[0][1]) if len(offsets) > 1 else 0
    s = base.strides
    return np.lib.stride_tricks.as_strided(base, (base.shape[1], base.shape[0], len(offsets), n),
                                           (s[1], s[0], step * s[2], s[2]), writeable=False)


# ----------------------------------------------------------------------------- convolution
def _pad_rows(x: np.ndarray, r0: int, r1: int, pads) -> np.ndarray:
    """Padded rows r0:r1 (padded coordinates) of x (N, C, H, W), zeros outside the input."""
    t, _, left, r = pads
    n, c, h, w = x.shape
    band = np.zeros((n, c, r1 - r0, w + left + r), np.float32)
    a, b = max(r0, t), min(r1, t + h)
    if b > a:
        band[:, :, a - r0: b - r0, left:left + w] = x[:, :, a - t: b - t]
    return band


def _im2col(op, x, wm, out, ctx, geom, ho, wo):
    """out (N, g, co/g, ho*wo) = wm (g, co/g, cg*kh*kw) @ im2col(x), tile by tile; each tile's
    epilogue is applied while it is in cache."""
    kh, kw, sh, sw, dh, dw, pads = geom
    n, c = x.shape[:2]
    g = wm.shape[0]
    k = c * kh * kw
    per_row = k * wo + c * sh * (x.shape[3] + pads[2] + pads[3])  # columns + padded input band per output row
    rows = max(1, min(ho, ctx.workspace // per_row))
    samples = max(1, min(n, ctx.workspace // (per_row * ho))) if rows == ho else 1
    co = out.shape[1] * out.shape[2]
    out3 = out.reshape(n, co, ho * wo)  # a view: out is contiguous
    post = ctx.post and epilogue(ctx, ctx.w.get("bias") if op.bias else None, co)
    for b0 in range(0, n, samples):
        b1 = min(n, b0 + samples)
        for r0 in range(0, ho, rows):
            r1 = min(ho, r0 + rows)
            band = _pad_rows(x[b0:b1], r0 * sh, (r1 - 1) * sh + (kh - 1) * dh + 1, pads)
            sn, sc, sy, sx = band.strides
            win = np.lib.stride_tricks.as_strided(
                band, (b1 - b0, c, kh, kw, r1 - r0, wo), (sn, sc, sy * dh, sx * dw, sy * sh, sx * sw),
                writeable=False)
            cols = np.ascontiguousarray(win).reshape(b1 - b0, g, k // g, (r1 - r0) * wo)
            del band, win
            ctx.matmul(wm, cols, out=out[b0:b1, :, :, r0 * wo: r1 * wo])
            del cols
            if post:
                for b in range(b0, b1):
                    apply_post(out3[b, :, r0 * wo: r1 * wo], 0, co, *post)
    return bool(post)


def _depthwise(x, weight, out, ctx, geom, ho, wo) -> bool:
    """out[:, o] = sum over taps (i, j) of input channel o // m's window slice times
    weight[o, 0, i, j] (m = out / in channels), tile by tile of channels: per row phase of the
    stride one ``einsum`` over the phase's taps (a multiply-add pass per tap, no temporary);
    counts (output elements) x (taps) of each. Folds a fused BatchNorm's scale into the weights."""
    n, c = x.shape[:2]
    co, _, kh, kw = weight.shape
    m = co // c
    p = ho * wo
    post = ctx.post and epilogue(ctx, ctx.w.get("bias"), co)
    scale, shift, acts = post if post else (None, ctx.w.get("bias"), [])
    wt = weight.reshape(co, kh, kw).astype(np.float32)
    if scale is not None:
        wt = wt * scale[:, None, None]
    if min(geom[6]) >= 0 and _compiled(x, wt, shift, acts, out, geom, m, ctx):
        ctx.madds += out.size * kh * kw
        return bool(post)
    wt = wt.reshape(c, m, kh, kw).transpose(0, 1, 3, 2)  # (c, m, kw, kh)
    geom = geom[:6] + (geom[6][0], geom[6][2])
    phases = len({(i * geom[4]) % geom[2] for i in range(kh)})
    hq = ho + ((kh - 1) * geom[4]) // geom[2]
    taps = p < SMALL_MAP and kh * kw <= SMALL_TAPS  # short rows, few taps: a multiply and an add per tap
    tiles = channel_tiles(n, c, kw * hq * wo + (m * p if phases > 1 or taps else 0), ctx.tile())

    def work(t):
        b, c0, c1 = t
        ot = out[b, c0 * m: c1 * m].reshape(c1 - c0, m, p)
        tmp = np.empty_like(ot) if phases > 1 or taps else None
        count = 0
        for planes, offsets in phase_planes(x[b, c0:c1], 0.0, geom, ho, wo):
            if taps:  # short rows: one multiply and one add per tap beat einsum's strided loops
                for j in range(kw):
                    for i, off in offsets:
                        np.multiply(planes[j, :, None, off:off + p], wt[c0:c1, :, j, i, None], out=tmp if count else ot)
                        if count:
                            ot += tmp
                        count += ot.size
            else:
                w_ph = wt[c0:c1, :, :, [i for i, _ in offsets]]
                np.einsum("cjip,cmji->cmp", tap_view(planes, offsets, p), w_ph, out=tmp if count else ot)
                if count:
                    ot += tmp
                count += ot.size * kw * len(offsets)
            del planes
        apply_post(out[b, c0 * m: c1 * m], c0 * m, c1 * m, None, shift, acts)
        return count

    ctx.madds += sum(work(t) for t in tiles)
    return bool(post)


def _compiled(x, wt, shift, acts, out, geom, m, ctx) -> bool:
    """The compiled depthwise kernel (``depthwise_jit``, the ``fast`` extra) with the shift and
    the first activation fused when it can take it, the other activations after, tile by tile;
    False when it is not loaded."""
    fused = acts[0] if acts and acts[0] in ACT_CODES else None
    if not depthwise(x, wt, shift, fused, out, geom[:6] + (geom[6][0], geom[6][2]), m, ctx.tile()):
        return False
    post_tiles(ctx, out, None, None, acts[1:] if fused else acts)
    return True


def conv2d(op, ins, ctx):
    """Convolution (see the module docstring): depthwise directly, 1x1 as one matrix product,
    k x k by im2col."""
    (x,) = ins
    n, c, h, w = x.shape
    weight = ctx.w["weight"]
    co, cg, kh, kw = weight.shape
    g = op.groups
    if c % g or c // g != cg:
        raise GraphError(f"input has {c} channels, weight expects {cg} x {g} groups")
    (sh, sw), (dh, dw) = op.stride, op.dilation
    pads = op.pads((h, w))
    ho = n_windows(h, kh, sh, dh, pads[0], pads[1])
    wo = n_windows(w, kw, sw, dw, pads[2], pads[3])
    if ho < 1 or wo < 1:
        raise GraphError(f"kernel {kh}x{kw} does not fit the padded {h}x{w} input")
    geom = (kh, kw, sh, sw, dh, dw, pads)
    if cg == 1 and g == c:
        out = np.empty((n, co, ho, wo), np.float32)
        ctx.fused = _depthwise(x, weight, out, ctx, geom, ho, wo)
        return (out,)
    wm = weight.reshape(g, co // g, cg * kh * kw)
    if (kh, kw, sh, sw) == (1, 1, 1, 1) and not any(pads):
        out = ctx.matmul(wm, x.reshape(n, g, cg, h * w))
    else:
        out = np.empty((n, g, co // g, ho * wo), np.float32)
        if _im2col(op, x, wm, out, ctx, geom, ho, wo):
            ctx.fused = True
            return (out.reshape(n, co, ho, wo),)
    out = out.reshape(n, co, ho, wo)
    post = ctx.post and epilogue(ctx, ctx.w.get("bias") if op.bias else None, co)
    if post:
        post_tiles(ctx, out, *post)
        ctx.fused = True
    elif op.bias:
        post_tiles(ctx, out, None, ctx.w["bias"], [])
    return (out,)


def linear(op, ins, ctx):
    (x,) = ins
    out = ctx.matmul(x, ctx.w["weight"].T)
    post = ctx.post and epilogue(ctx, ctx.w.get("bias") if op.bias else None, out.shape[1])
    if post:
        apply_post(out.T, 0, out.shape[1], *post)
        ctx.fused = True
    elif op.bias:
        out += ctx.w["bias"]
    return (out,)


# ----------------------------------------------------------------------------- pooling
def _pool_geometry(op, x):
    """((kh, kw, sh, sw, 1, 1, top, left), (ho, wo)) of a pool; a ceil-mode window reaching past the
    padding reads the fill value there."""
    _, _, h, w = x.shape
    kh, kw = op.kernel
    sh, sw = op.stride
    t, b, left, r = op.pads((h, w))
    ho = n_windows(h, kh, sh, 1, t, b, op.ceil_mode)
    wo = n_windows(w, kw, sw, 1, left, r, op.ceil_mode)
    if ho < 1 or wo < 1:
        raise GraphError(f"pool window {kh}x{kw} does not fit the padded {h}x{w} input")
    return (kh, kw, sh, sw, 1, 1, t, left), (ho, wo)


def _window_reduce(x, ctx, geom, ho, wo, fill, reduce, finish=None):
    """out[:, :, y, x] = reduce over the window taps (max or sum), tile by tile of channels."""
    n, c = x.shape[:2]
    out = np.empty((n, c, ho, wo), np.float32)
    p = ho * wo
    hq = ho + (geom[0] - 1) // geom[2]

    def work(t):
        b, c0, c1 = t
        ot = out[b, c0:c1].reshape(c1 - c0, p)
        first = True
        for planes, offsets in phase_planes(x[b, c0:c1], fill, geom, ho, wo):
            for j in range(geom[1]):
                for _, off in offsets:
                    if first:
                        ot[...] = planes[j, :, off: off + p]
                        first = False
                    else:
                        reduce(ot, planes[j, :, off: off + p], out=ot)
            del planes
        if finish is not None:
            finish(ot)

    for t in channel_tiles(n, c, geom[1] * hq * wo, ctx.tile()):
        work(t)
    return out


def maxpool(op, ins, ctx):
    """Max over k*k taps of the input padded with -inf (PyTorch's implicit padding)."""
    (x,) = ins
    geom, (ho, wo) = _pool_geometry(op, x)
    return (_window_reduce(x, ctx, geom, ho, wo, -np.inf, np.maximum),)


def _divisor(size, k, s, n, p0, p1, include_pad):
    """Per-axis window sizes PyTorch divides by: the window clipped to the padded input
    (count_include_pad) or to the input itself."""
    start = np.arange(n) * s
    lo, hi = (0, size + p0 + p1) if include_pad else (p0, p0 + size)
    return np.minimum(start + k, hi) - np.maximum(start, lo)


def avgpool(op, ins, ctx):
    """Sum over k*k taps of the zero-padded input, divided as PyTorch's AvgPool2d divides."""
    (x,) = ins
    _, _, h, w = x.shape
    geom, (ho, wo) = _pool_geometry(op, x)
    kh, kw, sh, sw = geom[:4]
    t0, b0, l0, r0 = op.pads((h, w))
    dh = _divisor(h, kh, sh, ho, t0, b0, op.count_include_pad)
    dw = _divisor(w, kw, sw, wo, l0, r0, op.count_include_pad)
    div = np.maximum(dh[:, None] * dw[None, :], 1).astype(np.float32).reshape(-1)  # padding only: 0
    return (_window_reduce(x, ctx, geom, ho, wo, 0.0, np.add, lambda ot: np.divide(ot, div, out=ot)),)
