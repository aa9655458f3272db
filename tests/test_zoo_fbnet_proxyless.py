"""FBNet-A/B/C and ProxylessNAS mobile/GPU/CPU: the reference implementations' exact counts, the
released checkpoints' figures, the two FBNet builders, and data/fbnet.csv, data/proxylessnas.csv
pinned."""
import pytest
from test_zoo_mobilenet_v4 import check_figures

from costmodel.analysis import analyze
from costmodel.errors import KnobError
from costmodel.graph import GraphBuilder
from costmodel.registry import build
from costmodel.spec import Context
from costmodel.zoo.fbnet import fbnet_inverted_residual


def totals(name, **kw):
    return analyze(build(name, **kw)).totals


def test_fbnet_c_equals_timm():
    # timm 1.0.31 fbnetc_100, random weights: parameters() and FlopCounterMode FLOPs / 2
    t = totals("fbnet_c")
    assert (t["params_with_bn"], t["madds"]) == (5_572_200, 384_960_160)


def test_fbnet_a_equals_its_released_checkpoint():
    # mobile-vision model_info.json: flops_m 249.921848, params_m 4.28648 (weights, biases not counted:
    # the only biases of this network are the classifier's 1000)
    t = totals("fbnet_a")
    assert t["madds"] == 249_921_848
    assert t["params"] - 1000 == 4_286_480


# (params, params_with_bn, madds) under mobile-vision's fbnet_v2 builder; params_with_bn and madds recounted from its
# source (no expansion conv at e = 1, every conv biased) in an independent script
FBNET_V2 = {"fbnet_a": (4_287_936, 4_321_232, 244_452_664), "fbnet_b": (4_784_520, 4_818_216, 291_004_424),
            "fbnet_c": (5_548_544, 5_592_784, 378_136_224)}


@pytest.mark.parametrize("name", sorted(FBNET_V2))
def test_fbnet_v2_builder(name):
    t = totals(name, impl="fbnet_v2")
    assert (t["params"], t["params_with_bn"], t["madds"]) == FBNET_V2[name]


def _block(e, groups=1, pw_always=True, bias=False, c_in=16, c=16, s=1):
    g = GraphBuilder("b", (c_in, 8, 8))
    y = fbnet_inverted_residual(g, "input", Context(1.0, (8, 8), 10), c=c, e=e, k=5, s=s, groups=groups,
                                pw_always=pw_always, bias=bias)
    return g.build([y])


def test_fbnet_block_by_hand():
    # e = 1, group-2 pointwise convs, shuffle, k5 depthwise, shortcut: weights 16x8 + 16x25 + 16x8
    g = _block(1, groups=2)
    assert [n.op.kind for n in g.nodes if n.op.kind in ("conv2d", "channel_shuffle", "add")] == \
        ["conv2d", "channel_shuffle", "conv2d", "conv2d", "add"]
    t = analyze(g).totals
    assert t["params"] == 128 + 400 + 128 and t["madds"] == (128 + 400 + 128) * 64
    # the fbnet_v2 builder: no expansion conv at e = 1, biases on the depthwise and projection convs
    t2 = analyze(_block(1, groups=2, pw_always=False, bias=True)).totals
    assert t2["params"] == 400 + 16 + 128 + 16
    # stride 2 and 16 -> 24: no shortcut
    assert _block(6, c=24, s=2).nodes[-1].op.kind != "add"


def test_fbnet_skip_rows_build_nothing():
    a = build("fbnet_a", res=64)
    assert not any(n.name.startswith("fbnet_skip") for n in a.nodes)


def test_released_widths_only():
    for name in ("fbnet_a", "proxylessnas_mobile"):
        with pytest.raises(KnobError, match="accepted"):
            build(name, alpha=0.75)


# ProxylessNAS: osmr's pytorchcv port asserts these parameter counts (configs ported from the official
# net.config files); pytorchcv 0.0.74's models give these Mult-Adds (FlopCounterMode / 2); the official
# training logs print 4.08M / 7.12M / 4.36M parameters and 320.4M / 465.3M / 439.2M FLOPs
PROXYLESS = {"proxylessnas_mobile": (4_080_512, 320_427_584), "proxylessnas_gpu": (7_119_848, 465_260_160),
             "proxylessnas_cpu": (4_361_648, 439_243_864)}


@pytest.mark.parametrize("name", sorted(PROXYLESS))
def test_proxylessnas_equals_the_official_counts(name):
    t = totals(name)
    assert (t["params_with_bn"], t["madds"]) == PROXYLESS[name]


def test_proxylessnas_zero_layers_are_left_out():
    g = build("proxylessnas_gpu", res=64)
    blocks = {n.scope.split(".")[0] for n in g.nodes if n.scope.startswith("ir")}
    assert len(blocks) == 1 + 1 + 2 + 2 + 3 + 4 + 1     # units that are not the zero op, per stage


def test_figures_pinned_and_explained():
    fb = check_figures("fbnet.csv")
    assert {r["table"] for r in fb} == {"paper", "README", "json", "timm"}
    px = check_figures("proxylessnas.csv")
    assert all(not r["explanation"] for r in px)    # every ProxylessNAS figure is reproduced
