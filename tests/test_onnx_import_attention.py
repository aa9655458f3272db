"""ONNX import of attention (costmodel.onnx_attention): MatMul of activations with Transposes and
constant scales folded in, Softmax, layer scale, the head views; GELU's erf form. Exact counts by
hand, the same graph as GraphBuilder builds, and the forms PyTorch's exporter writes for
hand-written multi-query attention modules (explicit products, scaled_dot_product_attention, the
channels-first layout of costmodel and the token layout of timm's MultiQueryAttention2d)."""
import warnings

import pytest

onnx = pytest.importorskip("onnx")
import numpy as np  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from costmodel import GraphBuilder, analyze  # noqa: E402
from costmodel.onnx_import import OnnxError, load_onnx  # noqa: E402
from costmodel.ops import LayerScale, MatMul, Reshape, Softmax  # noqa: E402


def W(name, *dims, value=None):
    arr = np.zeros(dims, np.float32) if value is None else np.asarray(value, np.float32)
    return numpy_helper.from_array(arr, name)


def I64(name, values):
    return numpy_helper.from_array(np.asarray(values, np.int64), name)


def save(tmp_path, nodes, inits, in_shape=(1, 8, 4, 4), opset=13, fname="m.onnx"):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(in_shape))
    y = helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)
    m = helper.make_model(helper.make_graph(nodes, "g", [x], [y], inits),
                          opset_imports=[helper.make_opsetid("", opset)])
    p = str(tmp_path / fname)
    onnx.save(m, p)
    return p


def signature(graph):
    return [(n.op, n.in_shapes, n.out_shapes) for n in graph]


def _mqa_nodes(scale_node="Mul"):
    """x (8, 4, 4) -> q 1x1 conv 8 -> 2 heads of 4 x 16; k 1x1 conv 4 -> 1 x 4 x 16;
    A = softmax(q^T k x 0.5) (2, 16, 16); o = k A^T (2, 4, 16) -> (8, 4, 4) x gamma (8, 1, 1)."""
    scale = (helper.make_node("Mul", ["qk", "half"], ["s"], name="scale") if scale_node == "Mul" else
             helper.make_node("Div", ["qk", "two"], ["s"], name="scale"))
    nodes = [helper.make_node("Conv", ["x", "wq"], ["q"], name="query"),
             helper.make_node("Reshape", ["q", "heads"], ["qh"], name="query.heads"),
             helper.make_node("Conv", ["x", "wk"], ["k"], name="key"),
             helper.make_node("Reshape", ["k", "rows"], ["kr"], name="key.rows"),
             helper.make_node("Transpose", ["qh"], ["qt"], name="q_t", perm=[0, 1, 3, 2]),
             helper.make_node("MatMul", ["qt", "kr"], ["qk"], name="logits"),
             scale,
             helper.make_node("Softmax", ["s"], ["a"], name="softmax", axis=-1),
             helper.make_node("Transpose", ["a"], ["at"], name="a_t", perm=[0, 1, 3, 2]),
             helper.make_node("MatMul", ["kr", "at"], ["o"], name="context"),
             helper.make_node("Reshape", ["o", "map"], ["om"], name="context.map"),
             helper.make_node("Mul", ["om", "gamma"], ["y"], name="layer_scale")]
    inits = [W("wq", 8, 8, 1, 1), W("wk", 4, 8, 1, 1), I64("heads", [0, 2, 4, -1]), I64("rows", [1, 1, 4, 16]),
             I64("map", [0, 8, 4, 4]), W("half", value=0.5), W("two", value=2.0), W("gamma", 8, 1, 1)]
    return nodes, inits


def _mqa_builder():
    b = GraphBuilder("ref", (8, 4, 4))
    q = b.add(Reshape((2, 4, 16)), b.conv("input", 8, 1, bn=False, bias=False, name="query"), "query.heads")
    k = b.add(Reshape((1, 4, 16)), b.conv("input", 4, 1, bn=False, bias=False, name="key"), "key.rows")
    a = b.add(Softmax(), b.add(MatMul(transpose_a=True, scale=0.5), [q, k], "logits"), "softmax")
    o = b.add(Reshape((8, 4, 4)), b.add(MatMul(transpose_b=True), [k, a], "context"), "context.map")
    b.add(LayerScale(), o, "layer_scale")
    return b.build()


@pytest.mark.parametrize("scale_node", ["Mul", "Div"])
def test_mqa_exact_counts_and_same_graph_as_builder(tmp_path, scale_node):
    g = load_onnx(save(tmp_path, *_mqa_nodes(scale_node)))
    t = analyze(g).totals
    # params: q 8*8 + k 4*8 + gamma 8; madds: the two 1x1 convs on 16 positions
    assert (t["params"], t["madds"]) == (64 + 32 + 8, (64 + 32) * 16)
    # attn_madds: Q^T K = 2 heads x 16 x 4 x 16, K A^T = 2 x 4 x 16 x 16
    assert t["attn_madds"] == 2 * 16 * 4 * 16 + 2 * 4 * 16 * 16 == 4096
    # flops: 2 madds + 2 attn_madds + 1 per scaled logit (512) + softmax 5 x 512 + layer scale 128
    assert t["flops"] == 2 * 1536 + 2 * 4096 + 512 + 5 * 512 + 128
    assert signature(g) == signature(_mqa_builder())
    assert [n.name for n in g] == ["query", "query.heads", "key", "key.rows", "logits", "softmax", "context",
                                   "context.map", "layer_scale"]  # Transposes and the scale folded away


def test_product_transposed_after_and_scaled_on_operands(tmp_path):
    """(A B)^T = B^T A^T: a Transpose after the product swaps the operands; scalars on both
    operands multiply into one scale (PyTorch's export of scaled_dot_product_attention)."""
    nodes = [helper.make_node("Conv", ["x", "wq"], ["q"], name="query"),
             helper.make_node("Reshape", ["q", "heads"], ["qh"], name="query.heads"),
             helper.make_node("Transpose", ["qh"], ["qt"], name="q_t", perm=[0, 1, 3, 2]),
             helper.make_node("Mul", ["qt", "r"], ["qs"], name="q_scaled"),
             helper.make_node("Mul", ["r", "qh"], ["ks"], name="k_scaled"),
             helper.make_node("MatMul", ["qs", "ks"], ["p"], name="logits"),
             helper.make_node("Transpose", ["p"], ["y"], name="p_t", perm=[0, 1, 3, 2])]
    inits = [W("wq", 8, 8, 1, 1), I64("heads", [1, 2, 4, 16]), W("r", 1, value=[0.5])]
    g = load_onnx(save(tmp_path, nodes, inits))
    mm = [n for n in g if n.op.kind == "matmul"]
    assert len(mm) == 1 and mm[0].op == MatMul(transpose_a=True, transpose_b=False, scale=0.25)
    assert mm[0].out_shapes == ((2, 16, 16),) and g.output_shape == (2, 16, 16)


def test_transposed_tensor_read_elsewhere_is_unsupported_with_the_reason(tmp_path):
    nodes = [helper.make_node("Reshape", ["x", "heads"], ["xh"], name="heads"),
             helper.make_node("Transpose", ["xh"], ["xt"], name="swap", perm=[0, 1, 3, 2]),
             helper.make_node("Relu", ["xt"], ["y"], name="relu")]
    with pytest.raises(OnnxError, match=r"swap \(Transpose: Transpose perm=\[0, 1, 3, 2\] \(modelled in a channel "
                                        r"shuffle, and as a swap of the last two axes of an operand of MatMuls"):
        load_onnx(save(tmp_path, nodes, [I64("heads", [1, 2, 4, 16])]))


def test_not_covered_forms_are_listed(tmp_path):
    """Attention on rank-3 tensors (batch and heads merged), softmax over another axis, a Mul by
    a constant that is neither a scalar nor per channel: unsupported, each with its reason."""
    nodes = [helper.make_node("Reshape", ["x", "t3"], ["a"], name="merge"),
             helper.make_node("MatMul", ["a", "a"], ["p"], name="prod3"),
             helper.make_node("Reshape", ["x", "heads"], ["h"], name="heads"),
             helper.make_node("Softmax", ["h"], ["s"], name="sm1", axis=1),
             helper.make_node("Mul", ["x", "pos"], ["y"], name="per_position")]
    inits = [I64("t3", [8, 4, 4]), I64("heads", [1, 2, 4, 16]), W("pos", 1, 1, 4, 4)]
    with pytest.raises(OnnxError) as e:
        load_onnx(save(tmp_path, nodes, inits))
    msg = str(e.value)
    assert "merge (Reshape: Reshape [1, 8, 4, 4] -> [8, 4, 4] merges or splits the batch dimension" in msg
    assert "sm1 (Softmax: Softmax axis=1 of a rank-4 tensor (only the last axis is modelled))" in msg
    assert "per_position (Mul: Mul by a constant of shape [1, 1, 4, 4] (modelled as a per-channel" in msg
    assert "\n" not in msg


@pytest.mark.parametrize("opset", [13, 20])
def test_gelu_erf_form_and_gelu_op(tmp_path, opset):
    if opset >= 20:
        nodes = [helper.make_node("Gelu", ["x"], ["y"], name="g")]
        inits = []
    else:  # PyTorch's export below opset 20: x * (erf(x / sqrt 2) + 1) * 0.5
        nodes = [helper.make_node("Div", ["x", "sqrt2"], ["d"], name="g.div"),
                 helper.make_node("Erf", ["d"], ["e"], name="g.erf"),
                 helper.make_node("Add", ["e", "one"], ["p"], name="g.add"),
                 helper.make_node("Mul", ["x", "p"], ["m"], name="g.mul"),
                 helper.make_node("Mul", ["m", "half"], ["y"], name="g")]
        inits = [W("sqrt2", value=np.sqrt(2.0)), W("one", value=1.0), W("half", value=0.5)]
    g = load_onnx(save(tmp_path, nodes, inits, opset=opset))
    assert [(n.name, n.op.kind, getattr(n.op, "fn", None)) for n in g] == [("g", "activation", "gelu")]
    assert analyze(g).totals["flops"] == 5 * 8 * 4 * 4


def test_erf_outside_gelu_is_unsupported(tmp_path):
    nodes = [helper.make_node("Erf", ["x"], ["y"], name="erf")]
    with pytest.raises(OnnxError, match=r"erf \(Erf: Erf outside GELU's form"):
        load_onnx(save(tmp_path, nodes, []))


def test_unsqueeze_and_squeeze_are_views(tmp_path):
    nodes = [helper.make_node("Unsqueeze", ["x", "ax"], ["u"], name="unsq"),
             helper.make_node("Squeeze", ["u", "ax"], ["y"], name="sq")]
    g = load_onnx(save(tmp_path, nodes, [I64("ax", [2])]))
    assert [(n.op, n.out_shapes) for n in g] == [(Reshape((8, 1, 4, 4)), ((8, 1, 4, 4),)),
                                                 (Reshape((8, 4, 4)), ((8, 4, 4),))]
    assert analyze(g).totals["flops"] == 0
    nodes = [helper.make_node("Unsqueeze", ["x", "ax0"], ["y"], name="unsq0")]
    with pytest.raises(OnnxError, match=r"Unsqueeze at axis 0, before the batch axis"):
        load_onnx(save(tmp_path, nodes, [I64("ax0", [0])]))


# ----------------------------------------------------------------------------- PyTorch's exporter
def _torch_modules():
    torch = pytest.importorskip("torch")
    from torch import nn
    from torch.nn import functional as F

    class MQA(nn.Module):
        """Multi-query attention on a (B, C, H, W) map: 4 query heads, one key/value head of 8."""

        def __init__(self, layout="channels", sdpa=False, c=32, heads=4, dim=8):
            super().__init__()
            self.layout, self.sdpa, self.h, self.d = layout, sdpa, heads, dim
            self.q = nn.Conv2d(c, heads * dim, 1, bias=False)
            self.k = nn.Conv2d(c, dim, 1, bias=False)
            self.v = nn.Conv2d(c, dim, 1, bias=False)
            self.o = nn.Conv2d(heads * dim, c, 1, bias=False)
            self.gamma = nn.Parameter(torch.full((c, 1, 1), 1e-5))

        def forward(self, x):
            b, _, h, w = x.shape
            if self.layout == "channels":  # costmodel's form: heads of d x N, products with transposed operands
                q = self.q(x).reshape(b, self.h, self.d, h * w)
                k = self.k(x).reshape(b, 1, self.d, h * w)
                v = self.v(x).reshape(b, 1, self.d, h * w)
                if self.sdpa:
                    o = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2),
                                                       v.transpose(-1, -2)).transpose(-1, -2)
                else:
                    a = ((q.transpose(-1, -2) @ k) * self.d ** -0.5).softmax(dim=-1)
                    o = v @ a.transpose(-1, -2)
                o = o.reshape(b, self.h * self.d, h, w)
            else:  # timm's MultiQueryAttention2d: tokens (B, heads, N, d), output permuted back to a map
                q = self.q(x).reshape(b, self.h, self.d, -1).transpose(-1, -2)
                k = self.k(x).reshape(b, self.d, -1).transpose(1, 2).unsqueeze(1)
                v = self.v(x).reshape(b, self.d, -1).transpose(1, 2).unsqueeze(1)
                if self.sdpa:
                    o = F.scaled_dot_product_attention(q, k, v)
                else:
                    o = ((q * self.d ** -0.5) @ k.transpose(-1, -2)).softmax(dim=-1) @ v
                o = o.transpose(1, 2).reshape(b, h, w, -1).permute(0, 3, 1, 2)
            return x + self.o(o) * self.gamma

    return torch, MQA


def _mqa_reference(views):
    """The block as costmodel's zoo builds it (``views``: the extra (d, N) views of the token layout)."""
    b = GraphBuilder("ref", (32, 6, 6))
    q = b.add(Reshape((4, 8, 36)), b.conv("input", 32, 1, bn=False, bias=False, name="q"), "q.heads")

    def head(name):
        y = b.conv("input", 8, 1, bn=False, bias=False, name=name)
        if views:
            y = b.add(Reshape((8, 36)), y, f"{name}.flat")
        return b.add(Reshape((1, 8, 36)), y, f"{name}.rows")

    k, v = head("k"), head("v")
    a = b.add(Softmax(), b.add(MatMul(transpose_a=True, scale=8 ** -0.5), [q, k], "logits"), "softmax")
    o = b.add(Reshape((32, 6, 6)), b.add(MatMul(transpose_b=True), [v, a], "context"), "context.map")
    y = b.add(LayerScale(), b.conv(o, 32, 1, bn=False, bias=False, name="o"), "layer_scale")
    b.add_tensors(["input", y], "add")
    return b.build()


def _rows(graph):
    return sorted((r["op"], r["input_shapes"], r["output_shape"], r["params"], r["madds"], r["attn_madds"],
                   r["flops"]) for r in analyze(graph).rows)


@pytest.mark.torch
@pytest.mark.parametrize("layout", ["channels", "tokens"])
@pytest.mark.parametrize("sdpa", [False, True])
@pytest.mark.parametrize("dynamic", [False, True])
def test_torch_exported_mqa(tmp_path, layout, sdpa, dynamic):
    """Explicit products or F.scaled_dot_product_attention, in costmodel's channels-first layout or
    timm's token layout, static or dynamic batch: the same nodes, shapes and counts as the zoo's
    form (the token layout adds two zero-cost views), whatever the exporter wrote around the
    products (Transposes, a scale on the product or sqrt(scale) on both operands computed from
    Shape, Unsqueeze, the Transpose/Reshape/Transpose back to a map)."""
    torch, MQA = _torch_modules()
    p = str(tmp_path / "mqa.onnx")
    kw = {"dynamic_axes": {"x": {0: "N"}}} if dynamic else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(MQA(layout, sdpa).eval(), (torch.zeros(1, 32, 6, 6),), p, dynamo=False, opset_version=14,
                          input_names=["x"], **kw)
    g = load_onnx(p)
    assert _rows(g) == _rows(_mqa_reference(views=layout == "tokens"))
    t = analyze(g).totals
    assert t["attn_madds"] == 4 * 36 * 36 * (8 + 8)  # h N M (d_k + d_v)
    assert t["params"] == 32 * 32 + 8 * 32 * 2 + 32 * 32 + 32  # projections + gamma


@pytest.mark.torch
def test_torch_exported_gelu(tmp_path):
    torch = pytest.importorskip("torch")
    paths = {}
    for approx in ("none", "tanh"):
        paths[approx] = str(tmp_path / f"gelu_{approx}.onnx")
        m = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.GELU(approximate=approx))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(m.eval(), (torch.zeros(1, 3, 8, 8),), paths[approx], dynamo=False, opset_version=17)
    g = load_onnx(paths["none"])
    assert [(n.op.kind, getattr(n.op, "fn", None)) for n in g] == [("conv2d", None), ("activation", "gelu")]
    with pytest.raises(OnnxError, match="unsupported ONNX op"):  # tanh GELU: its Tanh is listed, never guessed
        load_onnx(paths["tanh"])
