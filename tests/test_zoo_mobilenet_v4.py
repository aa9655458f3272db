"""MobileNetV4 Conv-S/M/L and Hybrid-M/L: timm's exact counts (recorded by
benchmarks/bench_zoo_reference_mnv4.py), the attention Mult-Adds by hand, the UIB variants, the two
width rules, and data/mobilenet_v4.csv pinned."""
import csv
import os
from decimal import Decimal

import pytest

from costmodel.analysis import analyze
from costmodel.errors import SpecError
from costmodel.graph import GraphBuilder
from costmodel.registry import build, get
from costmodel.spec import Context
from costmodel.zoo.uib import universal_inverted_bottleneck

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = ["mobilenet_v4_conv_small", "mobilenet_v4_conv_medium", "mobilenet_v4_conv_large",
         "mobilenet_v4_hybrid_medium", "mobilenet_v4_hybrid_large"]


def totals(name, **kw):
    return analyze(build(name, **kw)).totals


# (params_with_bn, madds, attn_madds) of timm 1.0.31's mobilenetv4_* with random weights: parameters()
# and torch FlopCounterMode conv/linear and matmul FLOPs / 2 (the benchmark's output, exact)
TIMM = {
    ("mobilenet_v4_conv_small", 1.0, 224): (3_774_024, 186_005_568, 0),
    ("mobilenet_v4_conv_small", 1.0, 256): (3_774_024, 242_178_048, 0),
    ("mobilenet_v4_conv_small", 0.5, 224): (2_238_952, 64_741_408, 0),     # mobilenetv4_conv_small_050
    ("mobilenet_v4_conv_small", 0.35, 224): (1_905_384, 47_723_040, 0),    # mobilenetv4_conv_small_035
    ("mobilenet_v4_conv_medium", 1.0, 224): (9_715_512, 827_649_984, 0),
    ("mobilenet_v4_conv_medium", 1.0, 256): (9_715_512, 1_080_244_224, 0),
    ("mobilenet_v4_conv_large", 1.0, 224): (32_590_864, 2_171_341_312, 0),
    ("mobilenet_v4_conv_large", 1.0, 384): (32_590_864, 6_376_220_672, 0),
    ("mobilenet_v4_hybrid_medium", 1.0, 224): (11_074_648, 941_725_120, 24_586_240),
    ("mobilenet_v4_hybrid_medium", 1.0, 256): (11_074_648, 1_229_240_320, 41_943_040),
    ("mobilenet_v4_hybrid_large", 1.0, 224): (37_764_624, 2_510_230_016, 39_337_984),
    ("mobilenet_v4_hybrid_large", 1.0, 384): (37_764_624, 7_372_138_496, 339_738_624),
}


@pytest.mark.parametrize("name,alpha,res", sorted(TIMM))
def test_equals_timm(name, alpha, res):
    t = totals(name, alpha=alpha, res=res)
    assert (t["params_with_bn"], t["madds"], t["attn_madds"]) == TIMM[(name, alpha, res)]


def test_native_resolutions_are_the_defaults():
    assert [get(n).default_res for n in NAMES] == [224, 256, 384, 256, 384]


@pytest.mark.parametrize("name,res,stages", [
    # (blocks x heads x N x M x (d_k + d_v)) per attention stage; K/V downsampled 2x in the first
    ("mobilenet_v4_hybrid_medium", 256, [(4, 4, 16 * 16, 8 * 8, 128), (4, 4, 8 * 8, 8 * 8, 128)]),
    ("mobilenet_v4_hybrid_medium", 224, [(4, 4, 14 * 14, 7 * 7, 128), (4, 4, 7 * 7, 7 * 7, 128)]),
    ("mobilenet_v4_hybrid_large", 384, [(4, 8, 24 * 24, 12 * 12, 96), (4, 8, 12 * 12, 12 * 12, 128)]),
])
def test_attention_madds_by_hand(name, res, stages):
    assert totals(name, res=res)["attn_madds"] == sum(b * h * n * m * d for b, h, n, m, d in stages)


def test_conv_models_have_no_attention_and_hybrids_have_layer_scale():
    for name in NAMES:
        kinds = {n.op.kind for n in build(name, res=96).nodes}
        assert ("matmul" in kinds) == ("hybrid" in name) == ("layer_scale" in kinds)
    acts = {n.op.fn for n in build("mobilenet_v4_hybrid_large", res=96).nodes if n.op.kind == "activation"}
    assert acts == {"gelu"}


def _uib(start_k, mid_k, s=1, c_in=16, c=16, e=4.0):
    g = GraphBuilder("u", (c_in, 8, 8))
    y = universal_inverted_bottleneck(g, "input", Context(1.0, (8, 8), 10), c=c, e=e, start_k=start_k, mid_k=mid_k, s=s)
    return g.build([y])


@pytest.mark.parametrize("start_k,mid_k,convs", [
    (5, 5, ["dw_start", "expand", "dw_mid", "project"]),   # ExtraDW
    (0, 3, ["expand", "dw_mid", "project"]),               # IB
    (3, 0, ["dw_start", "expand", "project"]),             # ConvNext-like
    (0, 0, ["expand", "project"]),                         # FFN
])
def test_uib_variants(start_k, mid_k, convs):
    g = _uib(start_k, mid_k)
    assert [n.name for n in g.nodes if n.op.kind == "conv2d"] == convs
    # stride 1 and 16 -> 16: identity shortcut; weights by hand (C = 16, E = 64)
    assert g.nodes[-1].op.kind == "add"
    w = start_k ** 2 * 16 + 16 * 64 + mid_k ** 2 * 64 + 64 * 16
    assert analyze(g).totals["params"] == w


def test_uib_stride_goes_to_the_middle_depthwise_else_the_start():
    g = _uib(3, 5, s=2, c=24)
    strides = {n.name: n.op.stride for n in g.nodes if n.op.kind == "conv2d"}
    assert strides["dw_start"] == (1, 1) and strides["dw_mid"] == (2, 2)
    g = _uib(3, 0, s=2, c=24)
    assert {n.name: n.op.stride for n in g.nodes if n.op.kind == "conv2d"}["dw_start"] == (2, 2)
    with pytest.raises(SpecError, match="FFN cannot stride"):
        _uib(0, 0, s=2)


def test_expansion_is_make_divisible_of_the_input():
    g = _uib(0, 3, c_in=24, c=24, e=3.0)   # 72
    assert [n.out_shape[0] for n in g.nodes if n.name == "expand"] == [72]
    g = _uib(0, 3, c_in=20, c=24, e=2.5)   # 50 -> 48
    assert [n.out_shape[0] for n in g.nodes if n.name == "expand"] == [48]


def _widths(name, **kw):
    g = build(name, res=64, **kw)
    convs = [n for n in g.nodes if n.op.kind == "conv2d"]
    return convs[0].op.out_channels, convs[-2].op.out_channels, convs[-1].op.out_channels   # stem, 960, 1280


def test_width_rules():
    # timm: stem fixed below alpha 1 (fix_stem), grows above; 960 scaled; 1280 head never scaled
    assert _widths("mobilenet_v4_conv_medium", alpha=0.75) == (32, 720, 1280)
    assert _widths("mobilenet_v4_conv_medium", alpha=1.25) == (40, 1200, 1280)
    # tf: every filter make_divisible(c alpha, 8); the last (1280) kept below 1, scaled above (finegrain)
    assert _widths("mobilenet_v4_conv_medium", alpha=0.75, rounding="tf") == (24, 720, 1280)
    assert _widths("mobilenet_v4_conv_medium", alpha=1.25, rounding="tf") == (40, 1200, 1600)
    for name in NAMES:
        assert totals(name, res=96) == totals(name, res=96, rounding="tf")


def test_attention_dims_are_not_scaled():
    g = build("mobilenet_v4_hybrid_medium", alpha=0.5, res=64)
    q = [n for n in g.nodes if n.name.endswith(".query")]
    assert {n.op.out_channels for n in q} == {4 * 64}


# ----------------------------------------------------------------------------- data/mobilenet_v4.csv
SCALE = {"": 1, "K": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "B": 10 ** 9}


def _rows(name):
    with open(os.path.join(ROOT, "data", name), encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _knobs(text):
    out = {}
    for item in filter(None, text.split(";")):
        k, v = item.split("=")
        if k != "device":
            out[k] = float(v) if k == "alpha" else int(v) if k == "res" else v
    return out


def within(pub, unit, computed):
    p = Decimal(pub)
    return abs(Decimal(computed) / SCALE[unit] - p) <= Decimal(1).scaleb(p.as_tuple().exponent) / 2


def check_figures(name):
    rows = [r for r in _rows(name) if r["counted_as"] and r["network"]]
    assert rows
    for r in rows:
        t = totals(r["network"], **_knobs(r["knobs"]))
        assert int(r["computed"]) == t[r["counted_as"]], r
        assert bool(r["explanation"]) == (not within(r["published"], r["unit"], r["computed"])), r
    return rows


def test_figures_pinned_and_explained():
    rows = check_figures("mobilenet_v4.csv")
    timm = [r for r in rows if r["table"] == "timm"]
    assert len(timm) == 26 and all(r["published"] == r["computed"] for r in timm)
    table1 = [r for r in rows if r["table"] == "1"]
    assert {r["model"] for r in table1} == {"MNv4-Conv-S", "MNv4-Conv-M", "MNv4-Hybrid-M", "MNv4-Conv-L",
                                           "MNv4-Hybrid-L"}


def test_figures_format():
    with open(os.path.join(ROOT, "data", "mobilenet_v4.csv"), encoding="utf-8") as f:
        header = next(csv.reader(f))
    assert header[:12] == ["source", "table", "model", "network", "knobs", "quantity", "counted_as", "published",
                           "unit", "rounding", "computed", "explanation"]
