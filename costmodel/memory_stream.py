"""Streamed execution of MobileNetV2's bottleneck (section 5.1): a chain conv -> per-channel ops
-> closing conv runs as one unit whose expanded tensors are computed in channel slices and never
materialized whole. Rules and the default split: docs/memory.md ("Streamed chains")."""
from __future__ import annotations

from dataclasses import replace
from typing import List, Optional, Sequence, Tuple

from .errors import CostModelError
from .memory_plan import Plan, consumers_of
from .ops import numel


def _slice_elems(shape, t: int) -> int:
    c = shape[0]
    return -(-c // t) * numel(shape[1:])


def chain_workspace(shapes: Sequence[Tuple[int, ...]], t: int, bits: Optional[Sequence[int]] = None,
                    batch: int = 1) -> int:
    """Elements live for one slice of a streamed chain whose intermediate tensors have these shapes:
    each per-channel op holds its input slice and its output slice; the first and the closing op
    one slice: max over neighbours of slice(T_i) + slice(T_i+1) (slice = ceil(C / t) channels), times
    ``batch``. With ``bits`` (one per tensor, a precision spec) the result is bytes, each slice
    padded to whole bytes."""
    sl = [batch * _slice_elems(s, t) for s in shapes]
    if bits is not None:
        sl = [-(-e * k // 8) for e, k in zip(sl, bits)]
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
    projection; with ``fused-add`` it also reads the residual it accumulates into). Intermediate
    tensors must not be graph outputs. A unit is in at most one chain."""
    cons = consumers_of(p)
    used = set()
    chains = []

    def only_reader(u):
        (b,) = p.units[u].writes
        if b in p.outputs or len(cons[b]) != 1:
            return None
        v = cons[b][0]
        return v if v not in used else None

    for i, u in enumerate(p.units):
        if i in used or u.kind != "conv2d" or len(u.writes) != 1 or len(u.reads) != 1:
            continue
        chain = [i]
        v = only_reader(i)
        while (v is not None and p.units[v].per_channel and len(p.units[v].writes) == 1
               and len(p.units[v].reads) == 1):
            chain.append(v)
            v = only_reader(v)
        if len(chain) < 2:
            continue
        if (v is not None and p.units[v].kind == "conv2d" and not p.units[v].per_channel
                and (len(p.units[v].reads) == 1 or _fused_add(p, v))):
            chain.append(v)
        used.update(chain)
        chains.append(chain)
    return chains


def _fused_add(p: Plan, u: int) -> bool:
    """Whether unit ``u`` carries a residual add fused into it (``fused-add``)."""
    return any(p.graph.node(n).op.kind == "add" for n in p.units[u].nodes[1:])


def stream(p: Plan, split: Optional[int] = None) -> Plan:
    """Collapse every streamable chain into one unit reading x and writing y whose expanded tensors
    are computed in ``split`` channel slices (default: ``default_split`` per chain; an explicit
    ``split`` is used for every chain, capped at the chain's widest channel count), so it needs
    |x| + |y| + workspace (MobileNetV2 section 5.1; the first layer's trick is the same rule
    applied to the stem conv). Mult-Adds and MAC are unchanged (sums of the members)."""
    if split is not None and (isinstance(split, bool) or not isinstance(split, int) or split < 1):
        raise CostModelError(f"split must be a positive integer (number of slices), got {split!r}")
    size = p.sizes
    chains, splits = [], {}

    def external_reads(c):
        inner = {p.units[j].writes[0] for j in c[:-1]}
        return tuple(dict.fromkeys(b for j in c for b in p.units[j].reads if b not in inner))

    def workspace(c, t):
        inter = [p.buffers[p.units[j].writes[0]] for j in c[:-1]]
        bits = [b.bits for b in inter] if p.mixed else None
        return chain_workspace([b.shape for b in inter], t, bits, p.batch)

    for c in find_chains(p):
        last = p.units[c[-1]]
        shapes = [p.buffers[p.units[j].writes[0]].shape for j in c[:-1]]
        x = sum(size[b] for b in external_reads(c))
        y = sum(size[b] for b in last.writes)
        unstreamed = max(sum(size[b] for b in set(p.units[j].reads) | set(p.units[j].writes)) for j in c)
        t = default_split(shapes) if split is None else min(split, max(s[0] for s in shapes))
        if x + y + workspace(c, t) < unstreamed:  # stream only where it lowers the chain's need
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
            t = splits[i]
            for b in inter:
                slices.append((p.buffers[b].name, p.buffers[b].shape, t))
            mem = [p.units[j] for j in c]
            u = replace(u, name=f"{u.name}->{last.name}", kind="streamed", nodes=sum((m.nodes for m in mem), ()),
                        reads=external_reads(c), writes=last.writes, mac=sum(m.mac for m in mem),
                        weights=sum(m.weights for m in mem), flops=sum(m.flops for m in mem),
                        madds=sum(m.madds for m in mem), per_channel=False, workspace=workspace(c, t), split=t,
                        inplace=last.inplace if last is not u else ())
        remap[i] = len(new_units)
        new_units.append(u)
    # buffers internal to chains disappear; renumber
    internal = {p.units[j].writes[0] for c in chains for j in c[:-1]}
    keep = [b for b in range(len(p.buffers)) if b not in internal]
    bmap = {b: k for k, b in enumerate(keep)}
    buffers = tuple(replace(p.buffers[b], producer=-1 if p.buffers[b].producer < 0 else
                            remap[head_of.get(p.buffers[b].producer, p.buffers[b].producer)]) for b in keep)
    units = tuple(replace(u, reads=tuple(bmap[b] for b in u.reads), writes=tuple(bmap[b] for b in u.writes),
                          inplace=tuple(bmap[b] for b in u.inplace if b in bmap))
                  for u in new_units)
    node_unit = {nm: None for nm, v in p.node_unit.items() if v is None}
    for k, u in enumerate(units):
        node_unit.update(dict.fromkeys(u.nodes, k))
    return Plan(p.graph, units, buffers, frozenset(bmap[b] for b in p.outputs), node_unit, p.unfused, p.zero_copy,
                tuple(slices), p.inplace, p.batch)
