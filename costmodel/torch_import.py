"""PyTorch import: read an ``nn.Module`` as a costmodel ``Graph`` without running it on data.

``from_torch(module, input_size=(3, 224, 224))`` traces the module symbolically with
``torch.fx`` (``torch.export``, which runs on fake tensors, when fx cannot trace it, e.g. Python
control flow on shapes) and walks the traced graph in program order (``costmodel/torch_graph.py``),
mapping each module call, function and tensor method onto the IR's ops (``costmodel/torch_ops.py``
holds the table) and inferring every shape with costmodel's own ops through ``GraphBuilder``. Shape arithmetic in the
model (``x.size()``, ``x.shape[1] // g``) is evaluated on the known shapes; view chains are
followed symbolically (``costmodel/torch_views.py``). No forward pass runs on data.

Weights come along: ``from_torch(..., return_weights=True)`` returns ``(graph, weights)``, the
module's own parameters and BatchNorm statistics in the executor's layout, so that
``costmodel.execute(graph, x, weights=weights)`` reproduces the module's output (the executor's
BatchNorm uses eps = 1e-5; a module's other eps is carried by the running variance, stored as
``running_var + eps - 1e-5``).

Anything that is not mapped (a module type, function or method outside the table, or a mapped
one with arguments the IR cannot express) is listed by qualified name, type and call site
(file:line, where fx records it) in one ``TorchImportError``; with ``skip_unsupported=True`` each
becomes an ``unsupported`` IR node: identity on its first tensor input, counted as zero,
labelled ``unsupported:<type>`` (the ONNX importer's convention). ``pip install '.[torch]'``.
"""
from __future__ import annotations

import copy
from typing import Dict, Optional, Tuple

from .graph import Graph
from .torch_base import TorchImportError, require_torch  # noqa: F401  (re-exported)

#: the executor's BatchNorm epsilon (``executor.BN_EPS``); other eps values shift running_var
EXECUTOR_BN_EPS = 1e-5




# ----------------------------------------------------------------------------- tracing
def _trace_fx(module):
    import torch.fx as fx
    tracer = fx.Tracer()
    tracer.record_stack_traces = True
    root = copy.copy(module)  # fx stores tensor constants on the root: keep the user's module untouched
    graph = tracer.trace(root)
    return root, graph


def _trace_export(module, input_size):
    import torch
    p = next((t for t in module.parameters() if t.is_floating_point()), None)
    kw = {"dtype": p.dtype, "device": p.device} if p is not None else {}
    x = torch.empty((1,) + tuple(input_size), **kw)  # never filled nor read: export runs on fake tensors
    ep = torch.export.export(module, (x,), strict=False)
    state = dict(ep.state_dict)
    state.update(getattr(ep, "constants", {}) or {})
    state.update(module.named_parameters(remove_duplicate=False))  # the module's own tensors (unused count)
    state.update(module.named_buffers(remove_duplicate=False))
    consts = {}
    for spec in ep.graph_signature.input_specs:
        if spec.kind.name in ("PARAMETER", "BUFFER", "CONSTANT_TENSOR") and spec.target in state:
            consts[spec.arg.name] = state[spec.target]
    return ep.graph, consts


def _first_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return f"{type(e).__name__}: {text[:200]}"


def _check_input_size(input_size) -> Tuple[int, int, int]:
    ok = isinstance(input_size, (tuple, list)) and len(input_size) == 3 and all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in input_size)
    if not ok:
        from .errors import KnobError
        raise KnobError(f"input_size must be three positive integers (C, H, W), e.g. (3, 224, 224), got "
                        f"{input_size!r}")
    return tuple(int(d) for d in input_size)


def from_torch(module, input_size=(3, 224, 224), *, skip_unsupported: bool = False, return_weights: bool = False,
               name: Optional[str] = None, trace: str = "auto"):
    """Import ``module`` (an ``nn.Module``) as a ``Graph`` for inputs of ``input_size`` = (C, H, W)
    at batch 1, without running it on data.

    ``trace``: ``"auto"`` (torch.fx symbolic tracing, falling back to torch.export), ``"fx"`` or
    ``"export"``. With ``return_weights`` returns ``(graph, weights)``: layer name -> arrays in
    the executor's layout (``costmodel.execute(graph, x, weights=weights)``). Unsupported ops
    raise one ``TorchImportError`` listing them all, unless ``skip_unsupported``."""
    torch = require_torch()
    input_size = _check_input_size(input_size)
    if not isinstance(module, torch.nn.Module):
        raise TorchImportError(f"from_torch takes a torch.nn.Module, got {type(module).__name__}")
    if trace not in ("auto", "fx", "export"):
        raise TorchImportError(f"trace must be 'auto', 'fx' or 'export', got {trace!r}")
    name = name or type(module).__name__
    modes = {id(m): m.training for m in module.modules()}
    module.eval()
    try:
        graph, weights, unused = _import(module, input_size, name, skip_unsupported, trace)
    finally:
        for m in module.modules():
            m.training = modes.get(id(m), m.training)
    h, w = input_size[1], input_size[2]
    meta = {"network": name, "family": "PyTorch", "alpha": 1.0, "resolution": h if h == w else [h, w],
            "height": h, "width": w}
    if len(graph.output_shape) == 1:
        meta["classes"] = graph.output_shape[0]
    unsupported = [n for n in graph.nodes if n.op.kind == "unsupported"]
    if unsupported:
        meta["unsupported"] = ", ".join(f"{n.name} ({n.op.op_type})" for n in unsupported)
    if unused:
        meta["unused_parameters"] = unused
    graph.meta.update(meta)
    if not return_weights:
        return graph
    return graph, _numpy_weights(weights)


def _import(module, input_size, name, skip, trace):
    from .torch_graph import Importer
    errors = []
    if trace in ("auto", "fx"):
        try:
            root, fx_graph = _trace_fx(module)
        except Exception as e:  # fx raises many types for untraceable Python (TraceError, TypeError, ...)
            if trace == "fx":
                raise TorchImportError(f"{name}: torch.fx cannot trace the module ({_first_line(e)})") from None
            errors.append(f"torch.fx: {_first_line(e)}")
        else:
            imp = Importer(root, fx_graph, input_size, name, skip, "fx")
            return imp.run(), imp.weights, _unused(module, imp)
    try:
        fx_graph, consts = _trace_export(module, input_size)
    except Exception as e:  # export's errors are as varied (UserError, guard failures, shape errors)
        errors.append(f"torch.export: {_first_line(e)}")
        raise TorchImportError(f"{name}: cannot trace the module symbolically ({'; '.join(errors)})") from None
    imp = Importer(module, fx_graph, input_size, name, skip, "export", consts)
    return imp.run(), imp.weights, _unused(module, imp)


def _unused(module, imp) -> int:
    """Parameters the traced forward never reads (e.g. GoogLeNet's auxiliary classifiers at
    inference): not counted in the graph, reported in its meta."""
    return sum(p.numel() for p in module.parameters() if id(p) not in imp.params_seen)


def _numpy_weights(weights) -> Dict[str, Dict]:
    import numpy as np
    out = {}
    for layer, d in weights.items():
        arrays = {}
        eps = d.get("eps")
        for key, t in d.items():
            if key == "eps" or t is None:
                continue
            a = np.array(t.detach().float().cpu().numpy(), dtype=np.float32)  # a copy (any float dtype)
            if key == "running_var" and eps is not None and eps != EXECUTOR_BN_EPS:
                a = (a.astype(np.float64) + (eps - EXECUTOR_BN_EPS)).astype(np.float32)
            arrays[key] = a
        out[layer] = arrays
    return out


def torch_weights(module, graph: Graph, **kw) -> Dict[str, Dict]:
    """The weights of ``module`` for a graph imported from it (re-traces it; same as
    ``from_torch(module, graph.input_shape, return_weights=True)[1]``)."""
    return from_torch(module, tuple(graph.input_shape), return_weights=True, **kw)[1]


__all__ = ["from_torch", "torch_weights", "TorchImportError"]
