"""ShuffleNet V1 and V2: exact counts, Table 1 / Table 5 widths, units against the papers' cost
formulas, shapes, reproduced figures and bad knobs."""
import json

import pytest

from costmodel import GraphBuilder, analyze, build
from costmodel.datafiles import figures, parse_knobs
from costmodel.reproduce import run
from costmodel.spec import Context
from costmodel.zoo.shufflenet_v1 import shufflenet_v1_unit, widths

# torchvision shufflenet_v2_x0_5 / x1_0 / x1_5 / x2_0: sum(p.numel() for p in model.parameters())
TORCHVISION_V2 = {0.5: 1_366_792, 1.0: 2_278_604, 1.5: 3_503_624, 2.0: 7_393_996}


def stage_outputs(graph):
    """scope head (stage2, stage3, stage4, conv5) -> output shape of its last node."""
    out = {}
    for n in graph.nodes:
        head = n.scope.split(".")[0]
        if head.startswith("stage") or head == "conv5":
            out[head] = n.out_shape
    return out


def rows_of(paper, counted_as):
    return [r for r in figures(paper) if r["counted_as"] == counted_as]


# ----------------------------------------------------------------------------- ShuffleNet V2
@pytest.mark.parametrize("alpha", sorted(TORCHVISION_V2))
def test_v2_torchvision_parameter_counts(alpha):
    assert analyze(build("shufflenet_v2", alpha=alpha)).totals["params_with_bn"] == TORCHVISION_V2[alpha]


@pytest.mark.parametrize("alpha,c", [(0.5, 48), (1.0, 116), (1.5, 176), (2.0, 244)])
def test_v2_megvii_unit_differs_only_in_stage2_first_unit(alpha, c):
    """megvii: left branch 1x1 24 -> 24, right branch's last 1x1 c/2 -> c - 24; torchvision: 24 -> c/2 and
    c/2 -> c/2, all at 28x28; the megvii FC has no bias. Everything else is identical."""
    tv = analyze(build("shufflenet_v2", alpha=alpha)).totals
    mg = analyze(build("shufflenet_v2", alpha=alpha, impl="megvii")).totals
    h = c // 2
    weights = (24 * 24 + h * (c - 24)) - (24 * h + h * h)
    assert mg["madds"] - tv["madds"] == 28 * 28 * weights
    # BN widths: megvii 24 + (c - 24) = c, torchvision h + h = c: equal
    assert mg["params_with_bn"] - tv["params_with_bn"] == weights - 1000


def test_v2_table5_widths_and_shapes():
    for r in rows_of("shufflenet_v2", "channels@stage2"):
        outs = stage_outputs(build("shufflenet_v2", **parse_knobs(r["knobs"])))
        assert outs["stage2"][0] == int(r["published"])
        assert outs["stage2"][1:] == (28, 28) and outs["stage3"][1:] == (14, 14) and outs["stage4"][1:] == (7, 7)
    for r in rows_of("shufflenet_v2", "channels@conv5"):
        outs = stage_outputs(build("shufflenet_v2", **parse_knobs(r["knobs"])))
        assert outs["conv5"] == (int(r["published"]), 7, 7)


@pytest.mark.parametrize("res,sizes", [(224, (28, 14, 7)), (160, (20, 10, 5)), (200, (25, 13, 7))])
def test_v2_shapes_at_resolutions(res, sizes):
    g = build("shufflenet_v2", alpha=1.0, res=res)
    outs = stage_outputs(g)
    assert tuple(outs[f"stage{i}"][1] for i in (2, 3, 4)) == sizes
    assert g.node("conv1").out_shape == (24, -(-res // 2), -(-res // 2))
    assert g.output_shape == (1000,)


def test_v2_basic_unit_is_split_branch_concat_shuffle():
    g = build("shufflenet_v2", alpha=1.0)
    kinds = [n.op.kind for n in g.nodes if n.scope == "stage3.1"]
    assert kinds[0] == "split" and kinds[-2:] == ["concat", "channel_shuffle"]
    assert g.node("stage3.1.split").out_shapes == ((116, 14, 14), (116, 14, 14))
    # 1x1 + dw 3x3 + 1x1 on 116 channels at 14x14: hw(116^2 + 9*116 + 116^2)
    unit = sum(r["madds"] for r in analyze(g).rows if r["block"] == "stage3.1")
    assert unit == 14 * 14 * (116 * 116 * 2 + 9 * 116)


# ----------------------------------------------------------------------------- ShuffleNet V1
def test_v1_table1_channels_per_group():
    rows = [r for r in figures("shufflenet_v1") if r["counted_as"].startswith("channels@")]
    assert len(rows) == 15
    for r in rows:
        groups = int(parse_knobs(r["knobs"])["groups"])
        outs = stage_outputs(build("shufflenet_v1", alpha=1.0, groups=groups))
        assert outs[r["counted_as"].partition("@")[2]][0] == int(r["published"]), r


# official megvii ShuffleNetV1 network.py stage_out_channels ([-1, stem, stage2, stage3, stage4])
OFFICIAL_V1 = {
    (3, 0.5): [12, 120, 240, 480], (3, 1.0): [24, 240, 480, 960], (3, 1.5): [24, 360, 720, 1440],
    (3, 2.0): [48, 480, 960, 1920], (8, 0.5): [16, 192, 384, 768], (8, 1.0): [24, 384, 768, 1536],
    (8, 1.5): [24, 576, 1152, 2304], (8, 2.0): [48, 768, 1536, 3072],
}


@pytest.mark.parametrize("key", sorted(OFFICIAL_V1))
def test_v1_widths_equal_the_official_tables(key):
    groups, alpha = key
    stem, stages = widths(alpha, groups)
    assert [stem, *stages] == OFFICIAL_V1[key]
    g = build("shufflenet_v1", alpha=alpha, groups=groups)
    assert g.node("conv1").out_shape[0] == stem
    assert [stage_outputs(g)[f"stage{i}"][0] for i in (2, 3, 4)] == list(stages)


@pytest.mark.parametrize("alpha", [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0])
@pytest.mark.parametrize("groups", [1, 2, 3, 4, 8])
def test_v1_width_rule_keeps_group_divisibility(alpha, groups):
    stem, stages = widths(alpha, groups)
    assert stem % groups == 0 and all(c % (4 * groups) == 0 for c in stages)
    assert stem < stages[0] < stages[1] < stages[2]
    build("shufflenet_v1", alpha=alpha, groups=groups, res=64)


def test_v1_rule_where_the_official_code_defines_nothing():
    assert widths(0.5, 4) == (12, (144, 272, 544))   # 136 -> 144 (halves up)
    assert widths(0.25, 4) == (8, (64, 144, 272))    # 68 -> 64, 136 -> 144; stem 6 -> 8 (multiple of 4)
    assert widths(0.25, 1) == (6, (36, 72, 144))


def test_v1_stride1_unit_cost_formula():
    """Section 3.2: a ShuffleNet unit costs hw(2cm/g + 9m) Mult-Adds (c in/out, m = c/4)."""
    h = w = 28
    c, gr = 240, 3
    m = c // 4
    g = GraphBuilder("u", (c, h, w))
    with g.scope("u"):
        shufflenet_v1_unit(g, "input", Context(1.0, h, 1000, "unscaled"), c=c, s=1, groups=gr)
    r = analyze(g.build())
    assert r.totals["madds"] == h * w * (2 * c * m // gr + 9 * m) == 7_949_760
    assert r.totals["params"] == 2 * c * m // gr + 9 * m
    assert [x["kind"] for x in r.rows][-2:] == ["add", "activation"]


def test_v1_stride2_unit_concatenates_a_pooled_shortcut():
    """Downsampling unit: 1x1 at the input size, dw 3x3/2, 1x1 to C_out - C_in, concat with avg pool 3x3/2."""
    c_in, c, gr, h = 240, 480, 3, 28
    m = c // 4
    g = GraphBuilder("u", (c_in, h, h))
    with g.scope("u"):
        shufflenet_v1_unit(g, "input", Context(1.0, h, 1000, "unscaled"), c=c, s=2, groups=gr)
    graph = g.build()
    r = analyze(graph)
    assert graph.output_shape == (c, 14, 14)
    assert graph.node("u.concat").in_shapes == ((c_in, 14, 14), (c - c_in, 14, 14))
    assert r.totals["madds"] == h * h * c_in * m // gr + 14 * 14 * (9 * m + m * (c - c_in) // gr)


def test_v1_first_unit_is_ungrouped_and_later_ones_grouped():
    g = build("shufflenet_v1", groups=8)
    assert g.node("stage2.0.pw1").op.groups == 1 and g.node("stage2.0.pw1").in_shapes[0][0] == 24
    assert g.node("stage2.1.pw1").op.groups == 8 and g.node("stage3.0.pw1").op.groups == 8
    assert all(n.op.kind != "channel_shuffle" for n in build("shufflenet_v1", groups=1).nodes)


@pytest.mark.parametrize("variant,layers", [("standard", 50), ("shallow", 26)])
def test_v1_layer_count(variant, layers):
    """Section 4.2: ShuffleNet has 50 layers; the shallow one 26 (half of the units of Stage2-4)."""
    g = build("shufflenet_v1", alpha=0.5, variant=variant)
    assert sum(n.op.kind in ("conv2d", "linear") for n in g.nodes) == layers


def test_v1_fc_bias_knob():
    a = analyze(build("shufflenet_v1", alpha=2.0)).totals
    b = analyze(build("shufflenet_v1", alpha=2.0, fc_bias=True)).totals
    assert b["params"] - a["params"] == 1000 and a["params_with_bn"] == 5_449_776


@pytest.mark.parametrize("res,sizes", [(224, (28, 14, 7)), (160, (20, 10, 5)), (200, (25, 13, 7))])
def test_v1_shapes_at_resolutions(res, sizes):
    g = build("shufflenet_v1", res=res)
    outs = stage_outputs(g)
    assert tuple(outs[f"stage{i}"] for i in (2, 3, 4)) == tuple((c, s, s) for c, s in zip((240, 480, 960), sizes))
    assert g.node("maxpool").out_shape[1:] == (-(-res // 4),) * 2  # 3x3/2 pad 1 twice: ceil(ceil(res/2)/2)
    assert g.output_shape == (1000,)


# ----------------------------------------------------------------------------- reproduction
FIGURES = [(c.title, f) for p in ("shufflenet_v1", "shufflenet_v2") for c in run(p) for f in c.figures]


@pytest.mark.parametrize("title,fig", FIGURES, ids=[f"{f.label}:{f.quantity}" for _, f in FIGURES])
def test_every_figure_matches_or_is_explained(title, fig):
    if fig.matches is None:
        assert fig.computed is None and fig.explanation, f"{fig.label}: not computed and no reason in data/"
    elif fig.matches:
        assert not fig.explanation, f"{title}: {fig.label} matches but data/ explains a difference"
    else:
        assert fig.explanation, f"{title}: {fig.label} {fig.published} vs {fig.computed_in_unit}: no explanation"


def test_key_reproduced_figures():
    figs = {(c.title.split(":")[0], f.label, f.quantity): f
            for p in ("shufflenet_v1", "shufflenet_v2") for c in run(p) for f in c.figures}
    t1 = figs[("ShuffleNet V1 Table 1", "ShuffleNet 1x (g=3): complexity (MFLOPs)", "madds_without_fc")]
    assert t1.computed == 137_460_672 - 960 * 1000 and t1.status == "ok"
    rel = figs[("ShuffleNet V1 official release (megvii-model/ShuffleNet-Series)", "ShuffleNetV1 2.0x g3",
                "params_with_bn")]
    assert rel.computed == 5_449_776 and rel.status == "ok"
    v2 = figs[("ShuffleNet V2 Table 5", "ShuffleNet v2 1x", "madds")]
    assert v2.computed == 145_814_296 and v2.status == "ok"
    assert sum(f.status == "ok" for f in figs.values()) >= 80


def test_data_rows_are_complete():
    for name in ("shufflenet_v1", "shufflenet_v2"):
        for r in figures(name):
            assert r["source"] and r["published"], r
            float(r["published"])  # as printed, a number
            assert not r["explanation"] or r["counted_as"], r  # explanations only on reproduced figures


# ----------------------------------------------------------------------------- CLI
@pytest.mark.parametrize("args,needle", [
    (("table", "shufflenet_v1", "--groups", "5"), "accepted: 1, 2, 3, 4, 8"),
    (("table", "shufflenet_v2", "--alpha", "0.75"), "accepted: 0.5, 1, 1.5, 2"),
    (("table", "shufflenet_v1", "--alpha", "0.01"), "too small"),
    (("table", "shufflenet_v2", "--res", "16"), "too small"),
])
def test_bad_knobs_one_line_exit_2(cli, args, needle):
    r = cli(*args)
    assert r.code == 2 and r.out == "" and r.err.count("\n") == 1 and needle in r.err, r


@pytest.mark.parametrize("args,network", [
    (("shufflenet_v1", "--groups", "8", "--alpha", "0.5"), "shufflenet_v1"),
    (("shufflenet_v2", "--alpha", "1.5"), "shufflenet_v2"),
])
def test_table_json(cli, args, network):
    r = cli("table", *args, "--format", "json")
    assert r.code == 0, r
    d = json.loads(r.out)
    g = build(network, alpha=d["alpha"], **d["knobs"])
    assert d["network"] == network and d["totals"]["madds"] == analyze(g).totals["madds"]
    assert d["totals"]["madds"] == sum(x["madds"] for x in d["layers"])


def test_reproduce_cli(cli):
    for paper in ("shufflenet_v1", "shufflenet_v2"):
        r = cli("reproduce", paper, "--strict")
        assert r.code == 0 and "0 differ without one" in r.out, r
