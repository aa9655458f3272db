"""Translate any graph into an equivalent ``torch.nn.Module`` with the same weights.

Generic: one torch module (or function) per op kind in ``TRANSLATORS``, walked in the graph's
topological order; no per-network code. Used by the PyTorch numerics tests and the executor
benchmark as an independent implementation of every op (torch's own conv, pooling, BatchNorm,
ChannelShuffle and interpolate). Requires PyTorch; imported only on request.
"""
from __future__ import annotations

from typing import Mapping, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .errors import GraphError
from .graph import INPUT, Graph

_ACT = {"relu": nn.ReLU, "relu6": nn.ReLU6, "sigmoid": nn.Sigmoid, "swish": nn.SiLU,
        "hsigmoid": nn.Hardsigmoid, "hswish": nn.Hardswish, "gelu": nn.GELU}


class _Fn(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


def _sym(pads):
    """(t, b, l, r) -> (ph, pw) when symmetric, else None."""
    t, b, left, r = pads
    return (t, left) if (t == b and left == r) else None


def _conv(node):
    op = node.op
    c, h, w = node.in_shapes[0]
    pads = op.pads((h, w))
    sym = _sym(pads)
    conv = nn.Conv2d(c, op.out_channels, op.kernel, op.stride, sym or 0, op.dilation, op.groups, op.bias)
    if sym is not None:
        return conv
    t, b, left, r = pads
    return nn.Sequential(nn.ZeroPad2d((left, r, t, b)), conv)


def _pool(node):
    """Torch pooling; asymmetric or oversized padding is applied explicitly first (-inf for max,
    zeros for avg with count_include_pad), which is exact when ceil_mode is off."""
    op = node.op
    c, h, w = node.in_shapes[0]
    pads = op.pads((h, w))
    sym = _sym(pads)
    if sym is None or sym[0] * 2 > op.kernel[0] or sym[1] * 2 > op.kernel[1]:
        if op.ceil_mode or (op.kind == "avgpool" and not op.count_include_pad):
            raise GraphError(f"node {node.name!r}: torch pooling cannot express padding {pads} with "
                                      f"ceil_mode or count_include_pad=False")
        t, b, left, r = pads
        value = float("-inf") if op.kind == "maxpool" else 0.0
        pool = (nn.MaxPool2d if op.kind == "maxpool" else nn.AvgPool2d)(op.kernel, op.stride)
        return nn.Sequential(_Fn(lambda x: F.pad(x, (left, r, t, b), value=value)), pool)
    if op.kind == "maxpool":
        return nn.MaxPool2d(op.kernel, op.stride, sym, ceil_mode=op.ceil_mode)
    return nn.AvgPool2d(op.kernel, op.stride, sym, ceil_mode=op.ceil_mode, count_include_pad=op.count_include_pad)


def _bn(node):
    m = (nn.BatchNorm2d if len(node.in_shapes[0]) == 3 else nn.BatchNorm1d)(node.in_shapes[0][0],
                                                                              affine=node.op.affine)
    return m


def _split(node):
    sizes = list(node.op.sizes)
    return _Fn(lambda x: torch.split(x, sizes, dim=1))


def _upsample(node):
    op = node.op
    kw = {"align_corners": False} if op.mode == "bilinear" else {}
    return _Fn(lambda x: F.interpolate(x, size=op.size, mode=op.mode, **kw))


def _matmul(node):
    op = node.op

    def f(a, b):
        y = torch.matmul(a.transpose(-1, -2) if op.transpose_a else a, b.transpose(-1, -2) if op.transpose_b else b)
        return y * op.scale if op.scale != 1.0 else y
    return _Fn(f)


class _LayerScale(nn.Module):
    """timm's LayerScale2d: x * gamma per channel."""

    def __init__(self, c):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(c))

    def forward(self, x):
        return x * self.gamma.view(1, -1, 1, 1)


TRANSLATORS = {
    "conv2d": _conv,
    "linear": lambda n: nn.Linear(n.in_shapes[0][0], n.op.out_features, n.op.bias),
    "batchnorm": _bn,
    "activation": lambda n: _ACT[n.op.fn](),
    "maxpool": _pool,
    "avgpool": _pool,
    "global_avgpool": lambda n: nn.AdaptiveAvgPool2d(1),
    "adaptive_avgpool": lambda n: nn.AdaptiveAvgPool2d(n.op.size),
    "add": lambda n: _Fn(lambda *xs: sum(xs[1:], xs[0])),
    "multiply": lambda n: _Fn(torch.mul),
    "concat": lambda n: _Fn(lambda *xs: torch.cat(xs, dim=1)),
    "split": _split,
    "channel_shuffle": lambda n: nn.ChannelShuffle(n.op.groups),
    "flatten": lambda n: nn.Flatten(1),
    "unflatten": lambda n: nn.Unflatten(1, n.op.shape),
    "dropout": lambda n: nn.Dropout(n.op.p),
    "upsample": _upsample,
    "reshape": lambda n: _Fn(lambda x: x.reshape((x.shape[0],) + n.op.shape)),
    "matmul": _matmul,
    "softmax": lambda n: _Fn(lambda x: torch.softmax(x, dim=-1)),
    "layer_scale": lambda n: _LayerScale(n.in_shapes[0][0]),
}


class GraphModule(nn.Module):
    """Runs ``graph`` with one torch module per node; returns the output (a tuple for several)."""

    def __init__(self, graph: Graph):
        super().__init__()
        self.graph = graph
        self.layers = nn.ModuleList()
        for n in graph.nodes:
            if n.op.kind not in TRANSLATORS:
                raise GraphError(f"node {n.name!r}: no torch translation for op kind {n.op.kind!r}")
            self.layers.append(TRANSLATORS[n.op.kind](n))

    def forward(self, x):
        env = {INPUT: x}
        for n, layer in zip(self.graph.nodes, self.layers):
            outs = layer(*(env[r] for r in n.inputs))
            if isinstance(outs, torch.Tensor):
                outs = (outs,)
            env.update(zip(n.outputs, outs))
        res = tuple(env[r] for r in self.graph.outputs)
        return res[0] if len(res) == 1 else res


def _target(layer: nn.Module) -> nn.Module:
    return layer[-1] if isinstance(layer, nn.Sequential) else layer


def to_torch(graph: Graph, weights: Optional[Mapping] = None, seed: int = 0) -> GraphModule:
    """A ``GraphModule`` in eval mode carrying ``weights`` (``init_weights(graph, seed)`` when None)."""
    from .executor import check_weights, init_weights
    weights = init_weights(graph, seed) if weights is None else check_weights(graph, weights)
    m = GraphModule(graph)
    with torch.no_grad():
        for n, layer in zip(graph.nodes, m.layers):
            for key, a in weights.get(n.name, {}).items():
                t = getattr(_target(layer), key)
                t.copy_(torch.from_numpy(np.ascontiguousarray(a)))
    return m.eval()
