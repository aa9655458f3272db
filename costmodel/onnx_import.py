"""ONNX import: read a model with the ``onnx`` package (no runtime, no ``onnx.shape_inference``)
and rebuild it as a costmodel ``Graph``, inferring every shape with costmodel's own ops.

Only the graph structure and the initializers' dims are read (weights are never decoded; small
constant tensors - reshape targets, split sizes, clip bounds - are). ``pip install '.[onnx]'`` from a checkout.

Mapping (ONNX op -> IR op):

* Conv (2-D; group, dilations, strides, pads, auto_pad NOTSET / VALID / SAME_UPPER / SAME_LOWER,
  optional bias input) -> conv2d; Gemm (transA 0, transB, bias C) and MatMul with a constant
  weight (+ a following Add of a constant bias) -> linear; BatchNormalization -> batchnorm.
* Relu, Sigmoid, HardSwish -> activation; Clip(0, 6) -> relu6, Clip(0, inf) -> relu (other
  bounds are unsupported); HardSigmoid(alpha 1/6, beta 0.5) -> hsigmoid (other parameters are
  unsupported); Mul(x, Sigmoid(x)) -> swish and Mul(x, HardSigmoid(x)) -> hswish when the gate
  feeds only that Mul, else multiply (broadcast (C,1,1) gates as SE); Add of two tensors -> add.
* MaxPool / AveragePool (kernel_shape, strides, pads, auto_pad, ceil_mode, count_include_pad),
  GlobalAveragePool and ReduceMean over H, W -> pooling; Concat (channel axis) -> concat;
  Split (channel axis; sizes from the attribute, the input or equal parts) -> split.
* Reshape (N, g, C/g, H, W) -> Transpose (0, 2, 1, 3, 4) -> Reshape (N, C, H, W) ->
  channel_shuffle(g); Flatten / Reshape to (N, -1) -> flatten; Slice of a channel range (torch's
  chunk) -> split; Pad (constant, H/W only) read by one Conv or pooling -> that node's padding;
  Dropout -> dropout; Identity and Constant carry no node.
* Shape computations on constants (Shape of a tensor, Gather, Unsqueeze, Concat, Slice, Cast,
  ConstantOfShape, arithmetic, ...: ``FOLDABLE``) are evaluated with NumPy, as exporters emit
  them for ``x.view(x.size(0), -1)`` or explicit padding.

The graph input's shape gives (C, H, W) (the batch dimension is ignored); a symbolic H or W needs
``res``. Any other op, or a supported op with parameters outside the mapping, is listed by node
name and type in one ``OnnxError``; with ``skip_unsupported`` each becomes an ``unsupported`` IR
node: identity on its first input, counted as zero, labelled ``unsupported:<OpType>``.
"""
from __future__ import annotations

import math
import os
from typing import Dict, List, Optional, Tuple

from .errors import CostModelError
from .graph import Graph, GraphBuilder
from .onnx_forms import WriterForms, _Unsupported
from .ops import (Activation, Add, AvgPool, BatchNorm, ChannelShuffle, Concat, Conv2d, Dropout, Flatten,
                  GlobalAvgPool, Linear, MaxPool, Multiply, Split, Unsupported)


class OnnxError(CostModelError):
    """An ONNX model that cannot be read or mapped (names the file and the node)."""


SUPPORTED = ("Conv", "Gemm", "MatMul", "BatchNormalization", "Relu", "Clip", "HardSwish", "HardSigmoid",
             "Sigmoid", "Mul", "Add", "MaxPool", "AveragePool", "GlobalAveragePool", "ReduceMean", "Concat",
             "Split", "Slice", "Reshape", "Transpose", "Flatten", "Dropout", "Pad", "Identity", "Constant",
             "Sum", "Resize")
#: ops evaluated with NumPy when all their inputs are constants (exporters' shape computations)
FOLDABLE = ("Shape", "ConstantOfShape", "Concat", "Reshape", "Slice", "Transpose", "Cast", "Unsqueeze", "Squeeze",
            "Gather", "Identity", "Add", "Sub", "Mul", "Div", "Range")
#: largest tensor constant folding may create (elements)
FOLD_LIMIT = 1 << 20


#: inputs a node of this type must have (the rest are optional)
MIN_INPUTS = {"Conv": 2, "Gemm": 2, "MatMul": 2, "BatchNormalization": 5, "Add": 2, "Mul": 2, "Reshape": 2}


def _show(s) -> str:
    if isinstance(s, bytes):  # a corrupt file's invalid UTF-8 string field
        s = s.decode("utf-8", "replace")
    s = str(s)
    return s if s and s.isprintable() else repr(s)


def read_model(path: str):
    """Parse an ONNX file (structure only); one-line ``OnnxError`` for missing, empty, truncated or
    non-ONNX files."""
    try:
        import onnx
    except ImportError:
        raise OnnxError("reading ONNX models needs the onnx package: pip install '.[onnx]'") from None
    from .fileio import read_bytes
    data = read_bytes(path, "ONNX model", OnnxError)
    if not data:
        raise OnnxError(f"{path}: the file is empty, not an ONNX model")
    try:
        model = onnx.ModelProto()
        model.ParseFromString(data)
    except Exception as e:  # protobuf DecodeError, RuntimeWarning-as-error, ...
        raise OnnxError(f"{path}: not a readable ONNX model, truncated or corrupt ({type(e).__name__}: "
                        f"{' '.join(str(e).split()) or 'parse error'})") from None
    if not model.HasField("graph") or not len(model.graph.node):
        raise OnnxError(f"{path}: no graph nodes: truncated or not an ONNX model")
    return model


def _attrs(node) -> dict:
    from onnx import helper
    out = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        out[a.name] = v.decode("utf-8", "replace") if isinstance(v, bytes) else v
    return out


class _Importer(WriterForms):
    def __init__(self, model, path: str, res: Optional[int], skip: bool):
        self.model, self.path, self.res, self.skip = model, path, res, skip
        graph = model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
        self.inits = {t.name: t for t in graph.initializer}
        self.consts: Dict[str, object] = {}   # Constant node outputs: name -> TensorProto (None: unknown)
        self.refs: Dict[str, str] = {}        # ONNX tensor name -> IR ref
        self.unsupported: List[Tuple[str, str, str]] = []
        self.fused = set()                    # ids of nodes folded into another
        self.extra_pads = {}                  # id(conv or pool) -> padding of a Pad folded into it
        self.names = set()
        self.producer, self.consumers = {}, {}
        self.outputs = {o.name for o in graph.output}
        self.nodes = list(graph.node)  # one wrapper per node: ids stay valid keys
        for n in self.nodes:
            for o in n.output:
                self.producer[o] = n
            for i in n.input:
                if i:
                    self.consumers.setdefault(i, []).append(n)
        self.node_names = {}
        for i, n in enumerate(self.nodes):
            base = (_show(n.name) if n.name else f"{_show(n.op_type).lower()}{i}").replace(":", "_") or f"node{i}"
            name, k = base, 1
            while name in self.names or name == "input":
                k += 1
                name = f"{base}_{k}"
            self.names.add(name)
            self.node_names[id(n)] = name

    # ------------------------------------------------------------------ helpers
    def where(self, node) -> str:
        return f"{self.path}: node {_show(self.node_names[id(node)])} ({_show(node.op_type)})"

    def static(self, name: str):
        """The TensorProto or array of an initializer, Constant or folded output, else None."""
        if name in self.inits:
            return self.inits[name]
        return self.consts.get(name)

    def array(self, name: str):
        """A constant's values as a NumPy array (None when unknown)."""
        from onnx import numpy_helper
        t = self.static(name)
        if t is None or hasattr(t, "shape"):
            return t
        return numpy_helper.to_array(t)

    def is_static(self, name: str) -> bool:
        return name in self.inits or name in self.consts

    def value(self, name: str, node):
        """A small constant tensor's values as a flat list."""
        from onnx import numpy_helper
        t = self.static(name)
        if t is None:
            raise _Unsupported(f"input {_show(name)} must be a constant (an initializer or Constant)")
        try:
            arr = t if hasattr(t, "shape") else numpy_helper.to_array(t)
            return [x.item() for x in arr.reshape(-1)]
        except Exception as e:
            raise OnnxError(f"{self.where(node)}: cannot read constant {_show(name)}: {type(e).__name__}") from None

    def dims(self, name: str, node) -> Tuple[int, ...]:
        t = self.static(name)
        if t is None:
            raise OnnxError(f"{self.where(node)}: weight {_show(name)} must be an initializer or a Constant "
                            f"(costmodel reads weight shapes from them)")
        return tuple(int(d) for d in (t.shape if hasattr(t, "shape") else t.dims))

    def data_inputs(self, node) -> List[str]:
        return [i for i in node.input if i and not self.is_static(i)]

    def ref(self, name: str, node) -> str:
        try:
            return self.refs[name]
        except KeyError:
            raise OnnxError(f"{self.where(node)}: input {_show(name)} is not produced by an earlier node "
                            f"(the graph is not topologically sorted or the file is truncated)") from None

    def only_consumer(self, tensor: str):
        cs = self.consumers.get(tensor, [])
        return cs[0] if len(cs) == 1 and tensor not in self.outputs else None

    # ------------------------------------------------------------------ input
    def input_shape(self) -> Tuple[str, Tuple[int, int, int]]:
        graph = self.model.graph
        ins = [v for v in graph.input if v.name not in self.inits]
        if len(ins) != 1:
            raise OnnxError(f"{self.path}: the model has {len(ins)} graph inputs "
                            f"({', '.join(_show(v.name) for v in ins) or 'none'}); costmodel models one image "
                            f"input of shape (N, C, H, W)")
        v = ins[0]
        tt = v.type.tensor_type
        dims = [(d.dim_value if d.HasField("dim_value") else None) for d in tt.shape.dim]
        if len(dims) != 4:
            raise OnnxError(f"{self.path}: input {_show(v.name)} has rank {len(dims)}; costmodel needs an image "
                            f"input (N, C, H, W)")
        c, h, w = dims[1:]
        if not c or c < 1:
            raise OnnxError(f"{self.path}: input {_show(v.name)} has no fixed channel count")
        if self.res is not None:
            h, w = self.res
        if not h or not w or h < 1 or w < 1:
            raise OnnxError(f"{self.path}: input {_show(v.name)} has a symbolic or dynamic height/width "
                            f"({tt.shape.dim[2].dim_param or '?'} x {tt.shape.dim[3].dim_param or '?'}); "
                            f"give the resolution with --res (API: res=)")
        return v.name, (c, h, w)

    # ------------------------------------------------------------------ main
    def run(self) -> Graph:
        in_name, shape = self.input_shape()
        stem = os.path.splitext(os.path.basename(self.path))[0]
        self.g = GraphBuilder(self.model.graph.name or stem, shape,
                              {"network": stem, "family": "ONNX", "alpha": 1.0,
                               "resolution": shape[1] if shape[1] == shape[2] else [shape[1], shape[2]],
                               "height": shape[1], "width": shape[2]})
        self.refs[in_name] = "input"
        nodes = self.nodes
        for n in nodes:  # Constants first: they create no IR node
            if n.op_type == "Constant" and n.domain in ("", "ai.onnx"):
                self.constant(n)
        unknown = [n for n in nodes
                   if (n.op_type not in SUPPORTED and n.op_type not in FOLDABLE) or n.domain not in ("", "ai.onnx")]
        unknown_ids = {id(n) for n in unknown}
        self.gated = {}  # Mul(x, Sigmoid(x)) -> swish, Mul(x, HardSigmoid(x)) -> hswish
        for n in nodes:
            if n.op_type == "Mul" and len(n.input) == 2 and len(self.data_inputs(n)) == 2:
                for gate, src in ((n.input[1], n.input[0]), (n.input[0], n.input[1])):
                    hit = self._gate(n, gate, src)
                    if hit is not None:
                        self.fused.add(id(hit[0]))
                        self.gated[id(n)] = (src, hit[1])
                        break
        for n in nodes:
            if id(n) in self.fused or (n.op_type == "Constant" and n.domain in ("", "ai.onnx")):
                continue
            try:
                if id(n) in unknown_ids:
                    raise _Unsupported("")
                if n.op_type in FOLDABLE and self.fold(n):
                    continue
                self.map_node(n)
            except _Unsupported as e:
                self.unsupported.append((self.node_names[id(n)], self.op_name(n), str(e)))
                self.passthrough(n)
            except CostModelError as e:  # shapes, weights: with unsupported ops seen, those come first
                if self.unsupported and not self.skip:
                    self.raise_unsupported(self.unsupported)
                after = (f" (after unsupported op(s) treated as identity: "
                         f"{', '.join(f'{a} ({b})' for a, b, _ in self.unsupported)})" if self.unsupported else "")
                msg = str(e) if str(e).startswith(self.path) else f"{self.path}: {e}"
                raise OnnxError(f"{msg}{after}") from None
        if self.unsupported and not self.skip:
            self.raise_unsupported(self.unsupported)
        outs = []
        for o in self.model.graph.output:
            if o.name not in self.refs:
                raise OnnxError(f"{self.path}: graph output {_show(o.name)} is not produced by any node")
            if self.refs[o.name] not in outs:
                outs.append(self.refs[o.name])
        if not self.g._nodes:
            raise OnnxError(f"{self.path}: the model has no node costmodel can count")
        graph = self.g.build(outs or None)
        if len(graph.output_shape) == 1:
            graph.meta["classes"] = graph.output_shape[0]
        if self.unsupported:
            graph.meta["unsupported"] = ", ".join(f"{a} ({b})" for a, b, _ in self.unsupported)
        return graph

    @staticmethod
    def op_name(n) -> str:
        return _show(n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}.{n.op_type}")

    def raise_unsupported(self, items):
        shown = [f"{_show(a)} ({b}{': ' + r if r else ''})" for a, b, r in items[:12]]
        more = f" and {len(items) - 12} more" if len(items) > 12 else ""
        raise OnnxError(f"{self.path}: {len(items)} unsupported ONNX op(s): {'; '.join(shown)}{more}. Supported: "
                        f"{', '.join(s for s in SUPPORTED if s != 'Constant')}; --skip-unsupported "
                        f"(API: skip_unsupported=True) counts them as zero, flagged 'unsupported:<Op>'")

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
                shape = self.array(x).shape if self.is_static(x) else (1,) + tuple(self.g.shape(self.ref(x, n)))
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
                    if math.prod(shape) > FOLD_LIMIT:
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
                elif t in ("Add", "Sub", "Mul", "Div"):
                    y = ins[1]
                    if t == "Div" and np.issubdtype(x.dtype, np.integer):
                        out = (np.trunc(x / y)).astype(x.dtype)
                    else:
                        out = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}[t](x, y)
                elif t == "Range":
                    out = np.arange(x.reshape(-1)[0], ins[1].reshape(-1)[0], ins[2].reshape(-1)[0])
                else:
                    return False
        except Exception:  # not a computation we can evaluate: mapped (or listed) as an op instead
            return False
        if out.size > FOLD_LIMIT:
            return False
        self.consts[n.output[0]] = np.asarray(out)
        return True

    def passthrough(self, n):
        ins = self.data_inputs(n)
        if not ins:  # produces a constant-like tensor from constants only
            for o in n.output:
                self.consts[o] = None
            return
        outs = [o for o in n.output if o]
        ref = self.g.add(Unsupported(n.op_type, len(outs)), [self.ref(i, n) for i in ins[:1]],
                         self.node_names[id(n)])
        for o, r in zip(outs, self.g.outputs_of(ref)):
            self.refs[o] = r

    def emit(self, n, op, inputs, name=None) -> str:
        ref = self.g.add(op, [self.ref(i, n) for i in inputs], name or self.node_names[id(n)])
        outs = self.g.outputs_of(ref)
        for o, r in zip([o for o in n.output if o], outs):
            self.refs[o] = r
        return ref

    def alias(self, n, src: str):
        self.refs[n.output[0]] = self.ref(src, n)

    # ------------------------------------------------------------------ op mapping
    def map_node(self, n):
        need = MIN_INPUTS.get(n.op_type, 1)
        if len(n.input) < need or not all(n.input[:need]) or not n.output or not n.output[0]:
            raise OnnxError(f"{self.where(n)}: malformed node: {n.op_type} needs {need} input(s) and an output, "
                            f"got {len(n.input)} input(s) and {len(n.output)} output(s)")
        handler = getattr(self, f"op_{n.op_type}", None)
        if handler is None:
            raise _Unsupported(f"{n.op_type} of a tensor (only constant shape computations are evaluated)")
        try:
            handler(n, _attrs(n))
        except (TypeError, ValueError, IndexError, KeyError, AttributeError, ArithmeticError) as e:
            if isinstance(e, CostModelError):
                raise
            raise OnnxError(f"{self.where(n)}: malformed node or attribute ({type(e).__name__}: "
                            f"{' '.join(str(e).split())})") from None

    def first_data(self, n) -> str:
        ins = self.data_inputs(n)
        if not ins:
            raise _Unsupported("no tensor input (all inputs are constants)")
        return ins[0]

    def spatial_pads(self, n, a, in_hw, kernel, strides, dilations):
        """Explicit (top, bottom, left, right) padding, plus that of a Pad folded into this node."""
        own = self._own_pads(n, a, in_hw, kernel, strides, dilations)
        extra = self.extra_pads.get(id(n), (0, 0, 0, 0))
        return tuple(p + e for p, e in zip(own, extra))

    def _own_pads(self, n, a, in_hw, kernel, strides, dilations):
        auto = a.get("auto_pad", "NOTSET") or "NOTSET"
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
        if auto != "NOTSET":
            raise _Unsupported(f"auto_pad {auto!r}")
        p = list(a.get("pads", [0, 0, 0, 0]))
        if len(p) != 4:
            raise _Unsupported(f"pads {p} (2-D ops need 4 values)")
        return (p[0], p[2], p[1], p[3])  # ONNX (top, left, bottom, right) -> (top, bottom, left, right)

    def op_Conv(self, n, a):
        x = self.first_data(n)
        wdims = self.dims(n.input[1], n)
        if len(wdims) != 4:
            raise _Unsupported(f"{len(wdims) - 2}-D convolution (only 2-D is modelled)")
        c, h, w = self.g.shape(self.ref(x, n)) if len(self.g.shape(self.ref(x, n))) == 3 else (0, 0, 0)
        if not c:
            raise OnnxError(f"{self.where(n)}: needs a (N, C, H, W) input, got shape {self.g.shape(self.ref(x, n))}")
        groups = int(a.get("group", 1))
        kernel = tuple(a.get("kernel_shape", wdims[2:]))
        if kernel != wdims[2:]:
            raise OnnxError(f"{self.where(n)}: kernel_shape {list(kernel)} differs from the weight's {list(wdims[2:])}")
        if wdims[1] * groups != c:
            raise OnnxError(f"{self.where(n)}: weight {_show(n.input[1])} {list(wdims)} with group={groups} expects "
                            f"{wdims[1] * groups} input channels, the input has {c}")
        strides = tuple(a.get("strides", (1, 1)))
        dil = tuple(a.get("dilations", (1, 1)))
        pads = self.spatial_pads(n, a, (h, w), kernel, strides, dil)
        bias = len(n.input) > 2 and bool(n.input[2])
        if bias and self.dims(n.input[2], n) != (wdims[0],):
            raise OnnxError(f"{self.where(n)}: bias {_show(n.input[2])} must have shape ({wdims[0]},)")
        self.emit(n, Conv2d(wdims[0], kernel, strides, pads, dil, groups, bias), [x])

    def _vector_in(self, n, x):
        shape = self.g.shape(self.ref(x, n))
        if len(shape) != 1:
            raise OnnxError(f"{self.where(n)}: needs a flat (N, F) input, got a (C, H, W) = {shape} map; "
                            f"the model must Flatten first")
        return shape[0]

    def op_Gemm(self, n, a):
        x = self.first_data(n)
        if a.get("transA", 0):
            raise _Unsupported("transA=1")
        f_in = self._vector_in(n, x)
        bd = self.dims(n.input[1], n)
        if len(bd) != 2:
            raise OnnxError(f"{self.where(n)}: weight {_show(n.input[1])} must be 2-D, got {list(bd)}")
        k, f_out = (bd[1], bd[0]) if a.get("transB", 0) else bd
        if k != f_in:
            raise OnnxError(f"{self.where(n)}: weight {_show(n.input[1])} {list(bd)} (transB={a.get('transB', 0)}) "
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
        if not self.is_static(n.input[1]) or self.is_static(n.input[0]):
            raise _Unsupported("MatMul of two activations (only a constant weight is modelled)")
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
        if self.dims(n.input[1], n) != (c,):
            raise OnnxError(f"{self.where(n)}: scale {_show(n.input[1])} must have shape ({c},)")
        ref = self.emit(n, BatchNorm(), [x])
        self.refs[n.output[0]] = ref

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

    def op_Mul(self, n, a):
        if len(self.data_inputs(n)) != 2:
            raise _Unsupported("Mul by a constant (only tensor x tensor products are modelled)")
        if id(n) in self.gated:
            src, fn = self.gated[id(n)]
            return self._act(n, fn, src)
        self.emit(n, Multiply(), [n.input[0], n.input[1]])

    def op_Add(self, n, a):
        if len(self.data_inputs(n)) != 2:
            raise _Unsupported("Add of a constant (only a MatMul bias or tensor + tensor is modelled)")
        self.emit(n, Add(), [n.input[0], n.input[1]])

    def _pool(self, n, a, cls):
        x = self.first_data(n)
        shape = self.g.shape(self.ref(x, n))
        if len(shape) != 3:
            raise OnnxError(f"{self.where(n)}: needs a (N, C, H, W) input, got shape {shape}")
        if any(d != 1 for d in a.get("dilations", (1, 1))):
            raise _Unsupported("dilated pooling")
        if len(n.output) > 1 and n.output[1] and self.consumers.get(n.output[1]):
            raise _Unsupported("the Indices output is used")
        kernel = tuple(a.get("kernel_shape", ()))
        if len(kernel) != 2:
            raise _Unsupported(f"kernel_shape {list(kernel)} (2-D pooling only)")
        strides = tuple(a.get("strides", (1, 1)))
        pads = self.spatial_pads(n, a, shape[1:], kernel, strides, (1, 1))
        extra = {"count_include_pad": bool(a.get("count_include_pad", 0))} if cls is AvgPool else {}
        ref = self.g.add(cls(kernel, strides, pads, bool(a.get("ceil_mode", 0)), **extra), [self.ref(x, n)],
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
            raise _Unsupported(f"ReduceMean over axes {axes} (only the spatial mean over (2, 3) is modelled)")
        name = self.node_names[id(n)]
        ref = self.g.add(GlobalAvgPool(), [self.ref(x, n)], name)
        if not a.get("keepdims", 1):
            ref = self.g.add(Flatten(), [ref], name + ".flatten")
        self.refs[n.output[0]] = ref

    def _channel_axis(self, n, axis, x) -> bool:
        rank = len(self.g.shape(self.ref(x, n))) + 1
        return axis in (1, 1 - rank)

    def op_Concat(self, n, a):
        ins = self.data_inputs(n)
        if len(ins) != len([i for i in n.input if i]):
            raise _Unsupported("Concat with a constant input")
        if not self._channel_axis(n, int(a.get("axis", 1)), ins[0]):
            raise _Unsupported(f"Concat on axis {a.get('axis')} (only the channel axis 1 is modelled)")
        if len(ins) == 1:
            return self.alias(n, ins[0])
        self.emit(n, Concat(), ins)

    def op_Split(self, n, a):
        x = self.first_data(n)
        if not self._channel_axis(n, int(a.get("axis", 0)), x):
            raise _Unsupported(f"Split on axis {a.get('axis', 0)} (only the channel axis 1 is modelled)")
        c = self.g.shape(self.ref(x, n))[0]
        outs = [o for o in n.output]
        if "split" in a:
            sizes = list(a["split"])
        elif len(n.input) > 1 and n.input[1]:
            sizes = [int(v) for v in self.value(n.input[1], n)]
        else:
            k = int(a.get("num_outputs", len(outs)))
            if c % k and "num_outputs" not in a:
                raise OnnxError(f"{self.where(n)}: {c} channels cannot be split into {k} equal parts")
            part = -(-c // k)
            sizes = [part] * (k - 1) + [c - part * (k - 1)]
        if len(sizes) != len(outs):
            raise OnnxError(f"{self.where(n)}: {len(sizes)} split sizes for {len(outs)} outputs")
        self.emit(n, Split(tuple(sizes)), [x])

    def op_Slice(self, n, a):
        x = n.input[0]
        if self.opset >= 10:
            starts, ends = self.value(n.input[1], n), self.value(n.input[2], n)
            axes = self.value(n.input[3], n) if len(n.input) > 3 and n.input[3] else list(range(len(starts)))
            steps = self.value(n.input[4], n) if len(n.input) > 4 and n.input[4] else [1] * len(starts)
        else:
            starts, ends = list(a.get("starts", [])), list(a.get("ends", []))
            axes, steps = list(a.get("axes", range(len(starts)))), [1] * len(starts)
        if len(starts) != 1 or steps[0] != 1 or not self._channel_axis(n, int(axes[0]), x):
            raise _Unsupported(f"Slice starts={starts} ends={ends} axes={list(axes)} steps={steps} (only a "
                               f"contiguous channel range is modelled, as a split)")
        c = self.g.shape(self.ref(x, n))[0]
        lo, hi, _ = slice(int(starts[0]), int(max(min(ends[0], 2 ** 62), -2 ** 62))).indices(c)
        if hi <= lo:
            raise _Unsupported(f"empty channel slice [{starts[0]}:{ends[0]}] of {c} channels")
        if (lo, hi) == (0, c):
            return self.alias(n, x)
        parts = [(p, q) for p, q in ((0, lo), (lo, hi), (hi, c)) if q > p]
        ref = self.g.add(Split(tuple(q - p for p, q in parts)), [self.ref(x, n)], self.node_names[id(n)])
        self.refs[n.output[0]] = self.g.outputs_of(ref)[parts.index((lo, hi))]

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
            if not p.input or (p.input[0] not in self.refs and not self.is_static(p.input[0])):
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

    def _full_shape(self, x, n) -> Tuple[int, ...]:
        return (1,) + tuple(self.g.shape(self.ref(x, n)))

    def _target(self, n, in_full) -> Tuple[int, ...]:
        """ONNX Reshape target with 0 (copy) and -1 (infer) resolved."""
        shape = self.const_list(n.input[1], n)
        out = [in_full[i] if v == 0 and i < len(in_full) else v for i, v in enumerate(shape)]
        if out.count(-1) > 1 or any(v < -1 for v in out):
            raise _Unsupported(f"Reshape to {shape}")
        total = math.prod(in_full)
        known = math.prod(v for v in out if v != -1)
        if -1 in out:
            if known == 0 or total % known:
                raise OnnxError(f"{self.where(n)}: cannot reshape {list(in_full)} to {shape}")
            out[out.index(-1)] = total // known
        if math.prod(out) != total:
            raise OnnxError(f"{self.where(n)}: cannot reshape {list(in_full)} ({total} elements) to {shape}")
        return tuple(out)

    def _shuffle(self, n, in_full, target):
        """(transpose, reshape) nodes completing a channel shuffle started by reshape ``n``."""
        if len(in_full) != 4 or len(target) != 5 or target[0] != in_full[0] or target[3:] != in_full[2:]:
            return None
        if target[1] * target[2] != in_full[1]:
            return None
        t = self.only_consumer(n.output[0])
        if t is None or t.op_type != "Transpose" or list(_attrs(t).get("perm", [])) != [0, 2, 1, 3, 4]:
            return None
        r = self.only_consumer(t.output[0])
        if r is None or r.op_type != "Reshape" or r.input[0] != t.output[0]:
            return None
        try:
            back = self.const_list(r.input[1], r)
        except (_Unsupported, CostModelError, TypeError, ValueError):
            return None
        full5 = (target[0], target[2], target[1]) + target[3:]
        back = [full5[i] if v == 0 and i < 5 else v for i, v in enumerate(back)]
        if -1 in back:
            known = math.prod(v for v in back if v != -1)
            back[back.index(-1)] = math.prod(in_full) // known if known else -1
        if tuple(back) != in_full:
            return None
        return t, r

    def op_Reshape(self, n, a):
        x = n.input[0]
        if self.is_static(x):
            raise _Unsupported("Reshape of a constant")
        in_full = self._full_shape(x, n)
        target = self._target(n, in_full)
        hit = self._shuffle(n, in_full, target)
        if hit is not None:
            ref = self.emit(n, ChannelShuffle(target[1]), [x])
            for m in hit:
                self.fused.add(id(m))
                self.refs[m.output[0]] = ref
            return
        if target == in_full:
            return self.alias(n, x)
        if len(target) == 2 and target[0] == in_full[0]:
            if len(in_full) == 2:
                return self.alias(n, x)
            return self.emit(n, Flatten(), [x])
        raise _Unsupported(f"Reshape {list(in_full)} -> {list(target)} (only flattening and channel shuffles "
                           f"are modelled)")

    def op_Pad(self, n, a):
        x = n.input[0]
        if a.get("mode", "constant") != "constant":
            raise _Unsupported(f"mode {a.get('mode')!r} (only constant padding is modelled)")
        pads = list(a.get("pads", [])) if self.opset < 11 else (
            self.value(n.input[1], n) if len(n.input) > 1 and n.input[1] else [])
        shape = self.g.shape(self.ref(x, n))
        if len(shape) != 3 or len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)) or min(pads) < 0:
            raise _Unsupported(f"pads {pads} (only non-negative H/W padding of a (N, C, H, W) map is modelled)")
        user = self.only_consumer(n.output[0])
        if (user is None or user.op_type not in ("Conv", "MaxPool", "AveragePool") or user.input[0] != n.output[0]
                or (_attrs(user).get("auto_pad", "NOTSET") or "NOTSET") not in ("NOTSET", "VALID")):
            raise _Unsupported("a Pad is modelled only as extra padding of the one Conv or pooling that reads it")
        self.extra_pads[id(user)] = (int(pads[2]), int(pads[6]), int(pads[3]), int(pads[7]))
        self.alias(n, x)

    def op_Transpose(self, n, a):
        raise _Unsupported(f"Transpose perm={list(a.get('perm', []))} outside a channel shuffle")

    def op_Flatten(self, n, a):
        x = self.first_data(n)
        if int(a.get("axis", 1)) != 1:
            raise _Unsupported(f"Flatten axis={a.get('axis')} (only axis 1 is modelled)")
        if len(self.g.shape(self.ref(x, n))) == 1:
            return self.alias(n, x)
        self.emit(n, Flatten(), [x])

    def op_Dropout(self, n, a):
        x = n.input[0]
        if len(n.output) > 1 and n.output[1] and self.consumers.get(n.output[1]):
            raise _Unsupported("the mask output is used")
        p = a.get("ratio", 0.5)
        if len(n.input) > 1 and n.input[1] and self.is_static(n.input[1]):
            p = self.value(n.input[1], n)[0]
        ref = self.g.add(Dropout(float(p)), [self.ref(x, n)], self.node_names[id(n)])
        self.refs[n.output[0]] = ref

    def op_Identity(self, n, a):
        src = n.input[0]
        if self.is_static(src):
            self.consts[n.output[0]] = self.static(src)
        else:
            self.alias(n, src)


def load_onnx(path: str, res=None, skip_unsupported: bool = False) -> Graph:
    """Import an ONNX model as a ``Graph`` (see the module docstring for the op mapping); ``res``
    (N or (H, W)) replaces the input's height and width (needed when they are symbolic)."""
    if res is not None:
        from . import validate
        res = validate.resolution(res, path)
    model = read_model(path)
    try:
        return _Importer(model, path, res, skip_unsupported).run()
    except RecursionError:
        raise OnnxError(f"{path}: the model is nested too deeply to read") from None
