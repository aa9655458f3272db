"""Reading and validating an ONNX model for ``costmodel.onnx_import``: the file (through
``costmodel.fileio``'s read helper: one line for a missing, special, huge, empty, truncated or
non-ONNX file), the graph's single-writer rule, the image input's shape, and the checks of the
integer attributes every mapped node shares (strides, dilations, pads, kernel sizes, group).

Every error is one ``OnnxError`` line naming the file, the node (name and op type) and what is
accepted.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

from .errors import CostModelError


class OnnxError(CostModelError):
    """An ONNX model that cannot be read or mapped (names the file and the node)."""


class _Unsupported(Exception):
    """A supported op type with parameters outside the mapping (the reason says which)."""


#: inputs a node of this type must have (the rest are optional)
MIN_INPUTS = {"Conv": 2, "Gemm": 2, "MatMul": 2, "BatchNormalization": 5, "Add": 2, "Mul": 2, "Div": 2,
              "Reshape": 2}


def _show(s) -> str:
    """A name from the file, printable (a corrupt file's invalid UTF-8 or control characters quoted)."""
    if isinstance(s, bytes):
        s = s.decode("utf-8", "replace")
    s = str(s)
    if len(s) > 120:
        s = s[:100] + "..."
    return s if s and s.isprintable() else repr(s)


def brief(values, n: int = 8) -> str:
    """A list from the file, shown whole when short, else its first ``n`` values and its length
    (an error line never echoes an unbounded value)."""
    values = list(values)
    if len(values) <= n:
        return str(values)
    return "[" + ", ".join(map(str, values[:n])) + f", ... ({len(values)} values)]"


def read_model(path: str):
    """Parse an ONNX file (structure only); one-line ``OnnxError`` for missing, empty, truncated or
    non-ONNX files (special files and the size cap: ``fileio.read_bytes``)."""
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
                        f"{' '.join(str(e).split())[:200] or 'parse error'})") from None
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


def check_single_writers(model, path: str, node_names) -> None:
    """ONNX graphs are in single static assignment form: every tensor has one producer (a node
    output, the graph input or an initializer). A second writer is refused, naming both."""
    graph = model.graph
    writer = {}
    for v in graph.input:
        writer[v.name] = f"graph input {_show(v.name)}"
    for t in graph.initializer:
        if t.name in writer and not writer[t.name].startswith("graph input"):
            raise OnnxError(f"{path}: tensor {_show(t.name)} is given by two initializers; every tensor of an "
                            f"ONNX graph has one producer")
        writer.setdefault(t.name, f"initializer {_show(t.name)}")
    for n in graph.node:
        for o in n.output:
            if not o:
                continue  # an omitted optional output
            me = f"node {_show(node_names[id(n)])} ({_show(n.op_type)})"
            if o in writer:
                raise OnnxError(f"{path}: tensor {_show(o)} is written by {writer[o]} and again by {me}; every "
                                f"tensor of an ONNX graph has one producer (single static assignment)")
            writer[o] = me


def input_shape(model, path: str, inits, res: Optional[Tuple[int, int]]) -> Tuple[str, Tuple[int, int, int]]:
    """The one image input's name and (C, H, W); ``res`` replaces H and W."""
    graph = model.graph
    ins = [v for v in graph.input if v.name not in inits]
    if len(ins) != 1:
        raise OnnxError(f"{path}: the model has {len(ins)} graph inputs "
                        f"({', '.join(_show(v.name) for v in ins) or 'none'}); costmodel models one image "
                        f"input of shape (N, C, H, W)")
    v = ins[0]
    tt = v.type.tensor_type
    dims = [(d.dim_value if d.HasField("dim_value") else None) for d in tt.shape.dim]
    if len(dims) != 4:
        raise OnnxError(f"{path}: input {_show(v.name)} has rank {len(dims)}; costmodel needs an image "
                        f"input (N, C, H, W)")
    bad = [(what, d) for what, d in zip(("batch", "channel", "height", "width"), dims) if d is not None and d < 1]
    if res is not None:
        bad = [b for b in bad if b[0] not in ("height", "width")]
    if bad:
        raise OnnxError(f"{path}: input {_show(v.name)} has {' and '.join(f'{w} {d}' for w, d in bad)}; dimensions "
                        f"must be positive integers (a symbolic batch is fine; a symbolic height/width needs --res)")
    c, h, w = dims[1:]
    if c is None:
        raise OnnxError(f"{path}: input {_show(v.name)} has a symbolic channel count "
                        f"({_show(tt.shape.dim[1].dim_param or '?')}); costmodel needs a fixed one")
    if res is not None:
        h, w = res
    if h is None or w is None:
        raise OnnxError(f"{path}: input {_show(v.name)} has a symbolic or dynamic height/width "
                        f"({_show(tt.shape.dim[2].dim_param or '?')} x {_show(tt.shape.dim[3].dim_param or '?')}); "
                        f"give the resolution with --res (API: res=)")
    return v.name, (c, h, w)


def int_tuple(where: str, a: dict, key: str, default: Sequence[int], count: int, least: int,
              what: str) -> Tuple[int, ...]:
    """Attribute ``key`` as ``count`` integers, each at least ``least``; one line naming the node
    (``where``), the attribute and what is accepted otherwise."""
    v = a.get(key, default)
    ok = (isinstance(v, (list, tuple)) and len(v) == count
          and all(isinstance(x, int) and not isinstance(x, bool) and x >= least for x in v))
    if not ok:
        kind = "positive" if least == 1 else "non-negative" if least == 0 else f">= {least}"
        shown = list(v) if isinstance(v, (list, tuple)) else v
        raise OnnxError(f"{where}: {key}={shown!r:.80} must be {count} {kind} integers ({what})")
    return tuple(int(x) for x in v)


__all__ = ["OnnxError", "brief", "read_model", "check_single_writers", "input_shape", "int_tuple", "MIN_INPUTS"]
