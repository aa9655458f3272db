"""The layer ops of ``costmodel.onnx_import`` (a mixin of its importer): convolution, the dense
layers, batch norm, activations (and the gates exporters write as two nodes), elementwise
products and sums, pooling.

* Conv (2-D; group, dilations, strides, pads, auto_pad NOTSET / VALID / SAME_UPPER / SAME_LOWER,
  optional bias input) -> conv2d; Gemm (transA 0, transB, bias C) and MatMul with a constant
  weight (+ a following Add of a constant bias) -> linear; BatchNormalization -> batchnorm.
* Relu, Sigmoid, HardSwish -> activation; Clip(0, 6) -> relu6, Clip(0, inf) -> relu;
  HardSigmoid(alpha 1/6, beta 0.5) -> hsigmoid; Mul(x, Sigmoid(x)) -> swish and
  Mul(x, HardSigmoid(x)) -> hswish when the gate feeds only that Mul, else multiply; Add of two
  tensors -> add.
* MaxPool / AveragePool (kernel_shape, strides, pads, auto_pad, ceil_mode, count_include_pad),
  GlobalAveragePool and ReduceMean over H, W -> pooling.

Attribute values are checked here with ``onnx_read.int_tuple`` (one line naming the node and what
is accepted); a valid attribute outside the mapping raises ``_Unsupported`` with the reason.
"""
from __future__ import annotations

import math
from typing import Optional

from .onnx_read import OnnxError, _attrs, _show, _Unsupported, brief, int_tuple
from .ops import (Activation, Add, AvgPool, BatchNorm, Conv2d, Flatten, GlobalAvgPool, Linear, MaxPool,
                  Multiply)

AUTO_PADS = ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER")


class LayerForms:
    def spatial_pads(self, n, a, in_hw, kernel, strides, dilations):
        """Explicit (top, bottom, left, right) padding, plus that of a Pad folded into this node."""
        own = self._own_pads(n, a, in_hw, kernel, strides, dilations)
        extra = self.extra_pads.get(id(n), (0, 0, 0, 0))
        return tuple(p + e for p, e in zip(own, extra))

    def _own_pads(self, n, a, in_hw, kernel, strides, dilations):
        auto = a.get("auto_pad", "NOTSET") or "NOTSET"
        if auto not in AUTO_PADS:
            raise OnnxError(f"{self.where(n)}: auto_pad={_show(auto)!r:.60} is not one of {', '.join(AUTO_PADS)}")
        if auto == "VALID":
            return (0, 0, 0, 0)
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            out = []
            for size, k, s, d in zip(in_hw, kernel, strides, dilations):
                o = -(-size // s)
                total = max((o - 1) * s + (k - 1) * d + 1 - size, 0)
                small, big = total // 2, total - total // 2
                out.append((small, big) if auto == "SAME_UPPER" else (big, small))
            return (out[0][0], out[0][1], out[1][0], out[1][1])
        p = int_tuple(self.where(n), a, "pads", (0, 0, 0, 0), 4, 0, "top, left, bottom, right of a 2-D window")
        return (p[0], p[2], p[1], p[3])  # ONNX (top, left, bottom, right) -> (top, bottom, left, right)

    def _flag(self, n, a, key: str) -> bool:
        v = a.get(key, 0)
        if v not in (0, 1) or isinstance(v, float):
            raise OnnxError(f"{self.where(n)}: {key}={v!r:.40} must be 0 or 1")
        return bool(v)

    def op_Conv(self, n, a):
        x = self.first_data(n)
        where, wname = self.where(n), _show(n.input[1])
        wdims = self.dims(n.input[1], n)
        if len(wdims) < 3:
            raise OnnxError(f"{where}: weight {wname} has shape {list(wdims)}; a Conv weight is (C_out, C_in / group, "
                            f"kernel...) of rank 3 or more (rank 4 for the 2-D convolutions costmodel models)")
        if len(wdims) != 4:
            raise _Unsupported(f"{len(wdims) - 2}-D convolution (only 2-D is modelled)")
        shape = self.g.shape(self.ref(x, n))
        if len(shape) != 3:
            raise OnnxError(f"{where}: needs a (N, C, H, W) input, got shape {shape}")
        c, h, w = shape
        groups = a.get("group", 1)
        if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
            raise OnnxError(f"{where}: group={groups!r:.40} must be a positive integer dividing the input channels "
                            f"({c}) and the weight's output channels ({wdims[0]})")
        kernel = int_tuple(where, a, "kernel_shape", wdims[2:], 2, 1, "kernel height and width")
        if kernel != wdims[2:]:
            raise OnnxError(f"{where}: kernel_shape {list(kernel)} differs from the weight's {list(wdims[2:])}")
        if wdims[1] * groups != c:
            raise OnnxError(f"{where}: weight {wname} {list(wdims)} with group={groups} expects "
                            f"{wdims[1] * groups} input channels, the input has {c}")
        if wdims[0] % groups:
            raise OnnxError(f"{where}: group={groups} does not divide the weight's {wdims[0]} output channels")
        strides = int_tuple(where, a, "strides", (1, 1), 2, 1, "height and width steps")
        dil = int_tuple(where, a, "dilations", (1, 1), 2, 1, "height and width")
        pads = self.spatial_pads(n, a, (h, w), kernel, strides, dil)
        bias = len(n.input) > 2 and bool(n.input[2])
        if bias and self.dims(n.input[2], n) != (wdims[0],):
            raise OnnxError(f"{where}: bias {_show(n.input[2])} must have shape ({wdims[0]},)")
        self.emit(n, Conv2d(wdims[0], kernel, strides, pads, dil, groups, bias), [x])

    def _vector_in(self, n, x):
        shape = self.g.shape(self.ref(x, n))
        if len(shape) != 1:
            raise OnnxError(f"{self.where(n)}: needs a flat (N, F) input, got a (C, H, W) = {shape} map; "
                            f"the model must Flatten first")
        return shape[0]

    def op_Gemm(self, n, a):
        x = self.first_data(n)
        trans_b = self._flag(n, a, "transB")
        if self._flag(n, a, "transA"):
            raise _Unsupported("transA=1")
        f_in = self._vector_in(n, x)
        bd = self.dims(n.input[1], n)
        if len(bd) != 2:
            raise OnnxError(f"{self.where(n)}: weight {_show(n.input[1])} must be 2-D, got {list(bd)}")
        k, f_out = (bd[1], bd[0]) if trans_b else bd
        if k != f_in:
            raise OnnxError(f"{self.where(n)}: weight {_show(n.input[1])} {list(bd)} (transB={int(trans_b)}) "
                            f"expects {k} input features, the input has {f_in}")
        bias = len(n.input) > 2 and bool(n.input[2]) and a.get("beta", 1.0) != 0
        self.emit(n, Linear(f_out, bias), [x])

    def _matmul_bias(self, n, f_out) -> Optional[object]:
        """The Add node that adds a constant (F_out,) bias to this MatMul's output, if any."""
        add = self.only_consumer(n.output[0])
        if add is None or add.op_type != "Add" or len(add.input) != 2:
            return None
        other = add.input[1] if add.input[0] == n.output[0] else add.input[0]
        if self.static(other) is None or tuple(self.static(other).dims) not in ((f_out,), (1, f_out)):
            return None
        return add

    def op_MatMul(self, n, a):
        if self._adaptive_pool(n):
            return
        if not self.is_static(n.input[0]) and not self.is_static(n.input[1]):
            return self.attention_matmul(n)
        if not self.is_static(n.input[1]) or self.is_static(n.input[0]):
            raise _Unsupported("MatMul of a constant by an activation (modelled: an activation by a constant "
                               "weight, and two activations)")
        x = n.input[0]
        f_in = self._vector_in(n, x)
        bd = self.dims(n.input[1], n)
        if len(bd) != 2 or bd[0] != f_in:
            raise OnnxError(f"{self.where(n)}: weight {_show(n.input[1])} {list(bd)} does not match the {f_in} "
                            f"input features")
        add = self._matmul_bias(n, bd[1])
        ref = self.emit(n, Linear(bd[1], add is not None), [x])
        if add is not None:
            self.fused.add(id(add))
            self.refs[add.output[0]] = ref

    def op_BatchNormalization(self, n, a):
        x = n.input[0]
        c = self.g.shape(self.ref(x, n))[0]
        for what, name in zip(("scale", "bias", "mean", "var"), n.input[1:5]):
            if self.dims(name, n) != (c,):
                raise OnnxError(f"{self.where(n)}: {what} {_show(name)} has shape {list(self.dims(name, n))}; "
                                f"BatchNormalization of {c} channels takes ({c},) vectors")
        self.emit(n, BatchNorm(), [x])

    def _act(self, n, fn, x=None):
        ref = self.g.add(Activation(fn), [self.ref(x or self.first_data(n), n)], self.node_names[id(n)])
        self.refs[n.output[0]] = ref

    def op_Relu(self, n, a):
        self._act(n, "relu")

    def op_Sigmoid(self, n, a):
        self._act(n, "sigmoid")

    def op_HardSwish(self, n, a):
        self._act(n, "hswish")

    def _is_hsigmoid(self, a) -> bool:
        return math.isclose(a.get("alpha", 0.2), 1 / 6, rel_tol=1e-6) and math.isclose(a.get("beta", 0.5), 0.5)

    def op_HardSigmoid(self, n, a):
        if not self._is_hsigmoid(a):
            raise _Unsupported(f"alpha={a.get('alpha', 0.2):g} beta={a.get('beta', 0.5):g} is not "
                               f"hard-sigmoid relu6(x + 3) / 6 (alpha 1/6, beta 0.5)")
        self._act(n, "hsigmoid")

    def op_Clip(self, n, a):
        if self.opset >= 11:
            lo = self.value(n.input[1], n)[0] if len(n.input) > 1 and n.input[1] else -math.inf
            hi = self.value(n.input[2], n)[0] if len(n.input) > 2 and n.input[2] else math.inf
        else:
            lo, hi = a.get("min", -math.inf), a.get("max", math.inf)
        if lo == 0 and hi == 6:
            return self._act(n, "relu6", n.input[0])
        if lo == 0 and hi == math.inf:
            return self._act(n, "relu", n.input[0])
        raise _Unsupported(f"Clip(min={lo:g}, max={hi:g}) is neither relu6 (0, 6) nor relu (0, inf)")

    def _gate(self, n, gate_tensor, x):
        """'swish'/'hswish' when ``gate_tensor`` is Sigmoid(x)/hard-sigmoid(x) read only by ``n``."""
        p = self.producer.get(gate_tensor)
        if p is None or self.only_consumer(gate_tensor) is not n or not p.input or p.input[0] != x:
            return None
        if p.op_type == "Sigmoid":
            return p, "swish"
        if p.op_type == "HardSigmoid" and self._is_hsigmoid(_attrs(p)):
            return p, "hswish"
        return None

    def _scalar_is(self, node, tensor, value: float) -> bool:
        f = self.scalar_factor(node, tensor) if node is not None else None
        return f is not None and math.isclose(f, value, rel_tol=1e-5)

    def _gelu(self, erf):
        """GELU as opsets below 20 write it (PyTorch's export, costmodel's writer):
        Div(x, sqrt 2) (or Mul by 1/sqrt 2) -> Erf -> Add 1 -> Mul by x -> Mul by 0.5, each node
        read only by the next: (x, the last Mul, the nodes folded into it), else None."""
        d = self.producer.get(erf.input[0]) if erf.input else None
        if d is None or d.op_type not in ("Div", "Mul") or self.only_consumer(d.output[0]) is not erf:
            return None
        x = next((i for i in d.input if i and not self.is_static(i)), None)
        if x is None or not self._scalar_is(d, x, 2 ** -0.5):
            return None
        add = self.only_consumer(erf.output[0])
        if add is None or add.op_type != "Add" or not self._add_of_one(add, erf.output[0]):
            return None
        m = self.only_consumer(add.output[0])
        if m is None or m.op_type != "Mul" or sorted(m.input) != sorted([x, add.output[0]]):
            return None
        half = self.only_consumer(m.output[0])
        if not self._scalar_is(half, m.output[0], 0.5):
            return None
        return x, half, (d, erf, add, m)

    def _add_of_one(self, add, tensor) -> bool:
        if len(add.input) != 2 or tensor not in add.input:
            return False
        other = add.input[1] if add.input[0] == tensor else add.input[0]
        c = self.lazy_const(other)
        return c is not None and getattr(c, "size", 0) == 1 and float(c.reshape(-1)[0]) == 1.0

    def op_Gelu(self, n, a):
        if a.get("approximate", "none") != "none":
            raise _Unsupported(f"approximate={a.get('approximate')!r} (only the exact erf GELU is modelled)")
        self._act(n, "gelu")

    def op_Erf(self, n, a):
        raise _Unsupported("Erf outside GELU's form 0.5 x (1 + erf(x / sqrt 2))")

    def op_Mul(self, n, a):
        if id(n) in self.gated:
            src, fn = self.gated[id(n)]
            return self._act(n, fn, src)
        ins = self.data_inputs(n)
        if len(ins) == 1:
            return self.mul_by_constant(n, ins[0])  # onnx_attention: a MatMul's scale or a layer scale
        if len(ins) != 2:
            raise _Unsupported("Mul of two constants that are not evaluated")
        self.emit(n, Multiply(), [n.input[0], n.input[1]])

    def op_Add(self, n, a):
        if len(self.data_inputs(n)) != 2:
            raise _Unsupported("Add of a constant (only a MatMul bias or tensor + tensor is modelled)")
        self.emit(n, Add(), [n.input[0], n.input[1]])

    def _pool(self, n, a, cls):
        x = self.first_data(n)
        where = self.where(n)
        shape = self.g.shape(self.ref(x, n))
        if len(shape) != 3:
            raise OnnxError(f"{where}: needs a (N, C, H, W) input, got shape {shape}")
        kernel = int_tuple(where, a, "kernel_shape", (), 2, 1, "window height and width of a (N, C, H, W) input")
        strides = int_tuple(where, a, "strides", (1, 1), 2, 1, "height and width steps")
        if any(d != 1 for d in int_tuple(where, a, "dilations", (1, 1), 2, 1, "height and width")):
            raise _Unsupported("dilated pooling")
        if len(n.output) > 1 and n.output[1] and self.consumers.get(n.output[1]):
            raise _Unsupported("the Indices output is used")
        pads = self.spatial_pads(n, a, shape[1:], kernel, strides, (1, 1))
        extra = {"count_include_pad": self._flag(n, a, "count_include_pad")} if cls is AvgPool else {}
        ref = self.g.add(cls(kernel, strides, pads, self._flag(n, a, "ceil_mode"), **extra), [self.ref(x, n)],
                         self.node_names[id(n)])
        self.refs[n.output[0]] = ref

    def op_MaxPool(self, n, a):
        self._pool(n, a, MaxPool)

    def op_AveragePool(self, n, a):
        self._pool(n, a, AvgPool)

    def op_GlobalAveragePool(self, n, a):
        self.emit(n, GlobalAvgPool(), [self.first_data(n)])

    def op_ReduceMean(self, n, a):
        x = self.first_data(n)
        axes = a.get("axes")
        if axes is None and len(n.input) > 1 and n.input[1]:
            axes = self.value(n.input[1], n)
        if axes is None or sorted(int(v) % 4 for v in axes) != [2, 3] or len(self.g.shape(self.ref(x, n))) != 3:
            raise _Unsupported(f"ReduceMean over axes {brief(axes or [])} (only the spatial mean over (2, 3) is "
                               f"modelled)")
        keep = a.get("keepdims", 1)
        if keep not in (0, 1) or isinstance(keep, float):
            raise OnnxError(f"{self.where(n)}: keepdims={keep!r:.40} must be 0 or 1")
        name = self.node_names[id(n)]
        ref = self.g.add(GlobalAvgPool(), [self.ref(x, n)], name)
        if not keep:
            ref = self.g.add(Flatten(), [ref], name + ".flatten")
        self.refs[n.output[0]] = ref

