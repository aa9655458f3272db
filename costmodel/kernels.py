"""Kernels of the NumPy reference executor (``costmodel.executor``): one per op kind in ``KERNELS``.

A kernel ``kernel(op, inputs, ctx) -> outputs`` computes its outputs from the arrays it is given
and the op's attributes (padding through ``op.pads``), never from the graph's inferred shapes, so
the executor's shape check is a real check. Conv and linear kernels count the Mult-Adds of the
products they really compute, from the operand shapes (``Ctx.matmul``: batch x M x K x P of each
matrix product; the depthwise kernel: the elements of each per-tap product). No Python loop runs
over pixels; loops run over tiles of channels and rows.

* **Pointwise (1x1, stride 1) convolutions and linear layers**: one BLAS matrix product (grouped
  and batched through ``np.matmul``), which OpenBLAS runs on its threads.
* **k x k convolutions**: im2col. A tile of samples or output rows is padded, its strided window
  view gathered into a column buffer of at most ``ctx.workspace`` elements (or one output row)
  and multiplied by the (groups, out/groups, in/groups*kh*kw) weight straight into the output.
* **Depthwise convolutions and pooling**: direct. A tile of channels is copied once per kernel
  column (and row phase of the stride) into a zero- (or -inf-) padded plane whose rows are
  exactly the output's width, so every kernel tap is one contiguous slice, and the taps of a
  phase are one strided view: one ``einsum`` multiplies and accumulates them into the output
  tile in cache (max / sum over the slices for pooling). Tiles run on a thread pool (NumPy
  releases the GIL inside each call).
* **Epilogues**: a BatchNorm and activations that the memory plan fuses into a conv or linear
  (``costmodel.memory.plan``) are applied by the producing kernel to each output tile while it is
  in cache (``ctx.post``); the depthwise kernel folds the BatchNorm scale into its k*k weights.
  Element-wise kernels (BatchNorm, activations, add, multiply) run tile by tile with tile-sized
  temporaries, on the same pool.

Every temporary buffer is bounded by ``ctx.workspace`` elements (shared among the pool's threads):
the executor sets it to a quarter of the graph's analytic peak memory, so kernels' temporaries
add at most about 25 % to the tensors the memory model counts.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .errors import GraphError

#: BatchNorm epsilon (PyTorch's default)
BN_EPS = 1e-5
#: smallest workspace (elements) a kernel gets, whatever the graph's peak
MIN_WORKSPACE = 1 << 15
#: largest tile (elements) of element-wise and depthwise kernels: small enough to stay in L2
MAX_TILE = 1 << 17
#: below this many elements an element-wise op runs in one call on the calling thread
SMALL = 1 << 15
#: depthwise outputs with fewer pixels than this accumulate tap by tap instead of by einsum
SMALL_MAP = 64

_POOLS: Dict[int, ThreadPoolExecutor] = {}


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


def _pool(threads: int) -> ThreadPoolExecutor:
    if threads not in _POOLS:
        _POOLS[threads] = ThreadPoolExecutor(threads, thread_name_prefix="costmodel-executor")
    return _POOLS[threads]


class Ctx:
    """What a kernel gets besides the op and its inputs: the layer's weights, whether it may
    overwrite its first input, the Mult-Adds counter it must feed, the fused epilogue ops
    (``post``: (op, weights) of a folded BatchNorm and fused activations; a kernel that applies
    them sets ``fused``), its workspace in elements and the number of threads."""

    __slots__ = ("w", "inplace", "madds", "calibrate", "post", "fused", "workspace", "threads")

    def __init__(self, w, inplace, calibrate=False, post=(), workspace=MIN_WORKSPACE, threads=1):
        self.w = w
        self.inplace = inplace
        self.madds = 0
        self.calibrate = calibrate
        self.post = tuple(post)
        self.fused = False
        self.workspace = max(MIN_WORKSPACE, int(workspace))
        self.threads = max(1, int(threads))

    def matmul(self, a: np.ndarray, b: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
        """a (..., M, K) @ b (..., K, P), counting prod(batch) * M * K * P Mult-Adds."""
        res = np.matmul(a, b, out=out)
        m, k = a.shape[-2:]
        self.madds += int(np.prod(res.shape[:-2], dtype=np.int64)) * m * k * b.shape[-1]
        return res

    def out_like(self, x: np.ndarray) -> np.ndarray:
        return x if self.inplace else np.empty_like(x)

    def tile(self) -> int:
        """Elements of temporaries one task may hold: the workspace shared by the threads."""
        return max(1, min(MAX_TILE, self.workspace // self.threads))

    def pmap(self, fn: Callable, tasks: Sequence) -> List:
        """fn over tasks, on the thread pool when there are threads and several tasks."""
        if self.threads == 1 or len(tasks) < 2:
            return [fn(t) for t in tasks]
        return list(_pool(self.threads).map(fn, tasks))


def channel_tiles(n: int, c: int, per_channel: int, budget: int) -> List[Tuple[int, int, int]]:
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
    """x * sigmoid(x) (a temporary the size of x)."""
    return np.multiply(x, _sigmoid(x, np.empty_like(x)), out=out)


def _hswish(x, out):
    """x * relu6(x + 3) / 6 (a temporary the size of x)."""
    return np.multiply(x, _hsigmoid(x, np.empty_like(x)), out=out)


#: activation name -> fn(x, out) writing into out (which may be x)
ACTIVATIONS: Dict[str, Callable] = {"relu": _relu, "relu6": _relu6, "sigmoid": _sigmoid, "swish": _swish,
                                    "hsigmoid": _hsigmoid, "hswish": _hswish}


# ----------------------------------------------------------------------------- epilogues
def bn_affine(op, w) -> Tuple[np.ndarray, np.ndarray]:
    """(a, b) float64 of the inference BatchNorm y = x * a + b: a = gamma / sqrt(var + eps),
    b = beta - mean * a."""
    a = 1.0 / np.sqrt(w["running_var"].astype(np.float64) + BN_EPS)
    if op.affine:
        a = a * w["weight"]
    b = (w["bias"] if op.affine else 0.0) - w["running_mean"] * a
    return a, np.broadcast_to(b, a.shape)


def epilogue(ctx, bias: Optional[np.ndarray], c: int):
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
    per = int(np.prod(out.shape[2:], dtype=np.int64))

    def work(t):
        b, c0, c1 = t
        apply_post(out[b, c0:c1], c0, c1, scale, shift, acts)

    ctx.pmap(work, channel_tiles(n, c, per, ctx.tile() // 2))


# ----------------------------------------------------------------------------- windows
def n_windows(size: int, k: int, s: int, d: int, p0: int, p1: int, ceil: bool = False) -> Tuple[int, int]:
    """(number of windows, extra padding needed after) of a k-tap window with stride s and
    dilation d sliding over size + p0 + p1 positions; ``ceil`` as PyTorch pooling (a last,
    partial window is kept if it starts inside the input or the left padding)."""
    span = size + p0 + p1 - (d * (k - 1) + 1)
    if span < 0:
        return 0, 0
    n = (-(-span // s) if ceil else span // s) + 1
    while ceil and n > 1 and (n - 1) * s >= size + p0:
        n -= 1
    return n, max(0, (n - 1) * s - span)


def _span(size: int, start: int, s: int, n: int) -> Tuple[int, int]:
    """Outputs [lo, hi) of positions start + y * s (y < n) that fall inside [0, size)."""
    lo = min(n, max(0, -(-(-start) // s)))
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
        planes[:, :, :y_lo] = fill
        planes[:, :, y_hi:] = fill
        for j in range(kw):
            xs0 = j * dw - left
            x_lo, x_hi = _span(w, xs0, sw, wo)
            planes[j, :, y_lo:y_hi, :x_lo] = fill
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
    rows = max(1, min(ho, ctx.workspace // max(1, k * wo)))
    samples = max(1, min(n, ctx.workspace // max(1, k * ho * wo))) if rows == ho else 1
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
    wt = wt.reshape(c, m, kh, kw).transpose(0, 1, 3, 2)  # (c, m, kw, kh)
    geom = geom[:6] + (geom[6][0], geom[6][2])
    phases = len({(i * geom[4]) % geom[2] for i in range(kh)})
    hq = ho + ((kh - 1) * geom[4]) // geom[2]
    tiles = channel_tiles(n, c, kw * hq * wo + (m * p if phases > 1 or p < SMALL_MAP else 0), ctx.tile())

    def work(t):
        b, c0, c1 = t
        ot = out[b, c0 * m: c1 * m].reshape(c1 - c0, m, p)
        tmp = np.empty_like(ot) if phases > 1 or p < SMALL_MAP else None
        count = 0
        for planes, offsets in phase_planes(x[b, c0:c1], 0.0, geom, ho, wo):
            if p < SMALL_MAP:  # short rows: one multiply and one add per tap beat einsum's strided loops
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

    ctx.madds += sum(ctx.pmap(work, tiles))
    return bool(post)


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
    ho, _ = n_windows(h, kh, sh, dh, pads[0], pads[1])
    wo, _ = n_windows(w, kw, sw, dw, pads[2], pads[3])
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
    per = int(np.prod(out.shape[2:], dtype=np.int64))
    ctx.pmap(lambda t: tile(*t), channel_tiles(n, c, per, ctx.tile() // 2))
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


# ----------------------------------------------------------------------------- pooling
def _pool_geometry(op, x):
    _, _, h, w = x.shape
    kh, kw = op.kernel
    sh, sw = op.stride
    t, b, left, r = op.pads((h, w))
    ho, eh = n_windows(h, kh, sh, 1, t, b, op.ceil_mode)
    wo, ew = n_windows(w, kw, sw, 1, left, r, op.ceil_mode)
    if ho < 1 or wo < 1:
        raise GraphError(f"pool window {kh}x{kw} does not fit the padded {h}x{w} input")
    return (kh, kw, sh, sw, 1, 1, t, left), (ho, wo), (t, b + eh, left, r + ew)


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

    ctx.pmap(work, channel_tiles(n, c, geom[1] * hq * wo, ctx.tile()))
    return out


def maxpool(op, ins, ctx):
    """Max over k*k taps of the input padded with -inf (PyTorch's implicit padding)."""
    (x,) = ins
    geom, (ho, wo), _ = _pool_geometry(op, x)
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
    geom, (ho, wo), (t, b, left, r) = _pool_geometry(op, x)
    kh, kw, sh, sw = geom[:4]
    t0, b0, l0, r0 = op.pads((h, w))
    dh = _divisor(h, kh, sh, ho, t0, b0, op.count_include_pad)
    dw = _divisor(w, kw, sw, wo, l0, r0, op.count_include_pad)
    div = np.maximum(dh[:, None] * dw[None, :], 1).astype(np.float32).reshape(-1)  # padding only: 0
    return (_window_reduce(x, ctx, geom, ho, wo, 0.0, np.add, lambda ot: np.divide(ot, div, out=ot)),)


def adaptive_avgpool(op, ins, ctx):
    """Window sums from 2-D prefix sums (no loop over pixels): cell (i, j) = S[r1, c1] - S[r0, c1]
    - S[r1, c0] + S[r0, c0] over PyTorch's adaptive windows, divided by the window's area."""
    from .ops import adaptive_windows
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
    return (np.concatenate(ins, axis=1),)


def split(op, ins, ctx):
    """Views of the input's channel ranges (no copy)."""
    (x,) = ins
    return tuple(np.split(x, np.cumsum(op.sizes)[:-1], axis=1))


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
KERNELS: Dict[str, Callable] = {
    "conv2d": conv2d,
    "linear": linear,
    "batchnorm": batchnorm,
    "activation": activation,
    "maxpool": maxpool,
    "avgpool": avgpool,
    "global_avgpool": global_avgpool,
    "adaptive_avgpool": adaptive_avgpool,
    "add": add,
    "multiply": multiply,
    "concat": concat,
    "split": split,
    "channel_shuffle": channel_shuffle,
    "flatten": flatten,
    "dropout": dropout,
    "upsample": upsample,
}
#: kernels that may write their result into their (dead, unshared) first input
INPLACE = frozenset({"batchnorm", "activation", "add", "multiply"})
