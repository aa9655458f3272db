"""Numerics cross-check: the NumPy executor against PyTorch running the same graph with the same
weights (``costmodel.torch_bridge`` translates any graph op by op into torch.nn modules).

Two comparisons. Node by node (the executor running every node on its own, keeping every tensor):
every torch module is fed the executor's own inputs to that node and must reproduce the executor's
output within ``NODE_RTOL`` of its largest magnitude (float32 rounding of one op; errors do not
compound). End to end for the networks issue 5 names, at their default resolution, and for every
single op: the outputs of both the node-by-node run and the executor's fast path (BatchNorm and
activations fused into conv epilogues, tiles, threads) within ``END_RTOL`` of their largest
magnitude. Weights are ``init_weights`` with BatchNorm statistics calibrated on another random
batch (``calibrate_batchnorm``), so activations stay of order one through every depth. Every
registry network of the representative subset (tests/subsets.py: every family, block type, op kind
and kind of convolution and pooling) at its defaults is compared node by node; the other networks
and every other knob choice are in the ``slow`` set.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch==2.13.0 runs this "
                                            "numerics cross-check)")

import costmodel  # noqa: E402
from costmodel import GraphBuilder  # noqa: E402
from costmodel.commands.verify import _build, _configs  # noqa: E402
from costmodel.executor import calibrate_batchnorm, execute, init_weights, random_input  # noqa: E402
from costmodel.ops import (Activation, AvgPool, BatchNorm, ChannelShuffle, Conv2d, Flatten,  # noqa: E402
                           GlobalAvgPool, Linear, MaxPool, Upsample)
from costmodel.torch_bridge import to_torch  # noqa: E402
from subsets import representative  # noqa: E402

pytestmark = pytest.mark.torch

#: the networks issue 5 names, compared end to end at their default resolution
NAMED = ["mobilenet_v1", "mobilenet_v2", "mobilenet_v3_large", "shufflenet_v2", "mixnet_s"]
NODE_RTOL = 1e-5
END_RTOL = 1e-4
#: other registry networks and every knob choice are compared node by node at max(min_res, 64) when
#: they cost less than this (larger ones use only ops the others and test_ops_match_torch cover;
#: verify --all checks their shapes)
MAX_MADDS = 2_000_000_000


def _tuple(y):
    return y if isinstance(y, tuple) else (y,)


def _close(ours, theirs, rtol, what):
    theirs = theirs.numpy()
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs torch {theirs.shape}"
    scale = float(np.abs(theirs).max())
    err = float(np.abs(ours - theirs).max())
    assert err <= rtol * scale + 1e-30, f"{what}: max |numpy - torch| = {err:.3g}, torch scale {scale:.3g}"


def compare(graph, batch=2, seed=0, end_to_end=False):
    w = calibrate_batchnorm(graph, init_weights(graph, seed), seed=seed)
    x = random_input(graph, batch, seed + 1)
    out, tensors = execute(graph, x, weights=w, return_intermediates=True)
    model = to_torch(graph, w)
    with torch.no_grad():
        for node, layer in zip(graph.nodes, model.layers):
            got = _tuple(layer(*(torch.from_numpy(tensors[r]) for r in node.inputs)))
            assert len(got) == len(node.outputs)
            for r, t in zip(node.outputs, got):
                _close(tensors[r], t, NODE_RTOL, f"{graph.name} node {r!r} ({node.op.label(node.in_shapes)})")
        if end_to_end:
            ours, theirs = _tuple(out), _tuple(model(torch.from_numpy(x)))
            fast = _tuple(execute(graph, x, weights=w))
            assert len(ours) == len(theirs) == len(fast) == len(graph.outputs)
            for r, a, f, b in zip(graph.outputs, ours, fast, theirs):
                _close(a, b, END_RTOL, f"{graph.name} output {r!r} end to end")
                _close(f, b, END_RTOL, f"{graph.name} output {r!r} end to end, fused and tiled")


@pytest.mark.parametrize("name", NAMED)
def test_named_networks_match_torch(name):
    if name not in costmodel.networks():
        pytest.skip(f"{name} is not registered in this checkout")
    compare(costmodel.build(name), end_to_end=True)


def _configurations():
    """(network, knobs) for every registry network at its defaults (those not in NAMED) and, in the
    slow set, for every other choice of each knob, one at a time - what ``costmodel verify --all
    --knobs`` runs."""
    for net in costmodel.networks().values():
        for cfg in _configs(net, knobs=True):
            try:  # knob choices that only apply with another knob (aspp without a DeepLab head) are not configs
                _build(net, None, cfg)
            except costmodel.CostModelError:
                continue
            if cfg or net.name not in NAMED:
                slow = bool(cfg) or net.name not in representative()
                yield pytest.param(net, cfg, id=" ".join([net.name] + [f"{k}={v}" for k, v in cfg.items()]),
                                   marks=[pytest.mark.slow] if slow else [])


@pytest.mark.parametrize("net,cfg", list(_configurations()))
def test_registry_configurations_match_torch(net, cfg):
    graph = _build(net, None, cfg)
    madds = costmodel.analyze(graph).totals["madds"]
    if madds > MAX_MADDS:
        pytest.skip(f"{net.name}: {madds / 1e9:.1f} G Mult-Adds at its minimum resolution {graph.meta['resolution']}; "
                    f"its op kinds are cross-checked on the other networks")
    compare(graph)


def one_op(in_shape, *ops):
    g = GraphBuilder("ops", in_shape)
    x = "input"
    for i, op in enumerate(ops):
        x = g.add(op, x, f"op{i}")
    return g.build()


@pytest.mark.parametrize("graph", [
    one_op((3, 9, 8), Conv2d(6, 3, 2, "same", bias=True)),               # TF SAME: asymmetric padding
    one_op((4, 11, 10), Conv2d(6, (3, 5), (2, 1), (2, 1, 0, 3), (2, 1), 2)),
    one_op((4, 9, 9), Conv2d(8, 5, 2, 2, 1, 4)),                          # depthwise, multiplier 2
    one_op((6, 7, 7), Conv2d(6, 7, 1, 9, 3, 6)),                          # depthwise, dilation 3
    one_op((5, 9, 7), MaxPool(3, 2, 1, ceil_mode=True)),
    one_op((5, 10, 7), MaxPool(2, 2, ceil_mode=True)),
    one_op((5, 9, 7), MaxPool(3, 2, "same")),                              # Xception's padded pool
    one_op((5, 9, 7), AvgPool(3, 2, 1, ceil_mode=True)),
    one_op((5, 9, 7), AvgPool(3, 2, 1, ceil_mode=True, count_include_pad=False)),
    one_op((5, 8, 8), AvgPool(3, 1, 1, count_include_pad=False)),
    one_op((5, 8, 8), AvgPool((2, 3), (1, 2))),
    one_op((3, 5, 7), Upsample((7, 6))),                                   # bilinear, odd scales
    one_op((3, 6, 9), Upsample((13, 4))),
    one_op((3, 5, 7), Upsample((11, 3), "nearest")),
    one_op((12, 3, 3), ChannelShuffle(3)),
    one_op((6, 4, 4), Activation("hswish"), Activation("hsigmoid"), Activation("swish"),
           Activation("sigmoid"), Activation("relu6")),
    one_op((6, 4, 4), GlobalAvgPool(), Flatten(), BatchNorm(), Linear(3)),  # BatchNorm on vectors
])
def test_ops_match_torch(graph):
    compare(graph, batch=3, end_to_end=True)
