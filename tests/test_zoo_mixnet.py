"""MixNet-S/M/L from the official block strings: parser, channel split rule, exact counts,
depth multiplier, shapes, reproduction and the CLI."""
import json

import pytest

from costmodel.analysis import analyze
from costmodel.errors import SpecError
from costmodel.registry import build
from costmodel.reproduce import run
from costmodel.zoo.mixnet import MIXNET_M, MIXNET_S, parse_block_string, split_channels

NAMES = ["mixnet_s", "mixnet_m", "mixnet_l"]


def totals(name, **kw):
    return analyze(build(name, **kw)).totals


def test_split_channels_rule():
    assert split_channels(120, 4) == (30, 30, 30, 30)
    assert split_channels(200, 5) == (40, 40, 40, 40, 40)
    assert split_channels(32, 3) == (12, 10, 10)       # the first group takes the remainder
    assert split_channels(432, 5) == (88, 86, 86, 86, 86)
    assert split_channels(7, 1) == (7,)
    with pytest.raises(SpecError):
        split_channels(3, 4)


def test_split_in_the_graph():
    g = build("mixnet_s")
    # 'r2_k3.5.7.9_a1.1_p1.1_s11_e3_i120_o120': 120 -> 360 by two 1x1 convs of 60 -> 180,
    # depthwise 3/5/7/9 on 4 x 90 channels
    assert g.node("mixir12.expand.split").op.sizes == (60, 60)
    assert [g.node(f"mixir12.expand.k1_{j}").out_shape[0] for j in range(2)] == [180, 180]
    assert g.node("mixir12.dw.split").op.sizes == (90, 90, 90, 90)
    assert [g.node(f"mixir12.dw.k{k}_{j}").op.kernel for j, k in enumerate((3, 5, 7, 9))] == \
        [(3, 3), (5, 5), (7, 7), (9, 9)]
    # alpha 0.6: 120 x 0.6 = 72, x6 = 432 over the five kernels 3..11 of 'r1_k3.5.7.9.11_..._i120_o200'
    g = build("mixnet_s", alpha=0.6)
    assert g.node("mixir14.dw.split").op.sizes == (88, 86, 86, 86, 86)


def test_parser():
    b = parse_block_string("r3_k3.5_a1.1_p1.1_s11_e6_i40_o40_se0.5_sw")
    assert b == {"repeat": 3, "k": (3, 5), "a": 2, "p": 2, "s": (1, 1), "e": 6, "i": 40, "o": 40, "swish": True,
                 "skip": True, "se": 0.5}
    b = parse_block_string("r1_k3_a1_p1_s22_e1_i16_o16_noskip")
    assert b["se"] is None and not b["swish"] and not b["skip"] and b["s"] == (2, 2)
    assert len(MIXNET_S) == len(MIXNET_M) == 11


@pytest.mark.parametrize("text,message", [
    ("r1_k3_a1_p1_s1_e1_i16_o16", "pair of stride digits"),
    ("r1_k3_a1_p1_s11_e1_i16", "missing option(s) o"),
    ("r1_k3_a1_p1_s11_e1_i16_o16_x2", "option 9 'x2'"),
    ("r1_k3_a1_p1_s11_e1_i16_o16_se1.5", "se1.5 must be a number in (0, 1]"),
    ("r1_k3._a1_p1_s11_e1_i16_o16", "k3. must be positive integers"),
    ("r1_k3_a3_p1_s11_e1_i16_o16", "kernels must all be 1"),
    ("r1_k3_a1_p1_s11_e1_i16_o16_sw2", "sw takes no value"),
    ("r1_k3_a1_p1_s11_e1_i16_i24_o16", "given twice"),
    ("", "non-empty"),
])
def test_parser_errors(text, message):
    with pytest.raises(SpecError) as e:
        parse_block_string(text)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_strings_must_chain():
    from costmodel.zoo.mixnet import build_spec
    with pytest.raises(SpecError, match="reads i24 but the previous output is 16"):
        build_spec("bad", ("r1_k3_a1_p1_s11_e1_i24_o24",), 16)


# params_with_bn and conv/linear Mult-Adds of timm 1.0.31's mixnet_* (a port of the official
# weights), counted independently with parameters() and forward hooks
TIMM = {
    ("mixnet_s", 1.0, 224): (4_134_606, 239_173_360),
    ("mixnet_s", 1.0, 192): (4_134_606, 176_330_112),
    ("mixnet_m", 1.0, 224): (5_014_382, 339_172_672),
    ("mixnet_m", 1.0, 192): (5_014_382, 249_879_936),
    ("mixnet_l", 1.0, 224): (7_329_252, 555_251_792),
    ("mixnet_l", 1.0, 192): (7_329_252, 408_845_376),
    ("mixnet_m", 0.5, 224): (2_658_744, 126_659_024),    # channel_multiplier 0.5
    ("mixnet_m", 0.75, 224): (3_675_336, 234_185_504),
}


@pytest.mark.parametrize("name,alpha,res", sorted(TIMM))
def test_matches_timm(name, alpha, res):
    t = totals(name, alpha=alpha, res=res)
    assert (t["params_with_bn"], t["madds"]) == TIMM[(name, alpha, res)]


def block_outputs(g):
    return [n.out_shape[0] for n in g.nodes if n.name.endswith("project.bn") or n.name == "mixconv0.conv.bn"]


def test_depth_multiplier_widths():
    # MixNet-L: round_filters(c, 1.3): 24 -> 32 (31.2), 32 -> 40 (41.6), 40 -> 56 (52), 80 -> 104,
    # 120 -> 160 (156), 200 -> 264 (260); the head stays 1536
    g = build("mixnet_l")
    assert sorted(set(block_outputs(g))) == [32, 40, 56, 104, 160, 264]
    assert [n for n in g.nodes if n.op.kind == "conv2d"][-1].out_shape[0] == 1536
    # alpha multiplies MixNet-M's widths the same way: 12 -> 16 (the minimum 8 and 10% guard), 20 -> 24, 60 -> 64
    g = build("mixnet_m", alpha=0.5)
    assert sorted(set(block_outputs(g))) == [16, 24, 40, 64, 104]
    # mixnet_l at alpha a is mixnet_m at depth 1.3 a, rounded once
    assert totals("mixnet_l", alpha=0.5) == totals("mixnet_m", alpha=0.65)


def test_block_structure():
    g = build("mixnet_s")
    # 'r1_k3.5.7_a1_p1_s22_e6_i24_o40_se0.5_sw': SE squeeze int(24 x 0.5) = 12 on the 144-wide expansion
    assert g.node("mixir4.se.reduce").out_shape[0] == 12 and g.node("mixir4.se.expand").out_shape[0] == 144
    assert g.node("mixir4.se.reduce").op.bias and g.node("mixir4.se.expand.sigmoid").op.fn == "sigmoid"
    assert g.node("mixir4.se.reduce.swish").op.fn == "swish"
    assert g.node("mixir1.dw.relu").op.fn == "relu" and "mixir1.expand" not in {n.name for n in g.nodes}
    # skips: stride 1 and in == out (1 + 1 + 3 + 2 + 2 + 2 blocks)
    assert sum(n.op.kind == "add" for n in g.nodes) == 11


@pytest.mark.parametrize("name,res,feature", [
    ("mixnet_s", 224, (1536, 7, 7)), ("mixnet_s", 192, (1536, 6, 6)),
    ("mixnet_m", 160, (1536, 5, 5)), ("mixnet_l", 224, (1536, 7, 7)),
])
def test_shapes(name, res, feature):
    g = build(name, res=res)
    head = [n for n in g.nodes if n.op.kind == "global_avgpool"][-1]
    assert head.in_shapes[0] == feature and g.output_shape == (1000,)
    assert g.nodes[0].out_shape == ({"mixnet_s": 16, "mixnet_m": 24, "mixnet_l": 32}[name], res // 2, res // 2)


def test_reproduced_figures():
    figs = {(f.label, f.quantity): f for c in run("mixnet") for f in c.figures}
    assert len(figs) == 6
    for (label, q), f in figs.items():
        if q == "params":
            assert f.status == "ok"
        else:
            assert f.matches is False and f.explanation
    assert figs[("MixNet-S", "madds")].computed == 239_173_360


@pytest.mark.parametrize("name", NAMES)
def test_cli_table_json(cli, name):
    r = cli("table", name, "--format", "json")
    assert r.code == 0, r.err
    d = json.loads(r.out)
    assert d["network"] == name and d["family"] == "MixNet" and d["totals"] == totals(name)


def test_cli_errors(cli):
    r = cli("table", "mixnet_s", "--alpha", "0")
    assert r.code == 2 and r.err.count("\n") == 1
    r = cli("table", "mixnet_s", "--set", "head_width=1280")
    assert r.code == 2 and "no knob" in r.err


def test_mixconv_block_in_a_spec():
    from costmodel.spec import NetSpec, blk, expand
    spec = NetSpec("t", (blk("conv", c=30, k=1), blk("mixconv", k=(3, 5, 7), s=2, act="swish"),
                         blk("mixconv", c=20, k=(1, 1))), width="unscaled")
    g = expand(spec, res=32)
    assert g.node("mixconv1.conv.split").op.sizes == (10, 10, 10)
    assert [g.node(f"mixconv1.conv.k{k}_{j}").op.groups for j, k in enumerate((3, 5, 7))] == [10, 10, 10]
    assert g.node("mixconv1.conv.concat").out_shape == (30, 16, 16)
    # grouped 1x1: 30 -> 20 as 15 -> 10 twice: 2 x 150 weights, not 600
    assert analyze(g).rows[-3]["kind"] == "concat" and g.output_shape == (20, 16, 16)
    assert sum(n.op.params(n.in_shapes) for n in g.nodes if n.name.startswith("mixconv2.conv.k1")) == 300
