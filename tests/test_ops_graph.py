"""Exact hand-computed counts for small graphs, and shape inference."""
import pytest

from costmodel import GraphBuilder, GraphError, analyze
from costmodel.ops import AvgPool, Concat, Conv2d, Linear, MaxPool, Split, window_output
from costmodel.spec import Context
from costmodel.blocks import depthwise_separable, inverted_residual


def test_single_conv_exact():
    g = GraphBuilder("one", (3, 32, 32))
    g.conv("input", 16, 3, 2, bn=False, bias=True, act=None, name="c")
    t = analyze(g.build()).totals
    # out 16x16x16; weights 16*3*3*3 = 432, bias 16
    assert t["params"] == 432 + 16
    assert t["madds"] == 16 * 16 * 16 * 3 * 3 * 3 == 110592
    assert t["flops"] == 2 * 110592 + 16 * 16 * 16


def test_depthwise_separable_block_exact():
    # MobileNetV1 paper Table 3 example layer: D_K=3, M=N=512, D_F=14
    g = GraphBuilder("dws", (512, 14, 14))
    with g.scope("b"):
        depthwise_separable(g, "input", Context(1.0, 14, 1000, "floor_min8"), c=512, s=1)
    r = analyze(g.build())
    t = r.totals
    assert t["madds"] == 3 * 3 * 512 * 14 * 14 + 512 * 512 * 14 * 14 == 52_283_392  # paper: 52.3 M
    assert t["params"] == 3 * 3 * 512 + 512 * 512 == 266_752                       # paper: 0.27 M
    assert t["params_with_bn"] == 266_752 + 2 * (512 + 512)
    # BN 2/elem twice, relu 1/elem twice, on 512*14*14 = 100,352 elements each
    assert t["flops"] == 2 * 52_283_392 + 2 * (2 + 1) * 100_352
    assert [x["op"] for x in r.rows] == ["dwconv3x3", "batchnorm", "relu", "conv1x1", "batchnorm", "relu"]


def test_inverted_residual_exact():
    # MobileNetV2 eq.: h w d' t (d' + k^2 + d'') for a stride-1 block, d'=d''=24, t=6, 56x56
    h = w = 56
    d = 24
    t = 6
    g = GraphBuilder("ir", (d, h, w))
    with g.scope("b"):
        inverted_residual(g, "input", Context(1.0, h, 1000, "divisible8"), t=t, c=d, s=1)
    r = analyze(g.build())
    assert r.totals["madds"] == h * w * d * t * (d + 9 + d) == 25_740_288
    assert r.totals["params"] == d * d * t + 9 * d * t + d * t * d == 8_208
    kinds = [x["kind"] for x in r.rows]
    assert kinds[-1] == "add" and kinds.count("conv2d") == 3
    # add: one flop per element of 56x56x24
    assert r.rows[-1]["flops"] == h * w * d


def test_t1_block_has_no_expansion():
    g = GraphBuilder("ir", (32, 112, 112))
    with g.scope("b"):
        inverted_residual(g, "input", Context(1.0, 224, 1000, "divisible8"), t=1, c=16, s=1)
    names = [n.name for n in g.build().nodes]
    assert "b.expand" not in names and names[0] == "b.dw"


@pytest.mark.parametrize("size,k,s,p,d,expect", [
    (224, 3, 2, 1, 1, 112), (7, 3, 2, 1, 1, 4), (299, 3, 2, 0, 1, 149), (147, 3, 1, 0, 1, 145),
    (14, 3, 1, 2, 2, 14), (111, 3, 2, 0, 1, 55), (1, 1, 1, 0, 1, 1),
])
def test_window_output(size, k, s, p, d, expect):
    assert window_output(size, k, s, d, (p, p)) == expect


def test_ceil_mode_pool_like_torch():
    # SqueezeNet: 111 -> 55 (exact), GoogLeNet: 112 -> 56 with ceil_mode, 3x3/2
    assert window_output(111, 3, 2, 1, (0, 0), ceil_mode=True) == 55
    assert window_output(112, 3, 2, 1, (0, 0), ceil_mode=True) == 56
    assert window_output(112, 3, 2, 1, (0, 0), ceil_mode=False) == 55
    # the last window may not start in the right padding
    assert window_output(5, 2, 2, 1, (1, 1), ceil_mode=True) == 3


def test_same_padding_tf():
    op = Conv2d(8, 3, 2, "same")
    assert op.pads((224, 224)) == (0, 1, 0, 1)
    assert op.infer(((3, 224, 224),)) == ((8, 112, 112),)
    assert Conv2d(8, 3, 2, "valid").infer(((3, 299, 299),)) == ((8, 149, 149),)


def test_pool_flops():
    g = GraphBuilder("p", (4, 8, 8))
    g.add(MaxPool(3, 2, 1), "input", "mp")
    g.add(AvgPool(2), "mp", "ap")
    rows = analyze(g.build()).rows
    assert rows[0]["output_shape"] == [4, 4, 4] and rows[0]["flops"] == 8 * 64
    assert rows[1]["output_shape"] == [4, 2, 2] and rows[1]["flops"] == 4 * 16


def test_split_concat_dag():
    g = GraphBuilder("dag", (8, 4, 4))
    s = g.add(Split((3, 5)), "input", "split")
    a = g.conv("split:0", 3, 3, bn=False, name="a")
    b = g.conv("split:1", 5, 1, bn=False, name="b")
    y = g.add(Concat(), [a, b], "cat")
    graph = g.build()
    assert s == "split:0" and graph.shape("split:1") == (5, 4, 4)
    assert graph.shape(y) == (8, 4, 4)
    assert analyze(graph).totals["madds"] == 3 * 3 * 9 * 16 + 5 * 5 * 16


@pytest.mark.parametrize("make,msg", [
    (lambda g: g.add(Conv2d(8, 3, groups=3), "input", "c"), "groups=3 must divide"),
    (lambda g: g.add(Conv2d(8, 7), "input", "c"), "larger than its padded input"),
    (lambda g: g.add(Linear(10), "input", "fc"), "flatten"),
    (lambda g: g.add(Concat(), ["input", "nope"], "cat"), "'nope' is not defined"),
    (lambda g: g.add(Split((1, 2)), "input", "s"), "must add up to the 4 input channels"),
])
def test_inconsistent_graph_names_the_node(make, msg):
    g = GraphBuilder("bad", (4, 5, 5))
    with pytest.raises(GraphError) as e:
        make(g)
    assert "node '" in str(e.value) and msg in str(e.value)
    assert "\n" not in str(e.value)


def test_duplicate_node_name():
    g = GraphBuilder("dup", (4, 5, 5))
    g.conv("input", 4, 1, bn=False, name="c")
    with pytest.raises(GraphError, match="already exists"):
        g.conv("input", 4, 1, bn=False, name="c")


@pytest.mark.parametrize("fn", ["analyze", "execute", "init_weights"])
def test_api_functions_reject_a_non_graph(fn):
    import costmodel
    with pytest.raises(GraphError, match=f"{fn} takes a Graph"):
        getattr(costmodel, fn)("mobilenet_v2")
