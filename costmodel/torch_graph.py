"""The walk of the PyTorch importer: a traced fx graph (torch.fx symbolic tracing or torch.export)
visited in program order, every node's value an IR tensor, a pending tensor (a view chain, a pad,
an expand, a gate waiting for its multiply, the pieces of a hard-sigmoid written out) or a Python
constant (shapes, parameters). ``costmodel/torch_ops.py`` maps the nodes; ``from_torch`` in
``costmodel/torch_import.py`` is the entry point.
"""
from __future__ import annotations

import math
import os
import re
import types
from contextlib import nullcontext
from typing import Dict, List, Optional, Sequence, Tuple

from .errors import CostModelError
from .graph import Graph, GraphBuilder
from .ops import Flatten, Unflatten
from .ops import Unsupported as UnsupportedOp
from .torch_base import (PENDING_REASONS, TV, NotMapped, Pending, TorchImportError, has_tensor,  # noqa: F401
                         is_tensor, require_torch)
from .torch_views import Layout, resolve_shape, same_order, shuffle_groups


#: ops whose result is a view of their first argument (an in-place update of it changes the base)
VIEW_OPS = {"getitem", "view", "reshape", "_unsafe_view", "transpose", "permute", "flatten", "unflatten", "squeeze",
            "unsqueeze", "expand", "expand_as", "narrow", "chunk", "split", "split_with_sizes", "slice", "view_as",
            "reshape_as", "t", "swapaxes", "swapdims", "alias", "detach", "contiguous"}

_FRAME = re.compile(r'File "([^"]+)", line (\d+)')


def call_site(node, skip_dirs: Sequence[str]) -> str:
    """file:line of the innermost frame of the node's recorded stack outside torch itself."""
    trace = node.meta.get("stack_trace") or getattr(node, "stack_trace", None) or ""
    frames = _FRAME.findall(trace)
    own = [f for f in frames if not any(f[0].startswith(d) for d in skip_dirs)]
    # a module called by torch's own containers only (nn.Sequential): the container's call, not the tracer's
    inner = [f for f in frames if not any(f[0].startswith(d + "fx" + os.sep) for d in skip_dirs[:1])]
    pick = (own or inner)[-1:]
    return f"{pick[0][0]}:{pick[0][1]}" if pick else "?"


# ----------------------------------------------------------------------------- the walk
class Importer:
    """Walks a traced fx graph (symbolic_trace or torch.export) in program order."""

    def __init__(self, module, graph, input_size, name: str, skip: bool, mode: str, consts: Dict = None):
        torch = require_torch()
        from . import torch_ops, torch_ops_data  # noqa: F401  (part two registers into the tables)
        self.ops = torch_ops
        self.torch, self.module, self.fx_graph, self.mode = torch, module, graph, mode
        self.skip, self.name = skip, name
        self.consts = consts or {}  # export: placeholder name -> parameter / buffer tensor
        self.g = GraphBuilder(name, input_size)
        self.values: Dict = {}
        self.used_names = {"input"}
        self.blocks: Dict[str, str] = {}
        self.view_base: Dict = {}
        self.order = {n: i for i, n in enumerate(graph.nodes)}
        self.weights: Dict[str, Dict] = {}
        self.params_seen = set()
        self.unsupported: List[Tuple[str, str, str, str]] = []
        self.skip_dirs = (os.path.dirname(torch.__file__) + os.sep, os.path.dirname(os.path.abspath(__file__)) + os.sep)
        self.node = None
        self.input_seen = False

    # ------------------------------------------------------------------ naming
    def scope(self, node) -> Tuple[str, str]:
        """(qualified name, type name) of the innermost module running when ``node`` was traced."""
        stack = node.meta.get("nn_module_stack") or {}
        if not stack:
            return "", ""
        path, typ = list(stack.values())[-1]
        path = re.sub(r"^L\['self'\]\.?", "", str(path))
        typ = typ if isinstance(typ, str) else f"{typ.__module__}.{typ.__qualname__}"
        return path, typ

    def base_name(self, node) -> str:
        if node.op == "call_module":
            return str(node.target)
        scope, typ = self.scope(node)
        if self.mode == "export" and scope and typ.startswith("torch.nn."):
            return scope
        fn = re.sub(r"_\d+$", "", node.name).rstrip("_") or "op"  # add_3, relu_ -> add, relu
        return f"{scope}.{fn}" if scope else fn

    def unique(self, name: str) -> str:
        name = name.replace(":", "_") or "op"
        out, k = name, 1
        while out in self.used_names:
            k += 1
            out = f"{name}_{k}"
        self.used_names.add(out)
        return out

    def type_name(self, node) -> str:
        """How the unsupported list and the ``unsupported:<type>`` label name the node's target."""
        t = node.target
        if node.op == "call_module":
            return type(self.module.get_submodule(t)).__name__
        if node.op == "call_method":
            return f"Tensor.{t}"
        if hasattr(t, "_schema"):  # an aten OpOverload (torch.export)
            return f"aten.{t._schema.name.split('::')[-1]}"
        mod = getattr(t, "__module__", None) or ""
        qn = (getattr(t, "__name__", None) if isinstance(t, types.BuiltinFunctionType) else None) or \
            getattr(t, "__qualname__", None) or str(t)
        mod = {"torch.nn.functional": "F", "_operator": "operator", "torch._C._nn": "F",
               "torch._C._VariableFunctions": "torch", "builtins": ""}.get(mod, mod)
        return f"{mod}.{qn}" if mod else qn

    # ------------------------------------------------------------------ emitting
    def full(self, ref: str) -> Tuple[int, ...]:
        return (1,) + tuple(self.g.shape(ref))

    def emit(self, op, inputs, suffix: str = "", name: Optional[str] = None) -> str:
        base = name if name is not None else self.base_name(self.node)
        full = self.unique(f"{base}.{suffix}" if suffix else base)
        block = self.block_of(base)
        try:
            with self.g.scope(block) if block else nullcontext():
                return self.g.add(op, list(inputs), full[len(block) + 1:] if block else full)
        except CostModelError as e:
            raise TorchImportError(f"{self.where(self.node)}: {e}") from None

    def block_of(self, path: str) -> str:
        """The block a node belongs to (the IR's ``scope``, the tables' ``block`` column): the
        shortest module path prefix that is not a container (Sequential, ModuleList, ModuleDict),
        e.g. ``features.3`` for ``features.3.block.0.0``; "" for a top-level layer."""
        if path in self.blocks:
            return self.blocks[path]
        parts, block = path.split("."), ""
        containers = (self.torch.nn.Sequential, self.torch.nn.ModuleList, self.torch.nn.ModuleDict)
        for i in range(1, len(parts)):
            try:
                m = self.module.get_submodule(".".join(parts[:i]))
            except (AttributeError, TypeError):
                break
            if not isinstance(m, containers):
                block = ".".join(parts[:i])
                break
        self.blocks[path] = block
        return block

    def tv(self, ref: str) -> TV:
        return TV(ref, self.full(ref))

    def where(self, node) -> str:
        return (f"{self.name}: {self.base_name(node)} ({self.type_name(node)} at "
                f"{call_site(node, self.skip_dirs)})")

    def record(self, node, reason: str) -> None:
        self.unsupported.append((self.base_name(node), self.type_name(node), call_site(node, self.skip_dirs),
                                 reason))

    def passthrough(self, node, args) -> Optional[TV]:
        """An ``unsupported`` IR node for ``node``: identity on its first tensor input."""
        first = _first_tensor(args)
        if first is None:
            return None
        op = UnsupportedOp(self.type_name(node), 1)
        saved, self.node = self.node, node
        try:
            # a pending input is resolved first (or listed itself): nothing upstream disappears
            ref = self.ref(first)
            return self.tv(self.emit(op, [ref]))
        finally:
            self.node = saved

    # ------------------------------------------------------------------ resolving pending tensors
    def ref(self, v) -> str:
        """The IR ref of a tensor value, emitting the nodes a pending view needs."""
        if isinstance(v, TV):
            return v.ref
        if not isinstance(v, Pending):
            raise NotMapped(f"expected a tensor, got {type(v).__name__} {v!r:.40}")
        if v.resolved is None:
            try:
                v.resolved = self._resolve(v)
            except NotMapped as e:
                self.record(v.origin, e.reason)
                v.resolved = self.passthrough(v.origin, [v.base]).ref
        return v.resolved

    def _resolve(self, v: Pending) -> str:
        saved, self.node = self.node, v.origin
        try:
            if v.kind == "view":
                return self._resolve_view(v)
            if v.kind == "gate":  # an activation that did not fuse into a multiply
                from .ops import Activation
                return self.emit(Activation(v.data[1]), [v.base.ref])
            if v.kind in PENDING_REASONS:
                raise NotMapped(PENDING_REASONS[v.kind])
            raise NotMapped(f"{v.kind} to {list(v.shape)} is modelled only as the operand of a multiply")
        finally:
            self.node = saved

    def _resolve_view(self, v: Pending) -> str:
        base, layout = v.base, v.data
        shape = layout.shape
        if len(shape) not in (2, 4) or shape[0] != 1:
            raise NotMapped(f"view/reshape chain {list(base.shape)} -> {list(shape)}: the IR's tensors are "
                              f"(N, C, H, W) maps and (N, F) vectors")
        if same_order(layout):
            if shape == base.shape:
                return base.ref
            ref = base.ref
            if len(base.shape) == 4:
                ref = self.emit(Flatten(), [ref], "flatten" if len(shape) == 4 else "")
            if len(shape) == 4:
                ref = self.emit(Unflatten(shape[1:]), [ref])
            return ref
        g = shuffle_groups(base.shape, layout)
        if g is not None:
            from .ops import ChannelShuffle
            return self.emit(ChannelShuffle(g), [base.ref])
        raise NotMapped(f"view/transpose chain {list(base.shape)} -> {list(shape)} that is neither a reshape "
                          f"in the same element order (flatten) nor a channel shuffle")

    def view(self, x, shape=None, perm=None):
        """``x`` reshaped (sizes may hold one -1) or permuted, as a pending view."""
        if isinstance(x, Pending) and x.kind == "view":
            base, layout = x.base, x.data
        else:
            base = self.tv(self.ref(x))
            layout = Layout.contiguous(base.shape)
        if perm is not None:
            out = layout.permute(perm)
        else:
            target = resolve_shape(shape, math.prod(layout.shape))
            if target is None:
                raise NotMapped(f"cannot view {list(layout.shape)} as {list(shape)}")
            out = layout.reshape(target)
            if out is None:
                raise NotMapped(f"reshape {list(layout.shape)} -> {list(target)} of a transposed tensor that "
                                  f"is not a strided view (only flattens and channel shuffles are modelled)")
        return Pending("view", base, out.shape, self.node, out)

    # ------------------------------------------------------------------ the walk
    def run(self) -> Graph:
        outputs = None
        for node in self.fx_graph.nodes:
            self.node = node
            if node.op == "output":
                outputs = node.args[0]
                break
            args = self.load(node.args)
            kwargs = self.load(node.kwargs)
            try:
                try:
                    value = self.visit(node, args, kwargs)
                except (TypeError, ValueError, IndexError, KeyError, AttributeError, ArithmeticError) as e:
                    if isinstance(e, CostModelError):
                        raise
                    # arguments outside what a handler expects, typically shapes changed upstream by an
                    # unsupported op kept as the identity: listed with the reason, never a traceback
                    raise NotMapped(f"cannot map these arguments ({type(e).__name__}: "
                                    f"{' '.join(str(e).split())[:100]})") from None
            except NotMapped as e:
                self.record(node, e.reason)
                value = self.passthrough(node, [args, kwargs])
            except CostModelError as e:
                msg = str(e) if isinstance(e, TorchImportError) else f"{self.where(node)}: {e}"
                self.raise_after_unsupported(msg)
            self.values[node] = value
            if node.op in ("call_function", "call_method"):
                self.note_view(node)
        if self.unsupported and not self.skip:
            self.raise_unsupported()
        refs = []
        for v in _flat(self.load(outputs)):
            if is_tensor(v):
                r = self.ref(v)
                if r not in refs:
                    refs.append(r)
        if self.unsupported and not self.skip:
            self.raise_unsupported()
        if not refs or refs == ["input"]:
            raise TorchImportError(f"{self.name}: the module returns no tensor computed from its input")
        if not self.g._nodes:
            raise TorchImportError(f"{self.name}: the module has no op costmodel can count")
        graph = self.g.build([r for r in refs if r != "input"])
        return graph

    def load(self, a):
        """fx arguments with every node replaced by its value."""
        from torch.fx import Node
        if isinstance(a, Node):
            return self.values[a]
        if isinstance(a, (list, tuple)):
            out = [self.load(x) for x in a]
            return type(a)(out) if not hasattr(a, "_fields") else type(a)(*out)
        if isinstance(a, dict):
            return {k: self.load(x) for k, x in a.items()}
        if isinstance(a, slice):
            return slice(self.load(a.start), self.load(a.stop), self.load(a.step))
        return a

    def visit(self, node, args, kwargs):
        op = node.op
        if op == "placeholder":
            return self.placeholder(node)
        if op == "get_attr":
            return _getattr_path(self.module, node.target)
        if op == "call_module":
            m = self.module.get_submodule(node.target)
            return self.ops.call_module(self, m, args, kwargs)
        if op == "call_function":
            return self.ops.call_function(self, node.target, args, kwargs)
        if op == "call_method":
            return self.ops.call_method(self, node.target, args, kwargs)
        raise NotMapped(f"fx node kind {op}")

    def placeholder(self, node):
        if node.name in self.consts:
            return self.consts[node.name]
        if not self.input_seen:
            self.input_seen = True
            return TV("input", (1,) + self.g.input_shape)
        if node.args:  # an optional forward argument: its default
            return node.args[0]
        raise TorchImportError(f"{self.name}: forward() takes more than one tensor input ({node.name!r}); "
                               f"costmodel models one image input (N, C, H, W)")

    # ------------------------------------------------------------------ errors
    def raise_after_unsupported(self, msg: str):
        """A node that cannot be imported at all. After unsupported ops (kept as the identity, so
        later shapes may differ from PyTorch's) the unsupported list comes first, saying where it
        stopped; with skip_unsupported the error names the ops it comes after (as the ONNX importer)."""
        if self.unsupported and not self.skip:
            self.raise_unsupported(stopped=msg)
        after = (f" (after unsupported op(s) treated as identity: "
                 f"{', '.join(f'{a} ({b})' for a, b, _, _ in self.unsupported)})" if self.unsupported else "")
        raise TorchImportError(f"{msg}{after}")

    def raise_unsupported(self, stopped: str = ""):
        items = self.unsupported
        shown = [f"{a} ({b} at {c}{': ' + r if r else ''})" for a, b, c, r in items[:12]]
        more = f" and {len(items) - 12} more" if len(items) > 12 else ""
        stop = f" The import stopped after them, at: {stopped}." if stopped else ""
        raise TorchImportError(
            f"{self.name}: {len(items)} unsupported PyTorch op(s): {'; '.join(shown)}{more}.{stop} Supported: "
            f"{self.ops.supported_summary()} (docs/pytorch.md); --skip-unsupported (API: skip_unsupported=True) "
            f"counts them as zero, flagged 'unsupported:<type>'")

    # ------------------------------------------------------------------ in-place updates
    def mutate(self, src, out) -> None:
        """An in-place op on the tensor of fx node ``src``: later reads of ``src`` see ``out``. An
        in-place update of a view (a slice, a reshape) whose base is read again later would change
        the base in PyTorch and is not modelled: listed, never lost."""
        base = self.view_base.get(src)
        if base is not None:
            here = self.order[self.node]
            later = [u for u in base.users if self.order.get(u, -1) > here]
            if later:
                raise NotMapped(f"in-place update of a view of {base.name}, which is read again later "
                                f"({later[0].name}); the IR has no in-place updates of views")
        self.values[src] = out

    def note_view(self, node) -> None:
        """Record the base of a node that returns a view of its first argument."""
        t = node.target
        name = t if isinstance(t, str) else (t._schema.name.split("::")[-1] if hasattr(t, "_schema")
                                             else getattr(t, "__name__", ""))
        if name.rstrip("_") in VIEW_OPS and node.args and hasattr(node.args[0], "op"):
            src = node.args[0]
            self.view_base[node] = self.view_base.get(src, src)

    # ------------------------------------------------------------------ weights
    def set_weights(self, ref: str, **tensors) -> None:
        for t in tensors.values():
            if t is not None and hasattr(t, "data_ptr"):
                self.params_seen.add(id(t))
        self.weights[ref] = tensors


def _first_tensor(v):
    for x in _flat(v):
        if is_tensor(x):
            return x
    return None


def _flat(v):
    if isinstance(v, (list, tuple)):
        for x in v:
            yield from _flat(x)
    elif isinstance(v, dict):
        for x in v.values():
            yield from _flat(x)
    else:
        yield v


def _getattr_path(obj, path: str):
    for part in str(path).split("."):
        obj = getattr(obj, part)
    return obj
