"""EfficientNet-B0..B7 and EfficientNet-Lite0..4: compound scaling (widths, repeats, resolution)
computed by hand, the SE squeeze rule, the Lite differences, the head readings, the spec round trip,
and every figure of data/efficientnet.csv (published tables, torchvision's metadata, and the exact
counts of torchvision 0.29.1 / timm 1.0.31 confirmed by benchmarks/bench_zoo_reference.py)."""
import json

import pytest
from zoo_figures import check_file, check_row, counted_rows, row_id

from costmodel.analysis import count_totals
from costmodel.errors import KnobError
from costmodel.registry import build, get
from costmodel.sources import load

B = [f"efficientnet_b{i}" for i in range(8)]
LITE = [f"efficientnet_lite{i}" for i in range(5)]


def widths(g):
    """Output channels of the stem, every block's projection and the head conv, in order."""
    return [n.out_shape[0] for n in g.nodes if n.name in ("stem", "head") or n.name.endswith(".project")]


def stage_repeats(g):
    """Blocks per stage (stage1, stage2.0, stage2.1, ...: one block per distinct scope)."""
    parts = [n.scope.split(".") for n in g.nodes if n.scope.startswith("stage")]
    blocks = {p[0] + (f".{p[1]}" if len(p) > 1 and p[1].isdigit() else "") for p in parts}
    return [sum(1 for b in blocks if b.split(".")[0] == f"stage{i}") for i in range(1, 8)]


def test_defaults_are_the_official_coefficients():
    want = {"efficientnet_b0": (1.0, 1.0, 224), "efficientnet_b1": (1.0, 1.1, 240), "efficientnet_b2": (1.1, 1.2, 260),
            "efficientnet_b3": (1.2, 1.4, 300), "efficientnet_b4": (1.4, 1.8, 380), "efficientnet_b5": (1.6, 2.2, 456),
            "efficientnet_b6": (1.8, 2.6, 528), "efficientnet_b7": (2.0, 3.1, 600),
            "efficientnet_lite0": (1.0, 1.0, 224), "efficientnet_lite1": (1.0, 1.1, 240),
            "efficientnet_lite2": (1.1, 1.2, 260), "efficientnet_lite3": (1.2, 1.4, 280),
            "efficientnet_lite4": (1.4, 1.8, 300)}
    for name, (w, d, r) in want.items():
        net = get(name)
        assert (net.default_alpha, net.default_depth, net.default_res) == (w, d, r)
        g = build(name)
        assert (g.meta["alpha"], g.meta["depth"], g.meta["resolution"]) == (w, d, r)


def test_width_and_depth_by_hand():
    # B0: the table (stem 32; 16 24 40 80 112 192 320; head 1280), 1 2 2 3 3 4 1 blocks
    g = build("efficientnet_b0")
    assert stage_repeats(g) == [1, 2, 2, 3, 3, 4, 1]
    assert sorted(set(widths(g))) == [16, 24, 32, 40, 80, 112, 192, 320, 1280]
    # B2 (w 1.1): round_filters = nearest multiple of 8, +8 if < 90%: 35.2 -> 32, 17.6 -> 16, 26.4 -> 24, 44 -> 48,
    # 88, 123.2 -> 120, 211.2 -> 208, 352, 1408; d 1.2: ceil(1.2 n) = 2 3 3 4 4 5 2
    g = build("efficientnet_b2")
    assert stage_repeats(g) == [2, 3, 3, 4, 4, 5, 2]
    assert sorted(set(widths(g))) == [16, 24, 32, 48, 88, 120, 208, 352, 1408]
    # B7 (w 2, d 3.1): every width doubles; ceil(3.1 n) = 4 7 7 10 10 13 4 (55 blocks)
    g = build("efficientnet_b7")
    assert stage_repeats(g) == [4, 7, 7, 10, 10, 13, 4]
    assert sorted(set(widths(g))) == [32, 48, 64, 80, 160, 224, 384, 640, 2560]


def test_b0_with_b2_coefficients_is_b2():
    a = build("efficientnet_b0", alpha=1.1, depth=1.2, res=260)
    b = build("efficientnet_b2")
    assert [(n.name, n.op.kind, n.in_shapes, n.out_shapes) for n in a.nodes] == \
        [(n.name, n.op.kind, n.in_shapes, n.out_shapes) for n in b.nodes]
    assert count_totals(a) == count_totals(b)
    # and compound scaling reaches any point from any entry: B3 at B0's coefficients is B0
    b3_at_b0 = build("efficientnet_b3", alpha=1.0, depth=1.0, res=224)
    assert count_totals(b3_at_b0) == count_totals(build("efficientnet_b0"))


def test_cli_compound_scaling(cli):
    r = cli("table", "efficientnet_b0", "--alpha", "1.1", "--depth-mult", "1.2", "--res", "260", "--format", "json")
    s = cli("table", "efficientnet_b2", "--format", "json")
    assert r.code == 0 and s.code == 0, r.err + s.err
    assert json.loads(r.out)["totals"] == json.loads(s.out)["totals"]


def test_se_squeeze_from_the_block_input():
    # 'r3_k3_s22_e6_i40_o80_se0.25': the first block expands 40 -> 240 and squeezes int(40 x 0.25) = 10; the
    # repeats expand 80 -> 480 and squeeze 20 (MobileNetV3's rule would give make_divisible(60, 8) = 64)
    g = build("efficientnet_b0")
    assert (g.node("stage4.0.se.reduce").out_shape[0], g.node("stage4.0.se.expand").out_shape[0]) == (10, 240)
    assert (g.node("stage4.1.se.reduce").out_shape[0], g.node("stage4.1.se.expand").out_shape[0]) == (20, 480)
    assert g.node("stage4.0.se.reduce.swish").op.fn == "swish"
    assert g.node("stage4.0.se.expand.sigmoid").op.fn == "sigmoid"
    # the first block (e1): no expansion conv, squeeze int(32 x 0.25) = 8 on the 32 stem channels
    assert "stage1.expand" not in {n.name for n in g.nodes}
    assert g.node("stage1.se.reduce").out_shape[0] == 8
    # B7: input 640... the last stage's first block reads 384 channels: squeeze 96
    g = build("efficientnet_b7")
    assert g.node("stage7.0.se.reduce").out_shape[0] == 96


def test_skips_only_where_shapes_allow():
    g = build("efficientnet_b0")
    adds = [n.scope for n in g.nodes if n.op.kind == "add"]
    # stride-1 repeats with in == out: stages 2..6 repeats (1 + 1 + 2 + 2 + 3), none in the first/last single blocks
    assert adds == ["stage2.1", "stage3.1", "stage4.1", "stage4.2", "stage5.1", "stage5.2", "stage6.1", "stage6.2",
                    "stage6.3"]


def test_lite_fixes_stem_head_and_end_stages():
    g = build("efficientnet_lite4")        # w 1.4, d 1.8
    b4 = build("efficientnet_b4")          # w 1.4, d 1.8
    assert stage_repeats(g) == [1, 4, 4, 6, 6, 8, 1]
    assert stage_repeats(b4) == [2, 4, 4, 6, 6, 8, 2]
    convs = [n for n in g.nodes if n.op.kind == "conv2d"]
    assert convs[0].out_shape[0] == 32 and convs[-1].out_shape[0] == 1280            # not multiplied
    assert [n for n in b4.nodes if n.op.kind == "conv2d"][-1].out_shape[0] == 1792   # round_filters(1280 x 1.4)
    assert not any(".se." in n.name for n in g.nodes)
    assert {n.op.fn for n in g.nodes if n.op.kind == "activation"} == {"relu6"}
    # the first block's depthwise conv reads the 32 fixed stem channels and projects to round_filters(16 x 1.4) = 24
    assert g.node("stage1.dw").in_shapes[0][0] == 32 and g.node("stage1.project").out_shape[0] == 24
    # depth still scales the middle stages, never the first and last
    assert stage_repeats(build("efficientnet_lite0", depth=3.0)) == [1, 6, 6, 9, 9, 12, 1]


def test_head_readings_knob():
    # alpha 1.03: round_filters(1280 x 1.03) = 1320 (official) versus 4 x round_filters(320 x 1.03) = 4 x 328
    tpu = build("efficientnet_b0", alpha=1.03)
    tv = build("efficientnet_b0", alpha=1.03, impl="torchvision")
    assert tpu.node("head").out_shape[0] == 1320 and tv.node("head").out_shape[0] == 1312
    # at every published coefficient the two readings are one network
    for name in B:
        net = get(name)
        a = build("efficientnet_b0", alpha=net.default_alpha, depth=net.default_depth)
        b = build("efficientnet_b0", alpha=net.default_alpha, depth=net.default_depth, impl="torchvision")
        assert count_totals(a) == count_totals(b), name
    with pytest.raises(KnobError, match="efficientnet_b3 has no knob 'impl'"):
        build("efficientnet_b3", impl="torchvision")


@pytest.mark.parametrize("name,knobs", [("efficientnet_b3", {"alpha": 0.9, "depth": 1.7, "res": 200}),
                                        ("efficientnet_lite2", {"alpha": 1.25, "depth": 2.5, "res": 192}),
                                        ("efficientnet_b0", {"alpha": 1.03, "depth": 1.3, "impl": "torchvision"})])
def test_show_yaml_round_trip(cli, tmp_path, name, knobs):
    args = ["show", name, "--format", "yaml", "--alpha", str(knobs["alpha"]), "--depth-mult", str(knobs["depth"])]
    if "impl" in knobs:
        args += ["--set", f"impl={knobs['impl']}"]
    if "res" in knobs:
        args += ["--res", str(knobs["res"])]
    r = cli(*args)
    assert r.code == 0, r.err
    path = tmp_path / "net.yaml"
    path.write_text(r.out)
    assert count_totals(load(str(path))) == count_totals(build(name, **knobs))


def test_figures_file_shape():
    check_file("efficientnet")


@pytest.mark.parametrize("row", counted_rows("efficientnet"), ids=row_id)
def test_figures(row):
    check_row(row)


# ----------------------------------------------------------------------------- ir's SE squeeze (issue 15)
def squeezes(g):
    return [n.out_shape[0] for n in g.nodes if n.name.endswith("se.reduce")]


def test_ir_se_squeeze_forms(tmp_path):
    # a ratio is rounded: make_divisible(0.25 x 72, 8) = 24 (18 -> 16 would lose more than 10%), as MobileNetV3
    assert squeezes(load("@res16 conv_c16 ir_x72_c24_se0.25")) == [24]
    # an absolute width is taken as written (scaled by alpha like c: the default policy halves it at 0.5)
    g = load("@res16 conv_c16 ir_x72_c24_se-c=16")
    assert squeezes(g) == [16]
    reduce, expand = g.node("ir1.se.reduce"), g.node("ir1.se.expand")
    assert (reduce.op.params(reduce.in_shapes), expand.op.params(expand.in_shapes)) == (72 * 16 + 16, 16 * 72 + 72)
    assert squeezes(load("@res16 conv_c16 ir_x72_c24_se-c=16", alpha=0.5)) == [8]
    # truncation instead of rounding, and the block's input as the base (EfficientNet: int(16 x 0.25) = 4)
    assert squeezes(load("@res16 conv_c16 ir_x72_c24_se0.25_se-round=0")) == [18]
    assert squeezes(load("@res16 conv_c16 ir_e6_c24_se0.25_se-base=input_se-round=0")) == [4]
    assert squeezes(load("@res16 conv_c16 ir_x72_c24_se0.25_se-round=4")) == [20]
    # the same in a spec file
    path = tmp_path / "se.yaml"
    path.write_text("blocks:\n  - {type: conv, c: 16}\n  - {type: ir, exp: 72, c: 24, se_c: 16}\n")
    assert squeezes(load(str(path), res=16)) == [16]


@pytest.mark.parametrize("text,message", [
    ("ir_x72_c24_se0.25_se-c=16", "a ratio (se 0.25) or a width (se_c 16), not both"),
    ("ir_x72_c24_se0.25_se-base=output", "se_base must be one of expansion, input"),
    ("ir_x72_c24_se0.25_se-round=-1", "se_round must be a divisor >= 1, or 0"),
])
def test_ir_se_errors(text, message):
    from costmodel.errors import SpecError
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load(f"@res16 conv_c16 {text}")
