"""GhostNet: the ghost module and bottleneck counted by hand, widths at 0.5x / 1.0x / 1.3x, odd
widths (the module's cut), spec files, the round trip, and every figure of data/ghostnet.csv
(paper Table 7, the official README, and the exact counts of timm 1.0.31 confirmed by
benchmarks/bench_zoo_reference.py)."""
import pytest
from zoo_figures import check_file, check_row, counted_rows, row_id

from costmodel.analysis import count_totals
from costmodel.errors import SpecError
from costmodel.executor import execute
from costmodel.registry import build
from costmodel.sources import load

ONE_BLOCK = "@res32 @width=divisible4 conv_c16_k3_s1_relu ghost_x48_c24_k3_s2"


def test_ghost_bottleneck_by_hand():
    # 16 channels at 32x32 -> ghost bottleneck exp 48, out 24, k3, stride 2 (GhostNet's second row)
    g = load(ONE_BLOCK)
    rows = {n.name: n for n in g.nodes}
    # ghost1: primary 1x1 16 -> 24 (ceil(48 / 2)) at 32x32: 16*24 = 384 weights, 384*1024 MACs;
    #         cheap depthwise 3x3 on 24 -> 24: 216 weights, 216*1024 MACs
    assert rows["ghost1.ghost1.primary"].out_shape == (24, 32, 32)
    assert rows["ghost1.ghost1.cheap"].op.groups == 24 and rows["ghost1.ghost1.concat"].out_shape == (48, 32, 32)
    # stride 2: depthwise 3x3/2 + BN, no activation, then ghost2: primary 48 -> 12, cheap 12 -> 12 at 16x16
    assert rows["ghost1.dw"].out_shape == (48, 16, 16) and "ghost1.dw.relu" not in rows
    assert rows["ghost1.ghost2.primary"].out_shape == (12, 16, 16) and "ghost1.ghost2.primary.relu" not in rows
    # shortcut: depthwise 3x3/2 on 16 + BN, 1x1 16 -> 24 + BN
    assert rows["ghost1.shortcut.dw"].out_shape == (16, 16, 16) and rows["ghost1.shortcut.pw"].out_shape[0] == 24
    t = count_totals(g)
    stem = 3 * 9 * 16
    params = stem + 16 * 24 + 9 * 24 + 9 * 48 + 48 * 12 + 9 * 12 + 9 * 16 + 16 * 24
    assert t["params"] == params
    madds = (stem + 16 * 24 + 9 * 24) * 32 * 32 + (9 * 48 + 48 * 12 + 9 * 12 + 9 * 16 + 16 * 24) * 16 * 16
    assert t["madds"] == madds


def test_stride_one_bottleneck_has_no_depthwise_conv_and_an_identity():
    g = build("ghostnet")
    names = {n.name for n in g.nodes}
    # row 3 (k3, exp 72, out 24, s1): 24 -> 24, identity shortcut, no depthwise between the ghost modules
    assert "ghost3.dw" not in names and "ghost3.shortcut.dw" not in names
    assert g.node("ghost3.add").inputs[1] == "ghost2.add"
    # row 10 (exp 480, out 112, SE): stride 1 but 80 -> 112 needs the conv shortcut; SE squeeze
    # make_divisible(480 x 0.25, 4) = 120, hard-sigmoid gate
    assert "ghost10.shortcut.pw" in names and g.node("ghost10.se.reduce").out_shape[0] == 120
    assert g.node("ghost10.se.expand.hsigmoid").op.fn == "hsigmoid"


def test_head_and_widths():
    g = build("ghostnet")
    convs = [n for n in g.nodes if n.op.kind == "conv2d"]
    assert convs[0].out_shape[0] == 16
    # conv 1x1 960 + BN + ReLU, global pool, then the 1280 conv with bias, no BN, after the pool
    last, head = convs[-2], convs[-1]
    assert last.out_shape == (960, 7, 7) and head.out_shape == (1280, 1, 1) and head.op.bias
    assert g.nodes[g.nodes.index(head) + 1].op.kind == "activation"
    # 0.5x: make_divisible(c x 0.5, 4): 16 -> 8, 960 -> 480, 1280 kept; 1.3x: 16 -> 20, 24 -> 32 (31.2), 960 -> 1248
    for alpha, stem, second, last_w in ((0.5, 8, 12, 480), (1.3, 20, 32, 1248)):
        g = build("ghostnet", alpha=alpha)
        convs = [n for n in g.nodes if n.op.kind == "conv2d"]
        assert (convs[0].out_shape[0], g.node("ghost2.add").out_shape[0], convs[-2].out_shape[0],
                convs[-1].out_shape[0]) == (stem, second, last_w, 1280)


def test_odd_widths_are_cut():
    # ghost module to 9 channels: primary to ceil(9 / 2) = 5, cheap 5 -> 5, concat 10, the first 9 kept
    g = load("@res16 conv_c8_k3_s1 ghost_x12_c9_s1 gap fc_c3")
    assert g.node("ghost1.ghost2.slice").op.sizes == (9, 1)
    assert g.node("ghost1.add").out_shape == (9, 16, 16)
    y = execute(g)   # the executor runs it and checks shapes and MACs node by node
    assert y.shape == (1, 3)
    # ratio 3: primary to ceil(12 / 3) = 4, cheap depthwise with channel multiplier 2 -> 8
    g = load("@res16 conv_c8_k3_s1 ghost_x12_c8_s1_ratio=3 gap fc_c3")
    assert g.node("ghost1.ghost1.cheap").out_shape[0] == 8 and g.node("ghost1.ghost1.cheap").op.groups == 4
    with pytest.raises(SpecError, match="ratio must be an integer >= 2"):
        load("@res16 conv_c8_k3_s1 ghost_x12_c8_s1_ratio=1 gap fc_c3")
    with pytest.raises(SpecError, match="ghost: se \\(SE ratio\\) must be a ratio from 0 to 1, got 2"):
        load("@res16 conv_c8_k3_s1 ghost_x12_c8_s1_se2 gap fc_c3")


@pytest.mark.parametrize("alpha", [0.5, 1.3, 0.7])
def test_show_yaml_round_trip(cli, tmp_path, alpha):
    r = cli("show", "ghostnet", "--format", "yaml", "--alpha", alpha)
    assert r.code == 0, r.err
    path = tmp_path / "net.yaml"
    path.write_text(r.out)
    assert "width: divisible4" in r.out
    assert count_totals(load(str(path))) == count_totals(build("ghostnet", alpha=alpha))


def test_figures_file_shape():
    check_file("ghostnet")


@pytest.mark.parametrize("row", counted_rows("ghostnet"), ids=row_id)
def test_figures(row):
    check_row(row)
