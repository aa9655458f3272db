"""MobileNetV2 section 6 heads: SSD / SSDLite (Tables 5, 6) and Mobile DeepLabv3 (Table 7)."""
import json

import pytest

from costmodel.datafiles import figures
from costmodel.errors import SpecError
from costmodel.graph import GraphBuilder
from costmodel.ops import Conv2d
from costmodel.registry import build
from costmodel.reproduce import run
from costmodel.reproduce.rules import counts as totals
from costmodel.spec import NetSpec, blk, expand
from costmodel.zoo import heads, mobilenet_v1, mobilenet_v2

ANCHORS = (3, 6, 6, 6, 6, 6)


def node(g, name):
    return g.node(name).out_shape


# ----------------------------------------------------------------------------- SSD / SSDLite
@pytest.mark.parametrize("net,c16,c32", [("mobilenet_v2", 576, 1280), ("mobilenet_v1", 512, 1024)])
@pytest.mark.parametrize("res,sizes", [(320, (20, 10, 5, 3, 2, 1)), (300, (19, 10, 5, 3, 2, 1))])
def test_ssd_prediction_maps(net, c16, c32, res, sizes):
    g = build(net, head="ssdlite", res=res)
    maps = [g.node(n.inputs[0]).out_shape for n in g.nodes if n.name.endswith(".box_dw")]
    assert maps == [(c, s, s) for c, s in zip((c16, c32, 512, 256, 256, 128), sizes)]
    for i, (a, s) in enumerate(zip(ANCHORS, sizes)):
        assert node(g, f"head.predictor{i}.box") == (4 * a, s, s)
        assert node(g, f"head.predictor{i}.class") == (81 * a, s, s)
    anchors = sum(a * s * s for a, s in zip(ANCHORS, sizes))  # 2034 at 320
    assert [g.shape(o) for o in g.outputs] == [(4 * anchors,), (81 * anchors,)]
    assert res != 320 or anchors == 2034


def test_ssdlite_predictor_layer_exact():
    # first map: 20x20x576 (layer_15 expansion), 3 anchors; box 3x4 = 12, class 3x81 = 243 outputs;
    # each: depthwise 3x3 (no bias, BN) + biased 1x1
    t = totals(build("mobilenet_v2", head="ssdlite"), "head.predictor0")
    dw_p, dw_m = 9 * 576, 9 * 576 * 20 * 20                            # 5,184 / 2,073,600
    assert t["params"] == 2 * dw_p + (576 * 12 + 12) + (576 * 243 + 243) == 157_503
    assert t["madds"] == 2 * dw_m + 400 * 576 * 12 + 400 * 576 * 243 == 62_899_200
    assert t["params_with_bn"] == t["params"] + 2 * (2 * 576)
    # first SSDLite extra layer on 10x10x1280: 1x1 to 256, dw 3x3/2, 1x1 to 512 at 5x5
    e = totals(build("mobilenet_v2", head="ssdlite"), "head.extra1")
    assert e["params"] == 1280 * 256 + 9 * 256 + 256 * 512 == 461_056
    assert e["madds"] == 100 * 1280 * 256 + 25 * 9 * 256 + 25 * 256 * 512 == 36_102_400


def _ssd_head_closed_form(maps, lite, slots=81):
    """Independent count of the head: maps = (C, size) of the two backbone maps at 320."""
    p = m = 0
    (c, s), feats = maps[-1], list(maps)
    for d in heads.SSD_EXTRA_DEPTHS:
        h, s2 = d // 2, -(-s // 2)
        p += c * h + (9 * h + h * d if lite else 9 * h * d)
        m += s * s * c * h + s2 * s2 * (9 * h + h * d if lite else 9 * h * d)
        c, s = d, s2
        feats.append((c, s))
    for (c, s), a in zip(feats, ANCHORS):
        for n in (4 * a, slots * a):
            k = (9 * c + c * n) if lite else 9 * c * n
            p += k + n
            m += s * s * k
    return p, m


@pytest.mark.parametrize("net,maps", [("mobilenet_v2", ((576, 20), (1280, 10))),
                                      ("mobilenet_v1", ((512, 20), (1024, 10)))])
@pytest.mark.parametrize("head", ["ssd", "ssdlite"])
def test_ssd_head_counts_closed_form(net, maps, head):
    t = totals(build(net, head=head), "head")
    assert (t["params"], t["madds"]) == _ssd_head_closed_form(maps, head == "ssdlite")
    t91 = totals(build(net, head=head, head_classes=91), "head")
    assert (t91["params"], t91["madds"]) == _ssd_head_closed_form(maps, head == "ssdlite", 91)


@pytest.mark.parametrize("net", ["mobilenet_v1", "mobilenet_v2"])
def test_ssd_backbone_is_the_classifier_backbone(net):
    """The detector = the unchanged backbone (classifier removed) + the head."""
    det = totals(build(net, head="ssdlite"))
    head = totals(build(net, head="ssdlite"), "head")
    cls = totals(build(net, res=320))
    fc_in = 1280 if net == "mobilenet_v2" else 1024
    assert det["params"] - head["params"] == cls["params"] - (fc_in * 1000 + 1000)
    assert det["madds"] - head["madds"] == cls["madds"] - fc_in * 1000


def test_plain_classifier_unchanged():
    assert mobilenet_v2.spec().blocks == mobilenet_v2.BLOCKS
    assert mobilenet_v1.spec().blocks == mobilenet_v1.STEM + mobilenet_v1.BODY + mobilenet_v1.HEAD
    g = build("mobilenet_v2")
    assert g.input_shape == (3, 224, 224) and g.outputs == (g.nodes[-1].name,)


# ----------------------------------------------------------------------------- DeepLabv3
@pytest.mark.parametrize("net,kw,c", [("mobilenet_v1", {}, 1024), ("mobilenet_v2", {}, 1280),
                                      ("mobilenet_v2", {"feature": "second_last"}, 320)])
@pytest.mark.parametrize("os_,size", [(16, 33), (8, 65)])
def test_deeplab_output_stride(net, kw, c, os_, size):
    g = build(net, head="deeplabv3", output_stride=os_, **kw)
    assert g.input_shape == (3, 513, 513)
    aspp0 = g.node("head.aspp0")
    assert aspp0.in_shapes[0] == (c, size, size)
    rates = [g.node(f"head.aspp{i}").op.dilation[0] for i in (1, 2, 3)]
    assert rates == list(heads.ASPP_RATES[os_])
    assert node(g, "head.image_pooling.upsample") == (256, size, size)
    assert g.output_shape == (21, 513, 513)
    # dilation never changes parameters: OS8 and OS16 have the same
    assert totals(g)["params"] == totals(build(net, head="deeplabv3", output_stride=24 - os_, **kw))["params"]


def test_deeplab_no_aspp_and_dilation_rates():
    g = build("mobilenet_v2", head="deeplabv3", aspp=False, feature="second_last")
    assert not any(n.name.startswith("head.aspp1") for n in g.nodes)
    assert g.node("head.concat").in_shapes == ((256, 33, 33), (256, 33, 33))
    # TF-slim rule at OS16: the first 160 block loses its stride (rate 1), the rest rate 2
    dw = [n.op.dilation[0] for n in g.nodes if n.name.endswith(".dw") and n.op.kind == "conv2d"]
    assert dw[-4:] == [1, 2, 2, 2] and set(dw[:-3]) == {1}
    # without ASPP: image pooling conv 320x256, 1x1 conv 320x256, projection 512x256, logits 256x21 + 21
    head = totals(g, "head")
    assert head["params"] == 320 * 256 * 2 + 512 * 256 + 256 * 21 + 21
    assert head["madds"] == 320 * 256 + 33 * 33 * (320 * 256 + 512 * 256 + 256 * 21)


def test_multi_scale_resolutions():
    # DeepLab scale_dimension: int((513 - 1) * s + 1)
    assert heads.multi_scale_resolutions(513) == (257, 385, 513, 641, 769, 897)


def test_space_to_batch_grid_exact():
    g = GraphBuilder("one", (8, 33, 33))
    g.add(Conv2d(4, 3, 1, "same", 6), "input", "c")          # rate 6: 33 + 12 -> 48 padded, 36 positions
    g.add(Conv2d(4, 1, 1, 0), "c", "p")                       # 1x1: unchanged
    gr = g.build()
    assert heads.space_to_batch_madds(gr) == 4 * 8 * 9 * 36 * 36 + 4 * 4 * 33 * 33
    assert totals(gr)["madds"] == 4 * 8 * 9 * 33 * 33 + 4 * 4 * 33 * 33


# ----------------------------------------------------------------------------- reproduction
def tables():
    return [c for c in run("mobilenet_v2") if c.title.split(":")[0] in HEAD_TABLES]


HEAD_TABLES = {"MobileNetV2 Table 5", "MobileNetV2 Table 6", "MobileNetV2 Table 7"}


def test_reproduced_figures_match_or_explained():
    comps = {c.title.split(":")[0]: c for c in tables()}
    assert set(comps) == HEAD_TABLES
    published = {(r["model"], r["quantity"]): r["published"] for r in figures("mobilenet_v2")
                 if r["table"] in ("5", "6", "7") and r["counted_as"]}
    assert len(published) == sum(len(c.figures) for c in comps.values()) == 36
    for c in comps.values():
        for f in c.figures:
            assert f.published == published[(f.label, f.quantity)]
            assert f.status in ("ok", "differs (explained)", "n/a"), (c.title, f.label, f.quantity)
    status = {(f.label, f.quantity): f.status for c in comps.values() for f in c.figures}
    # what must match: every parameter count, the whole detectors, the V2* ASPP rows on TF's grid
    assert all(s == "ok" for (label, q), s in status.items() if q == "params" and s != "n/a")
    for label in ("MNet V1 + SSDLite", "MNet V2 + SSDLite"):
        assert status[(label, "madds")] == "ok"
    assert status[("MNet V2*, OS16, ASPP", "madds (TF grid)")] == "ok"
    assert status[("MNet V2*, OS8, ASPP, MF", "madds (TF grid)")] == "ok"


def test_mf_is_sum_over_scales_and_flips():
    fig = next(f for c in tables() for f in c.figures
               if f.label == "MNet V2*, OS8, no ASPP, MF" and f.quantity == "madds")
    want = sum(2 * totals(build("mobilenet_v2", head="deeplabv3", output_stride=8, aspp=False,
                                feature="second_last", res=r))["madds"] for r in heads.multi_scale_resolutions())
    assert fig.computed == want


# ----------------------------------------------------------------------------- CLI and knobs
def test_default_resolution_follows_head():
    assert build("mobilenet_v2", head="ssdlite").input_shape == (3, 320, 320)
    assert build("mobilenet_v1", head="deeplabv3").input_shape == (3, 513, 513)
    assert build("mobilenet_v2", head="ssd", res=300).input_shape == (3, 300, 300)
    assert build("mobilenet_v2").input_shape == (3, 224, 224)


def test_cli_json_with_head(cli):
    r = cli("table", "mobilenet_v2", "--head", "deeplabv3", "--output-stride", "16", "--no-aspp",
            "--set", "feature=second_last", "--format", "json")
    assert r.code == 0, r.err
    d = json.loads(r.out)
    assert d["resolution"] == 513
    assert d["knobs"]["head"] == "deeplabv3" and d["knobs"]["output_stride"] == 16 and d["knobs"]["aspp"] is False
    g = build("mobilenet_v2", head="deeplabv3", aspp=False, feature="second_last")
    assert d["totals"]["params"] == totals(g)["params"] and d["totals"]["madds"] == totals(g)["madds"]
    assert d["layers"][-1]["output_shape"] == [21, 513, 513]
    r = cli("table", "mobilenet_v1", "--head", "ssd", "--res", "320", "--format", "json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["totals"]["params"] == totals(build("mobilenet_v1", head="ssd"))["params"]


def _no_head_network():
    from costmodel.registry import networks
    return next(n for n, net in networks().items() if all(k.name != "head" for k in net.knobs))


@pytest.mark.parametrize("args,needle", [
    (("mobilenet_v2", "--head", "deeplabv3", "--output-stride", "4"), "8, 16, 32"),
    (("mobilenet_v2", "--head", "deeplabv3", "--output-stride", "32"), "8 or 16"),
    (("mobilenet_v2", "--head", "ssdlite", "--output-stride", "16"), "--output-stride"),
    (("mobilenet_v2", "--head", "ssd", "--no-aspp"), "deeplabv3"),
    (("mobilenet_v2", "--head", "yolo"), "ssdlite"),
    (("mobilenet_v2", "--set", "feature=second_last"), "deeplabv3"),
    (("mobilenet_v2", "--set", "head_classes=91"), "--head"),
    (("mobilenet_v1", "--head", "ssd", "--variant", "shallow"), "shallow"),
    (("mobilenet_v1", "--head", "deeplabv3", "--set", "feature=second_last"), "feature"),
    (("NOHEAD", "--head", "ssdlite"), "head"),
])
def test_bad_combinations(cli, args, needle):
    args = tuple(_no_head_network() if a == "NOHEAD" else a for a in args)
    r = cli("table", *args)
    assert r.code == 2 and r.out == ""
    assert len(r.err.strip().splitlines()) == 1 and needle in r.err and "Traceback" not in r.err


def test_multi_output_block_must_be_last():
    spec = NetSpec("x", (blk("conv", c=8, k=1, name="a"), blk("ssd_head", inputs=("a", "a"), anchors=(1,) * 6,
                                                               depths=(8, 8, 8, 8)), blk("gap")))
    with pytest.raises(SpecError, match="only the last block"):
        expand(spec, res=64)
