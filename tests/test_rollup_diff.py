"""Roll-ups (``costmodel table --rollup N``: stages, blocks, their parts) with shares, and
``costmodel diff A B`` (issue 15): sums equal the totals, stages read like the paper's table,
blocks are matched across two builds, added and removed blocks are shown, every format."""
import csv
import io
import json

import pytest

import costmodel
from costmodel.diff import diff
from costmodel.rollup import rollup


@pytest.fixture(autouse=True)
def _no_columns(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)


# ----------------------------------------------------------------------------- roll-ups
def test_mobilenet_v2_stages_are_the_rows_of_table_2():
    g = costmodel.build("mobilenet_v2")
    r = costmodel.analyze(g)
    stages = rollup(g, r.rows, 1)
    # Table 2: conv2d, then bottleneck rows with n = 1, 2, 3, 4, 3, 3, 1, then conv2d 1x1, avgpool, (dropout), conv2d
    assert [(s["name"], s["type"]) for s in stages] == [
        ("conv0", "conv"), ("ir1", "ir"), ("ir2..ir3", "ir x2"), ("ir4..ir6", "ir x3"), ("ir7..ir10", "ir x4"),
        ("ir11..ir13", "ir x3"), ("ir14..ir16", "ir x3"), ("ir17", "ir"), ("conv18", "conv"), ("gap19", "gap"),
        ("dropout20", "dropout"), ("fc21", "fc")]
    s = stages[2]   # t=6, c=24, n=2, s=2 at 112x112x16
    assert s["input_shape"] == [16, 112, 112] and s["output_shape"] == [24, 56, 56] and s["layers"] == 17
    # by hand: ir2 = 16->96 (1x1), dw 3x3/2, 96->24; ir3 = 24->144, dw 3x3, 144->24 (BN folded: no biases)
    assert s["params"] == (16 * 96 + 9 * 96 + 96 * 24) + (24 * 144 + 9 * 144 + 144 * 24) == 12_912
    assert s["madds"] == 112 * 112 * 16 * 96 + 56 * 56 * (9 * 96 + 96 * 24) + 56 * 56 * (24 * 144 + 9 * 144
                                                                                           + 144 * 24)
    for level in (1, 2, 3, 4):
        rows = rollup(g, r.rows, level)
        for k in ("params", "madds", "flops", "mac", "weight_bytes"):
            assert sum(x[k] for x in rows) == r.totals[k], (level, k)
        assert sum(x["layers"] for x in rows) == len(g.nodes)
        assert sum(x["madds_pct"] for x in rows) == pytest.approx(100.0)
    assert [x["name"] for x in rollup(g, r.rows, 2)][:4] == ["conv0", "ir1", "ir2", "ir3"]
    assert len(rollup(g, r.rows, 3)) == len(g.nodes)   # beyond the blocks: the layers


@pytest.mark.parametrize("net,level,names", [
    ("shufflenet_v2", 1, ["conv1", "maxpool", "stage2", "stage3", "stage4", "conv5", "pool", "fc"]),  # unit rows
    ("resnet50", 1, ["conv1", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "fc"]),
    ("efficientnet_b1", 2, ["stem", "stage1.0", "stage1.1", "stage2.0"]),
    ("mobilenet_v3_small", 3, ["conv0", "conv0.bn", "conv0.hswish", "ir1.dw", "ir1.dw.bn", "ir1.dw.relu", "ir1.se"]),
])
def test_stage_and_block_names(net, level, names):
    g = costmodel.build(net)
    got = [x["name"] for x in rollup(g, costmodel.analyze(g).rows, level)]
    assert got[:len(names)] == names


def test_imported_models_roll_up_by_module_path():
    from costmodel.graph import GraphBuilder
    from costmodel.ops import Activation
    b = GraphBuilder("m", (3, 8, 8))
    x = b.conv("input", 4, 3, name="features.0.conv", act="relu")
    x = b.conv(x, 4, 1, name="features.1.conv")
    b.add(Activation("relu"), x, "head.relu")
    g = b.build()   # no spec rows (blocks empty): the dotted names are the tree
    rows = costmodel.analyze(g).rows
    assert [x["name"] for x in rollup(g, rows, 1)] == ["features", "head"]
    assert [x["name"] for x in rollup(g, rows, 2)] == ["features.0", "features.1", "head.relu"]


def test_table_rollup_cli_formats(cli):
    r = cli("table", "mobilenet_v2", "--rollup", "1")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    row = next(x for x in lines if x.startswith("ir2..ir3 "))
    assert "ir x2" in row and "12.91 K" in row and "18.3" in row   # 54.94 M of 300.77 M Mult-Adds
    assert "rolled up: level 1, 12 groups of 153 layers" in " ".join(r.out.split())
    rows = list(csv.DictReader(io.StringIO(cli("table", "mobilenet_v2", "--rollup", "1", "-f", "csv").out)))
    assert [x["block"] for x in rows][:3] == ["conv0", "ir1", "ir2..ir3"] and rows[2]["params"] == "12912"
    assert rows[-1]["block"] == "total" and rows[-1]["params"] == "3470760"
    d = json.loads(cli("table", "mobilenet_v2", "--rollup", "2", "-f", "json").out)
    assert d["rollup"]["level"] == 2 and len(d["layers"]) == 153          # the contract: layers kept, rollup added
    assert sum(x["madds"] for x in d["rollup"]["blocks"]) == d["totals"]["madds"]
    dev = json.loads(cli("table", "mobilenet_v2", "--rollup", "1", "--device", "gtx1080ti", "-f", "json").out)
    assert sum(x["time_s"] for x in dev["rollup"]["blocks"]) == pytest.approx(dev["roofline"]["time_s"])
    bad = cli("table", "mobilenet_v2", "--rollup", "0")
    assert bad.code == 2 and bad.err.count("\n") == 1


def test_depth_n_is_the_rollup_and_depth_mult_the_multiplier(cli):
    """Issue 15 names the roll-up `--depth N` (torchinfo's word): the same table as --rollup N; the
    depth multiplier is --depth-mult (EfficientNet-B0's repeats 1,2,2,3,3,4,1 become ceil(1.2 n) =
    2,3,3,4,4,5,2 at 1.2: one more block in each of the 7 stages)."""
    help_text = cli("table", "--help").out
    assert "--rollup N" in help_text and "The depth multiplier is --depth-mult" in " ".join(help_text.split())
    for cmd in (["table", "mobilenet_v2"], ["diff", "mobilenet_v2", "mobilenet_v2 --alpha 0.75"]):
        by_depth = cli(*cmd, "--depth", "1", "-f", "csv").out
        assert by_depth == cli(*cmd, "--rollup", "1", "-f", "csv").out and by_depth.count("\n") < 16
    old_habit = cli("table", "efficientnet_b0", "--depth", "1.2")     # the multiplier's name before issue 15
    assert old_habit.code == 2 and "the depth multiplier is --depth-mult 1.2" in old_habit.err
    assert old_habit.err.count("\n") == 1
    one = json.loads(cli("table", "efficientnet_b0", "--depth", "2", "-f", "json").out)
    deeper = json.loads(cli("table", "efficientnet_b0", "--depth-mult", "1.2", "--depth", "2", "-f", "json").out)
    assert (one["depth"], deeper["depth"]) == (1.0, 1.2)
    assert len(deeper["rollup"]["blocks"]) == len(one["rollup"]["blocks"]) + 7


def test_layer_table_has_shares(cli):
    md = cli("table", "mobilenet_v1", "-f", "markdown").out
    head = next(x for x in md.splitlines() if x.startswith("| layer"))
    assert "params %" in head and "Mult-Adds %" in head


# ----------------------------------------------------------------------------- diff
def test_diff_of_two_widths_is_the_difference_of_the_totals():
    a, b = costmodel.build("mobilenet_v2"), costmodel.build("mobilenet_v2", alpha=0.75)
    d = diff(a, b, level=2)
    ta, tb = costmodel.analyze(a).totals, costmodel.analyze(b).totals
    assert d["total"]["delta"]["params"] == tb["params"] - ta["params"] == 2_609_784 - 3_470_760
    assert d["total"]["ratio"]["madds"] == tb["madds"] / ta["madds"]
    assert d["total"]["a"]["peak_bytes"] == ta["peak_activation_bytes"]
    assert sum(x["delta"]["madds"] for x in d["blocks"]) == tb["madds"] - ta["madds"]
    assert all(x["status"] in ("same", "changed") for x in d["blocks"])
    fc = next(x for x in d["blocks"] if x["name"] == "fc21")   # 1280 -> 1000 at every alpha <= 1
    assert fc["status"] == "same" and fc["ratio"]["params"] == 1.0
    conv0 = d["blocks"][0]   # 32 -> 24 channels: 864 -> 648 weights
    assert (conv0["a"]["params"], conv0["b"]["params"], conv0["delta"]["params"]) == (864, 648, -216)
    # peak per block: the most live while the block runs; the network's peak is in ir2 (112x112x96 + 56x56x96)
    assert max(x["a"]["peak_bytes"] or 0 for x in d["blocks"]) == ta["peak_activation_bytes"]


def test_diff_added_and_removed_blocks_keep_their_place():
    d = diff(costmodel.build("efficientnet_b0"), costmodel.build("efficientnet_b0", depth=1.2), level=2)
    status = {x["name"]: x["status"] for x in d["blocks"]}
    assert status["stage1 / stage1.0"] == "same" and status["stage1.1"] == "added"   # n = 1 -> ceil(1.2) = 2
    names = [x["name"] for x in d["blocks"]]
    assert names.index("stage2.2") == names.index("stage2.1") + 1
    added = next(x for x in d["blocks"] if x["name"] == "stage1.1")
    assert added["a"]["params"] is None and added["delta"]["params"] == added["b"]["params"] > 0
    assert added["ratio"]["params"] is None
    back = diff(costmodel.build("efficientnet_b0", depth=1.2), costmodel.build("efficientnet_b0"), level=2)
    assert {x["name"]: x["status"] for x in back["blocks"]}["stage1.1"] == "removed"
    stages = diff(costmodel.build("efficientnet_b0"), costmodel.build("efficientnet_b0", depth=1.2), level=1)
    assert all(x["status"] != "added" for x in stages["blocks"])   # stages match by their row


def test_diff_cli_syntax_and_formats(cli):
    r = cli("diff", "mobilenet_v2", "mobilenet_v2 --alpha 0.75", "--res", "160")
    assert r.code == 0, r.err
    text = " ".join(r.out.split())
    assert "A: mobilenet_v2 alpha=1 resolution=160" in text and "B: mobilenet_v2 alpha=0.75 resolution=160" in text
    assert "params 3.47 M -> 2.61 M (x0.752)" in text
    d = json.loads(cli("diff", "mobilenet_v2", "mobilenet_v2 --alpha 0.75", "-f", "json").out)
    assert {"a", "b", "rollup", "quantities", "blocks", "total"} <= set(d) and d["rollup"] == 2
    assert d["b"]["config"]["alpha"] == 0.75 and d["a"]["source"] == "mobilenet_v2"
    rows = list(csv.DictReader(io.StringIO(cli("diff", "mobilenet_v2", "mobilenet_v2 --alpha 0.75",
                                               "-f", "csv").out)))
    assert rows[0]["block"] == "conv0" and rows[0]["params B-A"] == "-216" and rows[0]["params B/A"] == "0.75"
    assert rows[-1]["block"] == "total" and rows[-1]["params B-A"] == str(2_609_784 - 3_470_760)
    md = cli("diff", "mobilenet_v2", "mobilenet_v2 --alpha 0.75", "-f", "markdown").out
    assert "| params B-A |" in md and "| -216 |" in md
    t = json.loads(cli("diff", "mobilenet_v2", "mobilenet_v3_small", "--rollup", "1", "--device", "pixel1-kryo-1t",
                       "-f", "json").out)
    assert "time_s" in t["quantities"] and t["device"]["name"] == "pixel1-kryo-1t"


@pytest.mark.parametrize("args,needle", [
    (["mobilenet_v2", "mobilenet_v2 --alpha x"], "B ('mobilenet_v2 --alpha x'): Invalid value for '--alpha'"),
    (["mobilenet_v2", "nonet"], "B ('nonet'): unknown network 'nonet'"),
    (["mobilenet_v2", "mobilenet_v2 --bogus 1"], "No such option '--bogus'"),
    (["mobilenet_v2", "mobilenet_v2", "--rollup", "0"], "--rollup"),
])
def test_diff_bad_input_is_one_line(cli, args, needle):
    r = cli("diff", *args)
    assert r.code == 2 and r.err.count("\n") == 1 and needle in r.err and r.out == "", r.err
