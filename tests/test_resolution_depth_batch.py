"""Non-square inputs (--res HxW), the depth multiplier (--depth-mult) and the batch size (--batch):
hand-computed small cases, the zoo against PyTorch's shapes, and the batch rules."""
import json

import pytest

import costmodel
from costmodel import analyze, build
from costmodel.errors import CostModelError, KnobError


# ----------------------------------------------------------------------------- non-square
def test_non_square_small_net_by_hand():
    g = costmodel.load("@res32x24 @classes10 conv_c8_k3_s2 gap fc")
    conv = g.nodes[0]
    assert g.input_shape == (3, 32, 24) and conv.out_shapes == ((8, 16, 12),)
    t = analyze(g).totals
    # conv 3x3/2 3->8 on 16x12 outputs, then FC 8->10
    assert t["madds"] == 8 * 16 * 12 * 3 * 9 + 8 * 10
    assert g.meta["resolution"] == [32, 24] and g.meta["height"] == 32 and g.meta["width"] == 24


def test_api_resolution_forms():
    a = build("mobilenet_v2", res=(320, 240))
    assert a.input_shape == (3, 320, 240) and a.meta["resolution"] == [320, 240]
    assert build("mobilenet_v2", res=[224, 224]).meta["resolution"] == 224
    with pytest.raises(KnobError, match="too small"):
        build("mobilenet_v2", res=(320, 16))
    with pytest.raises(KnobError, match="positive integer"):
        build("mobilenet_v2", res="320x240")  # the API takes ints or pairs; the CLI parses text


@pytest.mark.parametrize("name", ["mobilenet_v2", "mobilenet_v3_large", "shufflenet_v2", "resnet50", "mixnet_s",
                                  "squeezenet1_1"])
def test_zoo_non_square_shapes_equal_torch(name):
    """Every conv and pool output shape at 200x136 equals PyTorch's. Shapes need no data: the module
    runs on the meta device (no weights initialized, nothing computed)."""
    torch = pytest.importorskip("torch")
    from costmodel.torch_bridge import GraphModule
    g = build(name, res=(200, 136))
    with torch.device("meta"):
        m = GraphModule(g).eval()
    shapes = {}
    hooks = [layer.register_forward_hook(lambda mod, i, o, n=n: shapes.__setitem__(n.name, tuple(o.shape[1:])))
             for n, layer in zip(g.nodes, m.layers) if n.op.kind in ("conv2d", "maxpool", "avgpool")]
    with torch.no_grad():
        m(torch.zeros(1, *g.input_shape, device="meta"))
    for h in hooks:
        h.remove()
    assert shapes
    for n in g.nodes:
        if n.name in shapes:
            assert shapes[n.name] == n.out_shape, n.name


def test_cli_res_hxw(cli):
    r = cli("table", "mobilenet_v2", "--res", "320x240", "-f", "json")
    d = json.loads(r.out)
    assert d["resolution"] == [320, 240] and (d["height"], d["width"]) == (320, 240)
    assert d["totals"] == analyze(build("mobilenet_v2", res=(320, 240))).totals
    sq = json.loads(cli("table", "mobilenet_v2", "--res", "160", "-f", "json").out)
    assert sq["resolution"] == 160 and (sq["height"], sq["width"]) == (160, 160)
    r = cli("table", "mobilenet_v2", "--res", "320x")
    assert r.code == 2 and "--res" in r.err and len(r.err.strip().splitlines()) == 1


# ----------------------------------------------------------------------------- depth
def _stages(g):
    return sum(1 for n in g.nodes if n.name.endswith(".project"))


def test_depth_ceil_rule_on_mobilenet_v2_by_hand():
    # Table 2's n column 1, 2, 3, 4, 3, 3, 1; EfficientNet's round_repeats: ceil(d * n)
    assert _stages(build("mobilenet_v2")) == 17
    assert _stages(build("mobilenet_v2", depth=1.2)) == 2 + 3 + 4 + 5 + 4 + 4 + 2
    assert _stages(build("mobilenet_v2", depth=0.5)) == 1 + 1 + 2 + 2 + 2 + 2 + 1
    g = build("mobilenet_v2", depth=1.2)
    assert g.meta["depth"] == 1.2
    convs = [n.name for n in g.nodes if n.op.kind == "conv2d" and "." not in n.name]
    assert len(convs) == 2  # the stem and the 1280 head conv have no n: built once at any depth


def test_depth_rejected_where_it_means_nothing():
    with pytest.raises(KnobError, match="no depth multiplier"):
        build("mobilenet_v3_large", depth=1.2)
    assert build("mobilenet_v3_large", depth=1.0).meta.get("depth") is None


def test_depth_in_spec_files_and_block_strings(tmp_path):
    text = ("depth_rule: ceil\ndepth: 1.5\nblocks:\n  - {type: conv, c: 8, s: 2}\n"
            "  - {type: ir, t: 2, c: 8, repeat: 2}\n  - {type: ir, t: 2, c: 16, repeat: 1, fixed_depth: true}\n"
            "  - gap\n")
    p = tmp_path / "net.yaml"
    p.write_text(text)
    g = costmodel.load(str(p))
    assert _stages(g) == 3 + 1  # ceil(1.5 * 2) and the fixed stage
    assert _stages(costmodel.load(str(p), depth=1.0)) == 3
    b = costmodel.load("@depth_rule=ceil @depth2 conv_c8_s2 ir_r2_e2_c8 ir_e2_c16 gap")
    assert _stages(b) == 4 + 1  # a row without n is built once whatever the depth
    with pytest.raises(CostModelError, match="needs a depth_rule"):
        p.write_text("depth: 1.5\nblocks: [gap]\n")
        costmodel.load(str(p))


def test_show_round_trips_depth(cli, tmp_path):
    r = cli("show", "mobilenet_v2", "--depth-mult", "1.2", "--alpha", "0.75")
    assert r.code == 0
    p = tmp_path / "v2.yaml"
    p.write_text(r.out)
    assert analyze(costmodel.load(str(p))).totals == analyze(build("mobilenet_v2", alpha=0.75, depth=1.2)).totals
    b = cli("show", "mobilenet_v2", "--depth-mult", "1.2", "--format", "blocks").out.strip()
    assert analyze(costmodel.load(b)).totals == analyze(build("mobilenet_v2", depth=1.2)).totals


# ----------------------------------------------------------------------------- batch
@pytest.mark.parametrize("name", ["mobilenet_v2", "shufflenet_v2", "squeezenet1_0"])
def test_batch_rules(name):
    g = build(name)
    one, four = analyze(g).totals, analyze(g, batch=4).totals
    assert four["params"] == one["params"] and four["params_with_bn"] == one["params_with_bn"]
    assert four["madds"] == 4 * one["madds"] and four["flops"] == 4 * one["flops"]
    from costmodel.memory import plan
    weights = sum(u.weights for u in plan(g).units)
    assert four["mac"] == 4 * (one["mac"] - weights) + weights  # weights read once per batch
    assert four["peak_activation_bytes"] == 4 * one["peak_activation_bytes"]


def test_cli_batch(cli):
    d = json.loads(cli("table", "mobilenet_v2", "--batch", "8", "-f", "json").out)
    assert d["batch"] == 8 and "batch 8" in d["convention"]
    assert d["totals"]["madds"] == 8 * 300_774_272
    r = cli("table", "mobilenet_v2", "--batch", "0")
    assert r.code == 2 and "batch size must be a positive integer" in r.err
