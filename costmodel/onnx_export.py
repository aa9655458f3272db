"""ONNX writer: any costmodel ``Graph`` -> an ONNX model (opset ``OPSET`` = 17) that onnxruntime
runs and that ``onnx_import.load_onnx`` reads back with the same counts.

Weights are ``executor.init_weights(graph, seed)`` (deterministic He-uniform) or the ones given
(``executor.check_weights`` layout: PyTorch's), stored as initializers named ``<layer>.<array>``.
The input is ``input`` of shape (N, C, H, W) (N = ``batch``, or the symbol ``N`` with
``dynamic_batch``); vectors are (N, F). Node names are the IR node names, so a runtime's
per-node profile maps back onto the analytical rows.

Op mapping (IR kind -> ONNX), one function per kind in ``WRITERS``:

* conv2d -> Conv with explicit ``pads`` (the IR's resolved padding, so 'same' and asymmetric
  paddings are exact); linear -> Gemm(transB=1); batchnorm -> BatchNormalization (eps 1e-5, the
  executor's); activation -> Relu, Clip(0, 6), Sigmoid, HardSigmoid(1/6, 0.5), HardSwish and
  swish as Mul(x, Sigmoid(x)) (ONNX 17 has no Swish; the importer fuses the pair back); gelu as
  Div(x, sqrt 2), Erf, Add 1, Mul x, Mul 0.5 (ONNX has Gelu from opset 20; PyTorch's export form).
* maxpool / avgpool -> MaxPool / AveragePool (ceil_mode, count_include_pad); global_avgpool ->
  GlobalAveragePool; adaptive_avgpool -> AveragePool when every window has the same size
  (H % oh == 0 and W % ow == 0), else two MatMuls with PyTorch's averaging matrices
  (``A_h @ X @ A_w^T``), which the importer recognises.
* add -> Add (two inputs) or Sum (more); multiply -> Mul (broadcast (C,1,1) gates); concat ->
  Concat(axis 1); split -> Split(axis 1, sizes); channel_shuffle -> Reshape (N, g, C/g, H, W),
  Transpose (0, 2, 1, 3, 4), Reshape (N, C, H, W) (what torch exports); flatten -> Flatten(1);
  dropout -> Dropout (inference: identity); upsample -> Resize (bilinear: linear with
  pytorch_half_pixel, as torch's align_corners=False; nearest: asymmetric + floor, torch's).
* reshape, unflatten -> Reshape (target (0, *shape): the batch dimension copied); matmul -> MatMul
  of the (N, batch, rows, columns) tensors, a transposed operand through Transpose (0, 1, 3, 2), a
  scale other than 1 as a Mul by a constant scalar after the product (the executor's order);
  softmax -> Softmax(axis -1); layer_scale -> Mul by its gamma stored as a (C, 1, 1) initializer.
  The importer folds the Transposes and the scale back into one matmul.
* unsupported (an identity placeholder of an imported op costmodel does not model) -> Identity,
  exactly what costmodel counted; the original op type is kept in the node's doc string.

``pip install '.[onnx]'`` (or ``.[measure]``) provides the ``onnx`` package.
"""
from __future__ import annotations

import math
from typing import Dict, List, Mapping, Optional

import numpy as np

from .errors import CostModelError
from .graph import INPUT, Graph, require_graph

OPSET = 17
#: BatchNorm epsilon written into every BatchNormalization (the executor's and PyTorch's)
BN_EPS = 1e-5


class OnnxExportError(CostModelError):
    """A graph that cannot be written as ONNX (names the node)."""


def _onnx():
    try:
        import onnx
    except ImportError:
        raise CostModelError("writing ONNX needs the onnx package: pip install '.[onnx]'") from None
    return onnx


def _tensor_name(ref: str) -> str:
    return ref  # IR refs ('b3.expand', 'split:1', 'input') are valid ONNX tensor names


def adaptive_matrix(size: int, out: int) -> np.ndarray:
    """(out, size) float32 matrix averaging PyTorch's adaptive windows along one axis."""
    from .ops import adaptive_windows
    m = np.zeros((out, size), np.float32)
    for i, (a, b) in enumerate(adaptive_windows(size, out)):
        m[i, a:b] = 1.0 / (b - a)
    return m


class _Writer:
    def __init__(self, graph: Graph, weights: Mapping, batch):
        self.onnx = _onnx()
        self.graph, self.weights, self.batch = graph, weights, batch
        self.nodes: List = []
        self.inits: List = []
        self._const = 0

    # ------------------------------------------------------------------ helpers
    def init(self, name: str, array) -> str:
        from onnx import numpy_helper
        a = np.asarray(array)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(a).reshape(a.shape), name))
        return name

    def const(self, node_name: str, array) -> str:
        self._const += 1
        return self.init(f"{node_name}.const{self._const}", array)

    def node(self, op_type: str, inputs, outputs, name: str, **attrs):
        from onnx import helper
        self.nodes.append(helper.make_node(op_type, list(inputs), list(outputs), name=name, **attrs))

    def weight(self, n, key: str, shape=None) -> str:
        """The initializer ``<layer>.<key>``, reshaped to ``shape`` when given (a broadcast form)."""
        w = self.weights[n.name][key]
        if isinstance(w, tuple):  # structure only: a shape, no values
            from onnx import TensorProto
            t = TensorProto()
            t.name, t.data_type = f"{n.name}.{key}", TensorProto.FLOAT
            t.dims.extend(shape or w)
            self.inits.append(t)
            return t.name
        return self.init(f"{n.name}.{key}", w if shape is None else np.asarray(w).reshape(shape))

    # ------------------------------------------------------------------ ops
    def conv2d(self, n, ins, out):
        op = n.op
        t, b, left, r = op.pads(n.in_shapes[0][1:])
        inputs = list(ins) + [self.weight(n, "weight")] + ([self.weight(n, "bias")] if op.bias else [])
        self.node("Conv", inputs, [out], n.name, kernel_shape=list(op.kernel), strides=list(op.stride),
                  pads=[t, left, b, r], dilations=list(op.dilation), group=op.groups)

    def linear(self, n, ins, out):
        inputs = list(ins) + [self.weight(n, "weight")] + ([self.weight(n, "bias")] if n.op.bias else [])
        self.node("Gemm", inputs, [out], n.name, transB=1)

    def batchnorm(self, n, ins, out):
        c = n.in_shapes[0][0]
        if n.op.affine:
            scale, shift = self.weight(n, "weight"), self.weight(n, "bias")
        else:
            scale = self.init(f"{n.name}.weight", np.ones(c, np.float32))
            shift = self.init(f"{n.name}.bias", np.zeros(c, np.float32))
        inputs = list(ins) + [scale, shift, self.weight(n, "running_mean"), self.weight(n, "running_var")]
        self.node("BatchNormalization", inputs, [out], n.name, epsilon=BN_EPS)

    def activation(self, n, ins, out):
        fn, (x,) = n.op.fn, ins
        if fn == "relu":
            self.node("Relu", [x], [out], n.name)
        elif fn == "relu6":
            lo = self.const(n.name, np.array(0, np.float32))
            hi = self.const(n.name, np.array(6, np.float32))
            self.node("Clip", [x, lo, hi], [out], n.name)
        elif fn == "sigmoid":
            self.node("Sigmoid", [x], [out], n.name)
        elif fn == "hsigmoid":
            self.node("HardSigmoid", [x], [out], n.name, alpha=1 / 6, beta=0.5)
        elif fn == "hswish":
            self.node("HardSwish", [x], [out], n.name)
        elif fn == "swish":
            gate = f"{n.name}.sigmoid"
            self.node("Sigmoid", [x], [gate], gate)
            self.node("Mul", [x, gate], [out], n.name)
        elif fn == "gelu":  # ONNX has Gelu from opset 20: 0.5 x (1 + erf(x / sqrt 2)), as PyTorch exports it
            d, e, p, m = (f"{n.name}.{s}" for s in ("div", "erf", "add", "mul"))
            self.node("Div", [x, self.const(n.name, np.array(np.sqrt(2.0), np.float32))], [d], d)
            self.node("Erf", [d], [e], e)
            self.node("Add", [e, self.const(n.name, np.array(1.0, np.float32))], [p], p)
            self.node("Mul", [x, p], [m], m)
            self.node("Mul", [m, self.const(n.name, np.array(0.5, np.float32))], [out], n.name)
        else:  # pragma: no cover - ops.Activation validates fn
            raise OnnxExportError(f"node {n.name!r}: no ONNX form for activation {fn!r}")

    def _pool(self, n, ins, out, op_type, **extra):
        op = n.op
        t, b, left, r = op.pads(n.in_shapes[0][1:])
        self.node(op_type, ins, [out], n.name, kernel_shape=list(op.kernel), strides=list(op.stride),
                  pads=[t, left, b, r], ceil_mode=int(op.ceil_mode), **extra)

    def maxpool(self, n, ins, out):
        self._pool(n, ins, out, "MaxPool")

    def avgpool(self, n, ins, out):
        self._pool(n, ins, out, "AveragePool", count_include_pad=int(n.op.count_include_pad))

    def global_avgpool(self, n, ins, out):
        self.node("GlobalAveragePool", ins, [out], n.name)

    def adaptive_avgpool(self, n, ins, out):
        _, h, w = n.in_shapes[0]
        oh, ow = n.op.size
        if h % oh == 0 and w % ow == 0:
            k = [h // oh, w // ow]
            self.node("AveragePool", ins, [out], n.name, kernel_shape=k, strides=k, pads=[0, 0, 0, 0])
            return
        mid = f"{n.name}.cols"
        aw = self.init(f"{n.name}.avg_w", adaptive_matrix(w, ow).T.copy())
        ah = self.init(f"{n.name}.avg_h", adaptive_matrix(h, oh))
        self.node("MatMul", [ins[0], aw], [mid], mid)
        self.node("MatMul", [ah, mid], [out], n.name)

    def add(self, n, ins, out):
        self.node("Add" if len(ins) == 2 else "Sum", ins, [out], n.name)

    def multiply(self, n, ins, out):
        self.node("Mul", ins, [out], n.name)

    def concat(self, n, ins, out):
        self.node("Concat", ins, [out], n.name, axis=1)

    def split(self, n, ins, outs):
        sizes = self.const(n.name, np.array(n.op.sizes, np.int64))
        self.node("Split", [ins[0], sizes], outs, n.name, axis=1)

    def channel_shuffle(self, n, ins, out):
        g = n.op.groups
        c, h, w = n.in_shapes[0]
        five = self.const(n.name, np.array([0, g, c // g, h, w], np.int64))  # 0: copy the batch dimension
        four = self.const(n.name, np.array([0, c, h, w], np.int64))
        a, t = f"{n.name}.grouped", f"{n.name}.transposed"
        self.node("Reshape", [ins[0], five], [a], a)
        self.node("Transpose", [a], [t], t, perm=[0, 2, 1, 3, 4])
        self.node("Reshape", [t, four], [out], n.name)

    def flatten(self, n, ins, out):
        self.node("Flatten", ins, [out], n.name, axis=1)

    def dropout(self, n, ins, out):
        ratio = self.const(n.name, np.array(n.op.p, np.float32))
        self.node("Dropout", [ins[0], ratio], [out], n.name)

    def upsample(self, n, ins, out):
        c = n.in_shapes[0][0]
        batch = self.batch if isinstance(self.batch, int) else 1
        if not isinstance(self.batch, int):
            raise OnnxExportError(f"node {n.name!r}: upsample needs a fixed batch size (Resize takes its output "
                                  f"size as constants); write without dynamic_batch")
        sizes = self.const(n.name, np.array([batch, c, *n.op.size], np.int64))
        if n.op.mode == "bilinear":
            attrs = dict(mode="linear", coordinate_transformation_mode="pytorch_half_pixel")
        else:
            attrs = dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
        self.node("Resize", [ins[0], "", "", sizes], [out], n.name, **attrs)

    def reshape(self, n, ins, out):
        shape = self.const(n.name, np.array([0, *n.op.shape], np.int64))  # 0: copy the batch dimension
        self.node("Reshape", [ins[0], shape], [out], n.name)

    unflatten = reshape  # (N, F) -> (N, C, H, W): the same Reshape

    def matmul(self, n, ins, out):
        """MatMul of (N, batch, rows, columns) tensors; a transposed operand through Transpose
        (0, 1, 3, 2), the scale as a Mul by a constant after the product (the executor's order)."""
        op, (a, b) = n.op, ins
        if op.transpose_a:
            self.node("Transpose", [a], [f"{n.name}.a_t"], f"{n.name}.a_t", perm=[0, 1, 3, 2])
            a = f"{n.name}.a_t"
        if op.transpose_b:
            self.node("Transpose", [b], [f"{n.name}.b_t"], f"{n.name}.b_t", perm=[0, 1, 3, 2])
            b = f"{n.name}.b_t"
        if op.scale == 1.0:
            self.node("MatMul", [a, b], [out], n.name)
            return
        self.node("MatMul", [a, b], [f"{n.name}.product"], n.name)
        scale = self.const(n.name, np.array(op.scale, np.float32))
        self.node("Mul", [f"{n.name}.product", scale], [out], f"{n.name}.scale")

    def softmax(self, n, ins, out):
        self.node("Softmax", ins, [out], n.name, axis=-1)

    def layer_scale(self, n, ins, out):
        gamma = self.weight(n, "gamma", (n.in_shapes[0][0], 1, 1))
        self.node("Mul", [ins[0], gamma], [out], n.name)

    def unsupported(self, n, ins, outs):
        from onnx import helper
        for i, o in enumerate(outs):
            self.nodes.append(helper.make_node("Identity", [ins[0]], [o], name=n.name if i == 0 else f"{n.name}:{i}",
                                               doc_string=f"costmodel placeholder for unsupported {n.op.op_type}"))

    # ------------------------------------------------------------------ graph
    def value_info(self, name: str, shape):
        from onnx import TensorProto, helper
        dims = [self.batch] + list(shape)
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)

    def run(self):
        from onnx import helper
        g = self.graph
        for n in g.nodes:
            fn = WRITERS.get(n.op.kind)
            if fn is None:
                raise OnnxExportError(f"node {n.name!r}: no ONNX form for op kind {n.op.kind!r}; accepted: "
                                      f"{', '.join(WRITERS)}")
            ins = [_tensor_name(r) for r in n.inputs]
            outs = [_tensor_name(r) for r in n.outputs]
            if n.op.kind in ("split", "unsupported"):
                fn(self, n, ins, outs)
            else:
                fn(self, n, ins, outs[0])
        if len(g.input_shape) != 3:
            raise OnnxExportError(f"graph {g.name!r}: the input must be a (C, H, W) map, got {g.input_shape}")
        inputs = [self.value_info(INPUT, g.input_shape)]
        outputs = []
        for r in g.outputs:
            name = _tensor_name(r)
            if r == INPUT or any(o.name == name for o in outputs):
                continue
            outputs.append(self.value_info(name, g.shape(r)))
        graph = helper.make_graph(self.nodes, g.name or "costmodel", inputs, outputs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="costmodel")
        model.ir_version = min(model.ir_version, 8)  # readable by onnxruntime builds of the last few years
        meta = {k: str(v) for k, v in g.meta.items() if isinstance(v, (str, int, float, bool))}
        helper.set_model_props(model, meta)
        return model


WRITERS: Dict[str, object] = {k: getattr(_Writer, k) for k in (
    "conv2d", "linear", "batchnorm", "activation", "maxpool", "avgpool", "global_avgpool", "adaptive_avgpool",
    "add", "multiply", "concat", "split", "channel_shuffle", "flatten", "unflatten", "dropout", "upsample",
    "reshape", "matmul", "softmax", "layer_scale", "unsupported")}


def to_onnx(graph: Graph, weights: Optional[Mapping] = None, seed: int = 0, batch: int = 1,
            dynamic_batch: bool = False, values: bool = True):
    """An ``onnx.ModelProto`` of ``graph`` carrying ``weights`` (``init_weights(graph, seed)`` when
    None). ``batch`` fixes N; ``dynamic_batch`` writes the symbol ``N`` instead. ``values=False``
    writes the structure only: every initializer with its shape and no values (a file of
    kilobytes that viewers and ``onnx_import`` read, but no runtime runs)."""
    from .executor import check_weights, init_weights, weight_shapes
    require_graph(graph, "to_onnx")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise CostModelError(f"batch must be a positive integer, got {batch!r}")
    if not values:
        weights = weight_shapes(graph)
    else:
        weights = init_weights(graph, seed) if weights is None else check_weights(graph, weights)
    return _Writer(graph, weights, "N" if dynamic_batch else batch).run()


def onnx_bytes(graph: Graph, weights: Optional[Mapping] = None, seed: int = 0, batch: int = 1,
               dynamic_batch: bool = False, values: bool = True) -> bytes:
    """The serialized model (``to_onnx``); models above 2 GB cannot be serialized by protobuf."""
    model = to_onnx(graph, weights, seed, batch, dynamic_batch, values)
    size = model.ByteSize()
    if size >= 2 ** 31:
        raise OnnxExportError(f"graph {graph.name!r}: {size / 1e9:.1f} GB of weights is above ONNX's 2 GB "
                              f"single-file limit")
    return model.SerializeToString()


def save_onnx(graph: Graph, path: str, weights: Optional[Mapping] = None, seed: int = 0, batch: int = 1,
              dynamic_batch: bool = False, values: bool = True) -> None:
    """Write ``graph`` as an ONNX file, atomically."""
    from .fileio import write_atomic
    write_atomic(path, onnx_bytes(graph, weights, seed, batch, dynamic_batch, values))


def total_weights(graph: Graph) -> int:
    """Number of float weights the file will carry (for size warnings)."""
    from .executor import weight_shapes
    return sum(math.prod(s) for d in weight_shapes(graph).values() for s in d.values())


__all__ = ["OPSET", "to_onnx", "onnx_bytes", "save_onnx", "adaptive_matrix", "OnnxExportError", "WRITERS"]
