"""MobileNetV3 Large/Small and the minimalistic variants: exact counts, the two alpha rules, the
two Small heads, shapes, reproduction and the CLI."""
import json

import pytest

from costmodel.analysis import analyze
from costmodel.errors import KnobError
from costmodel.registry import build
from costmodel.reproduce import run

NAMES = ["mobilenet_v3_large", "mobilenet_v3_small", "mobilenet_v3_large_minimal", "mobilenet_v3_small_minimal"]


def totals(name, **kw):
    return analyze(build(name, **kw)).totals


def test_torchvision_documented_parameter_counts():
    assert totals("mobilenet_v3_large")["params_with_bn"] == 5_483_032
    assert totals("mobilenet_v3_small")["params_with_bn"] == 2_542_856


# (params_with_bn, Mult-Adds) of torchvision 0.29's mobilenet_v3_*(width_mult=alpha), counted
# independently: sum(p.numel() for p in parameters()) and conv/linear MACs from forward hooks.
TORCHVISION = {
    ("mobilenet_v3_large", 1.0, 224): (5_483_032, 216_589_760),
    ("mobilenet_v3_large", 1.0, 160): (5_483_032, 112_472_000),
    ("mobilenet_v3_large", 0.75, 224): (3_377_576, 140_033_816),
    ("mobilenet_v3_large", 0.33, 224): (933_504, 33_394_656),
    ("mobilenet_v3_large", 1.25, 160): (8_164_744, 178_119_624),
    ("mobilenet_v3_small", 1.0, 224): (2_542_856, 56_510_400),
    ("mobilenet_v3_small", 0.75, 160): (1_653_920, 20_626_936),
    ("mobilenet_v3_small", 0.35, 224): (558_744, 11_238_936),
    ("mobilenet_v3_small", 0.33, 224): (524_304, 10_911_680),
}


@pytest.mark.parametrize("name,alpha,res", sorted(TORCHVISION))
def test_matches_torchvision_at_any_alpha_and_resolution(name, alpha, res):
    t = totals(name, alpha=alpha, res=res)
    assert (t["params_with_bn"], t["madds"]) == TORCHVISION[(name, alpha, res)]


def widths(graph):
    return sorted({n.out_shape[0] for n in graph.nodes if n.op.kind in ("conv2d", "linear")})


def test_width_rule_torchvision():
    # make_divisible(c * 0.75, 8) of every table width (absolute expansions too), SE squeeze
    # make_divisible(exp / 4, 8), last conv 6 x 120, head 1280 x 0.75
    assert widths(build("mobilenet_v3_large", alpha=0.75)) == [
        16, 24, 32, 48, 56, 64, 88, 120, 128, 136, 152, 184, 360, 504, 720, 960, 1000]
    # alpha 0.35: outputs 8 (16 x .35 = 5.6 -> the minimum 8), 16, 16, 32, 40 (33.6), ...
    assert widths(build("mobilenet_v3_small", alpha=0.35)) == [
        8, 16, 24, 32, 40, 48, 88, 104, 192, 200, 360, 1000]


def test_width_rule_tfslim():
    # expansion = make_divisible(rounded input x factor, 8): 16x4 = 64, 32x3 = 96, 64x2.3 = 147.2 -> 144;
    # 960 x 0.75 = 720 before the pool; the 1280 head is kept (finegrain_classification_mode)
    assert widths(build("mobilenet_v3_large", alpha=0.75, rounding="tfslim")) == [
        16, 24, 32, 64, 72, 88, 96, 120, 136, 144, 160, 184, 192, 384, 528, 720, 1000, 1280]


def test_roundings_agree_at_alpha_one():
    for name in NAMES:
        assert totals(name) == totals(name, rounding="tfslim")


def test_small_head_width_knob():
    a, b = totals("mobilenet_v3_small"), totals("mobilenet_v3_small", head_width=1280)
    # 256 more outputs of the biased 576 -> head conv and 256 more inputs of the 1000-way classifier
    assert b["params"] - a["params"] == 256 * (576 + 1) + 256 * 1000
    assert b["madds"] - a["madds"] == 256 * 576 + 256 * 1000
    with pytest.raises(KnobError, match="accepted: 1024, 1280"):
        build("mobilenet_v3_small", head_width=1000)
    with pytest.raises(KnobError, match="no knob 'head_width'"):
        build("mobilenet_v3_large", head_width=1280)


def test_block_structure_large():
    g = build("mobilenet_v3_large")
    kinds = [n.op.kind for n in g.nodes]
    assert kinds.count("multiply") == 8              # SE in 8 of the 15 bnecks (Table 1)
    assert kinds.count("add") == 10                  # stride 1 and in == out
    acts = {n.op.fn for n in g.nodes if n.op.kind == "activation"}
    assert acts == {"relu", "hswish", "hsigmoid"}
    se = g.node("ir4.se.reduce")                     # 72 -> make_divisible(18, 8) = 24 (10% guard)
    assert se.out_shape[0] == 24 and se.op.bias
    # exp == in: no expansion conv
    assert g.node("ir1.dw").in_shapes[0][0] == 16 and "ir1.expand" not in {n.name for n in g.nodes}


@pytest.mark.parametrize("name", ["mobilenet_v3_large_minimal", "mobilenet_v3_small_minimal"])
def test_minimalistic_variants(name):
    g = build(name)
    assert not [n for n in g.nodes if n.op.kind == "multiply"]
    assert {n.op.fn for n in g.nodes if n.op.kind == "activation"} == {"relu"}
    assert {n.op.kernel for n in g.nodes if n.op.kind == "conv2d" and n.op.groups > 1} == {(3, 3)}


@pytest.mark.parametrize("name,res,feature,stem", [
    ("mobilenet_v3_large", 224, (960, 7, 7), (16, 112, 112)),
    ("mobilenet_v3_large", 160, (960, 5, 5), (16, 80, 80)),
    ("mobilenet_v3_small", 224, (576, 7, 7), (16, 112, 112)),
    ("mobilenet_v3_small", 192, (576, 6, 6), (16, 96, 96)),
    ("mobilenet_v3_small_minimal", 160, (576, 5, 5), (16, 80, 80)),
])
def test_shapes(name, res, feature, stem):
    g = build(name, res=res)
    pool = [n for n in g.nodes if n.op.kind == "global_avgpool"][-1]  # the head's, after the SE pools
    assert pool.in_shapes[0] == feature
    assert g.nodes[0].out_shape == stem
    assert g.output_shape == (1000,)


def test_reproduced_figures():
    figs = {(f.label, f.quantity): f for c in run("mobilenet_v3") for f in c.figures}
    for f in figs.values():
        assert f.matches is not False or f.explanation, (f.label, f.quantity)
    differ = {k for k, f in figs.items() if f.matches is False}
    assert differ == {
        ("V3-Large 1.0", "madds"), ("V3-Large 1.0", "params"),
        ("V3-Small 1.0 (final version: 1024 head)", "madds"),
        ("V3-Small 0.75 (final version: 1024 head) [rounding=tfslim]", "madds"),
        ("Large 1.0 float", "params"),
        ("Small 1.0 float", "madds"), ("Small 1.0 float", "params"),
        ("Small 0.75 float [rounding=tfslim]", "madds"), ("Small 0.75 float [rounding=tfslim]", "params"),
        ("Small minimalistic float", "madds"),
        # the MobileNetV2 paper's figures, truncated there (not modelled as a habit: it also rounds)
        ("V2 1.0 (the MobileNetV2 paper's figures, truncated as there)", "madds"),
        ("V2 1.0 (the MobileNetV2 paper's figures, truncated as there)", "params"),
        ("V2 0.35 (the MobileNetV2 paper's figures, truncated as there)", "madds"),
        ("V2 0.35 (the MobileNetV2 paper's figures, truncated as there)", "params"),
    }
    # the 0.75 rows need TF-slim's rule; with torchvision's they would be 140.0 M / 3.36 M
    assert figs[("V3-Large 0.75 [rounding=tfslim]", "madds")].computed == 154_560_624
    # the release rows are built as released (1024 head): 2,033,217 weights and biases at 1001 classes;
    # the printed 2.4 M is the 1280-head network's 2,400,321 (see test_cli_knobs_and_errors)
    assert figs[("Small 0.75 float [rounding=tfslim]", "params")].computed == 2_033_217
    assert figs[("mobilenet_v3_large", "params")].computed == 5_483_032


@pytest.mark.parametrize("name", NAMES)
def test_cli_table_json(cli, name):
    r = cli("table", name, "--format", "json")
    assert r.code == 0, r.err
    d = json.loads(r.out)
    assert d["network"] == name and d["totals"] == totals(name)
    assert d["layers"][-1]["output_shape"] == [1000]


def test_cli_knobs_and_errors(cli):
    r = cli("table", "mobilenet_v3_small", "--set", "head_width=1280", "--set", "rounding=tfslim", "-a", "0.75",
            "--format", "json")
    # the printed TF-slim 2.4 M (2,400,321 at 1001 classes) less one 1280-wide classifier row and its bias
    assert r.code == 0 and json.loads(r.out)["totals"]["params"] == 2_400_321 - 1281
    r = cli("table", "mobilenet_v3_small", "--set", "rounding=tf")
    assert r.code == 2 and r.err.count("\n") == 1 and "torchvision, tfslim" in r.err


@pytest.mark.parametrize("name,alpha,params_with_bn,madds", [
    # timm's TF-port builder (_gen_mobilenet_v3, minimal) at alpha 0.75: the TF-slim rule
    ("mobilenet_v3_large_minimal", 0.75, 3_050_312, 148_802_544),
    ("mobilenet_v3_small_minimal", 0.75, 1_732_512, 40_072_880),
])
def test_minimal_variants_default_to_the_tfslim_rule(name, alpha, params_with_bn, madds):
    t = totals(name, alpha=alpha)
    assert (t["params_with_bn"], t["madds"]) == (params_with_bn, madds)
