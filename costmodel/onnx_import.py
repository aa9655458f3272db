"""ONNX import: read a model with the ``onnx`` package (no runtime, no ``onnx.shape_inference``)
and rebuild it as a costmodel ``Graph``, inferring every shape with costmodel's own ops.

Only the graph structure and the initializers' dims are read (weights are never decoded; small
constant tensors - reshape targets, split sizes, clip bounds, attention scales - are).
``pip install '.[onnx]'`` from a checkout.

The importer is one class made of mixins, one module per job:

* ``onnx_read``: the file, the single-writer rule, the input's shape, attribute checks;
* ``onnx_fold``: Constant nodes and the shape computations evaluated with NumPy (``FOLDABLE``);
* ``onnx_layers``: Conv, Gemm, MatMul with a constant weight, BatchNormalization, activations,
  gates, Mul/Add of two tensors, pooling;
* ``onnx_tensors``: Concat, Split, Slice, Reshape (flatten, unflatten, channel shuffle, views),
  Pad, Flatten, Dropout, Identity;
* ``onnx_attention``: MatMul of two activations with its Transposes and constant scales folded
  in, Softmax, Mul by a per-channel constant (layer scale);
* ``onnx_forms``: forms written by ``costmodel.onnx_export`` that exporters rarely emit (Sum,
  Resize, the adaptive-pooling MatMuls).

The graph input's shape gives (C, H, W) (the batch dimension is ignored); a symbolic H or W needs
``res``. Any other op, or a supported op with parameters outside the mapping, is listed by node
name and type in one ``OnnxError``; with ``skip_unsupported`` each becomes an ``unsupported`` IR
node: identity on its first input, counted as zero, labelled ``unsupported:<OpType>``. A node
attribute that is not valid ONNX (a zero stride, group 0, a rank-2 Conv weight, ...) is an error
naming the node and what is accepted, never an unsupported op.
"""
from __future__ import annotations

import os
import re
from typing import Dict, List, Optional, Tuple

from .errors import CostModelError
from .graph import Graph, GraphBuilder
from .onnx_attention import AttentionForms, Operand
from .onnx_fold import FOLD_LIMIT, FOLDABLE, Folding
from .onnx_forms import WriterForms
from .onnx_layers import LayerForms
from .onnx_read import (MIN_INPUTS, OnnxError, _attrs, _show, _Unsupported, check_single_writers, input_shape,
                        read_model)
from .onnx_tensors import TensorForms
from .ops import Unsupported

SUPPORTED = ("Conv", "Gemm", "MatMul", "BatchNormalization", "Relu", "Clip", "HardSwish", "HardSigmoid",
             "Sigmoid", "Gelu", "Erf", "Mul", "Div", "Add", "MaxPool", "AveragePool", "GlobalAveragePool",
             "ReduceMean", "Concat", "Split", "Slice", "Reshape", "Unsqueeze", "Squeeze", "Transpose", "Softmax",
             "Flatten", "Dropout", "Pad", "Identity", "Constant", "Sum", "Resize")

#: a GraphBuilder error's own node prefix, replaced by the ONNX node's name and type
_IR_PREFIX = re.compile(r"^node '[^']*' \([^)]*\): ")


class _Importer(LayerForms, TensorForms, AttentionForms, WriterForms, Folding):
    def __init__(self, model, path: str, res: Optional[Tuple[int, int]], skip: bool):
        self.model, self.path, self.res, self.skip = model, path, res, skip
        graph = model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
        self.inits = {t.name: t for t in graph.initializer}
        self.consts: Dict[str, object] = {}   # Constant node outputs: name -> TensorProto (None: unknown)
        self.refs: Dict[str, str] = {}        # ONNX tensor name -> IR ref
        self.virtual: Dict[str, Operand] = {}  # transposed / scaled operands folded into a MatMul
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
            if name in self.virtual:  # a folded operand read by an op that cannot fold it
                raise _Unsupported(f"input {_show(name)} is a transposed or scaled operand costmodel folds into "
                                   f"a MatMul, not a tensor of its own") from None
            raise OnnxError(f"{self.where(node)}: input {_show(name)} is not produced by an earlier node "
                            f"(the graph is not topologically sorted or the file is truncated)") from None

    def full_shape(self, name: str, node) -> Tuple[int, ...]:
        """The ONNX shape of a tensor (batch 1 first), a folded operand's included."""
        if name in self.virtual:
            return self.virtual[name].shape
        return (1,) + tuple(self.g.shape(self.ref(name, node)))

    def only_consumer(self, tensor: str):
        cs = self.consumers.get(tensor, [])
        return cs[0] if len(cs) == 1 and tensor not in self.outputs else None

    def first_data(self, n) -> str:
        ins = self.data_inputs(n)
        if not ins:
            raise _Unsupported("no tensor input (all inputs are constants)")
        return ins[0]

    # ------------------------------------------------------------------ main
    def run(self) -> Graph:
        check_single_writers(self.model, self.path, self.node_names)
        in_name, shape = input_shape(self.model, self.path, self.inits, self.res)
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
        self.gated = {}  # Mul(x, Sigmoid(x)) -> swish, Mul(x, HardSigmoid(x)) -> hswish, GELU's last Mul
        for n in nodes:
            if n.op_type == "Erf" and n.domain in ("", "ai.onnx"):
                hit = self._gelu(n)
                if hit is not None:
                    self.fused.update(id(m) for m in hit[2])
                    self.gated[id(hit[1])] = (hit[0], "gelu")
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

    def passthrough(self, n):
        """An unsupported node as an identity placeholder on its first tensor input (a folded
        operand's source when that input is one)."""
        ins = self.data_inputs(n)
        if not ins:  # produces a constant-like tensor from constants only
            for o in n.output:
                self.consts[o] = None
            return
        first = self.virtual[ins[0]].src if ins[0] in self.virtual else ins[0]
        outs = [o for o in n.output if o]
        ref = self.g.add(Unsupported(n.op_type, len(outs)), [self.ref(first, n)], self.node_names[id(n)])
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
        if n.op_type in FOLDABLE and not self.data_inputs(n):  # fold() declined it
            raise _Unsupported(f"{n.op_type} of constants that is not evaluated (its result would exceed "
                               f"{FOLD_LIMIT:,} elements, or its values cannot be computed)")
        handler = getattr(self, f"op_{n.op_type}", None)
        if handler is None:
            raise _Unsupported(f"{n.op_type} of a tensor (only constant shape computations are evaluated)")
        try:
            handler(n, _attrs(n))
        except OnnxError:
            raise
        except CostModelError as e:  # an op's or the graph's own check: said of the ONNX node
            raise OnnxError(f"{self.where(n)}: {_IR_PREFIX.sub('', str(e))}") from None
        except (TypeError, ValueError, IndexError, KeyError, AttributeError, ArithmeticError) as e:
            raise OnnxError(f"{self.where(n)}: malformed node or attribute ({type(e).__name__}: "
                            f"{' '.join(str(e).split())[:200]})") from None


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


__all__ = ["OnnxError", "SUPPORTED", "FOLDABLE", "load_onnx", "read_model"]
