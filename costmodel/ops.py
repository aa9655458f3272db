"""Op kinds of the graph IR: shape inference and per-op cost formulas in one place.

Tensors are feature maps of shape (C, H, W) or vectors of shape (F,), always at batch 1.
Every op is a frozen dataclass: its attributes are data, and pure integer functions give what
the calculators sum over a graph:

* ``infer(ins)``       -> tuple of output shapes (exact integer arithmetic, as the reference
                          implementations pad; an impossible shape raises ``GraphError``)
* ``weights(ins)``     -> {name: shape} of its learned parameters in PyTorch's layout (conv
                          ``weight`` (out, in/groups, kh, kw) and ``bias``; BatchNorm ``weight``
                          and ``bias``); ``buffers(ins)`` its other state (BatchNorm's running
                          statistics). The executor, ``init_weights`` and the torch bridge read these.
* ``params(ins)``      -> derived: the weights' elements for ops counted as parameters (conv,
                          linear: the papers' count), ``bn_params(ins)`` for BatchNorm's scale and
                          shift (added only in ``params_with_bn``); ``weight_count`` says which.
* ``madds(ins, outs)`` -> multiply-accumulates of conv and linear layers (the papers' Mult-Adds)
* ``flops(ins, outs)`` -> floating-point operations: 2 x madds plus every other arithmetic op,
                          with the per-element rule stated on each class (``flops_rule``) and in
                          the README.

Every op kind declares its ``category`` (conv, linear, norm, act, pool, eltwise, copy, view), which
the memory model's rules are keyed by: a class without one is an error when it is defined, so a
forgotten op can never count as a free view. ``ins`` and ``outs`` are tuples of shapes. Adding an
op kind means adding one class here, listing it in ``OP_KINDS``, and giving it an executor kernel
and a torch translation (a test checks all of it for every kind); calculators never special-case a
network.
"""
from __future__ import annotations

from .errors import GraphError
from .ops_base import (CATEGORIES, Op, Padding, Shape, _is_int, _pair, numel, resolve_padding,  # noqa: F401
                       resolve_padding_array, window_output, window_output_array)
from .ops_data import (Add, ChannelShuffle, Concat, Dropout, Flatten, Multiply, Split, Unflatten,  # noqa: F401
                       Unsupported, Upsample)
from .ops_layers import ACTIVATION_FLOPS, Activation, BatchNorm, Conv2d, Linear  # noqa: F401
from .ops_pool import AdaptiveAvgPool, AvgPool, GlobalAvgPool, MaxPool, adaptive_windows  # noqa: F401
from .ops_attention import LayerScale, MatMul, Reshape, Softmax  # noqa: F401

#: every op kind by name: the one list the executor, the torch bridge, the ONNX writer, spec files and
#: the completeness test go by (adding a kind: its class in an ops_* module, and here)
OP_KINDS = {
    cls.kind: cls
    for cls in (Conv2d, Linear, BatchNorm, Activation, MaxPool, AvgPool, GlobalAvgPool, AdaptiveAvgPool, Add,
                Multiply, Concat, Split, ChannelShuffle, Flatten, Unflatten, Dropout, Upsample, Unsupported,
                Reshape, MatMul, Softmax, LayerScale)
}


def op_table() -> str:
    """The README's table of op kinds: category (the memory model's rule), how weights count, FLOPs."""
    rows = ["| op kind | category | weights count in | FLOPs |", "|---|---|---|---|"]
    for kind, cls in OP_KINDS.items():
        counted = ("none" if cls.weights is Op.weights else
                   "params" if cls.weight_count == "params" else "params_with_bn only")
        rows.append(f"| `{kind}` | {cls.category} | {counted} | {cls.flops_rule} |")
    return "\n".join(rows) + "\n"


def make_op(kind: str, **attrs) -> Op:
    """Construct an op by kind name (used by spec files and importers)."""
    try:
        cls = OP_KINDS[kind]
    except KeyError:
        raise GraphError(f"unknown op kind {kind!r}; accepted: {', '.join(sorted(OP_KINDS))}") from None
    try:
        return cls(**attrs)
    except TypeError as e:
        raise GraphError(f"bad attributes for {kind}: {e}") from None


__all__ = ["Shape", "numel", "Op", "OP_KINDS", "CATEGORIES", "make_op", "ACTIVATION_FLOPS", "window_output",
           "resolve_padding", "window_output_array", "resolve_padding_array"] + [c.__name__ for c in OP_KINDS.values()]

