"""MnasNet-A1, -B1 and -small from the official block strings: the decoder, the structure by
hand, the two readings of torchvision's MNASNet, the spec round trip, and every figure of
data/mnasnet.csv (paper, README alpha x rho table, torchvision's metadata, and the exact counts of
torchvision 0.29.1 / timm 1.0.31 confirmed by benchmarks/bench_zoo_reference.py)."""
import pytest
from zoo_figures import check_file, check_row, counted_rows, row_id

from costmodel.analysis import count_totals
from costmodel.errors import KnobError, SpecError
from costmodel.registry import build
from costmodel.sources import load
from costmodel.zoo.mnasnet import MNASNET_A1, MNASNET_B1, MNASNET_SMALL, parse_block_string


def test_decoder():
    assert parse_block_string("r3_k5_s22_e3_i24_o40_se0.25") == {
        "repeat": 3, "k": 5, "e": 3, "i": 24, "o": 40, "s": (2, 2), "se": 0.25, "skip": True}
    b = parse_block_string("r1_k3_s11_e1_i32_o16_noskip")
    assert b["se"] is None and not b["skip"] and b["s"] == (1, 1)
    assert len(MNASNET_A1) == len(MNASNET_B1) == len(MNASNET_SMALL) == 7


@pytest.mark.parametrize("text,message", [
    ("r1_k3_s1_e1_i16_o16", "pair of stride digits"),
    ("r1_k3_s11_e1_i16", "missing option(s) o"),
    ("r1_k3_s11_e1_i16_o16_a1", "option 7 'a1'"),
    ("r1_k3_s11_e1_i16_o16_se1.5", "se1.5 must be a number in (0, 1]"),
    ("r1_k3_s11_e1_i16_o16_sex", "option 7 'sex'"),
    ("r0_k3_s11_e1_i16_o16", "r0 must be a positive integer"),
    ("r1_k3_s11_e1_i16_o16_noskip2", "noskip takes no value"),
    ("r1_k3_s11_e1_i16_i24_o16", "given twice"),
    ("", "non-empty"),
])
def test_decoder_errors(text, message):
    with pytest.raises(SpecError) as e:
        parse_block_string(text)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_strings_must_chain():
    from costmodel.zoo.mnasnet import build_spec
    with pytest.raises(SpecError, match="reads i24 but the previous output is 16"):
        build_spec("bad", ("r1_k3_s11_e1_i32_o16", "r1_k3_s11_e6_i24_o24"), 32, 0.2)


def test_a1_by_hand():
    g = build("mnasnet_a1")
    # stem 32 -> SepConv 16 (no skip) -> 24 40 80 112 160 320 -> 1280 head, ReLU throughout
    assert [g.node(n).out_shape[0] for n in ("stem", "stage1.project", "stage2.1.project", "stage3.2.project",
                                             "stage4.3.project", "stage5.1.project", "stage6.2.project",
                                             "stage7.project", "head")] == [32, 16, 24, 40, 80, 112, 160, 320, 1280]
    assert {n.op.fn for n in g.nodes if n.op.kind == "activation"} == {"relu", "sigmoid"}
    # 'r3_k5_s22_e3_i24_o40_se0.25': expansion 72, SE squeeze int(24 x 0.25) = 6; repeats: 120, int(40 x .25) = 10
    assert [g.node(n).out_shape[0] for n in ("stage3.0.expand", "stage3.0.se.reduce", "stage3.1.expand",
                                             "stage3.1.se.reduce")] == [72, 6, 120, 10]
    assert g.node("stage3.0.dw").op.kernel == (5, 5) and g.node("stage3.0.se.reduce.relu").op.fn == "relu"
    # SE only where the strings say so (stages 3, 5, 6)
    assert {n.scope.split(".")[0] for n in g.nodes if ".se." in n.name} == {"stage3", "stage5", "stage6"}
    # skips: stride-1 repeats with i == o (1 + 2 + 3 + 1 + 2), not the noskip SepConv
    assert len([n for n in g.nodes if n.op.kind == "add"]) == 9


def test_width_multiplier_rounding():
    # alpha 0.35: round_filters = make_divisible(c x 0.35, 8): 32 -> 16 (11.2), 16 -> 8, 24 -> 8, 40 -> 16 (14),
    # 80 -> 32 (28), 112 -> 40 (39.2), 160 -> 56, 320 -> 112; the 1280 head is never multiplied
    g = build("mnasnet_a1", alpha=0.35)
    assert [g.node(n).out_shape[0] for n in ("stem", "stage1.project", "stage2.1.project", "stage3.2.project",
                                             "stage4.3.project", "stage5.1.project", "stage6.2.project",
                                             "stage7.project", "head")] == [16, 8, 8, 16, 32, 40, 56, 112, 1280]


def test_small_first_block_follows_the_official_code():
    g = build("mnasnet_small")
    # stem 8; 'r1_k3_s11_e1_i16_o8': no expansion, depthwise on the 8 stem channels, project to 8, and no skip
    # (the official skip test compares round_filters(16) with round_filters(8)) ...
    assert g.node("stem").out_shape[0] == 8 and g.node("stage1.dw").in_shapes[0][0] == 8
    assert "stage1.expand" not in {n.name for n in g.nodes}
    assert not [n for n in g.nodes if n.op.kind == "add" and n.scope == "stage1"]
    # ... until both round to 8: alpha 0.55 (16 x 0.55 = 8.8 -> 8), not 0.56 (8.96 -> 8 < 90%: 16)
    assert [n.name for n in build("mnasnet_small", alpha=0.55).nodes if n.scope == "stage1"][-1] == "stage1.add"
    assert [n.name for n in build("mnasnet_small", alpha=0.56).nodes if n.scope == "stage1"][-1] == "stage1.project.bn"
    assert g.node("head").out_shape[0] == 1280 and not [n for n in g.nodes if n.op.kind == "dropout"]
    assert g.node("stage7.project").out_shape[0] == 144


def test_b1_readings():
    # torchvision's version 1 checkpoints keep the stem at 32 and the first block at 16 for every alpha
    v2 = build("mnasnet_b1", alpha=0.5)
    v1 = build("mnasnet_b1", alpha=0.5, impl="torchvision_v1")
    assert (v2.node("stem").out_shape[0], v2.node("stage1.project").out_shape[0]) == (16, 8)
    assert (v1.node("stem").out_shape[0], v1.node("stage1.project").out_shape[0]) == (32, 16)
    assert count_totals(build("mnasnet_b1", impl="torchvision_v1")) == count_totals(build("mnasnet_b1"))
    assert not any(".se." in n.name for n in v2.nodes)
    with pytest.raises(KnobError, match="mnasnet_a1 has no knob 'impl'"):
        build("mnasnet_a1", impl="torchvision_v1")


def test_no_depth_multiplier():
    with pytest.raises(KnobError, match="no depth multiplier"):
        build("mnasnet_a1", depth=1.2)


@pytest.mark.parametrize("name,args,kw", [("mnasnet_a1", ["--alpha", "0.75", "--res", "192"],
                                           {"alpha": 0.75, "res": 192}),
                                          ("mnasnet_b1", ["--alpha", "0.5", "--set", "impl=torchvision_v1"],
                                           {"alpha": 0.5, "impl": "torchvision_v1"}),
                                          ("mnasnet_small", ["--alpha", "1.4"], {"alpha": 1.4})])
def test_show_yaml_round_trip(cli, tmp_path, name, args, kw):
    r = cli("show", name, "--format", "yaml", *args)
    assert r.code == 0, r.err
    path = tmp_path / "net.yaml"
    path.write_text(r.out)
    assert count_totals(load(str(path))) == count_totals(build(name, **kw))


def test_figures_file_shape():
    check_file("mnasnet")


@pytest.mark.parametrize("row", counted_rows("mnasnet"), ids=row_id)
def test_figures(row):
    check_row(row)
