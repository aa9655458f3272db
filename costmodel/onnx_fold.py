"""Constant folding for ``costmodel.onnx_import``: the shape computations exporters emit around
the real layers (``x.view(x.size(0), -1)``, explicit padding, a dynamic batch's Reshape targets, an
attention scale computed as ``1 / sqrt(d)`` from a tensor's shape) are evaluated with NumPy on
constants and on the shapes costmodel has inferred, instead of being mapped as ops.

``FOLDABLE`` lists the op types evaluated when all their inputs are known; ``Shape`` reads the
inferred shape of any tensor (the batch dimension is 1), including a transposed or scaled operand
that the attention forms fold into a MatMul (``onnx_attention``). Results above ``FOLD_LIMIT``
elements are not folded.
"""
from __future__ import annotations

import math
from typing import List, Optional

from .onnx_read import _attrs

#: ops evaluated with NumPy when all their inputs are constants (exporters' shape computations)
FOLDABLE = ("Shape", "ConstantOfShape", "Concat", "Reshape", "Slice", "Transpose", "Cast", "Unsqueeze", "Squeeze",
            "Gather", "Identity", "Add", "Sub", "Mul", "Div", "Range", "Sqrt", "Reciprocal", "Pow")
#: largest tensor constant folding may create (elements)
FOLD_LIMIT = 1 << 20


def _small(shape) -> bool:
    return math.prod(shape) <= FOLD_LIMIT


class Folding:
    """Mixin of the importer: Constant nodes, constant folding, lazily evaluated shape computations."""

    def constant(self, n):
        from onnx import helper, numpy_helper
        a = {x.name: x for x in n.attribute}
        t = None
        if "value" in a:
            t = a["value"].t
        else:
            import numpy as np
            for key in ("value_float", "value_int", "value_floats", "value_ints"):
                if key in a:
                    t = numpy_helper.from_array(np.array(helper.get_attribute_value(a[key])))
        for o in n.output:
            self.consts[o] = t

    def fold(self, n) -> bool:
        """Evaluate a shape computation on constants with NumPy; False when it is not one."""
        import numpy as np
        from onnx import helper
        a = _attrs(n)
        t = n.op_type
        try:
            if t == "Shape":
                x = n.input[0]
                shape = self.array(x).shape if self.is_static(x) else self.full_shape(x, n)
                out = np.array(shape[a.get("start", 0):a.get("end", len(shape))], np.int64)
            else:
                ins = [self.array(i) if i else None for i in n.input]
                if any(i and (not self.is_static(i) or v is None) for i, v in zip(n.input, ins)) or not ins:
                    return False
                x = ins[0]
                if t == "ConstantOfShape":
                    from onnx import numpy_helper
                    fill = a.get("value")  # a TensorProto of one element (default float 0)
                    fill = numpy_helper.to_array(fill).reshape(-1)[0] if fill is not None else np.float32(0)
                    shape = tuple(int(d) for d in x.reshape(-1))
                    if not _small(shape) or min(shape, default=1) < 0:
                        return False
                    out = np.full(shape, fill)
                elif t == "Concat":
                    out = np.concatenate(ins, axis=int(a.get("axis", 0)))
                elif t == "Reshape":
                    shape = [int(v) for v in ins[1].reshape(-1)]
                    shape = [x.shape[i] if v == 0 and not a.get("allowzero", 0) else v for i, v in enumerate(shape)]
                    out = x.reshape(shape)
                elif t == "Slice":
                    if self.opset >= 10:
                        starts, ends = ins[1].reshape(-1), ins[2].reshape(-1)
                        axes = ins[3].reshape(-1) if len(ins) > 3 and ins[3] is not None else range(len(starts))
                        steps = ins[4].reshape(-1) if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
                    else:
                        starts, ends = a["starts"], a["ends"]
                        axes, steps = a.get("axes", range(len(starts))), [1] * len(starts)
                    idx = [slice(None)] * x.ndim
                    for s0, e0, ax, st in zip(starts, ends, axes, steps):
                        idx[int(ax)] = slice(int(s0), int(max(min(e0, 2 ** 62), -2 ** 62)), int(st))
                    out = x[tuple(idx)]
                elif t == "Transpose":
                    out = np.transpose(x, a.get("perm"))
                elif t == "Cast":
                    out = x.astype(helper.tensor_dtype_to_np_dtype(a["to"]))
                elif t in ("Unsqueeze", "Squeeze"):
                    axes = a.get("axes")
                    if axes is None and len(ins) > 1 and ins[1] is not None:
                        axes = [int(v) for v in ins[1].reshape(-1)]
                    if t == "Squeeze":
                        out = np.squeeze(x, axis=tuple(axes) if axes else None)
                    else:
                        out = x
                        rank = x.ndim + len(axes)
                        for ax in sorted(v % rank for v in axes):
                            out = np.expand_dims(out, ax)
                elif t == "Gather":
                    out = np.take(x, ins[1], axis=int(a.get("axis", 0)))
                elif t == "Identity":
                    out = x
                elif t in ("Add", "Sub", "Mul", "Div", "Pow") and not _small(np.broadcast_shapes(x.shape,
                                                                                                 ins[1].shape)):
                    return False  # a broadcast too large to evaluate (checked before allocating)
                elif t in ("Add", "Sub", "Mul", "Div"):
                    y = ins[1]
                    if t == "Div" and np.issubdtype(x.dtype, np.integer):
                        out = (np.trunc(x / y)).astype(x.dtype)
                    else:
                        out = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}[t](x, y)
                elif t == "Sqrt":
                    out = np.sqrt(x)
                elif t == "Reciprocal":
                    out = np.reciprocal(x)
                elif t == "Pow":
                    out = np.power(x, ins[1])
                elif t == "Range":
                    start, limit, delta = (v.reshape(-1)[0].item() for v in ins[:3])
                    if not delta or max(math.ceil((limit - start) / delta), 0) > FOLD_LIMIT:
                        return False
                    out = np.arange(start, limit, delta, dtype=x.dtype)
                else:
                    return False
        except Exception:  # not a computation we can evaluate: mapped (or listed) as an op instead
            return False
        if out.size > FOLD_LIMIT:
            return False
        self.consts[n.output[0]] = np.asarray(out)
        return True

    def lazy_const(self, name: str, depth: int = 0, seen: Optional[set] = None):
        """The value of ``name`` if it is a shape computation that can be evaluated now, folding the
        producers it depends on ahead of their turn (a dynamic-batch export computes the second
        Reshape target of a channel shuffle from Shape/Gather/Concat nodes placed after the
        Transpose); None when it depends on an unknown tensor."""
        if self.is_static(name):
            return self.array(name)
        seen = set() if seen is None else seen
        if name in seen:  # tried already in this evaluation (a DAG is walked once)
            return None
        seen.add(name)
        p = self.producer.get(name)
        if (depth > 256 or p is None or p.op_type not in FOLDABLE or p.domain not in ("", "ai.onnx")
                or id(p) in self.fused):
            return None
        if p.op_type == "Shape":
            if not p.input or (p.input[0] not in self.refs and p.input[0] not in self.virtual
                               and not self.is_static(p.input[0])):
                return None
        elif any(i and self.lazy_const(i, depth + 1, seen) is None for i in p.input):
            return None
        if not self.fold(p):
            return None
        return self.array(name)

    def const_list(self, name: str, node) -> List[int]:
        """A constant (or evaluable shape computation) as a flat list of ints."""
        if not self.is_static(name):
            self.lazy_const(name)
        return [int(v) for v in self.value(name, node)]

