"""The attention op kinds (costmodel/ops_attention.py) and the Mobile MQA block: shapes, weights and
costs computed by hand, the executor against an independent NumPy reading of multi-query
attention, and the attn_madds total beside madds."""
import numpy as np
import pytest

import costmodel as cm
from costmodel import GraphBuilder
from costmodel.errors import GraphError, SpecError
from costmodel.executor import execute, init_weights, run
from costmodel.memory import plan
from costmodel.ops import Activation, BatchNorm, Conv2d
from costmodel.ops_attention import LayerScale, MatMul, Reshape, Softmax
from costmodel.spec import Context
from costmodel.zoo.uib import mobile_mqa


# ----------------------------------------------------------------------------- single ops, by hand
def test_matmul_transposed_first_operand_broadcast_batch():
    op = MatMul(transpose_a=True, scale=0.5)
    ins = ((4, 8, 5), (1, 8, 3))            # 4 matrices 8x5 read as 5x8, times one 8x3
    (out,) = op.infer(ins)
    assert out == (4, 5, 3)
    assert op.attn_madds(ins, (out,)) == 4 * 5 * 8 * 3 == 480
    assert op.madds(ins, (out,)) == 0       # attention products never count in madds
    assert op.flops(ins, (out,)) == 2 * 480 + 4 * 5 * 3   # + the scale, one per output element
    assert op.params(ins) == op.bn_params(ins) == 0 and op.weights(ins) == {}


def test_matmul_transposed_second_operand_and_no_scale():
    op = MatMul(transpose_b=True)
    ins = ((1, 6, 7), (4, 5, 7))            # one 6x7 times 4 matrices 5x7 read as 7x5
    (out,) = op.infer(ins)
    assert out == (4, 6, 5)
    assert op.attn_madds(ins, (out,)) == 4 * 6 * 7 * 5
    assert op.flops(ins, (out,)) == 2 * 840


@pytest.mark.parametrize("ins, match", [
    (((2, 3, 4), (2, 5, 6)), "inner sizes differ"),
    (((2, 3, 4), (3, 4, 6)), "do not broadcast"),
    (((3, 4), (1, 4, 6)), "rank-3"),
])
def test_matmul_rejects_bad_shapes(ins, match):
    with pytest.raises(GraphError, match=match):
        MatMul().infer(ins)


def test_matmul_scale_must_be_a_number():
    with pytest.raises(GraphError, match="scale"):
        MatMul(scale=0)
    with pytest.raises(GraphError, match="scale"):
        MatMul(scale=float("nan"))


def test_reshape_is_a_free_view():
    op = Reshape((2, 6, 5))
    assert op.infer(((4, 3, 5),)) == ((2, 6, 5),)
    assert op.flops(((4, 3, 5),), ((2, 6, 5),)) == 0 and op.category == "view"
    with pytest.raises(GraphError, match="60 elements"):
        Reshape((7, 5, 2)).infer(((4, 3, 5),))
    with pytest.raises(GraphError, match="positive integers"):
        Reshape((2, 0, 5))


def test_softmax_and_layer_scale_costs():
    assert Softmax().flops(((2, 3, 5),), ((2, 3, 5),)) == 5 * 30
    ls = LayerScale()
    assert ls.weights(((7, 3, 2),)) == {"gamma": (7,)}
    assert ls.params(((7, 3, 2),)) == 7 and ls.bn_params(((7, 3, 2),)) == 0   # a trained weight: in params
    assert ls.flops(((7, 3, 2),), ((7, 3, 2),)) == 42


def test_gelu_is_an_activation_of_five_flops():
    assert Activation("gelu").flops(((2, 3, 3),), ((2, 3, 3),)) == 5 * 18


def test_executor_kernels_against_numpy():
    g = GraphBuilder("mm", (2, 3, 5))
    b = g.add(Conv2d(1, 1), "input", "b")                                    # (1, 3, 5)
    y = g.add(MatMul(transpose_b=True, scale=0.25), ["input", b], "mm")      # (2, 3, 3)
    s = g.add(Softmax(), y, "sm")
    graph = g.build([s])
    x = np.random.default_rng(0).standard_normal((2,) + graph.input_shape).astype(np.float32)
    w = init_weights(graph, 1)
    out, t = execute(graph, x, weights=w, return_intermediates=True)
    want = 0.25 * x @ np.swapaxes(t["b"], -1, -2)
    assert np.allclose(t["mm"], want, atol=1e-5)
    e = np.exp(want - want.max(-1, keepdims=True))
    assert np.allclose(out, e / e.sum(-1, keepdims=True), atol=1e-6)
    ex = run(graph, x, weights=w)
    assert [c.counted for c in ex.checks if c.kind == "matmul"] == [2 * 2 * 3 * 5 * 3]   # batch 2 x B M K P


# ----------------------------------------------------------------------------- the Mobile MQA block
def _mqa_graph(layer_scale=True, kv_stride=2):
    g = GraphBuilder("mqa", (8, 4, 4))
    with g.scope("mqa"):
        y = mobile_mqa(g, "input", Context(1.0, (4, 4), 10, "round_min1"), c=8, heads=2, key_dim=3, value_dim=5,
               kv_stride=kv_stride, layer_scale=layer_scale)
    return g.build([y])


def test_mqa_block_counts_by_hand():
    """C = 8 on 4x4 (N = 16), 2 heads, d_k 3, d_v 5, K/V downsampled 2x (M = 4)."""
    r = cm.analyze(_mqa_graph())
    t = r.totals
    # weights: query 8x6, key dw 8x9 + proj 8x3, value dw 8x9 + proj 8x5, output 10x8, gamma 8
    assert t["params"] == 48 + 72 + 24 + 72 + 40 + 80 + 8 == 344
    assert t["params_with_bn"] == 344 + 3 * 2 * 8          # input norm, key and value down-sampling BNs
    # conv Mult-Adds: query 48 x 16, key dw 72 x 4 + proj 24 x 4, value 72 x 4 + 40 x 4, output 80 x 16
    assert t["madds"] == 768 + 288 + 96 + 288 + 160 + 1280 == 2880
    # attention: q^T k: 2 heads x 16 x 3 x 4; v a^T: 2 x 5 x 4 x 16
    assert t["attn_madds"] == 384 + 640 == 1024
    # FLOPs: 2 x conv; BNs 2 per element (128 + 32 + 32); logits 2 x 384 + 128 (scale); softmax 5 x 128;
    # context 2 x 640; layer scale 128; residual add 128
    assert t["flops"] == 5760 + 256 + 64 + 64 + 896 + 640 + 1280 + 128 + 128 == 9216
    rows = {x["name"]: x for x in r.rows}
    assert rows["mqa.logits"]["attn_madds"] == 384 and rows["mqa.logits"]["madds"] == 0
    assert rows["mqa.context"]["attn_madds"] == 640 and rows["mqa.query"]["attn_madds"] == 0


def test_mqa_without_downsampling_or_layer_scale():
    t = cm.analyze(_mqa_graph(layer_scale=False, kv_stride=1)).totals
    assert t["params"] == 48 + 24 + 40 + 80                # no depthwise down-sampling, no gamma
    assert t["attn_madds"] == 2 * 16 * 16 * (3 + 5)        # M = N = 16


def test_mqa_executor_equals_multi_query_attention_in_numpy():
    graph = _mqa_graph()
    w = init_weights(graph, 2)
    x = np.random.default_rng(3).standard_normal((2,) + graph.input_shape).astype(np.float32)
    out, t = execute(graph, x, weights=w, return_intermediates=True)

    def conv1x1(a, wt):
        return np.einsum("oc,nchw->nohw", wt[:, :, 0, 0], a)
    n = t["mqa.norm"]
    q = conv1x1(n, w["mqa.query"]["weight"]).reshape(2, 2, 3, 16)              # (batch, head, d_k, N)
    k = conv1x1(t["mqa.key.down.bn"], w["mqa.key"]["weight"]).reshape(2, 3, 4)  # one head: (batch, d_k, M)
    v = conv1x1(t["mqa.value.down.bn"], w["mqa.value"]["weight"]).reshape(2, 5, 4)
    logits = np.einsum("bhkn,bkm->bhnm", q, k) / np.sqrt(3.0)
    a = np.exp(logits - logits.max(-1, keepdims=True))
    a /= a.sum(-1, keepdims=True)
    o = np.einsum("bvm,bhnm->bhvn", v, a).reshape(2, 10, 4, 4)                   # channels head-major
    y = conv1x1(o, w["mqa.output"]["weight"]) * w["mqa.layer_scale"]["gamma"][:, None, None] + x
    assert np.allclose(out, y, atol=1e-4)


def test_mqa_memory_plan_counts_the_products_and_views():
    p = plan(_mqa_graph())
    units = {u.name: u for u in p.units}
    assert "mqa.query.heads" not in units and "mqa.context.map" not in units   # views: no traffic
    assert units["mqa.logits"].mac == 2 * 3 * 16 + 1 * 3 * 4 + 2 * 16 * 4      # reads q, k; writes logits
    assert units["mqa.softmax"].mac == 2 * 2 * 16 * 4


def test_mqa_rejects_bad_arguments():
    g = GraphBuilder("mqa", (8, 4, 4))
    with pytest.raises(SpecError, match="heads"):
        mobile_mqa(g, "input", Context(1.0, (4, 4), 10), c=8, heads=0, key_dim=3, value_dim=5)


def test_network_without_attention_has_zero_attn_madds():
    t = cm.analyze(cm.build("mobilenet_v2", res=96)).totals
    assert t["attn_madds"] == 0


def test_batchnorm_is_the_mqa_norm():
    kinds = {n.name: n.op for n in _mqa_graph().nodes}
    assert isinstance(kinds["mqa.norm"], BatchNorm)
