"""Numerics cross-check: the NumPy executor against PyTorch running the same graph with the same
weights (``costmodel.torch_bridge`` translates any graph op by op into torch.nn modules).

Weights are ``init_weights`` with BatchNorm statistics calibrated on a random batch
(``calibrate_batchnorm``), so activations stay of order one through every depth and a float32
comparison is well conditioned: outputs must agree within 1e-4 of their largest magnitude.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch==2.13.0 runs this "
                                            "numerics cross-check)")

import costmodel  # noqa: E402
from costmodel import GraphBuilder  # noqa: E402
from costmodel.executor import calibrate_batchnorm, execute, init_weights, random_input  # noqa: E402
from costmodel.ops import (Activation, AvgPool, BatchNorm, ChannelShuffle, Conv2d, Flatten,  # noqa: E402
                           GlobalAvgPool, Linear, MaxPool, Upsample)
from costmodel.torch_bridge import to_torch  # noqa: E402

pytestmark = pytest.mark.torch

#: the networks issue 5 names, at their default resolution
NAMED = ["mobilenet_v1", "mobilenet_v2", "mobilenet_v3_large", "shufflenet_v2", "mixnet_s"]
RTOL = 1e-4


def compare(graph, batch=2, seed=0):
    w = calibrate_batchnorm(graph, init_weights(graph, seed), seed=seed)
    x = random_input(graph, batch, seed + 1)
    ours = execute(graph, x, weights=w)
    with torch.no_grad():
        theirs = to_torch(graph, w)(torch.from_numpy(x))
    ours = ours if isinstance(ours, tuple) else (ours,)
    theirs = theirs if isinstance(theirs, tuple) else (theirs,)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        b = b.numpy()
        assert a.shape == b.shape and a.shape[0] == batch
        scale = float(np.abs(b).max())
        assert scale > 0
        err = float(np.abs(a - b).max())
        assert err <= RTOL * scale, f"{graph.name}: max |numpy - torch| = {err:.3g}, output scale {scale:.3g}"


@pytest.mark.parametrize("name", NAMED)
def test_named_networks_match_torch(name):
    if name not in costmodel.networks():
        pytest.skip(f"{name} is not registered in this checkout")
    compare(costmodel.build(name))


@pytest.mark.parametrize("name", [n for n in costmodel.networks() if n not in NAMED])
def test_every_other_registry_network_matches_torch(name):
    net = costmodel.get_network(name)
    compare(costmodel.build(name, res=max(net.min_res, 64)))


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
    compare(graph, batch=3)
