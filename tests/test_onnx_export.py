"""The ONNX writer (costmodel.onnx_export): every registry network and every op kind written and
read back by costmodel.onnx_import with equal counts; onnxruntime's outputs equal the NumPy
executor's."""
import numpy as np
import pytest

import costmodel
from costmodel.analysis import analyze
from costmodel.errors import CostModelError

onnx = pytest.importorskip("onnx", reason="the ONNX writer needs the onnx package (pip install '.[onnx]')")

from costmodel.onnx_export import OPSET, WRITERS, onnx_bytes, save_onnx, to_onnx  # noqa: E402
from costmodel.onnx_import import load_onnx  # noqa: E402
from costmodel.ops import OP_KINDS  # noqa: E402

#: a modest resolution keeps the suite fast; VGG/AlexNet's dense classifiers need their own minimum
RES = 96


def _res(name):
    net = costmodel.get_network(name)
    return max(RES, getattr(net, "min_res", 0) or 0)


def _roundtrip(graph, tmp_path, values=True):
    path = tmp_path / f"{graph.name or 'g'}.onnx"
    save_onnx(graph, str(path), values=values)
    return load_onnx(str(path))


@pytest.mark.parametrize("name", costmodel.networks())
def test_every_registry_network_round_trips(name, tmp_path):
    # structure-only files (the counts read only the initializers' shapes): VGG-16's 500 MB of FC
    # weights would dominate the suite; the same writer with values is checked below and numerically
    g = costmodel.build(name, res=_res(name), classes=10)
    back = _roundtrip(g, tmp_path, values=False)
    a, b = analyze(g).totals, analyze(back).totals
    assert {k: (a[k], b.get(k)) for k in a if a[k] != b.get(k)} == {}
    assert back.input_shape == g.input_shape
    assert [n.name for n in back.nodes if n.op.kind == "conv2d"] == [n.name for n in g.nodes if n.op.kind == "conv2d"]


def _every_op_graph():
    from costmodel.graph import GraphBuilder
    from costmodel.ops import (AdaptiveAvgPool, AvgPool, BatchNorm, ChannelShuffle, Dropout, Flatten, GlobalAvgPool,
                               LayerScale, Linear, MatMul, MaxPool, Multiply, Reshape, Softmax, Split, Unflatten,
                               Upsample)
    g = GraphBuilder("allops", (8, 13, 13))
    x = g.conv("input", 16, 3, 2, padding="same", name="c1", act="hswish")
    a = g.add(AdaptiveAvgPool((5, 5)), x, "adaptive")          # windows of unequal size: two MatMuls
    a2 = g.add(AdaptiveAvgPool((7, 7)), x, "adaptive_even")    # 7x7 -> 7x7: an AveragePool
    u = g.add(Upsample((7, 7), "bilinear"), x, "up")
    un = g.add(Upsample((9, 9), "nearest"), x, "up_nearest")
    g.add(Split((4, 12)), x, "split")
    cc = g.concat(["split:1", "split:0"], "cat")
    sh = g.add(ChannelShuffle(4), cc, "shuffle")
    y = g.add_tensors([sh, x, cc], "sum3")
    for fn in ("swish", "hsigmoid", "sigmoid", "relu6", "relu", "gelu"):
        y = g.act(y, fn, fn)
    # attention (MobileNetV4's Mobile MQA form): heads as views, products with transposed operands and a scale
    q = g.add(Reshape((4, 4, 49)), y, "q.heads")
    kv = g.add(Reshape((1, 4, 49)), g.conv(y, 4, 1, bn=False, name="kv"), "kv.rows")
    att = g.add(Softmax(), g.add(MatMul(transpose_a=True, scale=0.5), [q, kv], "logits"), "softmax")
    ctx = g.add(MatMul(transpose_b=True), [kv, att], "context")
    both = g.add(MatMul(transpose_a=True, transpose_b=True, scale=0.25), [kv, g.add(Reshape((4, 49, 4)), y, "q2")],
                 "both_t")
    ctx = g.add(MatMul(), [ctx, g.add(Softmax(), both, "softmax2")], "plain")
    y = g.add_tensors([y, g.add(LayerScale(), g.add(Reshape((16, 7, 7)), ctx, "context.map"), "ls")], "residual")
    y = g.add(MaxPool(3, 2, 1, ceil_mode=True), y, "maxpool")
    y = g.add(AvgPool(3, 1, 1, count_include_pad=False), y, "avgpool")
    gp = g.add(GlobalAvgPool(), y, "gap")
    m = g.add(Multiply(), [y, gp], "gate")
    f = g.add(Flatten(), m, "flatten")
    f = g.add(BatchNorm(), f, "bn1d")
    f = g.add(Dropout(0.2), f, "dropout")
    o = g.add(Linear(10), f, "fc")
    uf = g.add(Unflatten((10, 1, 1)), o, "unflatten")
    return g.build([o, a, a2, u, un, uf])


def test_every_op_kind_has_a_writer():
    assert set(WRITERS) == set(OP_KINDS)


@pytest.mark.parametrize("name", ["mobilenet_v3_large", "shufflenet_v1", "squeezenet1_0"])
def test_round_trip_with_weight_values(name, tmp_path):
    g = costmodel.build(name, res=96)
    assert analyze(_roundtrip(g, tmp_path)).totals == analyze(g).totals


def test_every_op_kind_round_trips_with_equal_counts(tmp_path):
    g = _every_op_graph()
    kinds = {n.op.kind for n in g.nodes}
    assert kinds == set(OP_KINDS) - {"unsupported"}
    back = _roundtrip(g, tmp_path)
    a, b = analyze(g).totals, analyze(back).totals
    assert {k: (a[k], b.get(k)) for k in a if a[k] != b.get(k)} == {}
    kinds = {n.name: n.op.kind for n in back.nodes}
    assert kinds["adaptive"] == "adaptive_avgpool" and kinds["adaptive_even"] == "avgpool"  # equal windows
    assert [k for name, k in kinds.items() if not name.startswith("adaptive")] == \
        [n.op.kind for n in g.nodes if not n.name.startswith("adaptive")]


def test_model_header_and_weights():
    g = costmodel.build("mobilenet_v2", alpha=0.35, res=96)
    m = to_onnx(g, batch=2)
    assert [o.version for o in m.opset_import if o.domain == ""] == [OPSET]
    assert [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim] == [2, 3, 96, 96]
    onnx.checker.check_model(m)
    inits = {t.name: t for t in m.graph.initializer}
    from costmodel.executor import init_weights
    w = init_weights(g, seed=3)
    m3 = to_onnx(g, weights=w)
    from onnx import numpy_helper
    got = numpy_helper.to_array({t.name: t for t in m3.graph.initializer}["conv0.weight"])
    assert np.array_equal(got, w["conv0"]["weight"])
    assert tuple(inits["conv0.weight"].dims) == w["conv0"]["weight"].shape
    dyn = to_onnx(g, dynamic_batch=True)
    assert dyn.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"


def test_bad_weights_and_batch_are_one_line_errors():
    g = costmodel.build("mobilenet_v1", alpha=0.25, res=96)
    with pytest.raises(CostModelError, match="layer 'conv0' is missing"):
        onnx_bytes(g, weights={})
    with pytest.raises(CostModelError, match="batch must be a positive integer"):
        onnx_bytes(g, batch=0)



#: attention's softmax amplifies float32 rounding: at res 96 MobileNetV4-Hybrid-M's logits from
#: onnxruntime and the executor differ by 5.0e-4 of the largest (MobileNetV2 0.5: 3.4e-5), and each
#: float32 run (onnxruntime, the executor, PyTorch) is 2-4e-4 from a float64 run; a mapping error
#: (a transpose, a scale) moves the logits by their own size
ATTN_ATOL = 2e-3


@pytest.mark.parametrize("name,alpha", [("mobilenet_v2", 0.5), ("shufflenet_v2", 0.5), ("mixnet_s", 0.5),
                                        ("squeezenet1_1", 1.0), ("mobilenet_v4_hybrid_medium", 1.0)])
def test_onnxruntime_output_equals_the_executor(name, alpha):
    ort_ = pytest.importorskip("onnxruntime", reason="numerics check needs onnxruntime (pip install '.[measure]')")
    from costmodel.executor import calibrate_batchnorm, execute, init_weights, random_input
    g = costmodel.build(name, alpha=alpha, res=96)
    x = random_input(g, 2, seed=1)
    w = calibrate_batchnorm(g, init_weights(g, 0), x)
    s = ort_.InferenceSession(onnx_bytes(g, weights=w, batch=2), providers=["CPUExecutionProvider"])
    y = s.run(None, {"input": x})[0]
    ref = execute(g, x, weights=w)
    assert y.shape == ref.shape
    atol = ATTN_ATOL if "hybrid" in name else 1e-4
    np.testing.assert_allclose(y, ref, rtol=1e-3, atol=atol * float(np.abs(ref).max()))


def test_every_op_kind_runs_in_onnxruntime():
    ort_ = pytest.importorskip("onnxruntime", reason="needs onnxruntime (pip install '.[measure]')")
    from costmodel.executor import execute, random_input
    g = _every_op_graph()
    x = random_input(g, 1, seed=0)
    ys = ort_.InferenceSession(onnx_bytes(g), providers=["CPUExecutionProvider"]).run(None, {"input": x})
    for y, ref in zip(ys, execute(g, x)):
        np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-5)


def test_show_format_onnx_writes_any_net(tmp_path):
    from click.testing import CliRunner
    from costmodel.cli import cli
    out = tmp_path / "net.onnx"
    r = CliRunner().invoke(cli, ["show", "mobilenet_v3_small", "--alpha", "0.75", "--res", "128", "-o", str(out)])
    assert r.exit_code == 0, r.output
    back = load_onnx(str(out))
    assert analyze(back).totals["madds"] == analyze(costmodel.build("mobilenet_v3_small", alpha=0.75,
                                                                    res=128)).totals["madds"]
    again = tmp_path / "again.onnx"  # an imported graph is written again
    r = CliRunner().invoke(cli, ["show", str(out), "--format", "onnx", "-o", str(again)])
    assert r.exit_code == 0, r.output
    assert analyze(load_onnx(str(again))).totals == analyze(back).totals
    r = CliRunner().invoke(cli, ["show", "mobilenet_v2", "--format", "onnx"])
    assert r.exit_code != 0 and "give -o FILE.onnx" in r.output


def test_unsupported_placeholder_is_written_as_identity(tmp_path):
    from onnx import TensorProto, helper, numpy_helper
    nodes = [helper.make_node("Conv", ["x", "w"], ["a"], name="conv"),
             helper.make_node("LRN", ["a"], ["y"], name="lrn1", size=3)]
    w = numpy_helper.from_array(np.ones((4, 3, 1, 1), np.float32), "w")
    g = helper.make_graph(nodes, "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])], [w])
    p = tmp_path / "lrn.onnx"
    p.write_bytes(helper.make_model(g).SerializeToString())
    imported = load_onnx(str(p), skip_unsupported=True)
    assert [n.op.kind for n in imported.nodes] == ["conv2d", "unsupported"]
    m = to_onnx(imported)
    ident = [n for n in m.graph.node if n.op_type == "Identity"]
    assert len(ident) == 1 and "LRN" in ident[0].doc_string
    back = _roundtrip(imported, tmp_path)
    assert analyze(back).totals == analyze(imported).totals  # the placeholder counted zero either way
