"""The attention forms of ``costmodel.onnx_import`` (a mixin of its importer): the ONNX nodes of
an attention block mapped onto ``costmodel.ops_attention`` (MobileNetV4's Mobile MQA, arXiv
2404.10518 section 3.2).

* MatMul of two activations of rank 4 (N, batch, rows, columns) -> matmul. Folded into it:
  a Transpose that swaps the last two axes of an operand (``perm`` (0, 1, 3, 2)) -> the
  operand's transpose flag; a Mul or Div of an operand by a constant scalar -> the product's
  scale; the same nodes after the product (only reader of its output): (A B)^T = B^T A^T swaps
  the operands, a scalar multiplies the scale. Chains of these fold too (PyTorch's export of
  ``F.scaled_dot_product_attention`` scales both Q and K by sqrt(scale), a factor it computes
  from ``Shape`` of Q: evaluated by ``onnx_fold``).
* Softmax along the last axis of a rank-4 tensor -> softmax.
* Mul by a constant of shape (C, 1, 1) or (1, C, 1, 1) of a (N, C, H, W) map -> layer_scale (the
  constant is its gamma, counted in params).
* Reshape (the regrouping into heads) is mapped by ``onnx_tensors``.

A Transpose or a scaled tensor is folded only when every node that reads it is a MatMul of two
activations (or another such fold, or a ``Shape``): the folded tensor then never needs to exist.
Anything else is an unsupported op with the reason: a Transpose of other axes, attention on rank-3
tensors (batch and heads merged, ``(B h, N, d)``), a per-head or per-position constant.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Optional, Tuple

from .onnx_read import OnnxError, _attrs, _Unsupported, brief
from .ops_attention import LayerScale, MatMul, Reshape, Softmax


class Operand(NamedTuple):
    """A tensor folded into a MatMul: ``src`` (an ONNX tensor with an IR node) read transposed
    or not, times ``scale``; ``shape`` is the folded tensor's ONNX shape (batch 1 first)."""

    src: str
    transposed: bool
    scale: float
    shape: Tuple[int, ...]


def swaps_last_two(perm, rank: int) -> bool:
    return rank >= 3 and list(perm) == list(range(rank - 2)) + [rank - 1, rank - 2]


def _onnx_domain(node) -> bool:
    return node.domain in ("", "ai.onnx")


class AttentionForms:
    def operand(self, name: str, node) -> Operand:
        if name in self.virtual:
            return self.virtual[name]
        return Operand(name, False, 1.0, self.full_shape(name, node))

    @staticmethod
    def _is_swap(node) -> bool:
        """A Transpose that swaps the last two axes of its input (of any rank >= 3)."""
        if node.op_type != "Transpose" or not _onnx_domain(node) or not node.output or not node.output[0]:
            return False
        perm = _attrs(node).get("perm")
        return perm is not None and swaps_last_two(perm, len(perm))

    def unsqueeze_axes(self, node, rank: int):
        """The sorted axes (of the output) an Unsqueeze of a rank-``rank`` tensor inserts, else None."""
        if node.op_type != "Unsqueeze" or not _onnx_domain(node) or not node.output or not node.output[0]:
            return None
        axes = _attrs(node).get("axes")
        if axes is None and len(node.input) > 1 and node.input[1]:
            c = self.lazy_const(node.input[1])
            axes = None if c is None else [int(v) for v in c.reshape(-1)]
        if not axes:
            return None
        out = rank + len(axes)
        axes = sorted(int(v) % out for v in axes if -out <= int(v) < out)
        return axes if len(axes) == len(set(axes)) == out - rank else None

    def scalar_factor(self, node, tensor: str) -> Optional[float]:
        """What ``node`` multiplies ``tensor`` by when it is a Mul by, or a Div by, a constant
        scalar (an initializer, a Constant or a foldable computation); None otherwise."""
        if (node.op_type not in ("Mul", "Div") or not _onnx_domain(node) or len(node.input) != 2
                or not node.output or not node.output[0]):
            return None
        if node.input[0] == tensor:
            other = node.input[1]
        elif node.op_type == "Mul" and node.input[1] == tensor:
            other = node.input[0]
        else:
            return None
        t = self.static(other)
        if other == tensor or (t is not None and math.prod(t.shape if hasattr(t, "shape") else t.dims) != 1):
            return None  # (a structure-only initializer has dims and no values)
        try:
            c = self.lazy_const(other)
            if c is None or c.size != 1 or c.ndim > 4:
                return None
            v = float(c.reshape(-1)[0])
            v = v if node.op_type == "Mul" else 1.0 / v
        except (TypeError, ValueError, ZeroDivisionError, AttributeError):
            return None
        return v if math.isfinite(v) and v != 0 else None

    def _feeds_matmul(self, tensor: str, rank: int, depth: int = 0) -> bool:
        """Every reader of ``tensor`` (of rank ``rank``) is a MatMul of two activations, a ``Shape``,
        or a fold (a last-two-axes Transpose, a Mul/Div by a constant scalar, an Unsqueeze of
        leading axes) whose output is read the same way."""
        readers = self.consumers.get(tensor, [])
        if tensor in self.outputs or depth > 16 or not readers:
            return False
        for c in readers:
            if not _onnx_domain(c):
                return False
            if c.op_type == "Shape":
                continue
            if c.op_type == "MatMul" and len(c.input) == 2 and not any(self.is_static(i) for i in c.input):
                continue
            axes = self.unsqueeze_axes(c, rank)
            if ((self._is_swap(c) or self.scalar_factor(c, tensor) is not None
                 or (axes is not None and axes[-1] < rank + len(axes) - 2))
                    and self._feeds_matmul(c.output[0], rank + len(axes or ()), depth + 1)):
                continue
            return False
        return True

    def _fold(self, n, folded: Operand) -> bool:
        """Record ``n``'s output as ``folded`` when only MatMuls read it (see ``_feeds_matmul``)."""
        out = n.output[0]
        self.virtual[out] = folded  # before the check: a Shape of it may compute the scale
        if self._feeds_matmul(out, len(folded.shape)):
            return True
        del self.virtual[out]
        return False

    # ------------------------------------------------------------------ ops
    def op_Transpose(self, n, a):
        x = self.first_data(n)
        perm = list(a.get("perm", []))
        op = self.operand(x, n)
        if len(op.shape) >= 3 and swaps_last_two(perm, len(op.shape)):
            shape = op.shape[:-2] + (op.shape[-1], op.shape[-2])
            if self._fold(n, Operand(op.src, not op.transposed, op.scale, shape)):
                return
        raise _Unsupported(f"Transpose perm={brief(perm)} (modelled in a channel shuffle, and as a swap of the last "
                           f"two axes of an operand of MatMuls of two activations)")

    def fold_unsqueeze(self, n, x: str) -> bool:
        """Unsqueeze of leading axes of a folded operand: its source viewed with the same axes
        inserted (a reshape node), still folded (timm's ``t.reshape(B, C, -1).transpose(1, 2).unsqueeze(1)``)."""
        op = self.virtual[x]
        axes = self.unsqueeze_axes(n, len(op.shape))
        if axes is None or axes[-1] >= len(op.shape) + len(axes) - 2:
            return False
        shape, src_shape = list(op.shape), list(self.full_shape(op.src, n))
        for ax in axes:
            shape.insert(ax, 1)
            src_shape.insert(ax, 1)
        src = f"{n.output[0]}\0source"  # no ONNX tensor has this name: the view of the source
        if not self._fold(n, Operand(src, op.transposed, op.scale, tuple(shape))):
            return False
        self.refs[src] = self.g.add(Reshape(tuple(src_shape[1:])), [self.ref(op.src, n)], self.node_names[id(n)])
        return True

    def _fold_scale(self, n, x: str) -> bool:
        f = self.scalar_factor(n, x)
        if f is None:
            return False
        op = self.operand(x, n)
        return len(op.shape) == 4 and self._fold(n, Operand(op.src, op.transposed, op.scale * f, op.shape))

    def mul_by_constant(self, n, x: str):
        """Mul of ``x`` by a constant: a MatMul operand's scale, or a per-channel layer scale."""
        if self._fold_scale(n, x):
            return
        other = n.input[1] if n.input[0] == x else n.input[0]
        shape = self.g.shape(self.ref(x, n))
        dims = self.dims(other, n)
        if len(shape) == 3 and dims in ((shape[0], 1, 1), (1, shape[0], 1, 1)):
            self.emit(n, LayerScale(), [x])
            return
        raise _Unsupported(f"Mul by a constant of shape {list(dims)} (modelled as a per-channel (C, 1, 1) layer "
                           f"scale of a (N, C, H, W) map, or as the scale of a MatMul of two activations)")

    def op_Div(self, n, a):
        x = self.first_data(n)
        if len(self.data_inputs(n)) == 1 and n.input[0] == x and self._fold_scale(n, x):
            return
        raise _Unsupported("Div (modelled only as a division by a constant scalar folded into the scale of a "
                           "MatMul of two activations)")

    def attention_matmul(self, n):
        """MatMul of two activations, with the folds around it (module docstring)."""
        a, b = self.operand(n.input[0], n), self.operand(n.input[1], n)
        if len(a.shape) != 4 or len(b.shape) != 4:
            raise _Unsupported(f"MatMul of activations of shapes {list(a.shape)} and {list(b.shape)} (modelled on "
                               f"rank-4 (N, batch, rows, columns) tensors)")
        ta, tb, scale = a.transposed, b.transposed, a.scale * b.scale
        shape = (1, max(a.shape[1], b.shape[1]), a.shape[2], b.shape[3])  # the product, as read after the folds
        out, fused, view = n.output[0], [], None
        while view is None:
            c = self.only_consumer(out)
            if c is None:
                break
            if self._is_swap(c):
                a, b, ta, tb = b, a, not tb, not ta
                shape = shape[:2] + (shape[3], shape[2])
            elif c.op_type == "Transpose":
                hit = self._tokens_to_map(c, shape)
                if hit is None:
                    break
                a, b, ta, tb = b, a, not tb, not ta  # the map is the transposed product, viewed
                view, chain = hit
                fused.extend(chain[:-1])
                c = chain[-1]
            else:
                f = self.scalar_factor(c, out)
                if f is None:
                    break
                scale *= f
            fused.append(c)
            out = c.output[0]
        ref = self.g.add(MatMul(ta, tb, scale), [self.ref(a.src, n), self.ref(b.src, n)], self.node_names[id(n)])
        if view is not None:
            ref = self.g.add(Reshape(view[0]), [ref], view[1])
        self.fused.update(id(m) for m in fused)
        self.refs[out] = ref

    def _tokens_to_map(self, t, shape):
        """Transpose (0, 2, 1, 3) -> Reshape (N, H, W, h d) -> Transpose (0, 3, 1, 2) after a
        product of ``shape`` (N, h, H W, d) (timm's ``_reshape_output``): the same map as the
        transposed product (N, h, d, H W) viewed as (N, h d, H, W). ((view shape, view name), the
        three nodes), or None."""
        if list(_attrs(t).get("perm", [])) != [0, 2, 1, 3]:
            return None
        r = self.only_consumer(t.output[0])
        p = (self.only_consumer(r.output[0]) if r is not None and r.op_type == "Reshape" and r.input[0] == t.output[0]
             else None)
        if p is None or p.op_type != "Transpose" or list(_attrs(p).get("perm", [])) != [0, 3, 1, 2]:
            return None
        _, heads, rows, cols = shape
        try:
            target = self._target(r, (1, rows, heads, cols), bool(_attrs(r).get("allowzero", 0)))
        except (OnnxError, _Unsupported):
            return None
        if len(target) != 4 or target[1] * target[2] != rows or target[3] != heads * cols:
            return None
        return ((target[3], target[1], target[2]), self.node_names[id(r)]), [t, r, p]

    def op_Softmax(self, n, a):
        x = self.first_data(n)
        rank = len(self.full_shape(x, n))
        axis = a.get("axis", -1 if self.opset >= 13 else 1)
        if not isinstance(axis, int) or not -rank <= axis < rank:
            raise OnnxError(f"{self.where(n)}: axis={axis!r:.40} must be an integer in [{-rank}, {rank - 1}] for "
                            f"its rank-{rank} input")
        if axis % rank != rank - 1:
            raise _Unsupported(f"Softmax axis={axis} of a rank-{rank} tensor (only the last axis is modelled)")
        if rank != 4:
            raise _Unsupported(f"Softmax of a rank-{rank} tensor (modelled on rank-4 (N, batch, rows, columns) "
                               f"tensors)")
        self.emit(n, Softmax(), [x])
