"""Patch-based inference (MCUNetV2) on a hand-counted three-layer net and on MobileNetV2; per-layer
precision and weight bytes (Flash) by hand (docs/memory.md)."""
import json

import pytest

import costmodel
from costmodel import memory as M
from costmodel.graph import GraphBuilder
from costmodel.memory_patches import cuts, parse_grid, patch_schedule, regions
from costmodel.precision import layer_weight_bytes, resolve, weight_bytes, with_precision


def three_layers():
    """3x16x16 -> conv1 3x3/1 (8) -> conv2 3x3/2 (8, 8x8) -> conv3 3x3/1 (4, 8x8) -> gap -> fc 10."""
    from costmodel.ops import Flatten, GlobalAvgPool, Linear
    g = GraphBuilder("three", (3, 16, 16))
    a = g.conv("input", 8, 3, bn=False, name="conv1")
    b = g.conv(a, 8, 3, 2, bn=False, name="conv2")
    c = g.conv(b, 4, 3, bn=False, name="conv3")
    p = g.add(GlobalAvgPool(), c, "gap")
    f = g.add(Flatten(), p, "flat")
    g.add(Linear(10), f, "fc")
    return g.build()


def test_two_by_two_patches_by_hand():
    """Output patches of conv3 (8x8): rows 0-3 and 4-7. Backwards (3x3 windows, padding 1):
    conv3 needs conv2 rows 0-4 / 3-7 (2 rows computed twice), conv2 (stride 2) needs conv1 rows
    0-9 / 5-15 (5 rows twice), conv1 needs input rows 0-10 / 4-15 (the clipped rows are the zero
    padding). Columns alike."""
    g = three_layers()
    p = M.plan(g)
    assert [p.units[k].name for k in cuts(p)] == ["conv1", "conv2", "conv3"]
    need = regions(p, 2, ((0, 4), (4, 8)))
    names = {p.buffers[b].name: r for b, r in need.items()}
    assert names == {"conv3": ((0, 4), (4, 8)), "conv2": ((0, 5), (3, 8)), "conv1": ((0, 10), (5, 16)),
                     "input": ((0, 11), (4, 16))}
    r = patch_schedule(g, "2x2", "conv3", bits=8)
    # overhead: conv1 computes 10x10 + 10x11 + 11x10 + 11x11 = 441 pixels of 256 (216 Mult-Adds each),
    # conv2 4 x 5x5 = 100 of 64 (576 each), conv3 exactly its 64
    assert r["overhead_madds"] == (441 - 256) * 216 + (100 - 64) * 576 == 60_696
    assert r["base_madds"] == 256 * 216 + 64 * 576 + 64 * 288 + 40 and r["madds"] == r["base_madds"] + 60_696
    assert [x["input_region"] for x in r["patches"]] == [[[0, 11], [0, 11]], [[0, 11], [4, 16]],
                                                         [[4, 16], [0, 11]], [[4, 16], [4, 16]]]
    # memory: the whole conv3 output (4x8x8 = 256) + the worst patch, (1,1): input 3x12x12 = 432 and
    # conv1's 8x11x11 = 968 live during conv1; per layer conv1 holds 768 + 2048
    per_patch, later = r["stages"]
    assert per_patch["peak_bytes"] == 256 + 432 + 968 == r["peak_bytes"] == 1656
    assert per_patch["peak_at"] == "patch (1,1) conv1" and per_patch["output_bytes"] == 256
    assert later["peak_bytes"] == 256 + 4 and M.peak_bytes(g, 8) == 768 + 2048
    assert [x["peak_bytes"] for x in r["patches"]] == [256 + 363 + 800, 256 + 396 + 880, 256 + 396 + 880, 1656]
    assert sum(x["bytes"] for x in r["live_at_peak"]) == 1656


def test_mobilenet_v2_patches_reproduce_mcunetv2():
    """MCUNetV2 Table 1 (UNCONFIRMED, data/mcunet.csv): MobileNetV2 int8 per-patch 4x4 172 kB with
    in-place depthwise; the stage ends at ir4 (75x75 input patches), the rest peaks at ir5.expand."""
    g = costmodel.build("mobilenet_v2")
    r = patch_schedule(g, "4x4", "ir4.project", bits=8, inplace="dw,fused-add")
    assert r["peak_bytes"] == 175_616 == 32 * 28 * 28 + 192 * 28 * 28 and r["peak_at"] == "ir5.expand"
    assert r["stages"][0]["peak_bytes"] == 162_288 and r["split_shape"] == [32, 28, 28]
    assert r["patches"][5]["input_region"] == [[43, 118], [43, 118]]           # 75 x 75
    assert r["overhead_madds"] == 27_919_344 and r["base_madds"] == 300_774_272
    auto = patch_schedule(g, "4x4", "auto", bits=8, inplace="dw,fused-add")  # 10% budget by default
    assert auto["split"] == "ir4.project" and auto["max_overhead"] == 0.1
    assert min(c["peak_bytes"] for c in auto["candidates"] if c["overhead"] <= 0.1) == 175_616
    # a 1% budget allows only the splits before ir2.dw: the best of them keeps ir2's expansion whole
    assert min(c["peak_bytes"] for c in auto["candidates"] if c["overhead"] <= 0.01) == 1_244_187


def test_patch_cli_json(cli):
    r = cli("memory", "mobilenet_v2", "--bits", "8", "--inplace", "dw,fused-add", "--patches", "4x4",
            "--patch-until", "ir4.project", "-f", "json")
    assert r.code == 0, r.err
    d = json.loads(r.out)
    assert d["peak_bytes"] == 175_616 and d["per_layer_peak_bytes"] == 1_404_928
    assert {"grid", "split", "overhead_madds", "stages"} <= set(d["patch"]) and d["patch"]["grid"] == "4x4"
    assert d["patch"]["split"] == "ir4.project" and max(t["live_bytes"] for t in d["timeline"]) == 175_616
    text = cli("memory", "mobilenet_v2", "--bits", "8", "--inplace", "dw,fused-add", "--patches", "4x4").out
    assert "patch-based: 4x4 patches up to ir4.project" in text and "per-patch stage" in text


def test_patch_input_errors():
    g = costmodel.build("mobilenet_v2")
    assert parse_grid("4") == (4, 4) == parse_grid("4x4") and parse_grid("2x3") == (2, 3)
    with pytest.raises(costmodel.CostModelError, match="sequential or optimal"):
        patch_schedule(g, "4x4", schedule_name="streamed")
    se = costmodel.build("mobilenet_v3_large")     # squeeze-excite needs the whole map: no split after it
    p = M.plan(se)
    assert all(not p.units[k].name.startswith(("b4", "b5")) for k in cuts(p))


# ----------------------------------------------------------------------------- precision and weights
def small_net():
    """3x8x8 -> conv 3x3 3->8 + BN + ReLU -> dw 3x3 + BN -> gap -> fc 10 (with bias)."""
    from costmodel.ops import Flatten, GlobalAvgPool, Linear
    g = GraphBuilder("small", (3, 8, 8))
    a = g.conv("input", 8, 3, act="relu", name="c")
    d = g.dwconv(a, 3, name="dw")
    f = g.add(Flatten(), g.add(GlobalAvgPool(), d, "gap"), "flat")
    g.add(Linear(10), f, "fc")
    return g.build()


def test_weight_bytes_by_hand():
    g = small_net()
    # conv: 216 weights + 8 biases (the folded BN shift); dw: 72 + 8; fc: 80 + 10; BN layers store nothing
    for bits, expect in ((32, {"c": 224 * 4, "dw": 80 * 4, "fc": 90 * 4}),
                         (16, {"c": 224 * 2, "dw": 80 * 2, "fc": 90 * 2}),
                         (8, {"c": 216 + 8 * 4, "dw": 72 + 8 * 4, "fc": 80 + 10 * 4}),
                         (4, {"c": 108 + 8 * 4, "dw": 36 + 8 * 4, "fc": 40 + 10 * 4})):
        wb = layer_weight_bytes(g, bits)
        assert {k: v for k, v in wb.items() if v} == expect and wb["c.bn"] == 0
        assert weight_bytes(g, bits) == sum(expect.values())
    t = costmodel.analyze(g, weight_bits=8).totals
    assert t["weight_bytes"] == 248 + 104 + 120 and t["params_bytes"] == 4 * t["params"]
    with pytest.raises(costmodel.CostModelError, match="weight bits must be one of 4, 8, 16, 32"):
        weight_bytes(g, 2)


def test_precision_spec_resolves_and_follows_into_memory():
    g = small_net()
    spec = {"act": 8, "weight": 8, "layers": [{"match": "c", "act": 16}, {"match": "fc", "weight": 4},
                                              {"match": "d*", "weight": 16}]}
    pr = resolve(g, spec)
    assert pr.act_bits("c.relu") == 16 and pr.act_bits("input") == 8 and pr.weight_bits("fc") == 4
    assert pr.weight_bits("dw") == 16 and pr.mixed and pr.label() == \
        "mixed precision: activations 8/16-bit, weights 4/8/16-bit"
    g2 = with_precision(g, spec)
    wb = layer_weight_bytes(g2, precision=pr)
    assert wb["c"] == 216 + 32 and wb["dw"] == (72 + 8) * 2 and wb["fc"] == 40 + 40
    # memory at each tensor's bits: step c holds the input (192 B at 8 bits) and c's 8x8x8 at 16 bits
    r = M.report(g2)
    assert r["precision"]["mixed"] and r["live_at_peak"][0]["bytes"] + r["live_at_peak"][1]["bytes"] == \
        r["peak_bytes"] == 512 * 2 + 512      # dw step: c (16-bit) + dw (8-bit)
    t = costmodel.analyze(g2).totals
    assert t["peak_activation_bytes"] == 1536 and t["weight_bytes"] == sum(wb.values())
    # MAC bytes: conv c reads 192 B, writes 1024 B, weights 248 B
    row = {x["name"]: x for x in costmodel.analyze(g2).rows}
    assert row["c"]["mac_bytes"] == 192 + 1024 + 248


@pytest.mark.parametrize("spec, message", [
    ({"act": 12}, "act bits must be one of 4, 8, 16, 32, got 12 \\(default\\)"),
    ({"layers": [{"match": "nothing", "act": 8}]}, "layers\\[0\\] match 'nothing' names no node"),
    ({"layers": [{"act": 8}]}, "layers\\[0\\] needs a 'match'"),
    ({"layers": [{"match": "c", "bits": 8}]}, "unknown key\\(s\\) bits"),
    ({"weights": 8}, "unknown key\\(s\\) weights"),
])
def test_precision_errors_are_one_line(spec, message):
    with pytest.raises(costmodel.CostModelError, match=message):
        resolve(small_net(), spec)


def test_table_weight_bits_and_precision_header(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # wide enough for the headers on one line
    r = cli("table", "mobilenet_v2", "--weight-bits", "8")
    assert r.code == 0, r.err
    assert "weight bytes (Flash)" in r.out and "weights (Flash): 3.54 MB at 8-bit" in r.out
    d = json.loads(cli("table", "mobilenet_v2", "--weight-bits", "8", "-f", "json").out)
    assert d["totals"]["weight_bytes"] == 3_541_984 and d["layers"][0]["weight_bytes"] == 864 + 32 * 4
    assert json.loads(cli("table", "mobilenet_v2", "-f", "json").out)["totals"]["weight_bytes"] == 4 * (
        3_470_760 + sum(c for c in _bias_channels()))


def _bias_channels():
    """Output channels of every conv of MobileNetV2 (each gets the folded BN shift as a bias)."""
    g = costmodel.build("mobilenet_v2")
    return [n.out_shape[0] for n in g.nodes if n.op.kind == "conv2d"]
