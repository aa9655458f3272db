"""NumPy kernels of the attention op kinds (``costmodel.ops_attention``) and of GELU, for the
reference executor (``costmodel.kernels`` lists them in ``KERNELS``; GELU is in ``ACTIVATIONS``).

A kernel is ``kernel(op, inputs, ctx) -> tuple of outputs`` on float32 arrays with a leading batch
axis; matrix products go through ``ctx.matmul``, which counts the multiply-accumulates the
executor checks (against ``attn_madds`` for ``matmul``).
"""
from __future__ import annotations

import numpy as np


def _erf(x: np.ndarray) -> np.ndarray:
    """erf in float64 (NumPy has none): Abramowitz and Stegun 7.1.26, |error| < 1.5e-7."""
    z = np.abs(x.astype(np.float64))
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.sign(x) * (1.0 - poly * np.exp(-z * z))


def gelu(x, out):
    """0.5 x (1 + erf(x / sqrt 2)) (the exact GELU, torch's default)."""
    out[...] = (0.5 * x * (1.0 + _erf(x / np.sqrt(2.0)))).astype(np.float32)
    return out


def reshape(op, ins, ctx):
    (x,) = ins
    return (x.reshape((x.shape[0],) + op.shape),)


def unflatten(op, ins, ctx):
    """(N, F) -> (N, *op.shape)."""
    (x,) = ins
    return (x.reshape((x.shape[0],) + tuple(op.shape)),)


def matmul(op, ins, ctx):
    """(N, B1, M, K) @ (N, B2, K, P), operands read transposed as the op says, batch 1 broadcast;
    the multiply-accumulates counted by ``ctx.matmul`` (attention's, checked against attn_madds)."""
    a, b = ins
    if op.transpose_a:
        a = a.swapaxes(-1, -2)
    if op.transpose_b:
        b = b.swapaxes(-1, -2)
    out = ctx.matmul(a, b)
    if op.scale != 1.0:
        out *= np.float32(op.scale)
    return (out,)


def softmax(op, ins, ctx):
    """exp(x - row max) / row sum along the last axis."""
    (x,) = ins
    out = np.subtract(x, x.max(axis=-1, keepdims=True), out=ctx.out_like(x))
    np.exp(out, out=out)
    out /= out.sum(axis=-1, keepdims=True)
    return (out,)


def layer_scale(op, ins, ctx):
    (x,) = ins
    return (np.multiply(x, ctx.w["gamma"][:, None, None], out=ctx.out_like(x)),)


#: op kind -> kernel, merged into ``costmodel.kernels.KERNELS``
ATTENTION_KERNELS = {"reshape": reshape, "unflatten": unflatten, "matmul": matmul, "softmax": softmax,
                     "layer_scale": layer_scale}
