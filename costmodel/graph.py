"""The graph IR: a DAG of named nodes, each an op with named inputs, shapes inferred as built.

A tensor is referenced by the name of the node that produces it (``"b3.expand"``), or
``"node:i"`` for the i-th output of a multi-output node (split); the graph input is ``"input"``.
Nodes are stored in definition order, which is always a topological order: a node may only
read tensors defined before it, so a ``Graph`` can never hold a cycle or a dangling input.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

from .errors import CostModelError, GraphError
from .ops import Activation, Add, BatchNorm, Concat, Conv2d, Op, Shape, _pair

INPUT = "input"


def sub(name: str, suffix: str) -> str:
    """Child name: ``sub("expand", "bn") == "expand.bn"``; ``sub("", "bn") == "bn"``."""
    return f"{name}.{suffix}" if name else suffix


def parse_ref(ref: str) -> Tuple[str, int]:
    """``"name"`` -> (name, 0); ``"name:2"`` -> (name, 2)."""
    name, sep, idx = ref.partition(":")
    if not sep:
        return ref, 0
    if not idx.isdigit():
        raise GraphError(f"bad tensor reference {ref!r}: expected 'node' or 'node:index'")
    return name, int(idx)


@dataclass(frozen=True)
class Node:
    """One op application: ``name``, the ``op``, the tensor refs it reads, and its shapes."""

    name: str
    op: Op
    inputs: Tuple[str, ...]
    in_shapes: Tuple[Shape, ...]
    out_shapes: Tuple[Shape, ...]
    scope: str = ""  #: the block this node belongs to ("" for top level)

    @property
    def out_shape(self) -> Shape:
        return self.out_shapes[0]

    @property
    def outputs(self) -> Tuple[str, ...]:
        """Tensor refs this node produces."""
        if len(self.out_shapes) == 1:
            return (self.name,)
        return tuple(f"{self.name}:{i}" for i in range(len(self.out_shapes)))


@dataclass(frozen=True)
class Graph:
    """A built network: input shape, nodes in a topological order, output refs and metadata
    (network name, alpha, resolution, classes and knobs it was built with)."""

    name: str
    input_shape: Shape
    nodes: Tuple[Node, ...]
    outputs: Tuple[str, ...]
    meta: Dict = field(default_factory=dict)
    #: block scope -> (index of the spec row it was built from, its block type, the row's name or ""), set
    #: by ``spec.expand``: the stages that ``costmodel.rollup`` rolls blocks up into; empty for imported graphs
    blocks: Dict[str, Tuple[int, str, str]] = field(default_factory=dict, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_index", {n.name: n for n in self.nodes})

    def node(self, name: str) -> Node:
        try:
            return self._index[name]
        except KeyError:
            raise GraphError(f"graph {self.name!r} has no node {name!r}") from None

    def shape(self, ref: str) -> Shape:
        """Shape of a tensor reference."""
        if ref == INPUT:
            return self.input_shape
        name, i = parse_ref(ref)
        return self.node(name).out_shapes[i]

    def consumers(self) -> Dict[str, List[str]]:
        """Tensor ref -> names of the nodes that read it, in order."""
        out: Dict[str, List[str]] = {}
        for n in self.nodes:
            for r in n.inputs:
                out.setdefault(r, []).append(n.name)
        return out

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self):
        return iter(self.nodes)

    @property
    def output_shape(self) -> Shape:
        return self.shape(self.outputs[0])


def require_graph(graph, who: str) -> "Graph":
    """API guard: ``who`` takes a Graph (one line naming what was passed instead)."""
    if not isinstance(graph, Graph):
        raise GraphError(f"{who} takes a Graph from costmodel.build(name) or costmodel.load(path), "
                         f"got {type(graph).__name__} {graph!r:.60}")
    return graph


class GraphBuilder:
    """Appends nodes one at a time, inferring each node's shapes as it is added so that an
    inconsistent graph is rejected at the node that makes it so.

    ``scope(name)`` prefixes node names (``b3`` + ``expand`` -> ``b3.expand``) and records the
    block a node belongs to.
    """

    def __init__(self, name: str, input_shape: Sequence[int], meta: Optional[dict] = None):
        try:
            ok = all(not isinstance(d, bool) and int(d) == d for d in input_shape)
        except (TypeError, ValueError, OverflowError):  # None, nan, inf, strings
            ok = False
        if not ok:
            raise GraphError(f"input shape must be positive integers, got {tuple(input_shape)}")
        input_shape = tuple(int(d) for d in input_shape)
        if not input_shape or min(input_shape) < 1:
            raise GraphError(f"input shape must be positive integers, got {input_shape}")
        self.name = name
        self.input_shape = input_shape
        self.meta = dict(meta or {})
        self._nodes: List[Node] = []
        self._names: Dict[str, Node] = {}
        self._prefix: List[str] = []
        self.blocks: Dict[str, Tuple[int, str, str]] = {}  #: see ``Graph.blocks``

    # ------------------------------------------------------------------ core
    @contextmanager
    def scope(self, name: str):
        self._prefix.append(str(name))
        try:
            yield self
        finally:
            self._prefix.pop()

    def qualify(self, name: str) -> str:
        return ".".join(self._prefix + [name]) if name else ".".join(self._prefix)

    def shape(self, ref: str) -> Shape:
        if ref == INPUT:
            return self.input_shape
        name, i = parse_ref(ref)
        node = self._names.get(name)
        if node is None or i >= len(node.out_shapes):
            raise GraphError(f"unknown tensor {ref!r}")
        return node.out_shapes[i]

    def add(self, op: Op, inputs: Union[str, Iterable[str]], name: str) -> str:
        """Append ``op`` reading ``inputs``; return the ref of its (first) output.

        ``name`` is relative to the current scope; ``""`` names the node after the scope itself."""
        full = self.qualify(name)
        inputs = (inputs,) if isinstance(inputs, str) else tuple(inputs)
        where = f"node {full!r} ({op.kind})"
        if not full or ":" in full:
            raise GraphError(f"{where}: node names must be non-empty and may not contain ':'")
        if full in self._names or full == INPUT:
            raise GraphError(f"{where}: a node with this name already exists")
        if op.arity is not None and len(inputs) != op.arity:
            raise GraphError(f"{where}: takes {op.arity} input(s), got {len(inputs)}")
        in_shapes = []
        for r in inputs:
            try:
                in_shapes.append(self.shape(r))
            except GraphError:
                raise GraphError(f"{where}: input {r!r} is not defined before this node") from None
        try:
            out_shapes = tuple(op.infer(tuple(in_shapes)))
        except CostModelError as e:
            raise GraphError(f"{where}: {e}") from None
        node = Node(full, op, inputs, tuple(in_shapes), out_shapes, ".".join(self._prefix))
        self._nodes.append(node)
        self._names[full] = node
        return node.outputs[0]

    def outputs_of(self, ref: str) -> Tuple[str, ...]:
        return self._names[parse_ref(ref)[0]].outputs

    def build(self, outputs: Optional[Sequence[str]] = None) -> Graph:
        if not self._nodes:
            raise GraphError(f"graph {self.name!r} has no nodes")
        outputs = tuple(outputs) if outputs else (self._nodes[-1].outputs[0],)
        for r in outputs:
            self.shape(r)
        return Graph(self.name, self.input_shape, tuple(self._nodes), outputs, self.meta, dict(self.blocks))

    # ------------------------------------------------------------------ conveniences
    def conv(self, x: str, out_channels: int, kernel=1, stride=1, *, groups: int = 1, dilation=1,
             padding=None, bias: Optional[bool] = None, bn: bool = True, act: Optional[str] = None,
             name: str = "conv") -> str:
        """conv (+ BatchNorm) (+ activation). Default padding is symmetric d * (k - 1) // 2 per side
        (PyTorch style; equals TensorFlow SAME in output size for odd kernels). Bias defaults to
        ``not bn``."""
        k, d = _pair(kernel, "kernel"), _pair(dilation, "dilation")
        if padding is None:
            padding = (d[0] * (k[0] - 1) // 2, d[1] * (k[1] - 1) // 2)
        op = Conv2d(out_channels, k, stride, padding, d, groups, (not bn) if bias is None else bias)
        y = self.add(op, x, name)
        if bn:
            y = self.add(BatchNorm(), y, sub(name, "bn"))
        if act:
            y = self.add(Activation(act), y, sub(name, act))
        return y

    def dwconv(self, x: str, kernel=3, stride=1, *, dilation=1, act: Optional[str] = None, bn: bool = True,
               name: str = "dw", multiplier: int = 1) -> str:
        """Depthwise conv: groups = input channels (channel multiplier ``multiplier``)."""
        c = self.shape(x)[0]
        return self.conv(x, c * multiplier, kernel, stride, groups=c, dilation=dilation, act=act, bn=bn,
                         name=name)

    def act(self, x: str, fn: Optional[str], name: Optional[str] = None) -> str:
        return self.add(Activation(fn), x, name or fn) if fn else x

    def add_tensors(self, xs: Sequence[str], name: str = "add") -> str:
        return self.add(Add(), xs, name)

    def concat(self, xs: Sequence[str], name: str = "concat") -> str:
        return self.add(Concat(), xs, name)
