"""Per-layer precision and weight bytes (Flash). Rules and the spec syntax: docs/memory.md
("Precision and weight bytes").

**Precision** is plain data a graph carries in ``graph.meta["precision"]``::

    {"act": 8, "weight": 8,                       # defaults (missing: the caller's --bits / --weight-bits)
     "layers": [{"match": "conv0", "act": 16},    # overrides, later entries win
                {"match": "ir1", "weight": 4},     # a block scope: every node of block ir1
                {"match": "ir*.project", "weight": 4}]}   # a glob over node names

``match`` is a node name, a block scope (the node's scope or a prefix of it: ``ir1`` matches
``ir1.expand`` and ``ir1.dw.bn``), or a glob (``*``, ``?``, ``[...]``) over node names; ``input``
names the graph input. ``layers`` may also be a mapping {match: {act, weight}} (in order). A
buffer's activation bits are those of the node that writes it (the last node fused into its unit);
a layer's weight bits those of the layer.

**Weight bytes** (what Flash stores): every parameter of the deployment view (BatchNorm folded into
the conv or linear before it, its shift becoming the bias) at the weight bits; at 8 bits and below
the weights are integers and the biases int32, as TFLite and TinyEngine store them (4-bit weights
are packed two per byte); at 16 and 32 bits weights and biases are floats of that width. A
BatchNorm that cannot be folded stores its scale as a weight and its shift as a bias.
Quantization scales and zero points are metadata and are not counted.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Tuple

from .errors import CostModelError
from .graph import INPUT, Graph

ACT_BITS = (4, 8, 16, 32)
WEIGHT_BITS = (4, 8, 16, 32)
#: bits of a bias when the weights are integers of at most 8 bits (TFLite / TinyEngine int8 kernels)
INT_BIAS_BITS = 32


def check_weight_bits(bits) -> int:
    if isinstance(bits, bool) or bits not in WEIGHT_BITS:
        raise CostModelError(f"weight bits must be one of {', '.join(map(str, WEIGHT_BITS))}, got {bits!r}")
    return int(bits)


def _check(bits, allowed, what, where) -> int:
    if isinstance(bits, str) and bits.strip().isdigit():
        bits = int(bits)
    if isinstance(bits, bool) or bits not in allowed:
        raise CostModelError(f"precision: {what} bits must be one of {', '.join(map(str, allowed))}, got {bits!r} "
                             f"({where})")
    return int(bits)


def _matches(pattern: str, name: str, scope: str) -> bool:
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(name, pattern)
    return (name == pattern or name.startswith(pattern + ".") or scope == pattern
            or scope.startswith(pattern + "."))


@dataclass(frozen=True)
class Precision:
    """Resolved precision of a graph: defaults and per node (activation bits, weight bits)."""

    act: int
    weight: int
    nodes: Dict[str, Tuple[int, int]] = field(default_factory=dict)  #: node (and "input") -> (act, weight)
    spec: dict = field(default_factory=dict)   #: the spec it was resolved from

    def act_bits(self, ref: str) -> int:
        """Bits of the tensor ``ref`` (a node name, ``node:i``, or ``input``)."""
        return self.nodes.get(ref.partition(":")[0], (self.act, self.weight))[0]

    def weight_bits(self, node: str) -> int:
        return self.nodes.get(node, (self.act, self.weight))[1]

    @property
    def act_set(self) -> Tuple[int, ...]:
        return tuple(sorted({a for a, _ in self.nodes.values()} | {self.act}))

    @property
    def weight_set(self) -> Tuple[int, ...]:
        return tuple(sorted({w for _, w in self.nodes.values()} | {self.weight}))

    @property
    def mixed(self) -> bool:
        return len(self.act_set) > 1 or len(self.weight_set) > 1

    def label(self) -> str:
        """``activations 8-bit, weights 8-bit`` or ``mixed precision: activations 8/16-bit, weights 4/8-bit``."""
        a = "/".join(map(str, self.act_set))
        w = "/".join(map(str, self.weight_set))
        return f"{'mixed precision: ' if self.mixed else ''}activations {a}-bit, weights {w}-bit"

    def to_dict(self) -> dict:
        return {"act": self.act, "weight": self.weight, "mixed": self.mixed, "label": self.label(),
                "layers": list(self.spec.get("layers", []))}


def layer_list(spec) -> list:
    """A spec's overrides as a list of {match, act, weight} (``layers`` may be a mapping)."""
    layers = spec.get("layers", [])
    if isinstance(layers, dict):
        layers = [{"match": k, **(v if isinstance(v, dict) else {})} for k, v in layers.items()]
    if not isinstance(layers, (list, tuple)):
        raise CostModelError(f"precision: 'layers' must be a list of {{match, act, weight}} or a mapping, got "
                             f"{type(layers).__name__}")
    return list(layers)


def resolve(graph: Graph, spec: dict, act: int = 32, weight: int = 32) -> Precision:
    """Resolve a precision ``spec`` (the data above) on ``graph``; ``act`` and ``weight`` are the
    defaults where the spec gives none. Every override must match at least one node."""
    if not isinstance(spec, dict):
        raise CostModelError(f"precision must be a mapping with act, weight and layers, got {type(spec).__name__}")
    unknown = set(spec) - {"act", "weight", "layers"}
    if unknown:
        raise CostModelError(f"precision: unknown key(s) {', '.join(sorted(unknown))}; accepted: act, weight, layers")
    a0 = _check(spec.get("act", act), ACT_BITS, "act", "default")
    w0 = _check(spec.get("weight", weight), WEIGHT_BITS, "weight", "default")
    names = [(INPUT, "")] + [(n.name, n.scope) for n in graph.nodes]
    nodes = {name: (a0, w0) for name, _ in names}
    layers = layer_list(spec)
    for k, entry in enumerate(layers):
        where = f"layers[{k}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("match"), str) or not entry["match"]:
            raise CostModelError(f"precision: {where} needs a 'match' (a node name, block scope or glob)")
        extra = set(entry) - {"match", "act", "weight"}
        if extra:
            raise CostModelError(f"precision: {where} has unknown key(s) {', '.join(sorted(extra))}; accepted: "
                                 f"match, act, weight")
        pat = entry["match"]
        hit = [name for name, scope in names if _matches(pat, name, scope)]
        if not hit:
            raise CostModelError(f"precision: {where} match {pat!r} names no node of {graph.name!r}")
        a = _check(entry["act"], ACT_BITS, "act", where) if "act" in entry else None
        w = _check(entry["weight"], WEIGHT_BITS, "weight", where) if "weight" in entry else None
        for name in hit:
            old = nodes[name]
            nodes[name] = (old[0] if a is None else a, old[1] if w is None else w)
    return Precision(a0, w0, nodes, {"act": a0, "weight": w0, "layers": layers})


def graph_precision(graph: Graph, act: int = 32, weight: int = 32) -> Optional[Precision]:
    """The graph's own precision (``graph.meta["precision"]``) resolved, or None when it has none."""
    spec = graph.meta.get("precision")
    return None if spec is None else resolve(graph, spec, act, weight)


def parse_text(text: str) -> dict:
    """The command line's precision (``--set precision=...``): ``;``-separated entries, the first
    without a ``MATCH:`` the defaults, the others overrides in order, each ``key=bits`` pairs joined
    by ``,``: ``"act=8,weight=8;conv0:act=16;ir1:weight=4"`` is
    ``{"act": 8, "weight": 8, "layers": [{"match": "conv0", "act": 16}, {"match": "ir1", "weight": 4}]}``."""
    spec: dict = {}
    layers = []
    for k, part in enumerate(p.strip() for p in str(text).split(";")):
        if not part:
            continue
        match, sep, pairs = part.rpartition(":")
        entry = {}
        for pair in pairs.split(","):
            key, eq, value = pair.strip().partition("=")
            if not eq or key.strip() not in ("act", "weight") or not value.strip().isdigit():
                raise CostModelError(f"precision: cannot read {pair.strip()!r:.40} in entry {k}; expected act=BITS or "
                                     f"weight=BITS, e.g. 'act=8,weight=8;conv0:act=16;ir1:weight=4'")
            entry[key.strip()] = int(value)
        if sep:
            layers.append({"match": match.strip(), **entry})
        elif layers or spec:
            raise CostModelError(f"precision: entry {k} ({part!r:.40}) needs MATCH: (only the first entry gives the "
                                 f"defaults)")
        else:
            spec.update(entry)
    if layers:
        spec["layers"] = layers
    if not spec:
        raise CostModelError("precision: empty; e.g. 'act=8,weight=8;conv0:act=16'")
    return spec


def graph_precision_label(spec: dict, act: int = 32) -> str:
    """A header's words for a precision spec: 'mixed precision (act 8/16, weight 4/8)' or
    'precision act 8, weight 8' (from the spec alone; the table's footer gives the resolved label)."""
    acts = {spec.get("act", act)} | {e["act"] for e in layer_list(spec) if "act" in e}
    weights = {spec.get("weight", 32)} | {e["weight"] for e in layer_list(spec) if "weight" in e}
    fmt = "/".join
    words = f"act {fmt(map(str, sorted(acts)))}, weight {fmt(map(str, sorted(weights)))}"
    return f"mixed precision ({words})" if len(acts) > 1 or len(weights) > 1 else f"precision {words}"


def with_precision(graph: Graph, spec: dict) -> Graph:
    """A copy of ``graph`` carrying precision ``spec`` (validated against the graph first)."""
    resolve(graph, spec)
    return replace(graph, meta={**graph.meta, "precision": spec})


# ----------------------------------------------------------------------------- weight bytes
def _packed(count: int, bits: int) -> int:
    return -(-count * bits // 8)


def tensor_bytes(weights: int, biases: int, bits: int) -> int:
    """Bytes of ``weights`` weights and ``biases`` biases at weight ``bits``: integer weights (<= 8
    bits) with int32 biases, else both floats of ``bits``."""
    bias_bits = INT_BIAS_BITS if bits <= 8 else bits
    return _packed(weights, bits) + _packed(biases, bias_bits)


def layer_weights(graph: Graph, p=None) -> Dict[str, Tuple[int, int]]:
    """Per node, (weights, biases) as Flash stores them in the deployment view: a BatchNorm folded
    into the conv/linear before it adds C_out biases there (unless the layer had a bias) and stores
    nothing itself; a BatchNorm that stays a layer stores C scales and C shifts; views, fused
    activations and parameter-free ops store nothing. ``p``: the graph's deployment-view plan, if
    already made (any in-place options; not unfused)."""
    out = dict.fromkeys(graph._index, (0, 0))  # every node, in order (the index keys them by name)
    for name, w, b in zip(*_unit_weights(graph, p)):
        out[name] = (w, b)
    return out


def _unit_weights(graph: Graph, p=None) -> Tuple[List[str], List[int], List[int]]:
    """``layer_weights``' entries of the nodes that head a unit (every other node stores nothing), as
    three lists in unit order: their names, weights and biases (no pair kept per node)."""
    from .memory_plan import plan
    if p is None or p.unfused or p.batch != 1:
        p = plan(graph)
    index = graph._index
    names: List[str] = []
    weights: List[int] = []
    biases: List[int] = []
    for u in p.units:
        nodes = u.nodes
        head = index[nodes[0]]
        op = head.op
        costs = head.__dict__.get("_costs") or head.costs  # op.params, op.bn_params, ... (evaluated once)
        category = op.category
        if category == "conv" or category == "linear":
            c_out = head.out_shapes[0][0]
            has_bias = bool(getattr(op, "bias", False))
            folded = False
            for name in nodes[1:]:
                if index[name].op.kind == "batchnorm":
                    folded = True
                    break
            w, b = costs[0] - (c_out if has_bias else 0), c_out if has_bias or folded else 0
        elif op.kind == "batchnorm":
            w = b = costs[1] // 2
        else:
            w, b = costs[0] + costs[1], 0
        names.append(head.name)
        weights.append(w)
        biases.append(b)
    return names, weights, biases


def layer_weight_bytes(graph: Graph, weight_bits: int = 32, precision: Optional[Precision] = None,
                       p=None) -> Dict[str, int]:
    """Per node, the bytes Flash stores at ``weight_bits`` (or each layer's bits of ``precision``);
    ``p``: as ``layer_weights``."""
    check_weight_bits(weight_bits)
    if precision is None:  # one width for every layer: a node heading no unit stores nothing, (0, 0)
        zero = tensor_bytes(0, 0, weight_bits)
        out = dict.fromkeys(graph._index, zero)
        for name, w, b in zip(*_unit_weights(graph, p)):
            if w or b:
                out[name] = tensor_bytes(w, b, weight_bits)
        return out
    wb = layer_weights(graph, p)
    return {name: tensor_bytes(w, b, precision.weight_bits(name)) for name, (w, b) in wb.items()}


def weight_bytes(graph: Graph, weight_bits: int = 32, precision: Optional[Precision] = None, p=None) -> int:
    """Total Flash bytes of the parameters (``layer_weight_bytes`` summed; ``p`` as there)."""
    if precision is None:  # the same sum without the per-node dict (a node heading no unit stores 0 bytes)
        check_weight_bits(weight_bits)
        _, ws, bs = _unit_weights(graph, p)
        if weight_bits % 8 == 0:  # whole bytes per value (the biases too): no rounding per tensor to add up
            return tensor_bytes(sum(ws), sum(bs), weight_bits)
        return sum([tensor_bytes(w, b, weight_bits) for w, b in zip(ws, bs)])
    return sum(layer_weight_bytes(graph, weight_bits, precision, p).values())


def unit_mac_bytes(p, bits: int = 32, weight_bits: Optional[int] = None) -> Dict[str, int]:
    """Per unit of plan ``p`` (keyed by its first node), MAC in bytes: every tensor read and written at
    its bits (the plan's own bits under a precision spec, else ``bits``) plus the weights of its
    layers at the weight bits (``weight_bits``, else the precision's, else ``bits``)."""
    from .memory_plan import check_bits
    check_bits(bits)
    prec = graph_precision(p.graph, bits, weight_bits or bits) if p.mixed else None
    wb = layer_weights(p.graph)
    out = {}
    for u in p.units:
        acts = sum(p.nbytes(p.sizes[b], bits) for b in u.reads + u.writes)
        w = 0
        for name in u.nodes:
            k = prec.weight_bits(name) if prec else (weight_bits or bits)
            w += tensor_bytes(*wb.get(name, (0, 0)), k)
        out[u.nodes[0]] = acts + w
    return out
