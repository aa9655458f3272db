"""Compiled depthwise convolution: the optional ``fast`` extra (numba). The executor's NumPy
depthwise kernel (``costmodel.kernels.conv``) runs instead when numba is not installed and when
``COSTMODEL_JIT`` says so; both compute the same sums.

When it is used (``COSTMODEL_JIT``): loading numba and the cached kernel costs a process about
0.7 s (numba imports SciPy's linear algebra), more than the kernel saves in one run (MobileNetV2 at
batch 1: a few ms), so by default (``auto``) a process uses it from its second run of a graph with
depthwise convolutions on: a one-off ``costmodel verify`` never pays the start-up, and a loop
(benchmarks, parity sweeps, a notebook re-running cells) gets the compiled kernel from its second
run. ``1``: from the first run; ``0``: never. Calling ``kernel()`` loads it for the process.

Layout (as oneDNN's blocked depthwise kernels): output channels go in blocks of ``CB`` = 16, one
AVX-512 register of float32. For each sample and block the kernel copies the block's input
channels once into a zero-padded tile, channels innermost, with the columns of each row grouped by
their phase of the column stride, so that for every kernel tap (i, j) the values an output row
reads are one contiguous run of ``wo * CB`` floats:

    tile[row, phase, col, k] = x[b, (c0 + k) // m, row - top, col * sw + phase - left]
    out[b, c0 + k, y, q] = act(shift[c0 + k] + sum over (i, j) of
                               w[c0 + k, i, j] * tile[y*sh + i*dh, (j*dw) % sw, q + (j*dw) // sw, k])

(m: output channels per input channel). Each output row accumulates in a buffer of ``wo * CB``
floats, three taps of a kernel row per unit-stride multiply-add pass that LLVM vectorizes (the
block's weights are repeated along the row once per block), then is written back channels-first
with the shift and a ReLU, ReLU6 or hard swish applied on the way. Indices are unsigned so that numba emits no
negative-index wrap-around, which would stop the vectorizer.

Measured at 1 thread against ``torch.nn.functional.conv2d`` (oneDNN) on MobileNetV2/V3 and MixNet
layer shapes (``benchmarks/bench_depthwise.py``): 1.2-4.6x its time (widest at 9x9 and 11x11),
where the NumPy kernel takes 2.9-14x: 1.5-3.4x faster (docs/benchmarks_executor.md).
Compiled once per machine and cached (numba's ``cache=True``: in ``__pycache__`` beside this file,
or numba's user cache directory when that is read-only); the first run in a fresh checkout spends
a few seconds compiling.
"""
from __future__ import annotations

import os

import numpy as np

#: channels per block: 16 float32 = one 512-bit vector
CB = 16
#: fused activation codes of the write-back (anything else is applied by NumPy afterwards)
ACT_CODES = {"relu": 1, "relu6": 2, "hswish": 3}


def _dw_blocks(x, w, shift, act, out, m, kh, kw, sh, sw, dh, dw, top, left, band, tile, acc, wrow):
    """The compiled loop (numba ``njit``; see the module docstring). x (N, C, H, W) and out
    (N, Co, ho, wo) C-contiguous float32; w (blocks, kh*kw, CB) with any BatchNorm scale folded
    in; shift (blocks*CB,); act an ``ACT_CODES`` value or 0; ``band`` output rows at a time;
    tile, acc and wrow are the scratch buffers ``depthwise`` sizes."""
    n, c, h, wi = x.shape
    co, ho, wo = out.shape[1], out.shape[2], out.shape[3]
    xf = x.reshape(-1)
    of = out.reshape(-1)
    wp = (wo - 1) * sw + (kw - 1) * dw + 1
    wpp = (wp + sw - 1) // sw
    row_len = wo * CB
    taps = kh * kw
    src = np.zeros(CB, np.uint64)
    for b in range(n):
        for blk in range(w.shape[0]):
            c0 = blk * CB
            cn = min(CB, co - c0)
            for k in range(cn):  # where each channel of the block starts in x
                src[k] = np.uint64((b * c + (c0 + k) // m) * h * wi)
            for t in range(taps):  # the block's weights repeated along an output row
                for q in range(wo):
                    d0 = np.uint64(t * row_len + q * CB)
                    for k in range(CB):
                        wrow[d0 + np.uint64(k)] = w[blk, t, k]
            for y0 in range(0, ho, band):
                y1 = min(ho, y0 + band)
                r0 = y0 * sh  # first padded input row of the band
                hb = (y1 - 1 - y0) * sh + (kh - 1) * dh + 1
                tile[:] = 0.0
                for yt in range(hb):
                    y = r0 + yt - top
                    if y < 0 or y >= h:
                        continue
                    for ph in range(sw):
                        rb = (yt * sw + ph) * wpp
                        for qi in range(wpp):
                            q = qi * sw + ph - left
                            if q < 0 or q >= wi:
                                continue
                            d0 = np.uint64((rb + qi) * CB)
                            off = np.uint64(y * wi + q)
                            for k in range(cn):
                                tile[d0 + np.uint64(k)] = xf[src[k] + off]
                for y in range(y0, y1):
                    acc[:] = 0.0
                    for i in range(kh):
                        yy = (y - y0) * sh + i * dh
                        j = 0
                        while j + 2 < kw:  # three taps per pass: fewer loads and stores of acc
                            b0 = ((yy * sw + (j * dw) % sw) * wpp + (j * dw) // sw) * CB
                            b1 = ((yy * sw + ((j + 1) * dw) % sw) * wpp + ((j + 1) * dw) // sw) * CB
                            b2 = ((yy * sw + ((j + 2) * dw) % sw) * wpp + ((j + 2) * dw) // sw) * CB
                            t0, t1, t2 = tile[b0: b0 + row_len], tile[b1: b1 + row_len], tile[b2: b2 + row_len]
                            w0 = wrow[(i * kw + j) * row_len: (i * kw + j + 1) * row_len]
                            w1 = wrow[(i * kw + j + 1) * row_len: (i * kw + j + 2) * row_len]
                            w2 = wrow[(i * kw + j + 2) * row_len: (i * kw + j + 3) * row_len]
                            for t in range(row_len):
                                acc[t] += w0[t] * t0[t] + w1[t] * t1[t] + w2[t] * t2[t]
                            j += 3
                        while j < kw:
                            cj = j * dw
                            base = ((yy * sw + cj % sw) * wpp + cj // sw) * CB
                            tr = tile[base: base + row_len]
                            wv = wrow[(i * kw + j) * row_len: (i * kw + j + 1) * row_len]
                            for t in range(row_len):
                                acc[t] += wv[t] * tr[t]
                            j += 1
                    for k in range(cn):
                        s = shift[c0 + k]
                        d0 = np.uint64(((b * co + c0 + k) * ho + y) * wo)
                        for q in range(wo):
                            v = acc[np.uint64(q * CB + k)] + s
                            if act == 1:
                                v = max(v, 0.0)
                            elif act == 2:
                                v = min(max(v, 0.0), 6.0)
                            elif act == 3:
                                v = v * (min(max(v + 3.0, 0.0), 6.0) * np.float32(1.0 / 6.0))
                            of[d0 + np.uint64(q)] = v
    return out


#: runs of graphs with depthwise convolutions ``prepare`` has seen in this process
_RUNS = [0]
#: the loaded kernel, once ``kernel()`` has loaded it
_LOADED: list = []


def jit_mode() -> str:
    """``COSTMODEL_JIT``: auto (default), 1 or 0; anything else is an error."""
    mode = os.environ.get("COSTMODEL_JIT", "auto").strip().lower() or "auto"
    if mode not in ("auto", "0", "1"):
        from ..errors import CostModelError
        raise CostModelError(f"COSTMODEL_JIT={mode!r}: accepted auto (default), 1 (always use the compiled "
                             f"depthwise kernel) or 0 (never)")
    return mode


def kernel():
    """Load (compiling it the first time on this machine) and return the compiled kernel; None
    when numba is not installed or ``COSTMODEL_JIT=0``."""
    if _LOADED:
        return _LOADED[0]
    if jit_mode() == "0":
        return None
    try:
        import numba
    except ImportError:
        return None
    f4, f3, f1 = numba.float32[:, :, :, ::1], numba.float32[:, :, ::1], numba.float32[::1]
    sig = (f4, f3, f1, numba.int64, f4) + (numba.int64,) * 10 + (f1, f1, f1)
    fn = numba.njit(sig, fastmath=True, cache=True, boundscheck=False, nogil=True)(_dw_blocks)
    from .. import blas
    blas.forget_libraries()  # loading it may load another BLAS (SciPy's, for numba's linear algebra)
    _LOADED.append(fn)
    return fn


def prepare(graph) -> None:
    """Before a run: count it if ``graph`` has depthwise convolutions, and load the compiled kernel
    when ``COSTMODEL_JIT`` says this run uses it (module docstring), before the run bounds BLAS's
    threads, so that the bound covers every library numba loads. A graph without depthwise
    convolutions costs nothing (numba is not even imported)."""
    if not any(n.op.kind == "conv2d" and n.op.groups == n.in_shapes[0][0] > 1 for n in graph.nodes):
        return
    _RUNS[0] += 1
    mode = jit_mode()
    if mode == "1" or (mode == "auto" and _RUNS[0] >= 2):
        kernel()


def depthwise(x: np.ndarray, w: np.ndarray, shift: np.ndarray | None, act: str | None,
              out: np.ndarray, geom, m: int, workspace: int) -> bool:
    """out = depthwise(x) with per-channel weights w (Co, kh, kw) float32 (BatchNorm scale folded
    in), plus ``shift`` and the activation ``act`` (a name of ``ACT_CODES``, else None) in the
    write-back. ``geom``: kh, kw, sh, sw, dh, dw, top, left. The scratch buffers hold at most
    ``workspace`` elements, or one band of output rows: the tile then holds a band of rows at a
    time. False, with nothing written, when the compiled kernel is not loaded (see ``prepare``;
    ``kernel()`` loads it). It runs on the
    calling thread and releases the GIL, so the executor's sample threads (batches of several
    samples) run it side by side; splitting one sample's channels over two threads was measured
    no faster (OpenBLAS's threads spin on the second core between matrix products)."""
    if not _LOADED:
        return False
    fn = _LOADED[0]
    kh, kw, sh, sw, dh, dw, top, left = geom
    co = w.shape[0]
    ho, wo = out.shape[2:]
    blocks = -(-co // CB)
    wb = np.zeros((blocks * CB, kh * kw), np.float32)
    wb[:co] = w.reshape(co, kh * kw)
    wb = np.ascontiguousarray(wb.reshape(blocks, CB, kh * kw).transpose(0, 2, 1))
    sb = np.zeros(blocks * CB, np.float32)
    if shift is not None:
        sb[:co] = shift
    acc = np.empty(wo * CB, np.float32)
    wrow = np.empty(kh * kw * wo * CB, np.float32)
    per_row = sw * -(-((wo - 1) * sw + (kw - 1) * dw + 1) // sw) * CB  # tile elements per padded input row
    rows = max(1, (workspace - acc.size - wrow.size) // per_row)  # padded input rows the tile may hold
    band = max(1, min(ho, (rows - (kh - 1) * dh - 1) // sh + 1))
    tile = np.empty(((band - 1) * sh + (kh - 1) * dh + 1) * per_row, np.float32)
    fn(np.ascontiguousarray(x, np.float32), wb, sb, ACT_CODES.get(act or "", 0), out, m,
       kh, kw, sh, sw, dh, dw, top, left, band, tile, acc, wrow)
    return True
