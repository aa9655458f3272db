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
* **Depthwise convolutions** with the ``fast`` extra (numba): one compiled loop over blocks of 16
  channels, channels innermost (``depthwise_jit``), the shift and a ReLU/ReLU6/hard swish applied
  as it writes back. Without numba, or with ``COSTMODEL_JIT=0``, the NumPy kernel below.
* **Depthwise convolutions (NumPy) and pooling**: direct. A tile of channels is copied once per kernel
  column (and row phase of the stride) into a zero- (or -inf-) padded plane whose rows are
  exactly the output's width, so every kernel tap is one contiguous slice, and the taps of a
  phase are one strided view: one ``einsum`` multiplies and accumulates them into the output
  tile in cache (max / sum over the slices for pooling), tile after tile on the calling thread
  (the executor's threads take whole samples, and BLAS's products).
* **Epilogues**: a BatchNorm and activations that the memory plan fuses into a conv or linear
  (``costmodel.memory.plan``) are applied by the producing kernel to each output tile while it is
  in cache (``ctx.post``); the depthwise kernel folds the BatchNorm scale into its k*k weights.
  Element-wise kernels (BatchNorm, activations, add, multiply) run tile by tile with tile-sized
  temporaries.

Every temporary buffer is bounded by ``ctx.workspace`` elements:
the executor sets it to a quarter of the graph's analytic peak memory, so kernels' temporaries
add at most about 25 % to the tensors the memory model counts.

Modules: ``base`` (the kernel context, BLAS's thread limit, tiles, activations, epilogues), ``conv``
(convolution, linear, window pooling), ``depthwise_jit`` (the compiled depthwise kernel),
``elementwise`` (BatchNorm, activations, add, multiply,
global pools, data movement, upsampling), ``attention`` (reshape, matrix products, softmax, layer
scale, GELU: MobileNetV4's attention blocks).
"""
from __future__ import annotations

from collections.abc import Callable

from .attention import ATTENTION_KERNELS
from .base import ACTIVATIONS, Ctx, blas_threads, default_threads
from .depthwise_jit import prepare as prepare_kernels
from .conv import avgpool, conv2d, linear, maxpool
from .elementwise import (
                          activation,
                          adaptive_avgpool,
                          add,
                          batchnorm,
                          channel_shuffle,
                          concat,
                          dropout,
                          flatten,
                          global_avgpool,
                          multiply,
                          split,
                          upsample,
)

#: op kind -> kernel(op, inputs, ctx) -> tuple of output arrays
KERNELS: dict[str, Callable] = {
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
    **ATTENTION_KERNELS,
}
#: kernels that may write their result into their (dead, unshared) first input
INPLACE = frozenset({"batchnorm", "activation", "add", "multiply", "softmax", "layer_scale"})

__all__ = ["ACTIVATIONS", "INPLACE", "KERNELS", "Ctx", "blas_threads", "default_threads", "prepare_kernels"]
