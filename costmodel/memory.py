"""Memory access cost (ShuffleNet V2 section 2) and peak activation memory (MobileNetV2 section 5).

Pure functions over a ``Graph``; every rule is documented in docs/memory.md.

**Execution plan.** ``plan(graph)`` turns nodes into *units* (the ops a runtime executes) and
*buffers* (the tensors it materializes):

* deployment view (default): a BatchNorm directly after a conv/linear whose output it alone
  reads is folded into it (its shift becomes the conv's bias: + C_out weights when the conv has
  none; the scale folds into the weights for free); an activation is fused into its producer
  (conv, linear, norm, pool, eltwise, act) when it alone reads that tensor. Fused ops cost no
  traffic and their tensors are not materialized separately.
* ``unfused=True``: BatchNorm and every activation are separate units that read and write their
  tensor (BN also reads its 2C scale and shift).
* views (op category ``view``: flatten, dropout) are not units: the output aliases the input.
* ``zero_copy=True``: concat, split and channel shuffle are not units either: their outputs alias
  their inputs (producers write straight into the concatenation; a split or a shuffle is a
  strided view), so they cost no MAC and a buffer stays live until the last reader of any alias.

**MAC** of a unit, in elements: every input tensor read + every output written + weights read
(``params + bn_params`` of its op, plus the folded BN's bias). Bytes = elements * bits / 8.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Sequence, Tuple

from .errors import CostModelError, GraphError
from .graph import INPUT, Graph
from .ops import numel

BITS = (8, 16, 32)
#: op kinds that become views of their inputs with ``zero_copy``
ZERO_COPY_KINDS = frozenset({"concat", "split", "channel_shuffle"})
#: categories an activation can be fused into
FUSE_ACT_INTO = frozenset({"conv", "linear", "norm", "act", "pool", "eltwise"})
#: categories a BatchNorm folds into
FOLD_BN_INTO = frozenset({"conv", "linear"})
SCHEDULES = ("sequential", "optimal", "streamed")
#: the optimal-schedule search keeps at most this many states per step before it falls back to a beam
STATE_LIMIT = 2000
#: the optimal-schedule search expands at most about this many (state, unit) transitions in total; each
#: step may use an even share of what is left (at least one state is always expanded), so the beam
#: narrows as the frontier grows and the search time is bounded (see ``optimal_order``)
EXPANSION_BUDGET = 40_000


def check_bits(bits) -> int:
    if isinstance(bits, bool) or bits not in BITS:
        raise CostModelError(f"bits must be one of {', '.join(map(str, BITS))}, got {bits!r}")
    return int(bits)


def to_bytes(elements: int, bits: int) -> int:
    """Bytes of ``elements`` values at ``bits`` per value (exact for 8, 16, 32)."""
    return elements * check_bits(bits) // 8


@dataclass(frozen=True)
class Buffer:
    """A materialized tensor: named after the last (fused) node that writes it."""

    name: str
    shape: Tuple[int, ...]
    producer: int  #: unit index, -1 for the graph input

    @property
    def elements(self) -> int:
        return numel(self.shape)


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
    workspace: int = 0          #: extra elements live during this unit (streamed slices)
    split: int = 0              #: number of slices of a streamed chain (0: not streamed)


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


def _is_per_channel(node) -> bool:
    op = node.op
    if op.category in ("norm", "act", "pool") or op.kind in ("channel_shuffle", "upsample"):
        return True
    return op.kind == "conv2d" and op.groups == node.in_shapes[0][0] and len(node.in_shapes) == 1


def plan(graph: Graph, unfused: bool = False, zero_copy: bool = False) -> Plan:
    """The units and buffers of ``graph`` in the deployment (default) or unfused view."""
    consumers = graph.consumers()
    outputs = set(graph.outputs)
    buffers: List[list] = [[INPUT, graph.input_shape, -1]]
    units: List[dict] = []
    bufs_of: Dict[str, Tuple[int, ...]] = {INPUT: (0,)}
    unit_of_ref: Dict[str, int] = {}
    node_unit: Dict[str, Optional[int]] = {}

    for n in graph.nodes:
        op, ins, outs = n.op, n.in_shapes, n.out_shapes
        in_bufs = tuple(b for r in n.inputs for b in bufs_of[r])
        if op.category == "view" or (zero_copy and op.kind in ZERO_COPY_KINDS):
            for r in n.outputs:
                bufs_of[r] = tuple(dict.fromkeys(in_bufs))
            node_unit[n.name] = None
            continue
        src = n.inputs[0] if len(n.inputs) == 1 else None
        u = unit_of_ref.get(src) if src is not None else None
        fusable = (not unfused and u is not None and len(consumers.get(src, ())) == 1 and src not in outputs
                   and len(units[u]["writes"]) == 1)
        if fusable and op.kind == "batchnorm" and units[u]["category"] in FOLD_BN_INTO and len(units[u]["nodes"]) == 1:
            head = graph.node(units[u]["name"]).op
            if not getattr(head, "bias", False):
                units[u]["weights"] += outs[0][0]
                units[u]["mac"] += outs[0][0]
                units[u]["flops"] += numel(outs[0])  # the bias add of the folded shift
            _fuse(units[u], n, buffers, bufs_of, unit_of_ref, u, node_unit, flops=0)
            continue
        if fusable and op.kind == "activation" and units[u]["category"] in FUSE_ACT_INTO:
            _fuse(units[u], n, buffers, bufs_of, unit_of_ref, u, node_unit, flops=op.flops(ins, outs))
            continue
        weights = op.params(ins) + op.bn_params(ins)
        mac = sum(numel(s) for s in ins) + sum(numel(s) for s in outs) + weights
        idx = len(units)
        writes = []
        for r, s in zip(n.outputs, outs):
            buffers.append([r, s, idx])
            bufs_of[r] = (len(buffers) - 1,)
            unit_of_ref[r] = idx
            writes.append(len(buffers) - 1)
        units.append({"name": n.name, "kind": op.kind, "category": op.category, "nodes": [n.name],
                      "reads": tuple(dict.fromkeys(in_bufs)), "writes": tuple(writes), "mac": mac,
                      "weights": weights, "flops": op.flops(ins, outs), "madds": op.madds(ins, outs),
                      "per_channel": _is_per_channel(n)})
        node_unit[n.name] = idx

    out_bufs = frozenset(b for r in graph.outputs for b in bufs_of[r])
    return Plan(graph,
                tuple(Unit(u["name"], u["kind"], u["category"], tuple(u["nodes"]), u["reads"], u["writes"],
                           u["mac"], u["weights"], u["flops"], u["madds"], u["per_channel"]) for u in units),
                tuple(Buffer(b[0], tuple(b[1]), b[2]) for b in buffers), out_bufs, node_unit, unfused, zero_copy)


def _fuse(unit, n, buffers, bufs_of, unit_of_ref, u, node_unit, flops):
    (b,) = unit["writes"]
    buffers[b][0] = n.name
    bufs_of[n.name] = (b,)
    unit_of_ref[n.name] = u
    unit["nodes"].append(n.name)
    unit["flops"] += flops
    node_unit[n.name] = u


def node_mac(p: Plan) -> Dict[str, int]:
    """MAC per node: a unit's MAC on its first node, 0 on fused nodes and aliases."""
    out = {name: 0 for name in p.node_unit}
    for u in p.units:
        out[u.nodes[0]] = u.mac
    return out


# ----------------------------------------------------------------------------- liveness
def _consumers(p: Plan) -> List[List[int]]:
    cons = [[] for _ in p.buffers]
    for i, u in enumerate(p.units):
        for b in u.reads:
            cons[b].append(i)
    return cons


@dataclass
class Schedule:
    """A schedule: unit order, live elements per step, the peak and where it occurs."""

    name: str
    plan: Plan
    order: Tuple[int, ...]
    live: List[int]                   #: elements live at each step (workspace included)
    live_sets: List[Tuple[int, ...]]  #: buffer ids live at each step
    exact: bool = True                #: False when the optimal search fell back to a beam

    @property
    def lower_bound(self) -> int:
        """A lower bound of any schedule's peak (elements), see ``lower_bound``."""
        if not hasattr(self, "_lb"):
            self._lb = lower_bound(self.plan)
        return self._lb

    @property
    def peak(self) -> int:
        return max(self.live) if self.live else 0

    @property
    def peak_step(self) -> int:
        return self.live.index(self.peak) if self.live else 0

    @property
    def peak_unit(self) -> Optional[Unit]:
        """The unit running at the peak; None for a plan without units (only views/zero-copy ops)."""
        return self.plan.units[self.order[self.peak_step]] if self.order else None

    @property
    def peak_at(self) -> str:
        """Name of the unit at the peak, or of the graph input when the plan has no units."""
        u = self.peak_unit
        return u.name if u is not None else INPUT

    def step_names(self) -> List[str]:
        """The name of each step (one pseudo-step named after the input when there are no units)."""
        return [self.plan.units[o].name for o in self.order] if self.order else [INPUT] * len(self.live)


def evaluate(p: Plan, order: Sequence[int], name: str = "custom") -> Schedule:
    """Live memory of each step of ``order``: a buffer is live from its producer's step to its last
    reader's step (graph outputs to the end; the input from the start); a step also holds its
    unit's workspace."""
    pos = {u: i for i, u in enumerate(order)}
    if sorted(pos) != list(range(len(p.units))):
        raise GraphError("a schedule must list every unit exactly once")
    cons = _consumers(p)
    n = len(order)
    if n == 0:  # only views / zero-copy ops: the input (which every output aliases) is all there is
        held = tuple(range(len(p.buffers)))
        return Schedule(name, p, (), [sum(b.elements for b in p.buffers)], [held], True)
    start, end = [], []
    for b, buf in enumerate(p.buffers):
        s = -1 if buf.producer < 0 else pos[buf.producer]
        for c in cons[b]:
            if pos[c] < s:
                raise GraphError(f"schedule runs {p.units[c].name!r} before its input {buf.name!r} exists")
        e = n if b in p.outputs else max([pos[c] for c in cons[b]], default=s)
        start.append(s)
        end.append(e)
    # sweep over the steps: buffer b enters at max(start, 0) and leaves after end (linear time)
    enter = [[] for _ in range(n + 1)]
    leave = [[] for _ in range(n + 2)]
    for b in range(len(p.buffers)):
        s0 = max(start[b], 0)
        if end[b] >= s0:
            enter[s0].append(b)
            leave[end[b] + 1].append(b)
    live, sets = [], []
    cur = set()
    total = 0
    for i, u in enumerate(order):
        for b in leave[i]:
            cur.discard(b)
            total -= p.buffers[b].elements
        for b in enter[i]:
            cur.add(b)
            total += p.buffers[b].elements
        sets.append(tuple(sorted(cur)))
        live.append(total + p.units[u].workspace)
    return Schedule(name, p, tuple(order), live, sets, True)


def lower_bound(p: Plan) -> int:
    """A lower bound of every schedule's peak: during unit u, its inputs, outputs and workspace are
    live, and so is every buffer written by an ancestor of u (or the graph input) that a descendant
    of u reads or the graph returns. The maximum over units (a plan without units: its buffers, i.e.
    the input that the outputs alias)."""
    n = len(p.units)
    if n == 0:
        return sum(b.elements for b in p.buffers)
    cons = _consumers(p)
    anc = [0] * n
    for i, u in enumerate(p.units):  # units are in a topological order
        for b in u.reads:
            j = p.buffers[b].producer
            if j >= 0:
                anc[i] |= anc[j] | 1 << j
    desc = [0] * n
    for i in range(n):
        a = anc[i]
        while a:
            j = (a & -a).bit_length() - 1
            desc[j] |= 1 << i
            a &= a - 1
    cmask = [sum(1 << c for c in cs) for cs in cons]
    best = 0
    for i, u in enumerate(p.units):
        need = 0
        for b, buf in enumerate(p.buffers):
            mine = b in u.reads or b in u.writes
            before = buf.producer < 0 or anc[i] >> buf.producer & 1
            after = b in p.outputs or cmask[b] & desc[i]
            if mine or (before and after):
                need += buf.elements
        best = max(best, need + u.workspace)
    return best


def optimal_order(p: Plan, limit: int = STATE_LIMIT, budget: int = EXPANSION_BUDGET) -> Tuple[Tuple[int, ...], bool]:
    """The topological order with the lowest peak: dynamic programming over the sets of computed
    units (the *downsets* of the DAG), one layer per step. Memory resident between steps depends
    only on the set, so keeping the lowest peak per set is exact. Chains with small branches have
    few downsets (a chain of n units: n + 1).

    Two bounds keep the search fast on wide graphs; either one turns it into a beam search (the
    states are taken best first: lowest peak, then lowest resident memory):

    * ``limit``: a step keeps at most ``limit`` sets;
    * ``budget``: the whole search expands at most about ``budget`` (set, ready unit) transitions.
      Step k of n may use an even share of what is left, ``remaining // (n - k)`` (unused shares
      carry over to later steps); at least the best set is always expanded, so the search always
      finishes in at most max(budget, n x widest frontier) expansions.

    A beam result is an achievable schedule, i.e. an upper bound; if it is worse than the definition
    order, the definition order is returned instead (so the result never exceeds ``sequential``).
    Returns (order, exact): exact is False as soon as a set was dropped."""
    units, bufs = p.units, p.buffers
    n = len(units)
    cons = _consumers(p)
    size = [b.elements for b in bufs]
    cmask = [sum(1 << c for c in cs) for cs in cons]
    keep = [b in p.outputs for b in range(len(bufs))]
    preds = [0] * n
    succ: List[List[int]] = [[] for _ in range(n)]
    for i, u in enumerate(units):
        for b in u.reads:
            j = bufs[b].producer
            if j >= 0 and not preds[i] >> j & 1:
                preds[i] |= 1 << j
                succ[j].append(i)
    wsize = [sum(size[b] for b in u.writes) for u in units]
    touched = [tuple(dict.fromkeys(u.reads + u.writes)) for u in units]
    res0 = sum(size[b] for b in range(len(bufs)) if bufs[b].producer < 0 and (cmask[b] or keep[b]))
    start = tuple(i for i in range(n) if preds[i] == 0)
    # a state: set -> (peak so far, resident elements, the parent's ready units, the unit just run);
    # a state's own ready units are derived only when it is expanded (cheap when the beam is narrow)
    layer: Dict[int, tuple] = {0: (0, res0, start, -1)}
    parent: Dict[int, Tuple[int, int]] = {}
    exact = True
    remaining = budget

    def ready_of(s, entry):
        _, _, pready, last = entry
        if last < 0:
            return pready
        return tuple(sorted([v for v in pready if v != last] + [v for v in succ[last] if not preds[v] & ~s]))

    def best_first(items):
        return sorted(items, key=lambda kv: (kv[1][0], kv[1][1]))

    for k in range(n):
        allowance = max(1, remaining // (n - k))
        items = list(layer.items())
        readies: Dict[int, tuple] = {}
        if len(items) > limit:
            exact = False
            items = best_first(items)[:limit]
        elif len(items) > allowance:  # every state has a ready unit: the beam must narrow
            items = best_first(items)
        elif len(items) > 1:
            readies = {s: ready_of(s, e) for s, e in items}
            if sum(map(len, readies.values())) > allowance:
                items = best_first(items)
        new: Dict[int, tuple] = {}
        used = 0
        for s, entry in items:
            ready = readies.get(s) or ready_of(s, entry)
            if used and used + len(ready) > allowance:
                exact = False
                break
            used += len(ready)
            peak, res = entry[0], entry[1]
            for u in ready:
                s2 = s | 1 << u
                pk = max(peak, res + wsize[u] + units[u].workspace)
                cur = new.get(s2)
                if cur is not None and cur[0] <= pk:
                    continue
                freed = sum(size[b] for b in touched[u] if not keep[b] and not cmask[b] & ~s2)
                new[s2] = (pk, res + wsize[u] - freed, ready, u)
                parent[s2] = (s, u)
        remaining -= used
        layer = new
    (s,) = layer
    order = []
    while s:
        s, u = parent[s]
        order.append(u)
    order = tuple(reversed(order))
    if not exact and evaluate(p, range(n)).peak < evaluate(p, order).peak:
        order = tuple(range(n))
    return order, exact


# ----------------------------------------------------------------------------- streaming (MobileNetV2 5.1)
def _slice_elems(shape, t: int) -> int:
    c = shape[0]
    return -(-c // t) * numel(shape[1:])


def chain_workspace(shapes: Sequence[Tuple[int, ...]], t: int) -> int:
    """Elements live for one slice of a streamed chain whose intermediate tensors have these shapes:
    each per-channel op holds its input slice and its output slice; the first and the closing op
    one slice: max over neighbours of slice(T_i) + slice(T_i+1) (slice = ceil(C / t) channels)."""
    sl = [_slice_elems(s, t) for s in shapes]
    if len(sl) == 1:
        return sl[0]
    return max(a + b for a, b in zip(sl, sl[1:]))


def default_split(shapes: Sequence[Tuple[int, ...]]) -> int:
    """'As large as useful': the smallest t beyond which more slices no longer lower the chain's need
    |x| + |y| + workspace(t). workspace(t) never increases with t and stops falling once every
    slice is one channel (t = the widest intermediate's channel count C_max), so this is the smallest
    t with workspace(t) == workspace(C_max) (found by bisection). With equal widths (the inverted
    residual, the first-layer trick) it is C_max: slices of one channel."""
    cmax = max(s[0] for s in shapes)
    floor = chain_workspace(shapes, cmax)
    lo, hi = 1, cmax
    while lo < hi:
        mid = (lo + hi) // 2
        if chain_workspace(shapes, mid) == floor:
            hi = mid
        else:
            lo = mid + 1
    return lo


def find_chains(p: Plan) -> List[List[int]]:
    """Streamable chains, found structurally in unit order: a conv (any conv computes its output
    channels independently) whose output only one per-channel unit reads (depthwise conv, norm,
    activation, pooling, channel shuffle), then more such units while each tensor has a single
    reader, and optionally a closing conv that accumulates the slices (the inverted residual's
    projection). Intermediate tensors must not be graph outputs. A unit is in at most one chain."""
    cons = _consumers(p)
    used = set()
    chains = []

    def only_reader(u):
        (b,) = p.units[u].writes
        if b in p.outputs or len(cons[b]) != 1:
            return None
        v = cons[b][0]
        return v if len(p.units[v].reads) == 1 and v not in used else None

    for i, u in enumerate(p.units):
        if i in used or u.kind != "conv2d" or len(u.writes) != 1:
            continue
        chain = [i]
        v = only_reader(i)
        while v is not None and p.units[v].per_channel and len(p.units[v].writes) == 1:
            chain.append(v)
            v = only_reader(v)
        if len(chain) < 2:
            continue
        if v is not None and p.units[v].kind == "conv2d" and not p.units[v].per_channel:
            chain.append(v)
        used.update(chain)
        chains.append(chain)
    return chains


def stream(p: Plan, split: Optional[int] = None) -> Plan:
    """Collapse every streamable chain into one unit reading x and writing y whose expanded tensors
    are computed in ``split`` channel slices (default: ``default_split`` per chain; an explicit
    ``split`` is used for every chain, capped at the chain's widest channel count), so it needs
    |x| + |y| + workspace (MobileNetV2 section 5.1; the first layer's trick is the same rule
    applied to the stem conv). Mult-Adds and MAC are unchanged (sums of the members)."""
    if split is not None and (isinstance(split, bool) or not isinstance(split, int) or split < 1):
        raise CostModelError(f"split must be a positive integer (number of slices), got {split!r}")
    chains, splits = [], {}
    for c in find_chains(p):
        last = p.units[c[-1]]
        shapes = [p.buffers[p.units[j].writes[0]].shape for j in c[:-1]]
        x = sum(p.buffers[b].elements for b in p.units[c[0]].reads)
        y = sum(p.buffers[b].elements for b in last.writes)
        unstreamed = max(sum(p.buffers[b].elements for b in set(p.units[j].reads) | set(p.units[j].writes))
                         for j in c)
        t = default_split(shapes) if split is None else min(split, max(s[0] for s in shapes))
        if x + y + chain_workspace(shapes, t) < unstreamed:  # stream only where it lowers the chain's need
            chains.append(c)
            splits[c[0]] = t
    head = {c[0]: c for c in chains}
    head_of = {u: c[0] for c in chains for u in c}
    new_units, remap = [], {}
    slices = []
    for i, u in enumerate(p.units):
        if i in head_of and i not in head:
            continue
        if i in head:
            c = head[i]
            last = p.units[c[-1]]
            inter = [p.units[j].writes[0] for j in c[:-1]]  # never materialized whole
            shapes = [p.buffers[b].shape for b in inter]
            t = splits[i]
            for b in inter:
                slices.append((p.buffers[b].name, p.buffers[b].shape, t))
            ws = chain_workspace(shapes, t)
            mem = [p.units[j] for j in c]
            u = replace(u, name=f"{u.name}->{last.name}", kind="streamed", nodes=sum((m.nodes for m in mem), ()),
                        writes=last.writes, mac=sum(m.mac for m in mem), weights=sum(m.weights for m in mem),
                        flops=sum(m.flops for m in mem), madds=sum(m.madds for m in mem), per_channel=False,
                        workspace=ws, split=t)
        remap[i] = len(new_units)
        new_units.append(u)
    # buffers internal to chains disappear; renumber
    internal = {p.units[j].writes[0] for c in chains for j in c[:-1]}
    keep = [b for b in range(len(p.buffers)) if b not in internal]
    bmap = {b: k for k, b in enumerate(keep)}
    buffers = tuple(replace(p.buffers[b], producer=-1 if p.buffers[b].producer < 0 else
                            remap[head_of.get(p.buffers[b].producer, p.buffers[b].producer)]) for b in keep)
    units = tuple(replace(u, reads=tuple(bmap[b] for b in u.reads), writes=tuple(bmap[b] for b in u.writes))
                  for u in new_units)
    node_unit = {nm: None for nm, v in p.node_unit.items() if v is None}
    for k, u in enumerate(units):
        node_unit.update(dict.fromkeys(u.nodes, k))
    return Plan(p.graph, units, buffers, frozenset(bmap[b] for b in p.outputs), node_unit, p.unfused, p.zero_copy,
                tuple(slices))


# ----------------------------------------------------------------------------- entry points
def schedule(graph_or_plan, name: str = "optimal", *, unfused: bool = False, zero_copy: bool = False,
             split: Optional[int] = None, limit: int = STATE_LIMIT, budget: int = EXPANSION_BUDGET) -> Schedule:
    """A ``Schedule`` of ``name``: sequential (definition order), optimal (lowest peak over all
    topological orders) or streamed (chains collapsed by ``stream``, then the optimal order)."""
    if name not in SCHEDULES:
        raise CostModelError(f"unknown schedule {name!r}; accepted: {', '.join(SCHEDULES)}")
    p = graph_or_plan if isinstance(graph_or_plan, Plan) else plan(graph_or_plan, unfused, zero_copy)
    if name == "sequential":
        return evaluate(p, range(len(p.units)), name)
    if name == "streamed":
        p = stream(p, split)
    order, exact = optimal_order(p, limit, budget)
    s = evaluate(p, order, name)
    s.exact = exact or s.peak == s.lower_bound  # a beam result meeting the bound is optimal
    return s


def peak_bytes(graph: Graph, bits: int = 32, schedule_name: str = "optimal", **kw) -> int:
    """Peak activation memory in bytes of a schedule."""
    return to_bytes(schedule(graph, schedule_name, **kw).peak, bits)


def size_label(shape) -> str:
    return f"{shape[1]}x{shape[2]}" if len(shape) == 3 else "1x1"


def resolutions(p: Plan, bits: int = 32) -> List[dict]:
    """Per spatial size, the largest materialized tensor (vectors count as 1x1; the slices of a
    streamed chain count as tensors of ceil(C / t) channels): MobileNetV2 Table 3's quantity."""
    cands = [(b.name, b.shape) for b in p.buffers]
    cands += [(f"{name}[1/{t}]", (-(-shape[0] // t),) + tuple(shape[1:])) for name, shape, t in p.slices]
    best: Dict[str, tuple] = {}
    for name, shape in cands:
        key = size_label(shape)
        e = numel(shape)
        if key not in best or e > best[key][0]:
            best[key] = (e, shape[0], name)
    rows = sorted(best.items(), key=lambda kv: -_area(kv[0]))
    return [{"size": k, "max_channels": c, "max_bytes": to_bytes(e, bits), "tensor": nm} for k, (e, c, nm) in rows]


def _area(label: str) -> int:
    h, w = label.split("x")
    return int(h) * int(w)


def report(graph: Graph, schedule_name: str = "optimal", bits: int = 32, *, unfused: bool = False,
           zero_copy: bool = False, split: Optional[int] = None) -> dict:
    """The JSON contract of ``costmodel memory``."""
    bits = check_bits(bits)
    s = schedule(graph, schedule_name, unfused=unfused, zero_copy=zero_copy, split=split)
    p = s.plan
    i = s.peak_step
    live = [{"tensor": p.buffers[b].name, "shape": list(p.buffers[b].shape),
             "bytes": to_bytes(p.buffers[b].elements, bits)} for b in s.live_sets[i]]
    u = s.peak_unit
    if u is not None and u.workspace:
        live.append({"tensor": f"{u.name} slices (1/{u.split})", "shape": [], "bytes": to_bytes(u.workspace, bits)})
    return {
        "network": graph.meta.get("network", graph.name),
        "peak_bytes": to_bytes(s.peak, bits),
        "peak_at": s.peak_at,
        "schedule": schedule_name,
        "bits": bits,
        "exact": s.exact,
        "lower_bound_bytes": to_bytes(s.lower_bound, bits),
        "live_at_peak": live,
        "resolutions": resolutions(p, bits),
        "timeline": [{"step": k, "op": op, "live_bytes": to_bytes(e, bits)}
                     for k, (op, e) in enumerate(zip(s.step_names(), s.live))],
    }
