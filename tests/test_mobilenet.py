"""MobileNet V1/V2: exact counts, width rounding, shapes, variants."""
import pytest

import costmodel as cm
from costmodel.rounding import divisible8, floor_min8, make_divisible


def totals(name, **kw):
    return cm.analyze(cm.build(name, **kw)).totals


def test_mobilenet_v2_matches_torchvision_exactly():
    # torchvision.models.mobilenet_v2(): 3,504,872 parameters (BN scale/shift included)
    t = totals("mobilenet_v2")
    assert t["params_with_bn"] == 3_504_872
    assert t["params"] == 3_470_760
    assert t["madds"] == 300_774_272


def test_mobilenet_v1_keras_count():
    # Keras MobileNet(alpha=1, include_top) trainable params: conv weights + BN gamma/beta + classifier
    assert totals("mobilenet_v1")["params_with_bn"] == 4_231_976


def test_make_divisible_rule():
    assert make_divisible(11.2) == 16          # rounds to 8, then +8: 8 < 0.9 * 11.2
    assert make_divisible(5.6) == 8            # never below 8
    assert make_divisible(20) == 24            # halves round up
    assert make_divisible(36) == 40
    assert make_divisible(44.8) == 48


def test_v2_width_sets():
    def widths(alpha):
        g = cm.build("mobilenet_v2", alpha=alpha)
        return sorted({n.out_shape[0] for n in g.nodes if n.op.kind == "conv2d" and n.op.groups == 1})
    # projections make_divisible(c * 0.35): 16->8, 24->8, 32->16, 64->24, 96->32, 160->56, 320->112; stem 16;
    # expansions 6 x the rounded input: 48, 96, 144, 192, 336; head 1280 kept
    assert widths(0.35) == [8, 16, 24, 32, 48, 56, 96, 112, 144, 192, 336, 1280]
    assert widths(1.0) == [16, 24, 32, 64, 96, 144, 160, 192, 320, 384, 576, 960, 1280]
    # the last 1280 conv only grows: alpha 1.4 -> 1792
    g = cm.build("mobilenet_v2", alpha=1.4)
    assert g.node("conv18").out_shape == (1792, 7, 7)
    assert cm.build("mobilenet_v2", alpha=0.5).node("conv18").out_shape == (1280, 7, 7)


def test_v1_width_rule():
    assert floor_min8(32, 0.25) == 8 and floor_min8(1024, 0.25) == 256 and floor_min8(20, 0.3) == 8
    assert divisible8(32, 0.35) == 16
    g = cm.build("mobilenet_v1", alpha=0.3)
    convs = [n.out_shape[0] for n in g.nodes if n.op.kind == "conv2d" and n.op.groups == 1]
    assert convs == [9, 19, 38, 38, 76, 76, 153, 153, 153, 153, 153, 153, 307, 307]


@pytest.mark.parametrize("res,last", [(224, 7), (192, 6), (160, 5), (128, 4), (96, 3), (33, 2)])
def test_v2_shapes(res, last):
    g = cm.build("mobilenet_v2", res=res)
    assert g.node("conv18").out_shape == (1280, last, last)
    assert g.output_shape == (1000,)


def test_v1_variants():
    std = cm.build("mobilenet_v1")
    shallow = cm.build("mobilenet_v1", variant="shallow")
    conv = cm.build("mobilenet_v1", variant="conv")
    assert len([n for n in std.nodes if n.op.kind == "conv2d"]) == 27
    assert len([n for n in shallow.nodes if n.op.kind == "conv2d"]) == 17
    assert all(n.op.groups == 1 for n in conv.nodes if n.op.kind == "conv2d")
    # one layer: dwsep 512->512 at 14x14 costs 9*512*196 + 512*512*196
    assert totals("mobilenet_v1")["madds"] - totals("mobilenet_v1", variant="shallow")["madds"] == \
        5 * (9 * 512 * 196 + 512 * 512 * 196)


def test_classes_knob():
    a = totals("mobilenet_v2", classes=1001)
    b = totals("mobilenet_v2")
    assert a["params"] - b["params"] == 1280 + 1
    assert a["madds"] - b["madds"] == 1280


def test_per_layer_sums_equal_totals():
    r = cm.analyze(cm.build("mobilenet_v2", alpha=0.75, res=160))
    df = r.layers
    for k in ("params", "params_with_bn", "madds", "flops"):
        assert int(df[k].sum()) == r.totals[k]
    assert r.totals["madds"] == 107_295_200


def test_flops_convention_v2():
    # flops = 2 madds + FC bias + BN (2/elem) + relu6 (2/elem) + adds (1/elem) + gap (1/elem in)
    g = cm.build("mobilenet_v2")
    rows = cm.analyze(g).rows
    by_kind = {}
    for r in rows:
        by_kind[r["kind"]] = by_kind.get(r["kind"], 0) + r["flops"]
    from costmodel.ops import numel
    bn_elems = sum(numel(n.out_shape) for n in g.nodes if n.op.kind == "batchnorm")
    assert by_kind["batchnorm"] == 2 * bn_elems
    assert by_kind["global_avgpool"] == 1280 * 7 * 7
    assert by_kind["linear"] == 2 * 1280 * 1000 + 1000
