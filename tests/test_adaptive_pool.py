"""Adaptive average pooling (torchvision's VGG/AlexNet classifier reading)."""
import numpy as np
import pytest

import costmodel as cm
from costmodel import GraphBuilder, analyze
from costmodel.ops import AdaptiveAvgPool, adaptive_windows


def test_windows_like_pytorch():
    # 8 -> 7: every window has two rows, overlapping by one
    assert adaptive_windows(8, 7) == [(0, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7), (6, 8)]
    assert adaptive_windows(7, 7) == [(i, i + 1) for i in range(7)]
    assert adaptive_windows(5, 2) == [(0, 3), (2, 5)]


def test_flops_and_shape_exact():
    g = GraphBuilder("p", (512, 8, 8))
    g.add(AdaptiveAvgPool(7), "input", "pool")
    r = analyze(g.build()).rows[0]
    assert r["output_shape"] == [512, 7, 7]
    assert r["flops"] == 512 * 14 * 14  # window lengths sum to 14 per axis


def test_executor_matches_a_direct_loop():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 9, 5)).astype(np.float32)
    g = GraphBuilder("p", (3, 9, 5))
    g.add(AdaptiveAvgPool((4, 3)), "input", "pool")
    y = cm.execute(g.build(), x)
    want = np.zeros((2, 3, 4, 3), np.float32)
    for i, (a, b) in enumerate(adaptive_windows(9, 4)):
        for j, (c, d) in enumerate(adaptive_windows(5, 3)):
            want[:, :, i, j] = x[:, :, a:b, c:d].mean(axis=(2, 3))
    np.testing.assert_allclose(y, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("res", [224, 256, 320])
def test_vgg16_torchvision_reading(res):
    dense = cm.analyze(cm.build("vgg16", res=res)).totals
    adaptive = cm.analyze(cm.build("vgg16", res=res, classifier="adaptive")).totals
    assert adaptive["params_with_bn"] == dense["params_with_bn"] == 138_357_544  # torchvision's count
    # the 13 convs scale with the map; the three FC layers do not: 25088*4096 + 4096*4096 + 4096*1000
    convs = sum(r["madds"] for r in cm.analyze(cm.build("vgg16", res=res, classifier="adaptive")).rows
                if r["kind"] == "conv2d")
    assert adaptive["madds"] == convs + 25088 * 4096 + 4096 * 4096 + 4096 * 1000
    if res == 224:
        assert adaptive["madds"] == dense["madds"] == 15_470_264_320


def test_alexnet_torchvision_adaptive_matches_torchvision_params():
    t = cm.analyze(cm.build("alexnet", variant="torchvision", classifier="adaptive", res=256)).totals
    assert t["params_with_bn"] == 61_100_840
