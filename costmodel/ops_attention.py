"""Op kinds of attention blocks (MobileNetV4's Mobile MQA, arXiv 2404.10518 section 3.2): a view
that regroups a map into heads, a batched matrix product, softmax, and layer scale.

They follow the contract of ``costmodel.ops`` (shape rule, weights, category, FLOPs rule) and are
listed in ``ops.OP_KINDS`` like every other kind, so spec files, the executor, the torch bridge and
the op table see them.

Tensors here are rank 3 like feature maps, read as (batch of matrices, rows, columns): a query map
(h x d, H, W) regrouped by ``Reshape`` is h matrices of d x H W, a view of the same memory.

**Attention Mult-Adds are counted apart.** ``madds`` stays the multiply-accumulates of conv and
linear layers (the projections of an attention block are 1x1 convs and count there); the products
of activations with activations (Q K^T and A V) count in ``attn_madds``, a total of their own
(0 in a network without attention), so that both the papers' conventions can be reproduced
(``madds`` or ``madds + attn_madds``). FLOPs include both: 2 per multiply-accumulate.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from .errors import GraphError
from .ops_base import Op, _is_int, numel


def _rank3(op: Op, x, what: str = "input"):
    if len(x) != 3:
        raise GraphError(f"{op.kind} needs a rank-3 {what} (batch, rows, columns), got shape {x}")
    return x


@dataclass(frozen=True)
class Reshape(Op):
    """A view with another shape of the same elements (row-major, as ``torch.reshape`` of a
    contiguous tensor): (h x d, H, W) -> (h, d, H W) regroups a map into h heads. No arithmetic."""

    shape: tuple[int, ...] = ()

    kind: ClassVar[str] = "reshape"
    category: ClassVar[str] = "view"
    flops_rule: ClassVar[str] = "0 (a view of the same elements)"

    def __post_init__(self):
        if not isinstance(self.shape, (tuple, list)) or not self.shape or not all(_is_int(d) and d > 0
                                                                                  for d in self.shape):
            raise GraphError(f"reshape shape must be positive integers, got {self.shape!r}")
        object.__setattr__(self, "shape", tuple(int(d) for d in self.shape))

    def infer(self, ins):
        (x,) = ins
        if numel(x) != numel(self.shape):
            raise GraphError(f"reshape cannot view {x} ({numel(x)} elements) as {self.shape} "
                             f"({numel(self.shape)} elements)")
        return (self.shape,)

    def label(self, ins):
        return "reshape " + "x".join(map(str, self.shape))


@dataclass(frozen=True)
class MatMul(Op):
    """Batched matrix product C = scale x op(A) op(B) with op(X) = X or X^T (``transpose_a``,
    ``transpose_b``, as GEMM's transA/transB: the operand is read transposed, nothing is copied).
    A is (B1, M, K) (or (B1, K, M) transposed), B is (B2, K, P) (or (B2, P, K)); a batch of 1
    broadcasts (multi-query attention's single key and value head). Output (max(B1, B2), M, P).

    attn_madds = B M K P (activations times activations: not in ``madds``)
    flops = 2 attn_madds (+ 1 per output element when scale != 1)
    """

    transpose_a: bool = False
    transpose_b: bool = False
    scale: float = 1.0

    kind: ClassVar[str] = "matmul"
    arity: ClassVar[int | None] = 2
    category: ClassVar[str] = "linear"
    flops_rule: ClassVar[str] = ("2 x its multiply-accumulates (counted in attn_madds, not madds), plus 1 per "
                                 "output element when scaled")

    def __post_init__(self):
        s = self.scale
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not math.isfinite(s) or s == 0:
            raise GraphError(f"matmul scale must be a finite non-zero number, got {s!r}")
        object.__setattr__(self, "scale", float(s))

    def _dims(self, ins):
        a, b = _rank3(self, ins[0], "first input"), _rank3(self, ins[1], "second input")
        (b1, m, k) = (a[0], a[2], a[1]) if self.transpose_a else a
        (b2, k2, p) = (b[0], b[2], b[1]) if self.transpose_b else b
        if k != k2:
            raise GraphError(f"matmul inner sizes differ: {k} (of {a}{'^T' if self.transpose_a else ''}) and {k2} "
                             f"(of {b}{'^T' if self.transpose_b else ''})")
        if b1 != b2 and 1 not in (b1, b2):
            raise GraphError(f"matmul batches {b1} and {b2} do not broadcast (equal, or one of them 1)")
        return max(b1, b2), m, k, p

    def infer(self, ins):
        bt, m, _, p = self._dims(ins)
        return ((bt, m, p),)

    def attn_madds(self, ins, outs):
        bt, m, k, p = self._dims(ins)
        return bt * m * k * p

    def flops(self, ins, outs):
        return 2 * self.attn_madds(ins, outs) + (numel(outs[0]) if self.scale != 1.0 else 0)

    def label(self, ins):
        a = "A^T" if self.transpose_a else "A"
        b = "B^T" if self.transpose_b else "B"
        return f"matmul {a}{b}" + (f" x{self.scale:.4g}" if self.scale != 1.0 else "")


#: FLOPs per element of a softmax along a row (numerically stable, as PyTorch computes it)
SOFTMAX_FLOPS = 5  # running max (1 comparison), subtract the max, exp, add to the row sum, divide


@dataclass(frozen=True)
class Softmax(Op):
    """Softmax along the last axis (each row of each matrix): exp(x - max) / sum.
    flops = 5 per element (max, subtract, exp, sum, divide)."""

    kind: ClassVar[str] = "softmax"
    category: ClassVar[str] = "act"
    flops_rule: ClassVar[str] = f"{SOFTMAX_FLOPS} per element (row max, subtract, exp, row sum, divide)"

    def infer(self, ins):
        (x,) = ins
        return (_rank3(self, x),)

    def flops(self, ins, outs):
        return SOFTMAX_FLOPS * numel(outs[0])


@dataclass(frozen=True)
class LayerScale(Op):
    """Layer scale (CaiT; MobileNetV4's ``MNV4LayerScale``, timm's ``LayerScale2d``): y = x gamma,
    one learned gamma per channel of a (C, H, W) map. Weights ``gamma`` (C,), counted in
    ``params`` (a trained weight of the network, as Keras and PyTorch count it); flops 1 per element."""

    kind: ClassVar[str] = "layer_scale"
    category: ClassVar[str] = "eltwise"
    flops_rule: ClassVar[str] = "1 per element"

    def infer(self, ins):
        (x,) = ins
        if len(x) != 3:
            raise GraphError(f"layer_scale needs a (C, H, W) feature map, got shape {x}")
        return (x,)

    def weights(self, ins):
        return {"gamma": (ins[0][0],)}

    def flops(self, ins, outs):
        return numel(outs[0])


ATTENTION_KINDS = (Reshape, MatMul, Softmax, LayerScale)

__all__ = ["ATTENTION_KINDS", "SOFTMAX_FLOPS", "LayerScale", "MatMul", "Reshape", "Softmax"]
