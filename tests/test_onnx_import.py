"""ONNX import: small models built with onnx.helper, exact counts by hand and against the same
network built with GraphBuilder; unsupported ops, bad files."""
import os
import random
import subprocess
import sys

import pytest

onnx = pytest.importorskip("onnx")
import numpy as np  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import costmodel  # noqa: E402
from costmodel import CostModelError, GraphBuilder, analyze  # noqa: E402
from costmodel.onnx_import import OnnxError, load_onnx  # noqa: E402
from costmodel.ops import AvgPool, ChannelShuffle, Conv2d, Linear, MaxPool  # noqa: E402


def W(name, *dims, value=None):
    arr = np.zeros(dims, np.float32) if value is None else np.asarray(value)
    return numpy_helper.from_array(arr, name)


def I64(name, values):
    return numpy_helper.from_array(np.asarray(values, np.int64), name)


def save(tmp_path, nodes, inits, in_shape=(1, 3, 32, 32), out_shape=None, opset=13, fname="m.onnx", extra_inputs=()):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(in_shape))
    y = helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, out_shape)
    g = helper.make_graph(nodes, "g", [x, *extra_inputs], [y], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    p = str(tmp_path / fname)
    onnx.save(m, p)
    return p


def signature(graph):
    return [(n.op, n.in_shapes, n.out_shapes) for n in graph]


def same_as_builder(imported, built):
    assert analyze(imported).totals == analyze(built).totals
    assert signature(imported) == signature(built)


# ----------------------------------------------------------------------------- exact counts
def test_conv_bn_relu_exact(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", strides=[2, 2], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "s", "bb", "m", "v"], ["n"], name="bn"),
             helper.make_node("Relu", ["n"], ["r"], name="relu")]
    inits = [W("w", 16, 3, 3, 3), W("b", 16), W("s", 16), W("bb", 16), W("m", 16), W("v", 16)]
    g = load_onnx(save(tmp_path, nodes, inits))
    t = analyze(g).totals
    # 32x32x3 -> 16x16x16: weights 16*3*9 = 432 + bias 16; madds 16*16*16*27
    assert t["params"] == 448
    assert t["params_with_bn"] == 448 + 32
    assert t["madds"] == 16 * 16 * 16 * 27 == 110_592
    assert t["flops"] == 2 * 110_592 + 4096 + 2 * 4096 + 4096
    b = GraphBuilder("ref", (3, 32, 32))
    b.conv("input", 16, 3, 2, bias=True, bn=True, act="relu", name="conv")
    same_as_builder(g, b.build())
    # res overrides a fixed input size; alpha and classes do not apply to an ONNX model
    p = str(tmp_path / "m.onnx")
    assert analyze(costmodel.load(p, res=64)).totals["madds"] == 4 * 110_592
    for bad in (dict(alpha=0.5), dict(classes=10), dict(groups=2), dict(res=0)):
        with pytest.raises(costmodel.KnobError):
            costmodel.load(p, **bad)


def test_depthwise_separable_relu6_exact(tmp_path):
    c = 32
    nodes = [helper.make_node("Conv", ["x", "dw"], ["a"], name="dw", group=c, pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["a", "s", "b", "m", "v"], ["a1"], name="dw.bn"),
             helper.make_node("Clip", ["a1", "lo", "hi"], ["a2"], name="dw.relu6"),
             helper.make_node("Conv", ["a2", "pw"], ["p"], name="pw"),
             helper.make_node("BatchNormalization", ["p", "s2", "b2", "m2", "v2"], ["p1"], name="pw.bn"),
             helper.make_node("Clip", ["p1", "lo", "hi"], ["p2"], name="pw.relu6")]
    inits = [W("dw", c, 1, 3, 3), W("pw", 64, c, 1, 1), W("s", c), W("b", c), W("m", c), W("v", c),
             W("s2", 64), W("b2", 64), W("m2", 64), W("v2", 64), W("lo", value=np.float32(0)),
             W("hi", value=np.float32(6))]
    g = load_onnx(save(tmp_path, nodes, inits, in_shape=(1, c, 14, 14)))
    t = analyze(g).totals
    assert t["madds"] == 9 * c * 14 * 14 + c * 64 * 14 * 14   # MobileNetV1 eq. 5
    assert t["params"] == 9 * c + c * 64
    assert [r["op"] for r in analyze(g).rows] == ["dwconv3x3", "batchnorm", "relu6", "conv1x1", "batchnorm", "relu6"]
    b = GraphBuilder("ref", (c, 14, 14))
    y = b.dwconv("input", 3, 1, act="relu6", name="dw")
    b.conv(y, 64, 1, act="relu6", name="pw")
    same_as_builder(g, b.build())


def test_residual_add_and_opset6_clip(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w1"], ["a"], name="c1", pads=[1, 1, 1, 1]),
             helper.make_node("Clip", ["a"], ["a1"], name="c1.relu6", min=0.0, max=6.0),
             helper.make_node("Conv", ["a1", "w2"], ["b"], name="c2", pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["x", "b"], ["y"], name="add")]
    inits = [W("w1", 8, 8, 3, 3), W("w2", 8, 8, 3, 3)]
    g = load_onnx(save(tmp_path, nodes, inits, in_shape=(1, 8, 10, 10), opset=9))
    t = analyze(g).totals
    assert t["madds"] == 2 * 8 * 10 * 10 * 8 * 9
    assert t["flops"] == 2 * t["madds"] + 2 * 800 + 800   # relu6 2/elem, add 1/elem
    assert g.nodes[-1].op.kind == "add" and g.nodes[-1].inputs == ("input", "c2")


def test_channel_shuffle_reshape_transpose(tmp_path):
    nodes = [helper.make_node("Reshape", ["x", "s5"], ["r"], name="shuffle"),
             helper.make_node("Transpose", ["r"], ["t"], name="tr", perm=[0, 2, 1, 3, 4]),
             helper.make_node("Reshape", ["t", "s4"], ["y"], name="back")]
    p = save(tmp_path, nodes, [I64("s5", [1, 3, 8, 7, 7]), I64("s4", [1, -1, 7, 7])], in_shape=(1, 24, 7, 7))
    g = load_onnx(p)
    assert len(g) == 1 and g.nodes[0].op == ChannelShuffle(3) and g.output_shape == (24, 7, 7)
    assert analyze(g).totals["flops"] == 0
    # a transpose that is not a shuffle is listed, never dropped
    nodes[1] = helper.make_node("Transpose", ["r"], ["t"], name="tr", perm=[0, 1, 2, 4, 3])
    with pytest.raises(OnnxError, match=r"tr \(Transpose: .*perm=\[0, 1, 2, 4, 3\]"):
        load_onnx(save(tmp_path, nodes, [I64("s5", [1, 3, 8, 7, 7]), I64("s4", [1, -1, 7, 7])],
                       in_shape=(1, 24, 7, 7), fname="t.onnx"))


@pytest.mark.parametrize("trans_b", [0, 1])
def test_gemm_classifier(tmp_path, trans_b):
    w = W("w", 10, 64) if trans_b else W("w", 64, 10)
    nodes = [helper.make_node("GlobalAveragePool", ["x"], ["g"], name="gap"),
             helper.make_node("Flatten", ["g"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "w", "b"], ["y"], name="fc", transB=trans_b)]
    g = load_onnx(save(tmp_path, nodes, [w, W("b", 10)], in_shape=(1, 64, 7, 7)))
    t = analyze(g).totals
    assert t["params"] == 64 * 10 + 10 and t["madds"] == 640
    assert t["flops"] == 64 * 49 + 2 * 640 + 10
    assert g.meta["classes"] == 10
    b = GraphBuilder("ref", (64, 7, 7))
    y = b.add(costmodel.ops.GlobalAvgPool(), "input", "gap")
    y = b.add(costmodel.ops.Flatten(), y, "flat")
    b.add(Linear(10, True), y, "fc")
    same_as_builder(g, b.build())


def test_matmul_add_is_one_biased_linear(tmp_path):
    nodes = [helper.make_node("Flatten", ["x"], ["f"], name="flat"),
             helper.make_node("MatMul", ["f", "w"], ["mm"], name="fc"),
             helper.make_node("Add", ["mm", "b"], ["y"], name="fc.bias")]
    g = load_onnx(save(tmp_path, nodes, [W("w", 48, 5), W("b", 5)], in_shape=(1, 3, 4, 4)))
    assert [n.op for n in g.nodes][-1] == Linear(5, True) and len(g) == 2
    assert analyze(g).totals["params"] == 48 * 5 + 5


@pytest.mark.parametrize("auto_pad,pads", [("SAME_UPPER", (0, 1, 0, 1)), ("SAME_LOWER", (1, 0, 1, 0)),
                                           ("VALID", (0, 0, 0, 0))])
def test_conv_auto_pad(tmp_path, auto_pad, pads):
    # 8x8, k 2, s 2 (SAME: out 4, total pad 0) is uninformative; use k 4 s 2: total pad 2 -> (1, 1);
    # k 3 s 2 on 8: out 4, total = 3*2 + 3 - 8 = 1 -> upper (0, 1), lower (1, 0)
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="c", strides=[2, 2], auto_pad=auto_pad)]
    g = load_onnx(save(tmp_path, nodes, [W("w", 4, 3, 3, 3)], in_shape=(1, 3, 8, 8)))
    assert g.nodes[0].op.padding == pads
    assert g.output_shape == ((4, 4, 4) if auto_pad != "VALID" else (4, 3, 3))


def test_conv_dilation_groups_and_pool_ceil(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w"], ["a"], name="c", group=2, dilations=[2, 2], pads=[2, 2, 2, 2]),
             helper.make_node("MaxPool", ["a"], ["b"], name="mp", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
             helper.make_node("AveragePool", ["b"], ["y"], name="ap", kernel_shape=[2, 2], strides=[2, 2],
                              pads=[0, 0, 1, 1])]
    g = load_onnx(save(tmp_path, nodes, [W("w", 8, 2, 3, 3)], in_shape=(1, 4, 14, 14)))
    c, mp, ap = g.nodes
    assert c.op == Conv2d(8, 3, 1, (2, 2, 2, 2), 2, 2, False) and c.out_shapes == ((8, 14, 14),)
    assert analyze(g).rows[0]["madds"] == 8 * 14 * 14 * 2 * 9
    assert mp.op == MaxPool(3, 2, 0, True) and mp.out_shapes == ((8, 7, 7),)   # ceil((14-3)/2)+1 = 7
    assert ap.op == AvgPool(2, 2, (0, 1, 0, 1), False, False) and ap.out_shapes == ((8, 4, 4),)


@pytest.mark.parametrize("opset", [11, 13, 18])
def test_split_concat(tmp_path, opset):
    inits = []
    if opset == 11:
        split = helper.make_node("Split", ["x"], ["a", "b"], name="split", axis=1, split=[4, 12])
    elif opset == 13:
        split = helper.make_node("Split", ["x", "sizes"], ["a", "b"], name="split", axis=1)
        inits = [I64("sizes", [4, 12])]
    else:
        split = helper.make_node("Split", ["x"], ["a", "b"], name="split", axis=1, num_outputs=2)
    nodes = [split, helper.make_node("Relu", ["b"], ["b1"], name="relu"),
             helper.make_node("Concat", ["a", "b1"], ["y"], name="cat", axis=1)]
    g = load_onnx(save(tmp_path, nodes, inits, in_shape=(1, 16, 5, 5), opset=opset))
    sizes = (8, 8) if opset == 18 else (4, 12)
    assert g.nodes[0].op.sizes == sizes and g.nodes[1].inputs == ("split:1",)
    assert g.nodes[2].inputs == ("split:0", "relu") and g.output_shape == (16, 5, 5)
    assert analyze(g).totals["flops"] == sizes[1] * 25


def test_swish_hswish_and_plain_multiply(tmp_path):
    hs = dict(alpha=1 / 6, beta=0.5)
    nodes = [helper.make_node("Sigmoid", ["x"], ["s"], name="sig"),
             helper.make_node("Mul", ["x", "s"], ["a"], name="swish"),
             helper.make_node("HardSigmoid", ["a"], ["h"], name="hsig", **hs),
             helper.make_node("Mul", ["h", "a"], ["b"], name="hswish"),
             helper.make_node("HardSwish", ["b"], ["c"], name="hswish2"),
             helper.make_node("GlobalAveragePool", ["c"], ["p"], name="pool"),
             helper.make_node("Sigmoid", ["p"], ["gate"], name="gate"),
             helper.make_node("Mul", ["c", "gate"], ["y"], name="scale")]   # SE: a broadcast multiply
    g = load_onnx(save(tmp_path, nodes, [], in_shape=(1, 4, 6, 6)))
    assert [r["op"] for r in analyze(g).rows] == ["swish", "hswish", "hswish", "gap", "sigmoid", "multiply"]
    assert analyze(g).totals["flops"] == 5 * 144 + 5 * 144 + 5 * 144 + 144 + 4 * 4 + 144


def test_reduce_mean_is_global_pool(tmp_path):
    nodes = [helper.make_node("ReduceMean", ["x"], ["y"], name="mean", axes=[2, 3], keepdims=0)]
    g = load_onnx(save(tmp_path, nodes, [], in_shape=(1, 8, 5, 5)))
    assert [n.op.kind for n in g] == ["global_avgpool", "flatten"] and g.output_shape == (8,)


# ----------------------------------------------------------------------------- unsupported ops
def _lrn_model(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w"], ["a"], name="conv"),
             helper.make_node("LRN", ["a"], ["b"], name="lrn1", size=3),
             helper.make_node("HardSigmoid", ["b"], ["c"], name="hs"),          # default alpha 0.2: not ours
             helper.make_node("Clip", ["c", "lo", "hi"], ["d"], name="clip"),   # (-1, 1): not relu6
             helper.make_node("Resize", ["d", "", "sc"], ["y"], name="up")]
    inits = [W("w", 4, 3, 1, 1), W("lo", value=np.float32(-1)), W("hi", value=np.float32(1)),
             W("sc", value=np.ones(4, np.float32))]
    return save(tmp_path, nodes, inits, in_shape=(1, 3, 8, 8))


def test_unsupported_listed_by_name_and_type(tmp_path):
    p = _lrn_model(tmp_path)
    with pytest.raises(OnnxError) as e:
        load_onnx(p)
    msg = str(e.value)
    assert "\n" not in msg and "lrn1 (LRN)" in msg and "up (Resize" in msg and "--skip-unsupported" in msg


def test_skip_unsupported_counts_zero_and_flags(tmp_path):
    g = load_onnx(_lrn_model(tmp_path), skip_unsupported=True)
    rows = analyze(g).rows
    assert [r["op"] for r in rows] == ["conv1x1", "unsupported:LRN", "unsupported:HardSigmoid", "unsupported:Clip",
                                       "unsupported:Resize"]
    assert sum(r["flops"] for r in rows[1:]) == 0 and analyze(g).totals["madds"] == 4 * 3 * 64
    assert "lrn1 (LRN)" in g.meta["unsupported"] and "clip (Clip)" in g.meta["unsupported"]
    r = subprocess.run([sys.executable, "-m", "costmodel", "table", _lrn_model(tmp_path), "--skip-unsupported"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "unsupported:LRN" in r.stdout and "warning" in r.stderr
    r = subprocess.run([sys.executable, "-m", "costmodel", "table", _lrn_model(tmp_path)], capture_output=True,
                       text=True)
    assert r.returncode == 2 and r.stdout == "" and len(r.stderr.strip().splitlines()) == 1
    assert "Clip(min=-1, max=1)" in r.stderr and "alpha=0.2" in r.stderr


# ----------------------------------------------------------------------------- input shape, bad models
def test_dynamic_resolution_needs_res(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="c", pads=[1, 1, 1, 1])]
    p = save(tmp_path, nodes, [W("w", 4, 3, 3, 3)], in_shape=("N", 3, "H", "W"))
    with pytest.raises(OnnxError, match="--res"):
        load_onnx(p)
    assert load_onnx(p, res=20).output_shape == (4, 20, 20)
    assert analyze(load_onnx(p, res=20)).totals["madds"] == 4 * 400 * 27


def test_structural_errors_name_the_node(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="c7", group=2)]
    with pytest.raises(OnnxError, match=r"node c7 \(Conv\).*expects 4 input channels, the input has 3"):
        load_onnx(save(tmp_path, nodes, [W("w", 4, 2, 3, 3)]))
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="c8")]
    with pytest.raises(OnnxError, match=r"2 graph inputs \(x, w\); costmodel models one image input"):
        load_onnx(save(tmp_path, nodes, [], extra_inputs=[helper.make_tensor_value_info("w", 1, [4, 3, 3, 3])]))
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="big")]
    with pytest.raises(CostModelError, match="larger than its padded input"):
        load_onnx(save(tmp_path, nodes, [W("w", 4, 3, 9, 9)], in_shape=(1, 3, 8, 8)))


# ----------------------------------------------------------------------------- issue 16: hostile ONNX graphs
def test_a_tensor_written_by_two_nodes_is_refused_naming_both(tmp_path):
    """Issue 16: two nodes writing one tensor were both counted (params 432 instead of 216)."""
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="a"),
             helper.make_node("Conv", ["x", "w"], ["y"], name="b")]
    with pytest.raises(OnnxError, match=r"m\.onnx: tensor y is written by node a \(Conv\) and again by node b "
                                        r"\(Conv\); every tensor of an ONNX graph has one producer"):
        load_onnx(save(tmp_path, nodes, [W("w", 8, 3, 3, 3)]))
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="a"), helper.make_node("Relu", ["c"], ["x"], name="r")]
    with pytest.raises(OnnxError, match=r"tensor x is written by graph input x and again by node r \(Relu\)"):
        load_onnx(save(tmp_path, nodes, [W("w", 8, 3, 3, 3)]))
    nodes = [helper.make_node("Split", ["x"], ["s", "s"], name="sp", axis=1, split=[1, 2])]
    with pytest.raises(OnnxError, match=r"tensor s is written by node sp \(Split\) and again by node sp"):
        load_onnx(save(tmp_path, nodes, []))


CONV_W = ("w", 8, 3, 3, 3)


@pytest.mark.parametrize("op,attrs,weight,expected", [
    ("Conv", {"strides": [0, 1]}, CONV_W, r"node c1 \(Conv\): strides=\[0, 1\] must be 2 positive integers"),
    ("Conv", {"strides": [1, 1, 1]}, CONV_W, r"node c1 \(Conv\): strides=\[1, 1, 1\] must be 2 positive integers"),
    ("Conv", {"dilations": [1, 0]}, CONV_W, r"node c1 \(Conv\): dilations=\[1, 0\] must be 2 positive integers"),
    ("Conv", {"pads": [-1, 0, 0, 0]}, CONV_W,
     r"node c1 \(Conv\): pads=\[-1, 0, 0, 0\] must be 4 non-negative integers \(top, left, bottom, right"),
    ("Conv", {"pads": [1, 1, 1, 1, 1, 1]}, CONV_W, r"node c1 \(Conv\): pads=\[1, 1, 1, 1, 1, 1\] must be 4"),
    ("Conv", {"auto_pad": "SAME"}, CONV_W,
     r"node c1 \(Conv\): auto_pad='SAME' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER"),
    ("Conv", {"group": 0}, CONV_W, r"node c1 \(Conv\): group=0 must be a positive integer dividing the input "
                                   r"channels \(3\) and the weight's output channels \(8\)"),
    ("Conv", {"group": 3}, ("w", 8, 1, 3, 3), r"node c1 \(Conv\): group=3 does not divide the weight's 8 output"),
    ("Conv", {}, ("w", 8, 3), r"node c1 \(Conv\): weight w has shape \[8, 3\]; a Conv weight is \(C_out, "
                              r"C_in / group, kernel...\) of rank 3 or more"),
    ("Conv", {"kernel_shape": [3, 0]}, CONV_W, r"node c1 \(Conv\): kernel_shape=\[3, 0\] must be 2 positive"),
    ("MaxPool", {"kernel_shape": [0, 2]}, None,
     r"node c1 \(MaxPool\): kernel_shape=\[0, 2\] must be 2 positive integers \(window height and width"),
    ("MaxPool", {"kernel_shape": [2, 2, 2]}, None, r"node c1 \(MaxPool\): kernel_shape=\[2, 2, 2\] must be 2"),
    ("AveragePool", {"kernel_shape": [2, 2], "strides": [0, 2]}, None,
     r"node c1 \(AveragePool\): strides=\[0, 2\] must be 2 positive integers"),
    ("AveragePool", {"kernel_shape": [2, 2], "pads": [0, 0, -1, 0]}, None, r"node c1 \(AveragePool\): pads="),
    ("AveragePool", {"kernel_shape": [2, 2], "ceil_mode": 2}, None, r"node c1 \(AveragePool\): ceil_mode=2 must "
                                                                    r"be 0 or 1"),
    ("Split", {"axis": 1, "split": [1, 1]}, None, r"node c1 \(Split\): split sizes \[1, 1\] must add up to the 3"),
])
def test_attribute_errors_name_the_node_and_what_is_accepted(tmp_path, op, attrs, weight, expected):
    """Issue 16: stride, dilation, padding and pool-kernel errors did not name the node; group=0
    said 'expects 0 input channels'; a rank-2 weight was a '0-D convolution'."""
    outs = ["y", "z"] if op == "Split" else ["y"]
    node = helper.make_node(op, ["x", "w"] if weight else ["x"], outs, name="c1", **attrs)
    with pytest.raises(OnnxError, match=expected) as e:
        load_onnx(save(tmp_path, [node], [W(*weight)] if weight else [], in_shape=(1, 3, 8, 8)))
    assert "\n" not in str(e.value) and "unsupported" not in str(e.value)


def test_siblings_name_the_node_and_never_echo_unbounded_values(tmp_path):
    """The same class as issue 16's attribute items, across the other mapped ops."""
    x3 = (1, 3, 8, 8)
    cases = [
        ([helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], name="bn")],
         [W("s", 3), W("b", 3), W("m", 4), W("v", 3)],
         r"node bn \(BatchNormalization\): mean m has shape \[4\]; BatchNormalization of 3 channels takes \(3,\)"),
        ([helper.make_node("Split", ["x"], ["a", "b"], name="sp", axis=1, num_outputs=0)], [],
         r"node sp \(Split\): num_outputs=0 must be a positive integer"),
        ([helper.make_node("Slice", ["x", "st", "en", "ax", "zero"], ["y"], name="sl")],
         [I64("st", [0]), I64("en", [2]), I64("ax", [1]), I64("zero", [0])],
         r"node sl \(Slice\): starts \[0\], ends \[2\], axes \[1\] and steps \[0\] must have one entry per sliced "
         r"axis, steps non-zero"),
        ([helper.make_node("Reshape", ["x", "t"], ["y"], name="rs")], [I64("t", [-1] * 5000)],
         r"node rs \(Reshape\): Reshape target \[-1, -1, -1, -1, -1, -1, -1, -1, ... \(5000 values\)\] is not a valid "
         r"shape"),
        ([helper.make_node("GlobalAveragePool", ["x"], ["g"], name="gap"),
          helper.make_node("Flatten", ["g"], ["f"], name="fl"),
          helper.make_node("Gemm", ["f", "w"], ["y"], name="fc", transB=2)], [W("w", 10, 3)],
         r"node fc \(Gemm\): transB=2 must be 0 or 1"),
        ([helper.make_node("ReduceMean", ["x"], ["y"], name="rm", axes=[2, 3], keepdims=5)], [],
         r"node rm \(ReduceMean\): keepdims=5 must be 0 or 1"),
    ]
    long = "n" * 100_000  # an 100 KB node name is shortened in messages and in the graph
    cases.append(([helper.make_node("Conv", ["x", "w"], ["y"], name=long, strides=[0, 0])], [W("w", 4, 3, 1, 1)],
                  r"node n{100}\.\.\. \(Conv\): strides=\[0, 0\]"))
    for nodes, inits, expected in cases:
        with pytest.raises(OnnxError, match=expected) as e:
            load_onnx(save(tmp_path, nodes, inits, in_shape=x3))
        assert "\n" not in str(e.value) and len(str(e.value)) < 400


@pytest.mark.parametrize("dims,expected", [((1, 3, 0, 8), "height 0"), ((1, 3, 8, -4), "width -4"),
                                           ((1, 0, 8, 8), "channel 0"), ((0, 3, 8, 8), "batch 0")])
def test_zero_or_negative_input_dims_are_not_called_symbolic(tmp_path, dims, expected):
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="r")]
    with pytest.raises(OnnxError, match=f"input x has {expected}; dimensions must be positive integers") as e:
        load_onnx(save(tmp_path, nodes, [], in_shape=dims))
    assert "symbolic or dynamic" not in str(e.value)
    if expected.startswith(("height", "width")):  # --res replaces them, as it replaces a symbolic size
        assert load_onnx(save(tmp_path, nodes, [], in_shape=dims), res=8).input_shape == (3, 8, 8)


def test_constant_folding_is_bounded(tmp_path):
    """A Range of 10^12 elements or a broadcast of 4000 x 4000 constants is not evaluated (it
    would allocate before the size check): listed as not evaluated, at once."""
    nodes = [helper.make_node("Range", ["a", "b", "c"], ["r"], name="range"),
             helper.make_node("Add", ["p", "q"], ["s"], name="outer"),
             helper.make_node("Add", ["x", "r"], ["y"], name="use")]
    inits = [I64("a", 0), I64("b", 10 ** 12), I64("c", 1), I64("p", np.zeros((4000, 1))), I64("q", np.zeros((1, 4000)))]
    with pytest.raises(OnnxError) as e:
        load_onnx(save(tmp_path, nodes, inits))
    assert "range (Range: Range of constants that is not evaluated (its result would exceed 1,048,576" in str(e.value)
    assert "outer (Add: Add of constants that is not evaluated" in str(e.value)


def test_verify_skip_unsupported_is_one_stderr_line(tmp_path):
    """Issue 16: 'costmodel verify model.onnx --skip-unsupported' printed a warning and an error."""
    nodes = [helper.make_node("Conv", ["x", "w"], ["a"], name="conv"),
             helper.make_node("LRN", ["a"], ["y"], name="lrn1", size=3)]
    p = save(tmp_path, nodes, [W("w", 4, 3, 1, 1)], in_shape=(1, 3, 8, 8))
    r = subprocess.run([sys.executable, "-m", "costmodel", "verify", p, "--skip-unsupported"], capture_output=True,
                       text=True)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("costmodel: error: ")
    assert "cannot run the op(s) --skip-unsupported counted as identity: lrn1 (LRN)" in r.stderr
    r = subprocess.run([sys.executable, "-m", "costmodel", "table", p, "--skip-unsupported"], capture_output=True,
                       text=True)  # the commands that count still warn, once
    assert r.returncode == 0 and r.stderr.count("\n") == 1 and "warning: unsupported op(s)" in r.stderr


def _reader_refuses_special_files() -> bool:
    import importlib.util
    return importlib.util.find_spec("costmodel.limits") is not None


@pytest.mark.skipif(not _reader_refuses_special_files(),
                    reason="fileio.read_bytes's regular-file check and size cap come with costmodel/limits.py "
                           "(issue 16, hostile-input branch); before it a FIFO would block this test")
@pytest.mark.skipif(not hasattr(os, "mkfifo") or not os.path.exists("/dev/zero"), reason="needs FIFOs and /dev/zero")
def test_special_and_huge_onnx_files_are_refused_in_one_line(tmp_path, monkeypatch):
    fifo = tmp_path / "pipe.onnx"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.onnx"
    zero.symlink_to("/dev/zero")
    for path, what in ((fifo, "FIFO"), (zero, "character device")):
        with pytest.raises(CostModelError, match=what) as e:
            load_onnx(str(path))
        assert "\n" not in str(e.value)
        r = subprocess.run([sys.executable, "-m", "costmodel", "table", str(path)], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and what in r.stderr
    big = _lrn_model(tmp_path)
    monkeypatch.setenv("COSTMODEL_MAX_MODEL_BYTES", "64")
    with pytest.raises(CostModelError, match="COSTMODEL_MAX_MODEL_BYTES") as e:
        load_onnx(big)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("seed", range(6))
def test_random_and_truncated_files(tmp_path, seed):
    good = open(_lrn_model(tmp_path), "rb").read()
    rnd = random.Random(seed)
    cases = [bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 400))), good[: rnd.randrange(1, len(good))]]
    for i, data in enumerate(cases):
        p = tmp_path / f"bad{seed}_{i}.onnx"
        p.write_bytes(data)
        with pytest.raises(CostModelError) as e:
            load_onnx(str(p))
        assert "\n" not in str(e.value)


def test_bad_files_cli(tmp_path):
    (tmp_path / "empty.onnx").write_bytes(b"")
    (tmp_path / "junk.onnx").write_bytes(os.urandom(64) + b"\xff" * 8)
    for name in ("empty.onnx", "junk.onnx", "missing.onnx"):
        r = subprocess.run([sys.executable, "-m", "costmodel", "table", str(tmp_path / name)], capture_output=True,
                           text=True)
        assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("costmodel: error:")
    r = subprocess.run([sys.executable, "-m", "costmodel", "table", _lrn_model(tmp_path), "--alpha", "0.5"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "alpha does not apply" in r.stderr


# ----------------------------------------------------------------------------- real exporter output (PyTorch)
def _rows(graph):
    """Per-node label, shapes and costs; dropout (removed by exporters) left out."""
    return [(r["op"], r["input_shapes"], r["output_shape"], r["params"], r["madds"], r["flops"])
            for r in analyze(graph).rows if r["kind"] != "dropout"]


def _export(module, shape, path):
    torch = pytest.importorskip("torch")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (torch.zeros(shape),), path, dynamo=False, opset_version=13,
                          training=torch.onnx.TrainingMode.PRESERVE)   # keep BatchNorm nodes (no folding)
    return path


@pytest.mark.torch
@pytest.mark.parametrize("name,res", [("mobilenet_v2", 64), ("mobilenet_v3_small", 64), ("mixnet_s", 64),
                                      ("xception", 96)])
def test_torch_exported_zoo_networks_import_exactly(tmp_path, name, res):
    """Zoo graph -> torch module (costmodel.torch_bridge) -> torch.onnx.export -> import: the same nodes,
    shapes and counts (SE gates, hard-swish, swish, MixNet's split/concat, Xception's explicit Pad ops).
    The module keeps PyTorch's own initial weights: their values do not enter the counts."""
    pytest.importorskip("torch")
    from costmodel.torch_bridge import GraphModule
    g = costmodel.build(name, res=res)
    imported = load_onnx(_export(GraphModule(g), (1,) + g.input_shape, str(tmp_path / f"{name}.onnx")))
    assert _rows(imported) == _rows(g)


@pytest.mark.torch
def test_torch_exported_shufflenet_unit(tmp_path):
    """A ShuffleNet V2 unit as people write it in PyTorch: chunk (Slice ops), cat, view/transpose/view
    shuffle, adaptive pooling and x.view(x.size(0), -1) (Shape/Gather/... folded as constants)."""
    torch = pytest.importorskip("torch")
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 24, 3, 2, 1, bias=False), nn.BatchNorm2d(24), nn.ReLU())
            self.pool = nn.MaxPool2d(3, 2, 1)
            self.branch = nn.Sequential(nn.Conv2d(12, 12, 1, bias=False), nn.BatchNorm2d(12), nn.ReLU(),
                                        nn.Conv2d(12, 12, 3, 1, 1, groups=12, bias=False), nn.BatchNorm2d(12),
                                        nn.Conv2d(12, 12, 1, bias=False), nn.BatchNorm2d(12), nn.ReLU())
            self.fc = nn.Linear(24, 10)

        def forward(self, x):
            x = self.pool(self.stem(x))
            a, b = x.chunk(2, dim=1)
            y = torch.cat([a, self.branch(b)], 1)
            n, c, h, w = y.shape
            y = y.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous().view(n, -1, h, w)
            y = torch.nn.functional.adaptive_avg_pool2d(y, 1)
            return self.fc(y.view(y.size(0), -1))

    imported = load_onnx(_export(Net(), (1, 3, 64, 64), str(tmp_path / "shuffle.onnx")))
    from costmodel.ops import Flatten, GlobalAvgPool, Split
    b = GraphBuilder("ref", (3, 64, 64))
    y = b.conv("input", 24, 3, 2, act="relu", name="stem")
    y = b.add(MaxPool(3, 2, 1), y, "pool")
    left = b.outputs_of(b.add(Split((12, 12)), y, "s0"))[0]
    right = b.outputs_of(b.add(Split((12, 12)), y, "s1"))[1]
    r = b.conv(right, 12, 1, act="relu", name="pw1")
    r = b.dwconv(r, 3, 1, name="dw")
    r = b.conv(r, 12, 1, act="relu", name="pw2")
    y = b.add(ChannelShuffle(2), b.concat([left, r]), "shuffle")
    y = b.add(Flatten(), b.add(GlobalAvgPool(), y, "gap"), "flat")
    b.add(Linear(10, True), y, "fc")
    assert _rows(imported) == _rows(b.build())
    assert [n.op.kind for n in imported].count("channel_shuffle") == 1


# ----------------------------------------------------------------------------- dynamic-batch channel shuffles
def _dynamic_shuffle_model(tmp_path, batch_minus_one=False):
    """x (N dynamic, 24, 6, 6) -> conv 1x1 -> Reshape(target [N, 3, -1, H, W] from
    Shape/Gather/Concat, or [-1, 3, 8, H, W]) -> Transpose(0, 2, 1, 3, 4) -> Reshape(target
    [0, -1, H, W], or [-1, 24, H, W], computed *after* the Transpose, as torch's exporter orders it)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 24, 6, 6])
    n0 = [-1] if batch_minus_one else None
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
             helper.make_node("Shape", ["c"], ["shp"], name="shape"),
             helper.make_node("Slice", ["shp", "i2", "i4"], ["hw"], name="hw")]
    if n0 is None:
        nodes += [helper.make_node("Gather", ["shp", "i0s"], ["n"], name="gather_n", axis=0),
                  helper.make_node("Unsqueeze", ["n", "ax0"], ["n1"], name="unsq_n")]
        first = "n1"
    else:
        first = "m1"
    third, back = ("m1", ["z1", "m1", "hw2"]) if n0 is None else ("c8", ["m1", "c24", "hw2"])
    nodes += [helper.make_node("Concat", [first, "g", third, "hw"], ["t5"], name="cat5", axis=0),
              helper.make_node("Reshape", ["c", "t5"], ["r"], name="split_groups"),
              helper.make_node("Transpose", ["r"], ["t"], name="swap", perm=[0, 2, 1, 3, 4]),
              helper.make_node("Shape", ["c"], ["shp2"], name="shape2"),
              helper.make_node("Slice", ["shp2", "i2", "i4"], ["hw2"], name="hw2"),
              helper.make_node("Concat", back, ["t4"], name="cat4", axis=0),
              helper.make_node("Reshape", ["t", "t4"], ["y"], name="merge")]
    inits = [W("w", 24, 24, 1, 1), I64("i0s", 0), I64("ax0", [0]), I64("i2", [2]), I64("i4", [4]),
             I64("g", [3]), I64("m1", [-1]), I64("z1", [0]), I64("c8", [8]), I64("c24", [24])]
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    m = helper.make_model(helper.make_graph(nodes, "g", [x], [y], inits),
                          opset_imports=[helper.make_opsetid("", 13)])
    p = str(tmp_path / f"dyn{int(batch_minus_one)}.onnx")
    onnx.save(m, p)
    return p


@pytest.mark.parametrize("batch_minus_one", [False, True])
@pytest.mark.parametrize("res", [None, 10])
def test_dynamic_batch_shuffle_with_computed_targets(tmp_path, batch_minus_one, res):
    g = load_onnx(_dynamic_shuffle_model(tmp_path, batch_minus_one), res=res)
    r = res or 6
    assert [n.op.kind for n in g] == ["conv2d", "channel_shuffle"]
    assert g.nodes[1].op == ChannelShuffle(3) and g.output_shape == (24, r, r)
    assert analyze(g).totals["madds"] == 24 * 24 * r * r


@pytest.mark.torch
def test_torch_dynamic_batch_channel_shuffle(tmp_path):
    """torch.onnx.export with dynamic_axes={'x': {0: 'N'}}: the Reshape targets come from
    Shape/Gather/Unsqueeze/Concat of the running tensor; same graph as the static-batch export."""
    torch = pytest.importorskip("torch")
    import warnings

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 12, 1)

        def forward(self, x):
            x = self.conv(x)
            n, c, h, w = x.size()
            return x.view(n, 4, c // 4, h, w).transpose(1, 2).contiguous().view(n, -1, h, w)

    paths = {}
    for dyn in (False, True):
        paths[dyn] = str(tmp_path / f"shuffle_dyn{int(dyn)}.onnx")
        kw = {"dynamic_axes": {"x": {0: "N"}}} if dyn else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(Net().eval(), (torch.zeros(1, 3, 16, 16),), paths[dyn], dynamo=False,
                              opset_version=13, input_names=["x"], **kw)
    static, dynamic = load_onnx(paths[False]), load_onnx(paths[True])
    assert [n.op.kind for n in dynamic] == ["conv2d", "channel_shuffle"]
    assert dynamic.nodes[1].op == ChannelShuffle(4)
    assert _rows(dynamic) == _rows(static)
    # the dynamic export's targets follow the resolution (the static one's are constants)
    assert load_onnx(paths[True], res=32).output_shape == (12, 32, 32)
