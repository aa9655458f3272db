"""Every op kind is complete in one place: a category, a FLOPs rule, weights from which params
derive, an executor kernel that produces the inferred shapes, a torch translation, and a row in the
README's op table. A new op kind without an example below fails ``test_every_kind_has_an_example``."""
import os

import numpy as np
import pytest

from costmodel import ops
from costmodel.graph import GraphBuilder
from costmodel.ops import (CATEGORIES, OP_KINDS, Activation, Add, AdaptiveAvgPool, AvgPool, BatchNorm, ChannelShuffle,
                           Concat, Conv2d, Dropout, Flatten, GlobalAvgPool, Linear, MaxPool, Multiply, Split,
                           Unflatten, Unsupported, Upsample, numel)
from costmodel.ops_attention import LayerScale, MatMul, Reshape, Softmax

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: kind -> (op, input shapes): one representative application of each kind
EXAMPLES = {
    "conv2d": (Conv2d(8, 3, 2, 1, groups=2, bias=True), [(4, 9, 7)]),
    "linear": (Linear(5), [(12,)]),
    "batchnorm": (BatchNorm(), [(6, 5, 5)]),
    "activation": (Activation("hswish"), [(3, 4, 4)]),
    "maxpool": (MaxPool(3, 2, 1), [(3, 9, 9)]),
    "avgpool": (AvgPool(2, 2), [(3, 8, 6)]),
    "global_avgpool": (GlobalAvgPool(), [(5, 7, 3)]),
    "adaptive_avgpool": (AdaptiveAvgPool(3), [(2, 7, 5)]),
    "add": (Add(), [(4, 3, 3), (4, 3, 3), (4, 3, 3)]),
    "multiply": (Multiply(), [(4, 3, 3), (4, 1, 1)]),
    "concat": (Concat(), [(2, 3, 3), (5, 3, 3)]),
    "split": (Split((2, 3)), [(5, 4, 4)]),
    "channel_shuffle": (ChannelShuffle(3), [(6, 2, 2)]),
    "flatten": (Flatten(), [(3, 2, 2)]),
    "dropout": (Dropout(0.2), [(3, 2, 2)]),
    "upsample": (Upsample((6, 4)), [(2, 3, 2)]),
    "unsupported": (Unsupported("Foo"), [(2, 3, 3)]),
    "unflatten": (Unflatten((3, 2, 2)), [(12,)]),
    "reshape": (Reshape((2, 6, 5)), [(4, 3, 5)]),
    "matmul": (MatMul(transpose_a=True, scale=0.5), [(2, 3, 5), (1, 3, 4)]),
    "softmax": (Softmax(), [(2, 3, 5)]),
    "layer_scale": (LayerScale(), [(4, 3, 3)]),
}


def _graph(kind):
    op, shapes = EXAMPLES[kind]
    g = GraphBuilder("one", shapes[0])
    refs = ["input"]
    for i, s in enumerate(shapes[1:]):  # extra inputs come from 1x1 convs of the input to their shape
        c = g.add(Conv2d(s[0], 1), "input", f"in{i + 1}")
        if s[1:] != shapes[0][1:]:
            c = g.add(AdaptiveAvgPool(s[1:]), c, f"in{i + 1}.pool")
        refs.append(c)
    if len(shapes[0]) == 1:
        g = GraphBuilder("one", (shapes[0][0], 1, 1))
        refs = [g.add(Flatten(), "input", "flat")]
    g.add(op, refs, kind)
    return g.build()


def test_every_kind_has_an_example():
    assert set(EXAMPLES) == set(OP_KINDS), "add an example application of the new op kind"


@pytest.mark.parametrize("kind", sorted(OP_KINDS))
def test_kind_declares_everything(kind):
    cls = OP_KINDS[kind]
    assert cls.category in CATEGORIES and cls.flops_rule
    op, shapes = EXAMPLES[kind]
    w = op.weights(tuple(shapes))
    total = sum(numel(s) for s in w.values())
    assert op.params(tuple(shapes)) + op.bn_params(tuple(shapes)) == total
    assert (op.params(tuple(shapes)) == 0) or cls.weight_count == "params"
    outs = op.infer(tuple(shapes))
    assert isinstance(op.flops(tuple(shapes), outs), int) and op.flops(tuple(shapes), outs) >= 0


@pytest.mark.parametrize("kind", sorted(OP_KINDS))
def test_executor_kernel_produces_the_inferred_shapes(kind):
    from costmodel.errors import CostModelError
    from costmodel.executor import KERNELS, run
    g = _graph(kind)
    if kind == "unsupported":  # not modelled: executing it would invent numbers
        assert kind not in KERNELS
        with pytest.raises(CostModelError, match="unsupported"):
            run(g)
        return
    assert kind in KERNELS
    ex = run(g, seed=1, keep=True)  # verifies every node's executed shapes and Mult-Adds
    assert ex.ok
    node = g.nodes[-1]
    for ref, shape in zip(node.outputs, node.out_shapes):
        assert tuple(ex.tensors[ref].shape[1:]) == shape


@pytest.mark.parametrize("kind", sorted(OP_KINDS))
def test_torch_translation_exists_and_agrees(kind):
    torch = pytest.importorskip("torch")
    from costmodel.executor import execute
    from costmodel.torch_bridge import TRANSLATORS, to_torch
    if kind == "unsupported":
        assert kind not in TRANSLATORS  # an unmodelled op has no meaning to translate
        return
    assert kind in TRANSLATORS
    g = _graph(kind)
    x = np.random.default_rng(0).standard_normal((2,) + g.input_shape).astype(np.float32)
    with torch.no_grad():
        want = to_torch(g, seed=3)(torch.from_numpy(x))
    want = want[0] if isinstance(want, tuple) else want
    got = execute(g, x, seed=3)
    got = got[0] if isinstance(got, tuple) else got
    assert np.allclose(got, want.numpy(), atol=1e-4, rtol=1e-4)


def test_readme_op_table_is_the_code():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    i = text.index("<!-- op-table:start -->\n") + len("<!-- op-table:start -->\n")
    assert text[i:text.index("<!-- op-table:end -->")] == ops.op_table()


def test_an_op_without_a_category_cannot_be_defined():
    from dataclasses import dataclass
    from typing import ClassVar
    with pytest.raises(TypeError, match="category"):
        @dataclass(frozen=True)
        class Forgotten(ops.Op):
            kind: ClassVar[str] = "forgotten"
            flops_rule: ClassVar[str] = "0"
