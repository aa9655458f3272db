"""NumPy reference executor: run a graph on real float32 arrays (NCHW, batch N) and check, node
by node, that the executed shapes equal the analytical ones and that the multiply-accumulates
actually performed equal ``op.madds`` (+ ``op.attn_madds``, attention's matrix products).

* ``execute(graph, x, weights=..., seed=...)``   -> the output (a tuple if the graph has several)
* ``run(graph, ...)``                            -> ``Execution``: outputs, tensors, per-node checks
* ``init_weights(graph, seed)``, ``save_weights``, ``load_weights``, ``weight_shapes``: weights in
  PyTorch's layout (conv ``weight`` (out, in/groups, kh, kw), ``bias`` (out,); linear ``weight``
  (out, in); BatchNorm ``weight``, ``bias``, ``running_mean``, ``running_var``).

Every op kind has one kernel in ``KERNELS``. A kernel computes its output from the arrays it is
given and the op's attributes (padding through ``op.pads``), never from the graph's inferred
shapes, so the shape check is a real check. Conv and linear kernels count the MACs of the
matrix products and multiply-adds they really perform, from the operand shapes
(``_Ctx.matmul``: batch x M x K x P; ``_depthwise``: output elements x taps).

Convolutions are matrix products: 1x1 is one (batched, grouped) matmul; k x k gathers a strided
window view into an im2col buffer (tiled along output rows to stay under ``IM2COL_BYTES``) and
multiplies it by the (groups, out/groups, in/groups*kh*kw) weight; depthwise convs accumulate
k*k shifted strided slices times per-channel weights. No Python loop runs over pixels or channels.
"""
from __future__ import annotations

import io
import os
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Tuple

import numpy as np

from .errors import CostModelError, GraphError
from .graph import INPUT, Graph, require_graph
from .kernels_attention import ATTENTION_KERNELS, gelu

#: largest im2col buffer a k x k convolution materializes at once (bytes); larger ones are tiled
IM2COL_BYTES = 64 * 2 ** 20
#: BatchNorm epsilon (PyTorch's default)
BN_EPS = 1e-5


class VerificationError(CostModelError):
    """An executed shape or MAC count differs from the analytical one."""


# ----------------------------------------------------------------------------- weights
def _layer_shapes(node) -> Dict[str, Tuple[int, ...]]:
    """Array name -> shape of one node's weights and buffers (the op declares them, PyTorch's
    layout; empty for ops without weights)."""
    return {**node.op.weights(node.in_shapes), **node.op.buffers(node.in_shapes)}


def weight_shapes(graph: Graph) -> Dict[str, Dict[str, Tuple[int, ...]]]:
    """Layer name -> array name -> shape, in PyTorch's layout, for every layer with weights."""
    return {n.name: d for n in graph.nodes for d in [_layer_shapes(n)] if d}


def _uniform(rng, shape, lo: float, hi: float) -> np.ndarray:
    a = rng.random(shape, dtype=np.float32)
    a *= np.float32(hi - lo)
    a += np.float32(lo)
    return a


def init_weights(graph: Graph, seed: int = 0) -> Dict[str, Dict[str, np.ndarray]]:
    """Deterministic float32 weights for every layer of ``graph``.

    Each layer draws from its own generator seeded by (seed, crc32(layer name)), so a layer's
    weights do not depend on the rest of the graph. The arrays are the ones each op declares
    (``Op.weights`` and ``Op.buffers``): weight matrices and kernels He-uniform
    U(-sqrt(6 / fan_in), +sqrt(6 / fan_in)) (variance 2 / fan_in), biases U(-0.1, 0.1), other
    per-channel scales U(0.5, 1.5); normalization (BatchNorm) gamma and running variance
    U(0.5, 1.5), beta and running mean U(-0.2, 0.2). (Uniform draws
    are several times faster than normal ones: VGG-16's 138 M weights take a fraction of a second.)
    """
    require_graph(graph, "init_weights")
    weights = {}
    for n in graph.nodes:
        shapes = _layer_shapes(n)
        if not shapes:
            continue
        rng = np.random.default_rng([int(seed), zlib.crc32(n.name.encode())])
        d = {}
        for k, s in shapes.items():  # in the op's declared order: one stream of draws per layer
            if n.op.category == "norm":
                d[k] = _uniform(rng, s, 0.5, 1.5) if k in ("weight", "running_var") else _uniform(rng, s, -0.2, 0.2)
            elif len(s) >= 2:  # a weight matrix / kernel: He-uniform over its fan-in
                a = float(np.sqrt(6.0 / np.prod(s[1:])))
                d[k] = _uniform(rng, s, -a, a)
            elif k == "bias":
                d[k] = _uniform(rng, s, -0.1, 0.1)
            else:  # a per-channel scale
                d[k] = _uniform(rng, s, 0.5, 1.5)
        weights[n.name] = d
    return weights


def check_weights(graph: Graph, weights: Mapping) -> Dict[str, Dict[str, np.ndarray]]:
    """Validate a layer -> {array name -> array} mapping against the graph; return float32 copies.

    Raises ``GraphError`` (one line, naming the layer) on a missing or unknown layer or array,
    or a shape that differs from the PyTorch layout."""
    expected = weight_shapes(graph)
    unknown = [k for k in weights if k not in expected]
    if unknown:
        raise GraphError(f"weights given for layer {unknown[0]!r}, which is not a layer with weights in "
                         f"graph {graph.name!r}" + (f" ({len(unknown) - 1} more)" if len(unknown) > 1 else ""))
    out = {}
    for layer, shapes in expected.items():
        if layer not in weights:
            raise GraphError(f"weights: layer {layer!r} is missing (expects {_fmt_keys(shapes)})")
        given = weights[layer]
        extra = sorted(set(given) - set(shapes))
        if extra:
            raise GraphError(f"weights: layer {layer!r} has unexpected array {extra[0]!r}; expects "
                             f"{_fmt_keys(shapes)}")
        d = {}
        for key, shape in shapes.items():
            if key not in given:
                raise GraphError(f"weights: layer {layer!r} lacks {key!r}; expects {_fmt_keys(shapes)}")
            a = np.asarray(given[key], dtype=np.float32)
            if a.shape != shape:
                raise GraphError(f"weights: layer {layer!r} {key} has shape {a.shape}, expected {shape} "
                                 f"(PyTorch layout)")
            d[key] = a
        out[layer] = d
    return out


def _fmt_keys(shapes) -> str:
    return ", ".join(f"{k} {v}" for k, v in shapes.items()) or "nothing"


def save_weights(path: str, weights: Mapping) -> None:
    """Write weights to an ``.npz`` file (arrays named ``layer/array``), atomically."""
    from .fileio import write_atomic
    if not isinstance(path, (str, os.PathLike)) or not isinstance(weights, Mapping):
        raise CostModelError(f"save_weights(path, weights) takes a file path and a mapping of layer -> arrays, got "
                             f"{type(path).__name__} and {type(weights).__name__}")
    if not all(isinstance(d, Mapping) for d in weights.values()):
        raise CostModelError("save_weights: each layer's weights must be a mapping of array name -> array")
    flat = {f"{layer}/{key}": np.asarray(a) for layer, d in weights.items() for key, a in d.items()}
    buf = io.BytesIO()
    np.savez(buf, **flat)
    write_atomic(path, buf.getvalue())


def load_weights(path: str) -> Dict[str, Dict[str, np.ndarray]]:
    """Read weights written by ``save_weights``."""
    from .fileio import read_bytes  # a regular file under the size limit (costmodel.limits), or one line
    if isinstance(path, (str, os.PathLike)) and not os.path.exists(path):
        raise CostModelError(f"cannot read weights {path!r}: no such file")
    data = read_bytes(path, "weights file")
    try:
        if data[:4] != b"PK\x03\x04":
            raise ValueError("it is not a zip archive; save weights with costmodel.save_weights")
        z = np.load(io.BytesIO(data), allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise ValueError("a single .npy array, not an .npz archive of layer/array entries")
        with z:
            flat = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise CostModelError(f"cannot read weights {path!r}: no such file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise CostModelError(f"cannot read weights {path!r}: not an .npz weights file ({e})") from None
    out: Dict[str, Dict[str, np.ndarray]] = {}
    for k, a in flat.items():
        layer, sep, key = k.rpartition("/")
        if not sep or not layer:
            raise CostModelError(f"cannot read weights {path!r}: array {k!r} is not named 'layer/array'")
        out.setdefault(layer, {})[key] = a
    return out


# ----------------------------------------------------------------------------- kernels
class _Ctx:
    """What a kernel gets besides the op and its inputs: the layer's weights, whether it may
    overwrite its first input, and the MAC counter it must feed."""

    __slots__ = ("w", "inplace", "macs", "calibrate")

    def __init__(self, w, inplace, calibrate=False):
        self.w = w
        self.inplace = inplace
        self.macs = 0
        self.calibrate = calibrate

    def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """a (..., M, K) @ b (..., K, P), counting prod(batch) * M * K * P MACs."""
        out = np.matmul(a, b)
        m, k = a.shape[-2:]
        self.macs += int(np.prod(out.shape[:-2], dtype=np.int64)) * m * k * b.shape[-1]
        return out

    def out_like(self, x: np.ndarray) -> np.ndarray:
        return x if self.inplace else np.empty_like(x)


def _pad(x: np.ndarray, pads, value=0.0) -> np.ndarray:
    """x (N, C, H, W) padded by (top, bottom, left, right) with ``value``."""
    t, b, left, r = pads
    if not any(pads):
        return x
    n, c, h, w = x.shape
    xp = np.full((n, c, h + t + b, w + left + r), value, np.float32)
    xp[:, :, t:t + h, left:left + w] = x
    return xp


def _n_windows(size: int, k: int, s: int, d: int, p0: int, p1: int, ceil: bool = False) -> Tuple[int, int]:
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


def _taps(xp: np.ndarray, kh, kw, sh, sw, dh, dw, ho, wo):
    """Yield (i, j, strided slice of xp for kernel tap (i, j)), each (N, C, ho, wo)."""
    for i in range(kh):
        for j in range(kw):
            yield i, j, xp[:, :, i * dh: i * dh + sh * (ho - 1) + 1: sh, j * dw: j * dw + sw * (wo - 1) + 1: sw]


def _depthwise(out, xp, wt, geom) -> int:
    """out = sum over taps (i, j) of the shifted strided input slice times the per-channel
    weight wt[:, i * kw + j]; returns the MACs performed (output elements per tap)."""
    kh, kw, sh, sw, dh, dw = geom
    tmp = np.empty_like(out)
    macs = 0
    for i, j, xs in _taps(xp, kh, kw, sh, sw, dh, dw, out.shape[2], out.shape[3]):
        t = i * kw + j
        np.multiply(xs, wt[:, t], out=out if t == 0 else tmp)
        if t:
            out += tmp
        macs += out.size
    return macs


def conv2d(op, ins, ctx):
    """Convolution as matrix products (see the module docstring)."""
    (x,) = ins
    n, c, h, w = x.shape
    weight = ctx.w["weight"]
    co, cg, kh, kw = weight.shape
    g = op.groups
    if c % g or c // g != cg:
        raise GraphError(f"input has {c} channels, weight expects {cg} x {g} groups")
    (sh, sw), (dh, dw) = op.stride, op.dilation
    pads = op.pads((h, w))
    ho, _ = _n_windows(h, kh, sh, dh, pads[0], pads[1])
    wo, _ = _n_windows(w, kw, sw, dw, pads[2], pads[3])
    if ho < 1 or wo < 1:
        raise GraphError(f"kernel {kh}x{kw} does not fit the padded {h}x{w} input")
    xp = _pad(x, pads)
    if cg == 1 and g == c:  # depthwise (channel multiplier co // c): k*k shifted multiply-adds
        m = co // c
        if m > 1:
            xp = np.repeat(xp, m, axis=1)
        out = np.empty((n, co, ho, wo), np.float32)
        ctx.macs += _depthwise(out, xp, weight.reshape(co, kh * kw, 1, 1), (kh, kw, sh, sw, dh, dw))
    else:
        wm = weight.reshape(g, co // g, cg * kh * kw)
        if (kh, kw, sh, sw) == (1, 1, 1, 1):
            out = ctx.matmul(wm, xp.reshape(n, g, cg, ho * wo))
        else:
            # strided window view (N, C, kh, kw, ho, wo), gathered in row tiles into im2col buffers
            sn, sc, sy, sx = xp.strides
            win = np.lib.stride_tricks.as_strided(
                xp, (n, c, kh, kw, ho, wo), (sn, sc, sy * dh, sx * dw, sy * sh, sx * sw), writeable=False)
            rows = max(1, min(ho, IM2COL_BYTES // max(1, 4 * n * c * kh * kw * wo)))
            out = np.empty((n, g, co // g, ho * wo), np.float32)
            for r0 in range(0, ho, rows):
                r1 = min(ho, r0 + rows)
                cols = np.ascontiguousarray(win[:, :, :, :, r0:r1]).reshape(n, g, cg * kh * kw, (r1 - r0) * wo)
                out[..., r0 * wo: r1 * wo] = ctx.matmul(wm, cols)
        out = out.reshape(n, co, ho, wo)
    if op.bias:
        out += ctx.w["bias"][:, None, None]
    return (out,)


def linear(op, ins, ctx):
    (x,) = ins
    out = ctx.matmul(x, ctx.w["weight"].T)
    if op.bias:
        out += ctx.w["bias"]
    return (out,)


def batchnorm(op, ins, ctx):
    """Inference form y = (x - mean) / sqrt(var + eps) * gamma + beta, as y = x * a + b."""
    (x,) = ins
    w = ctx.w
    if ctx.calibrate:  # running statistics := this input's per-channel statistics
        axes = (0,) + tuple(range(2, x.ndim))
        w["running_mean"] = x.mean(axis=axes, dtype=np.float64).astype(np.float32)
        var = x.var(axis=axes, dtype=np.float64)
        w["running_var"] = (var + 0.1 * var.mean() + 1e-3).astype(np.float32)  # no near-constant channel blows up
    a = (1.0 / np.sqrt(w["running_var"].astype(np.float64) + BN_EPS))
    if op.affine:
        a = a * w["weight"]
    b = (w["bias"] if op.affine else 0.0) - w["running_mean"] * a
    shape = (-1,) + (1,) * (x.ndim - 2)
    out = ctx.out_like(x)
    np.multiply(x, a.astype(np.float32).reshape(shape), out=out)
    out += b.astype(np.float32).reshape(shape)
    return (out,)


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


ACTIVATIONS: Dict[str, Callable] = {
    "relu": lambda x, out: np.maximum(x, 0.0, out=out),
    "relu6": _relu6,
    "sigmoid": _sigmoid,
    "swish": lambda x, out: np.multiply(x, _sigmoid(x, np.empty_like(x)), out=out),
    "hsigmoid": _hsigmoid,
    "hswish": lambda x, out: np.multiply(x, _hsigmoid(x, np.empty_like(x)), out=out),
    "gelu": gelu,
}


def activation(op, ins, ctx):
    (x,) = ins
    return (ACTIVATIONS[op.fn](x, ctx.out_like(x)),)


def _pool_geometry(op, x):
    _, _, h, w = x.shape
    kh, kw = op.kernel
    sh, sw = op.stride
    t, b, left, r = op.pads((h, w))
    ho, eh = _n_windows(h, kh, sh, 1, t, b, op.ceil_mode)
    wo, ew = _n_windows(w, kw, sw, 1, left, r, op.ceil_mode)
    if ho < 1 or wo < 1:
        raise GraphError(f"pool window {kh}x{kw} does not fit the padded {h}x{w} input")
    return (kh, kw, sh, sw, ho, wo), (t, b, left, r), (eh, ew)


def maxpool(op, ins, ctx):
    """Max over k*k taps of the input padded with -inf (PyTorch's implicit padding)."""
    (x,) = ins
    (kh, kw, sh, sw, ho, wo), (t, b, left, r), (eh, ew) = _pool_geometry(op, x)
    xp = _pad(x, (t, b + eh, left, r + ew), -np.inf)
    out = None
    for _, _, xs in _taps(xp, kh, kw, sh, sw, 1, 1, ho, wo):
        out = xs.copy() if out is None else np.maximum(out, xs, out=out)
    return (out,)


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
    (kh, kw, sh, sw, ho, wo), (t, b, left, r), (eh, ew) = _pool_geometry(op, x)
    xp = _pad(x, (t, b + eh, left, r + ew))
    out = None
    for _, _, xs in _taps(xp, kh, kw, sh, sw, 1, 1, ho, wo):
        out = xs.copy() if out is None else np.add(out, xs, out=out)
    dh = _divisor(h, kh, sh, ho, t, b, op.count_include_pad)
    dw = _divisor(w, kw, sw, wo, left, r, op.count_include_pad)
    out /= np.maximum(dh[:, None] * dw[None, :], 1).astype(np.float32)  # a window of padding only: 0
    return (out,)


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


def add(op, ins, ctx):
    out = np.add(ins[0], ins[1], out=ctx.out_like(ins[0]))
    for y in ins[2:]:
        out += y
    return (out,)


def multiply(op, ins, ctx):
    a, b = ins
    shape = np.broadcast_shapes(a.shape, b.shape)
    out = a if ctx.inplace and a.shape == shape else np.empty(shape, np.float32)
    return (np.multiply(a, b, out=out),)


def concat(op, ins, ctx):
    return (np.concatenate(ins, axis=1),)


def split(op, ins, ctx):
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


def unflatten(op, ins, ctx):
    (x,) = ins
    return (x.reshape((x.shape[0],) + tuple(op.shape)),)


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
    "unflatten": unflatten,
    "dropout": dropout,
    "upsample": upsample,
    **ATTENTION_KERNELS,
}
#: kernels that may write their result into their (dead, unshared) first input
INPLACE = {"batchnorm", "activation", "add", "multiply", "softmax", "layer_scale"}


# ----------------------------------------------------------------------------- running
@dataclass(frozen=True)
class NodeCheck:
    """One node's verification: executed vs analytical output shapes (without batch) and the
    MACs the kernel performed per sample vs ``op.madds``."""

    name: str
    kind: str
    label: str
    expected: Tuple[Tuple[int, ...], ...]
    actual: Tuple[Tuple[int, ...], ...]
    madds: int
    counted: int
    batch: int = 1

    @property
    def shapes_equal(self) -> bool:
        return self.expected == self.actual

    @property
    def counts_macs(self) -> bool:
        """Whether this op multiplies at all (conv, linear): only these are MAC-checked."""
        return self.madds > 0 or self.counted > 0

    @property
    def macs_equal(self) -> bool:
        return self.counted == self.madds * self.batch

    def describe(self, op) -> str:
        """One line naming the node, both shapes (or counts) and the op's attributes."""
        attrs = ", ".join(f"{k}={v}" for k, v in op.attrs().items())
        if not self.shapes_equal:
            what = (f"executed shape {_fmt_shapes(self.actual)} != analytical {_fmt_shapes(self.expected)}")
        else:
            per = self.counted // self.batch if self.counted % self.batch == 0 else self.counted / self.batch
            what = f"counted {per} MACs per sample != analytical madds {self.madds}"
        return f"node {self.name!r} ({self.kind}: {attrs}): {what}"


def _fmt_shapes(shapes) -> str:
    return ", ".join(str(s) for s in shapes) if len(shapes) != 1 else str(shapes[0])


@dataclass
class Execution:
    """Result of ``run``: outputs in graph order, kept tensors, per-node checks, and the node
    execution stopped at (a shape mismatch stops it: later analytical shapes are moot)."""

    outputs: Tuple[np.ndarray, ...]
    tensors: Dict[str, np.ndarray] = field(default_factory=dict)
    checks: List[NodeCheck] = field(default_factory=list)
    stopped_at: Optional[str] = None

    @property
    def mismatches(self) -> List[NodeCheck]:
        return [c for c in self.checks if not (c.shapes_equal and c.macs_equal)]

    @property
    def ok(self) -> bool:
        return self.stopped_at is None and not self.mismatches


def random_input(graph: Graph, batch: int = 1, seed: int = 0) -> np.ndarray:
    """A standard-normal float32 input of the graph's shape with ``batch`` samples."""
    rng = np.random.default_rng([int(seed), zlib.crc32(b"input")])
    return rng.standard_normal((int(batch),) + tuple(graph.input_shape), dtype=np.float32)


def run(graph: Graph, x: Optional[np.ndarray] = None, *, weights: Optional[Mapping] = None, seed: int = 0,
        keep: bool = False, verify: bool = True, raise_on_mismatch: bool = True,
        progress: Optional[Callable[[int], None]] = None, calibrate: bool = False) -> Execution:
    """Execute ``graph`` node by node (see ``execute``); return an ``Execution``.

    With ``verify``, each node's executed shapes and MAC count are compared with the analytical
    ones; a mismatch raises ``VerificationError`` (``raise_on_mismatch``) or is recorded (a shape
    mismatch also stops the run). ``progress(i)`` is called after each node. ``keep`` keeps
    every tensor (by node name, ``node:i`` for multi-output nodes, and ``input``). ``calibrate``
    replaces every BatchNorm's running statistics (in ``weights``, which must then be a dict this
    call may modify) by those of its input on this run; see ``calibrate_batchnorm``."""
    require_graph(graph, "execute")
    from .exec_checks import check_run  # seed, input kind and memory need, before anything is allocated
    checked = check_run(graph, x, seed, keep, IM2COL_BYTES)
    if x is None:
        x = random_input(graph, 1, seed)
    else:
        try:
            x = np.asarray(checked, dtype=np.float32)
        except (TypeError, ValueError):
            raise GraphError(f"input must be a numeric array of shape (N,) + {tuple(graph.input_shape)}, "
                             f"got {type(x).__name__}") from None
    if x.shape[1:] != tuple(graph.input_shape) or x.ndim != len(graph.input_shape) + 1:
        raise GraphError(f"input has shape {x.shape}; graph {graph.name!r} expects (N,) + "
                         f"{tuple(graph.input_shape)}")
    batch = x.shape[0]
    if batch < 1:
        raise GraphError("input batch is empty; give at least one sample")
    if weights is None:
        weights = init_weights(graph, seed)
    elif not calibrate:
        weights = check_weights(graph, weights)
    last_use: Dict[str, int] = {}
    for i, n in enumerate(graph.nodes):
        for r in n.inputs:
            last_use[r] = i
    for r in graph.outputs:
        last_use[r] = len(graph.nodes)
    live: Dict[str, np.ndarray] = {INPUT: x}
    ex = Execution(outputs=())
    if keep:
        ex.tensors[INPUT] = x
    for i, node in enumerate(graph.nodes):
        kernel = KERNELS.get(node.op.kind)
        if kernel is None:
            raise GraphError(f"node {node.name!r} ({node.op.label(node.in_shapes)}): the executor has no kernel "
                             f"for op kind {node.op.kind!r}; implemented: {', '.join(sorted(KERNELS))}")
        ins = [live[r] for r in node.inputs]
        first = node.inputs[0]
        inplace = (not keep and node.op.kind in INPLACE and first != INPUT and last_use[first] == i
                   and node.inputs.count(first) == 1
                   and not np.may_share_memory(ins[0], x)
                   and not any(np.may_share_memory(ins[0], a) for r, a in live.items() if r != first))
        ctx = _Ctx(weights.get(node.name), inplace, calibrate)
        try:
            outs = kernel(node.op, ins, ctx)
        except CostModelError as e:
            raise GraphError(f"node {node.name!r} ({node.op.kind}): {e}") from None
        for r in set(node.inputs):
            if last_use[r] == i:
                del live[r]
        for r, a in zip(node.outputs, outs):
            live[r] = a
            if keep:
                ex.tensors[r] = a
        if verify:
            chk = NodeCheck(node.name, node.op.kind, node.op.label(node.in_shapes), tuple(node.out_shapes),
                            tuple(a.shape[1:] for a in outs), _all_madds(node),
                            ctx.macs, batch)
            ex.checks.append(chk)
            if not (chk.shapes_equal and chk.macs_equal):
                if raise_on_mismatch:
                    raise VerificationError(chk.describe(node.op))
                if not chk.shapes_equal:
                    ex.stopped_at = node.name
                    return ex
        if progress is not None:
            progress(i + 1)
    ex.outputs = tuple(live[r] for r in graph.outputs)
    return ex


def _all_madds(node) -> int:
    """The multiply-accumulates a kernel performs: conv/linear ``madds`` + attention's ``attn_madds``."""
    return node.op.madds(node.in_shapes, node.out_shapes) + node.op.attn_madds(node.in_shapes, node.out_shapes)


def calibrate_batchnorm(graph: Graph, weights: Mapping, x: Optional[np.ndarray] = None, seed: int = 0
                        ) -> Dict[str, Dict[str, np.ndarray]]:
    """Weights whose BatchNorm running statistics come from each BatchNorm's input when the graph
    runs on ``x`` (default: ``random_input(graph, 2, seed)``), layer by layer in order: running
    mean = the per-channel mean, running variance = the per-channel variance + 0.1 x its mean
    over channels + 1e-3 (a nearly constant channel is not blown up). Every BatchNorm then
    really normalizes, so random networks keep activations of order one however deep they are,
    which keeps float32 comparisons well conditioned. The given mapping is not modified."""
    w = check_weights(graph, weights)
    w = {layer: dict(d) for layer, d in w.items()}
    if any(n.op.kind == "batchnorm" for n in graph.nodes):
        run(graph, random_input(graph, 2, seed) if x is None else x, weights=w, verify=False, calibrate=True)
    return w


def execute(graph: Graph, x: Optional[np.ndarray] = None, *, weights: Optional[Mapping] = None, seed: int = 0,
            return_intermediates: bool = False, verify: bool = True):
    """Run ``graph`` in NumPy float32 on ``x`` of shape (N,) + graph.input_shape (a random batch
    of one when None) with ``weights`` (layer -> arrays, PyTorch layout; ``init_weights(graph,
    seed)`` when None).

    Returns the output array (a tuple when the graph has several outputs), and with
    ``return_intermediates`` also a dict of every tensor by node name (``node:i`` for split
    outputs). With ``verify`` (default) a node whose executed shape or MAC count differs from
    the analytical one raises ``VerificationError`` naming the node, both values and the op's
    attributes."""
    ex = run(graph, x, weights=weights, seed=seed, keep=return_intermediates, verify=verify)
    out = ex.outputs[0] if len(ex.outputs) == 1 else ex.outputs
    return (out, ex.tensors) if return_intermediates else out


__all__ = ["execute", "run", "init_weights", "calibrate_batchnorm", "check_weights", "weight_shapes",
           "save_weights", "load_weights",
           "random_input", "Execution", "NodeCheck", "VerificationError", "KERNELS", "IM2COL_BYTES"]
