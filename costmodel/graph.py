"""The graph IR: a DAG of named nodes, each an op with named inputs, shapes inferred as built.

A tensor is referenced by the name of the node that produces it (``"b3.expand"``), or
``"node:i"`` for the i-th output of a multi-output node (split); the graph input is ``"input"``.
Nodes are stored in definition order, which is always a topological order: a node may only
read tensors defined before it, so a ``Graph`` can never hold a cycle or a dangling input.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
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
    def costs(self) -> Tuple[int, int, int, int, int]:
        """The op's formulas on this node's shapes at batch 1: (params, bn_params, madds, flops,
        attn_madds). Evaluated once per node (a node is immutable) and shared by every calculator that
        sums them: ``analysis.node_counts``, ``memory_plan.plan``. Kept in the instance's ``__dict__``
        (which a frozen dataclass allows; fields, equality and hashing are unchanged); a plain dict
        lookup, cheaper than ``functools.cached_property``'s."""
        c = self.__dict__.get("_costs")
        if c is None:
            c = self.op.costs(self.in_shapes, self.out_shapes)  # Op.costs: the five formulas
            self.__dict__["_costs"] = c
        return c

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

    @cached_property
    def _index(self) -> Dict[str, Node]:
        """Node name -> node, in node order: made on first use (``GraphBuilder.build`` hands over a copy
        of the one it kept while adding the nodes)."""
        return {n.name: n for n in self.nodes}

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


#: ops are immutable values, so the builders share one BatchNorm and one Activation per function
_BN = BatchNorm()
_ACTIVATIONS: Dict[str, Activation] = {}


def _activation(fn) -> Activation:
    """``Activation(fn)``: the shared one for a function name already seen (validated when first made)."""
    op = _ACTIVATIONS.get(fn) if type(fn) is str else None
    if op is None:
        op = Activation(fn)
        if type(fn) is str:
            _ACTIVATIONS[fn] = op
    return op


#: convolutions made by ``GraphBuilder.conv``, by their plain-int arguments (ops are immutable values, like
#: the shared BatchNorm and activations above): at most ``_CONVS_MAX``, the zoo needs a few hundred
_CONVS: Dict[tuple, Conv2d] = {}
_CONVS_MAX = 4096


def _plain(v) -> bool:
    """An int (not a bool) or a tuple of them: a value that is its own key (1 and True are equal keys)."""
    t = type(v)
    if t is int:
        return True
    if t is not tuple:
        return False
    for x in v:  # a loop, not all() over a generator: a build asks this twice per conv
        if type(x) is not int:
            return False
    return True


def _conv_op(out_channels, k, stride, padding, d, groups, bias) -> Conv2d:
    """``Conv2d(out_channels, k, stride, padding, d, groups, bias)``, the one made before for the same plain
    arguments (``k`` and ``d`` are pairs of ints already); a new one (not kept) for anything else."""
    if not (type(bias) is bool and type(out_channels) is int and type(groups) is int and _plain(stride)
            and (type(padding) is str or _plain(padding))):
        return Conv2d(out_channels, k, stride, padding, d, groups, bias)
    key = (out_channels, k, stride, padding, d, groups, bias)
    op = _CONVS.get(key)
    if op is None:
        op = Conv2d(out_channels, k, stride, padding, d, groups, bias)  # validated when first made
        if len(_CONVS) < _CONVS_MAX:
            _CONVS[key] = op
    return op


def _node(name: str, op: Op, inputs: Tuple[str, ...], in_shapes, out_shapes, scope: str) -> Node:
    """``Node(name, op, inputs, in_shapes, out_shapes, scope)`` without the frozen dataclass's generated
    ``__init__``, which sets each field through ``object.__setattr__``: the same fields in the same
    instance dict (equal, same hash), for the builders that make a node per layer of every build."""
    node = object.__new__(Node)
    object.__setattr__(node, "__dict__", {"name": name, "op": op, "inputs": inputs, "in_shapes": in_shapes,
                                          "out_shapes": out_shapes, "scope": scope})
    return node


def require_graph(graph, who: str) -> "Graph":
    """API guard: ``who`` takes a Graph (one line naming what was passed instead)."""
    if not isinstance(graph, Graph):
        raise GraphError(f"{who} takes a Graph from costmodel.build(name) or costmodel.load(path), "
                         f"got {type(graph).__name__} {graph!r:.60}")
    return graph


def replay_template(nodes: Sequence[Node], old: str, refs) -> Tuple[tuple, ...]:
    """What ``GraphBuilder.replay`` copies of each of ``nodes`` (built under scope ``old``): (name
    after the scope, op, reads, input shapes, output shapes, scope after the scope, costs or None),
    a read being (a key of ``refs``, True) or (the ref after the scope, False)."""
    k = len(old)
    return tuple((t.name[k:], t.op, tuple((r, True) if r in refs else (r[k:], False) for r in t.inputs),
                  t.in_shapes, t.out_shapes, t.scope[k:], t.__dict__.get("_costs")) for t in nodes)


#: the shape rule of ops whose output has their input's shape (``GraphBuilder._same_shape``)
_SAME_SHAPE = Op.infer


class _Scope:
    """``GraphBuilder.scope``'s context manager (a class: cheaper than a generator-based one, and a
    build enters one per block)."""

    __slots__ = ("g", "name")

    def __init__(self, g: "GraphBuilder", name: str):
        self.g, self.name = g, name

    def __enter__(self) -> "GraphBuilder":
        g = self.g
        g._prefix.append(self.name)
        g._scope = ".".join(g._prefix)  # kept joined: every add() needs it
        return g

    def __exit__(self, *exc) -> None:
        g = self.g
        g._prefix.pop()
        g._scope = ".".join(g._prefix)


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
        self._scope = ""  #: ".".join(self._prefix)
        self.blocks: Dict[str, Tuple[int, str, str]] = {}  #: see ``Graph.blocks``

    # ------------------------------------------------------------------ core
    def scope(self, name: str) -> "_Scope":
        """``with g.scope(name):`` nodes added inside are named ``name.<node>`` (nested scopes join
        with dots); the scope ends with the block, also on an error. Yields the builder."""
        return _Scope(self, str(name))

    def qualify(self, name: str) -> str:
        if not self._prefix:
            return name
        return f"{self._scope}.{name}" if name else self._scope

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
        scope = self._scope
        if not self._prefix:  # qualify, inlined
            full = name
        else:
            full = f"{scope}.{name}" if name else scope
        inputs = (inputs,) if isinstance(inputs, str) else tuple(inputs)
        if not full or ":" in full:
            raise GraphError(f"{self._where(full, op)}: node names must be non-empty and may not contain ':'")
        names = self._names
        if full in names or full == INPUT:
            raise GraphError(f"{self._where(full, op)}: a node with this name already exists")
        if op.arity is not None and len(inputs) != op.arity:
            raise GraphError(f"{self._where(full, op)}: takes {op.arity} input(s), got {len(inputs)}")
        node = names.get(inputs[0]) if len(inputs) == 1 and type(inputs[0]) is str else None
        if node is not None and len(node.out_shapes) == 1:  # one input, a node's only output: its shapes tuple
            in_shapes = node.out_shapes
        else:
            in_shapes = []
            for r in inputs:
                node = names.get(r) if type(r) is str else None  # fast path: a plain node name (no ':')
                if node is not None and node.out_shapes:
                    in_shapes.append(node.out_shapes[0])
                    continue
                try:
                    in_shapes.append(self.shape(r))
                except GraphError:
                    raise GraphError(f"{self._where(full, op)}: input {r!r} is not defined before this node") from None
            in_shapes = tuple(in_shapes)
        try:
            out_shapes = op.infer(in_shapes)
        except CostModelError as e:
            raise GraphError(f"{self._where(full, op)}: {e}") from None
        if type(out_shapes) is not tuple:
            out_shapes = tuple(out_shapes)
        node = object.__new__(Node)  # _node, inlined
        object.__setattr__(node, "__dict__", {"name": full, "op": op, "inputs": inputs, "in_shapes": in_shapes,
                                              "out_shapes": out_shapes, "scope": scope})
        self._nodes.append(node)
        names[full] = node
        return full if len(out_shapes) == 1 else node.outputs[0]

    def _same_shape(self, op: Op, x: str, name: str) -> str:
        """``add(op, x, name)`` for an op keeping ``Op.infer``'s rule (output shape = input shape:
        BatchNorm, activations) reading a plain node name: the node made directly, sharing the tuple of
        its input's shape as its input and output shapes; anything else (or any error) through ``add``."""
        node = self._names.get(x)
        if node is None or type(op).infer is not _SAME_SHAPE or len(node.out_shapes) != 1:
            return self.add(op, x, name)
        scope = self._scope
        if not self._prefix:  # qualify, inlined
            full = name
        else:
            full = f"{scope}.{name}" if name else scope
        names = self._names
        if not full or ":" in full or full in names or full == INPUT:
            return self.add(op, x, name)  # which raises the error
        shapes = node.out_shapes
        new = object.__new__(Node)  # _node, inlined
        object.__setattr__(new, "__dict__", {"name": full, "op": op, "inputs": (x,), "in_shapes": shapes,
                                             "out_shapes": shapes, "scope": scope})
        self._nodes.append(new)
        names[full] = new
        return full

    @staticmethod
    def _where(full: str, op: Op) -> str:
        """How an error names the node being added (built only when there is an error)."""
        return f"node {full!r} ({op.kind})"

    def replay(self, nodes: Sequence[Node], old: str, new: str, refs: Dict[str, str], template=None) -> bool:
        """Append copies of ``nodes`` (a block built earlier under scope ``old``, reading only its own
        tensors and the refs in ``refs``) under scope ``new``: names and scopes re-prefixed, reads of
        ``refs`` keys redirected to their values; the same ops and shapes (their costs, if evaluated,
        carried over). ``spec.expand`` uses it for a stage's repeats with equal arguments and input
        shapes, which build the same nodes. Returns False, adding nothing, if a name is taken.
        ``template``: ``replay_template(nodes, old, refs)``, made once for the many copies of one block."""
        if template is None:
            template = replay_template(nodes, old, refs)
        names = self._names
        new_names = [new + t[0] for t in template]
        if ":" in new or INPUT in new_names or not names.keys().isdisjoint(new_names):
            return False
        append = self._nodes.append
        make, set_ = object.__new__, object.__setattr__
        for name, (_, op, reads, in_shapes, out_shapes, scope, costs) in zip(new_names, template):
            if len(reads) == 1:
                r, ext = reads[0]
                inputs = (refs[r] if ext else new + r,)
            elif len(reads) == 2:  # add, multiply: without a comprehension
                (r, ext), (r2, ext2) = reads
                inputs = (refs[r] if ext else new + r, refs[r2] if ext2 else new + r2)
            else:
                inputs = tuple([refs[r] if ext else new + r for r, ext in reads])
            if costs is not None:  # the template's costs, evaluated (the usual case)
                fields = {"name": name, "op": op, "inputs": inputs, "in_shapes": in_shapes, "out_shapes": out_shapes,
                          "scope": new + scope, "_costs": costs}
            else:
                fields = {"name": name, "op": op, "inputs": inputs, "in_shapes": in_shapes, "out_shapes": out_shapes,
                          "scope": new + scope}
            node = make(Node)  # _node, inlined
            set_(node, "__dict__", fields)
            append(node)
            names[name] = node
        return True

    def outputs_of(self, ref: str) -> Tuple[str, ...]:
        return self._names[parse_ref(ref)[0]].outputs

    def build(self, outputs: Optional[Sequence[str]] = None) -> Graph:
        if not self._nodes:
            raise GraphError(f"graph {self.name!r} has no nodes")
        outputs = tuple(outputs) if outputs else (self._nodes[-1].outputs[0],)
        for r in outputs:
            self.shape(r)
        g = Graph(self.name, self.input_shape, tuple(self._nodes), outputs, self.meta, dict(self.blocks))
        g.__dict__["_index"] = dict(self._names)  # Graph._index, already known: the names in the order added
        return g

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
        op = _conv_op(out_channels, k, stride, padding, d, groups, (not bn) if bias is None else bias)
        y = self.add(op, x, name)
        if bn:
            y = self._same_shape(_BN, y, sub(name, "bn"))
        if act:
            y = self._same_shape(_activation(act), y, sub(name, act))
        return y

    def dwconv(self, x: str, kernel=3, stride=1, *, dilation=1, act: Optional[str] = None, bn: bool = True,
               name: str = "dw", multiplier: int = 1) -> str:
        """Depthwise conv: groups = input channels (channel multiplier ``multiplier``)."""
        c = self.shape(x)[0]
        return self.conv(x, c * multiplier, kernel, stride, groups=c, dilation=dilation, act=act, bn=bn,
                         name=name)

    def bn(self, x: str, name: str = "bn") -> str:
        """BatchNorm (the one shared op) on ``x``."""
        return self._same_shape(_BN, x, name)

    def act(self, x: str, fn: Optional[str], name: Optional[str] = None) -> str:
        return self._same_shape(_activation(fn), x, name or fn) if fn else x

    def add_tensors(self, xs: Sequence[str], name: str = "add") -> str:
        return self.add(Add(), xs, name)

    def concat(self, xs: Sequence[str], name: str = "concat") -> str:
        return self.add(Concat(), xs, name)
