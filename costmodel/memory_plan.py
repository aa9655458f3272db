"""Execution plan of a graph: the *units* a runtime executes and the *buffers* it materializes,
with each unit's memory access cost (ShuffleNet V2 section 2). Every rule is in docs/memory.md.

* deployment view (default): a BatchNorm directly after a conv/linear whose output it alone
  reads is folded into it (its shift becomes the conv's bias: + C_out weights when the conv has
  none; the scale folds into the weights for free); an activation is fused into its producer
  (conv, linear, norm, pool, eltwise, act) when it alone reads that tensor. Fused ops cost no
  traffic and their tensors are not materialized separately.
* ``unfused=True``: BatchNorm and every activation are separate units that read and write their
  tensor (BN also reads its 2C scale and shift).
* views (op category ``view``: flatten, dropout) are not units: the output aliases the input.
* ``zero_copy=True``: concat, split and channel shuffle are not units either: their outputs alias
  their inputs, so they cost no MAC and a buffer stays live until the last reader of any alias.
* ``inplace`` (kernel options, see ``INPLACE``): which units may write their output over an input
  that dies there (``Unit.inplace``); ``fused-add`` also fuses a residual add into the conv that
  produces one of its inputs.
* ``batch``: every activation tensor holds ``batch`` samples (weights are read once per batch).
* ``precision``: a ``costmodel.precision.Precision``; buffers then carry their own bits and the
  plan's sizes are bytes (``Plan.mixed``).

**MAC** of a unit, in elements: every input tensor read + every output written + weights read
(``params + bn_params`` of its op, plus the folded BN's bias). Bytes = elements * bits / 8.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from itertools import repeat
from functools import cached_property
from math import prod
from typing import Dict, Iterable, List, Optional, Tuple

from .errors import CostModelError
from .graph import INPUT, Graph
from .ops import numel

BITS = (8, 16, 32)
#: op kinds that become views of their inputs with ``zero_copy``
ZERO_COPY_KINDS = frozenset({"concat", "split", "channel_shuffle"})
#: categories an activation can be fused into
FUSE_ACT_INTO = frozenset({"conv", "linear", "norm", "act", "pool", "eltwise"})
#: categories a BatchNorm folds into
FOLD_BN_INTO = frozenset({"conv", "linear"})
#: kernel options of ``--inplace`` (docs/memory.md, "In-place kernels"):
#: dw - a depthwise conv (groups = C_in = C_out) writes its output over its input, channel by channel;
#: add - an element-wise add writes its output over one of its inputs;
#: fused-add - the add is fused into the conv producing one input, which accumulates into the other
INPLACE = ("dw", "add", "fused-add")


def check_bits(bits) -> int:
    if isinstance(bits, bool) or bits not in BITS:
        raise CostModelError(f"bits must be one of {', '.join(map(str, BITS))}, got {bits!r}")
    return int(bits)


def to_bytes(elements: int, bits: int) -> int:
    """Bytes of ``elements`` values at ``bits`` per value (exact for 8, 16, 32)."""
    return elements * check_bits(bits) // 8


def check_batch(batch) -> int:
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise CostModelError(f"batch must be a positive integer, got {batch!r}")
    return batch


def parse_inplace(value) -> frozenset:
    """``None``, ``""``, ``"none"``, ``"dw,add"`` or an iterable of option names -> a frozenset of
    ``INPLACE`` options (one line naming the accepted options otherwise)."""
    if value is None:
        return frozenset()
    items = value.split(",") if isinstance(value, str) else list(value)
    out = set()
    for item in items:
        name = str(item).strip().lower()
        if name in ("", "none"):
            continue
        if name not in INPLACE:
            raise CostModelError(f"unknown in-place option {item!r}; accepted: {', '.join(INPLACE)} "
                                 f"(comma separated) or none")
        out.add(name)
    return frozenset(out)


@dataclass(frozen=True)
class Buffer:
    """A materialized tensor: named after the last (fused) node that writes it."""

    name: str
    shape: Tuple[int, ...]
    producer: int  #: unit index, -1 for the graph input
    batch: int = 1  #: samples held (every activation of a plan has the plan's batch)
    bits: int = 0   #: bits per value under a precision spec (0: the report's uniform bits)

    @property
    def elements(self) -> int:
        return self.batch * numel(self.shape)

    @property
    def nbytes(self) -> int:
        """Bytes at ``bits`` (a tensor is padded to whole bytes); only meaningful when bits > 0."""
        return -(-self.elements * self.bits // 8)


@dataclass(frozen=True)
class Unit:
    """An executed op: its node plus the nodes fused into it."""

    name: str
    kind: str
    category: str
    nodes: Tuple[str, ...]
    reads: Tuple[int, ...]      #: distinct buffer ids
    writes: Tuple[int, ...]     #: buffer ids
    mac: int                    #: elements: inputs read + outputs written + weights
    weights: int
    flops: int
    madds: int
    per_channel: bool = False   #: every output channel depends on one input channel
    workspace: int = 0          #: extra size units live during this unit (streamed slices)
    split: int = 0              #: number of slices of a streamed chain (0: not streamed)
    inplace: Tuple[int, ...] = ()  #: buffers the output may overwrite when they die at this unit


@dataclass(frozen=True)
class Plan:
    graph: Graph
    units: Tuple[Unit, ...]
    buffers: Tuple[Buffer, ...]
    outputs: frozenset           #: buffer ids the graph returns (live to the end)
    node_unit: Dict[str, Optional[int]] = field(default_factory=dict)  #: node -> unit (None: alias)
    unfused: bool = False
    zero_copy: bool = False
    #: tensors of streamed chains computed in slices: (name, full shape, number of slices t)
    slices: Tuple[Tuple[str, Tuple[int, ...], int], ...] = ()
    inplace: frozenset = frozenset()  #: the kernel options the plan was made with
    batch: int = 1

    @property
    def mixed(self) -> bool:
        """True when buffers carry their own bits (a precision spec): sizes are then bytes."""
        return bool(self.buffers) and self.buffers[0].bits > 0

    @cached_property
    def sizes(self) -> Tuple[int, ...]:
        """The size of each buffer in the plan's *size units*: elements (uniform precision) or bytes
        (``mixed``). Every liveness quantity (live, peak, workspace) is in these units."""
        if self.mixed:
            return tuple(b.nbytes for b in self.buffers)
        return tuple(b.elements for b in self.buffers)

    def nbytes(self, units: int, bits: int = 32) -> int:
        """Bytes of ``units`` size units: already bytes for a mixed plan, else at ``bits``."""
        return units if self.mixed else to_bytes(units, bits)


def _is_per_channel(node) -> bool:
    op = node.op
    if op.category in ("norm", "act", "pool") or op.kind in ("channel_shuffle", "upsample"):
        return True
    return op.kind == "conv2d" and op.groups == node.in_shapes[0][0] and len(node.in_shapes) == 1


def _dw_inplace(node, in_bufs, buffers) -> Tuple[int, ...]:
    """The depthwise in-place rule: groups = C_in = C_out, one input held whole in one buffer."""
    op = node.op
    if (op.kind == "conv2d" and len(node.in_shapes) == 1 and op.groups == node.in_shapes[0][0] == op.out_channels
            and len(in_bufs) == 1 and buffers[in_bufs[0]]["shape"] == tuple(node.in_shapes[0])):
        return tuple(in_bufs)
    return ()


def plan(graph: Graph, unfused: bool = False, zero_copy: bool = False, *, inplace: Iterable[str] = (),
         batch: int = 1, precision=None) -> Plan:
    """The units and buffers of ``graph`` in the deployment (default) or unfused view, with the
    in-place kernel options ``inplace`` (``INPLACE``), ``batch`` samples per activation and, with a
    ``precision`` (``costmodel.precision.Precision``), each buffer's bits.

    (This loop runs on every ``analyze``: units and buffers are kept as the dicts that become their
    instance dicts, fields in field order, and the usual one-input one-output node takes no
    generator; ``_fuse`` and ``_is_per_channel`` are inlined.)"""
    opts = parse_inplace(inplace)
    batch = check_batch(batch)
    nodes = graph.nodes
    readers: Dict[str, int] = {}  # tensor ref -> how many node inputs read it (a node reading it twice: 2)
    get = readers.get
    for n in nodes:
        for r in n.inputs:
            readers[r] = get(r, 0) + 1
    outputs = set(graph.outputs)
    # a buffer: its instance dict (name, shape, producer, batch, bits) and its elements
    buffers: List[dict] = [{"name": INPUT, "shape": _tuple(graph.input_shape), "producer": -1, "batch": batch,
                            "bits": 0}]
    elems: List[int] = [batch * prod(graph.input_shape)]
    units: List[dict] = []    # a unit: its instance dict, fields in ``Unit``'s order
    heads: List[object] = []  # per unit, the op of its first node
    one_write: List[bool] = []  # per unit, whether it writes one buffer (only then can a node fuse into it)
    fused_adds = set()        # units a residual add was fused into
    bufs_of: Dict[str, Tuple[int, ...]] = {INPUT: (0,)}
    unit_of_ref: Dict[str, int] = {}
    node_unit: Dict[str, Optional[int]] = {}
    dw, add_inplace, fused_add = "dw" in opts, "add" in opts, "fused-add" in opts
    consumers = graph.consumers() if fused_add else {}  # only the fused-add rule needs the readers by name

    for n in nodes:
        op, inputs, name = n.op, n.inputs, n.name
        kind, category = op.kind, op.category
        if len(inputs) == 1:
            src = inputs[0]
            in_bufs = bufs_of[src]
        else:
            src = None
            in_bufs = _bufs_of_all(inputs, bufs_of)
        if category == "view" or (zero_copy and kind in ZERO_COPY_KINDS):
            for r in n.outputs:
                bufs_of[r] = tuple(dict.fromkeys(in_bufs))
            node_unit[name] = None
            continue
        if src is not None and not unfused:
            u = unit_of_ref.get(src)
            if u is not None and one_write[u] and readers[src] == 1 and src not in outputs:  # fusable
                unit = units[u]
                if kind == "batchnorm":
                    fuse = unit["category"] in FOLD_BN_INTO and len(unit["nodes"]) == 1
                    if fuse and not getattr(heads[u], "bias", False):
                        c = n.out_shapes[0]
                        unit["weights"] += c[0]
                        unit["mac"] += c[0]
                        unit["flops"] += batch * prod(c)  # the bias add of the folded shift
                elif kind == "activation" and unit["category"] in FUSE_ACT_INTO:
                    fuse = True
                    unit["flops"] += batch * (n.__dict__.get("_costs") or n.costs)[3]
                else:
                    fuse = False
                if fuse:
                    writes = unit["writes"]  # _fuse: the unit's buffer now carries this node's name
                    buffers[writes[0]]["name"] = name
                    bufs_of[name] = writes
                    unit_of_ref[name] = u
                    unit["nodes"] += (name,)
                    node_unit[name] = u
                    continue
        costs = n.__dict__.get("_costs") or n.costs  # the op's formulas, evaluated once per node
        ins, outs = n.in_shapes, n.out_shapes
        if kind == "add" and fused_add:
            f = _fusable_add(n, units, buffers, bufs_of, unit_of_ref, consumers, outputs, fused_adds)
            if f is not None:
                uf, others = f
                unit = units[uf]
                unit["reads"] = tuple(dict.fromkeys(unit["reads"] + others))
                unit["mac"] += sum(elems[b] for b in others)
                unit["inplace"] = tuple(b for b in others if buffers[b]["shape"] == _tuple(outs[0]))
                fused_adds.add(uf)
                _fuse(unit, n, buffers, bufs_of, unit_of_ref, uf, node_unit, flops=batch * costs[3])
                continue
        weights = costs[0] + costs[1]
        idx = len(units)
        if len(outs) == 1:  # the usual single output, without zip and the outputs tuple
            s = outs[0]
            out_el = prod(s)
            writes = (len(buffers),)
            buffers.append({"name": name, "shape": s if type(s) is tuple else tuple(s), "producer": idx,
                            "batch": batch, "bits": 0})
            elems.append(batch * out_el)
            bufs_of[name] = writes
            unit_of_ref[name] = idx
            one_write.append(True)
        else:
            out_el = 0
            writes = []
            for r, s in zip(n.outputs, outs):
                e = prod(s)
                out_el += e
                buffers.append({"name": r, "shape": _tuple(s), "producer": idx, "batch": batch, "bits": 0})
                elems.append(batch * e)
                bufs_of[r] = (len(buffers) - 1,)
                unit_of_ref[r] = idx
                writes.append(len(buffers) - 1)
            writes = tuple(writes)
            one_write.append(len(writes) == 1)
        if src is not None:
            in_el = prod(ins[0])
            reads = in_bufs if len(in_bufs) == 1 else tuple(dict.fromkeys(in_bufs))
        else:
            in_el = prod(ins[0]) + prod(ins[1]) if len(ins) == 2 else sum([prod(s) for s in ins])
            reads = tuple(dict.fromkeys(in_bufs))
        ip: Tuple[int, ...] = ()
        if dw:
            ip = _dw_inplace(n, reads, buffers)
        if add_inplace and kind == "add" and len(outs) == 1:
            whole = [bufs_of[r] for r in inputs]
            ip = tuple(dict.fromkeys(bs[0] for bs in whole if len(bs) == 1 and buffers[bs[0]]["shape"] == outs[0]))
        if category in _PER_CHANNEL_CATEGORIES or kind in _PER_CHANNEL_KINDS:  # _is_per_channel, inlined
            per_channel = True
        else:
            per_channel = kind == "conv2d" and src is not None and op.groups == ins[0][0]
        units.append({"name": name, "kind": kind, "category": category, "nodes": (name,), "reads": reads,
                      "writes": writes, "mac": batch * (in_el + out_el) + weights, "weights": weights,
                      "flops": batch * costs[3], "madds": batch * costs[2], "per_channel": per_channel,
                      "workspace": 0, "split": 0, "inplace": ip})
        heads.append(op)
        node_unit[name] = idx

    if precision is not None:
        for b in buffers:
            b["bits"] = precision.act_bits(b["name"])
    out_bufs = frozenset(b for r in graph.outputs for b in bufs_of[r])
    p = Plan(graph, _frozen(Unit, units), _frozen(Buffer, buffers), out_bufs, node_unit,
             unfused, zero_copy, (), opts, batch)
    if precision is None:  # Plan.sizes: the elements, known already
        p.__dict__["sizes"] = tuple(elems)
    return p


#: ``_is_per_channel``'s categories and kinds (a depthwise conv is the other per-channel case)
_PER_CHANNEL_CATEGORIES = frozenset({"norm", "act", "pool"})
_PER_CHANNEL_KINDS = frozenset({"channel_shuffle", "upsample"})


def _frozen(cls, dicts: List[dict]) -> tuple:
    """A ``cls`` (a frozen dataclass without a ``__post_init__``) made from each dict of all its fields,
    without the generated ``__init__`` (which sets each field through ``object.__setattr__``, about
    2 us for a unit's 14): the dict becomes the instance dict, so the result is equal and hashed
    alike. A plan makes a unit and a buffer per layer on every ``analyze`` (hence the maps, no Python
    loop); tests/test_build_fast_paths.py checks the two ways agree."""
    objs = list(map(object.__new__, repeat(cls, len(dicts))))
    deque(map(object.__setattr__, objs, repeat("__dict__"), dicts), maxlen=0)  # run the map, keep nothing
    return tuple(objs)


def _bufs_of_all(inputs, bufs_of) -> Tuple[int, ...]:
    """The buffers of several inputs, in order (repeats kept)."""
    if len(inputs) == 2:  # add, multiply, a two-way concat: without a comprehension
        return bufs_of[inputs[0]] + bufs_of[inputs[1]]
    return tuple([b for r in inputs for b in bufs_of[r]])


def _tuple(shape) -> Tuple[int, ...]:
    return shape if type(shape) is tuple else tuple(shape)


def _fusable_add(n, units, buffers, bufs_of, unit_of_ref, consumers, outputs, fused_adds):
    """The ``fused-add`` rule: among the add's inputs, the one written most recently by a conv or
    linear unit (after BN folding) that only this add reads and that is not a graph output, provided
    the add's other inputs already exist when that unit runs (their producers come before it: the
    unit accumulates into them); the add fuses into that unit. Returns (unit, the other inputs'
    buffers) or None."""
    candidates = []
    for r in n.inputs:
        u = unit_of_ref.get(r)
        if u is None or units[u]["category"] not in ("conv", "linear") or u in fused_adds:
            continue
        if len(consumers.get(r, ())) != 1 or r in outputs or len(units[u]["writes"]) != 1 or n.inputs.count(r) != 1:
            continue
        if buffers[units[u]["writes"][0]]["shape"] != tuple(n.out_shapes[0]):
            continue
        candidates.append((u, r))
    for u, ref in sorted(candidates, reverse=True):
        others = tuple(dict.fromkeys(b for r in n.inputs if r != ref for b in bufs_of[r]))
        if all(buffers[b]["producer"] < u for b in others):  # produced before the unit (or the graph input, -1)
            return u, others
    return None


def _fuse(unit, n, buffers, bufs_of, unit_of_ref, u, node_unit, flops):
    (b,) = unit["writes"]
    buffers[b]["name"] = n.name
    bufs_of[n.name] = (b,)
    unit_of_ref[n.name] = u
    unit["nodes"] += (n.name,)
    unit["flops"] += flops
    node_unit[n.name] = u


def node_mac(p: Plan) -> Dict[str, int]:
    """MAC per node: a unit's MAC on its first node, 0 on fused nodes and aliases."""
    out = dict.fromkeys(p.node_unit, 0)
    for u in p.units:
        out[u.nodes[0]] = u.mac
    return out


def consumers_of(p: Plan) -> List[List[int]]:
    """Buffer id -> the units that read it, in unit order."""
    cons = [[] for _ in p.buffers]
    for i, u in enumerate(p.units):
        for b in u.reads:
            cons[b].append(i)
    return cons

