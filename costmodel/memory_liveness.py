"""Peak activation memory of a schedule (MobileNetV2 section 5): liveness over an order of a
plan's units, the optimal order, a lower bound valid for every order. Rules: docs/memory.md.

A buffer is live from the step of the unit that writes it to the step of its last reader (the
graph input from the first step; graph outputs to the end). A step holds the live buffers plus the
unit's workspace, minus the in-place saving: a unit with ``Unit.inplace`` candidates writes its
output over a candidate that dies at this step, so the two share min(|candidate|, |output|).
Sizes are the plan's size units (``Plan.sizes``: elements, or bytes under a precision spec).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from .errors import CostModelError, GraphError
from .graph import INPUT, Graph
from .memory_plan import Plan, Unit, consumers_of, plan

SCHEDULES = ("sequential", "optimal", "streamed")
#: the optimal-schedule search keeps at most this many states per step before it falls back to a beam
STATE_LIMIT = 2000
#: the optimal-schedule search expands at most about this many (state, unit) transitions in total; each
#: step may use an even share of what is left (at least one state is always expanded), so the beam
#: narrows as the frontier grows and the search time is bounded (see ``optimal_order``)
EXPANSION_BUDGET = 40_000

_consumers = consumers_of


@dataclass
class Schedule:
    """A schedule: unit order, live size units per step, the peak and where it occurs."""

    name: str
    plan: Plan
    order: Tuple[int, ...]
    live: List[int]                   #: size units live at each step (workspace included, in-place saving off)
    live_sets: List[Tuple[int, ...]]  #: buffer ids live at each step
    exact: bool = True                #: False when the optimal search fell back to a beam
    #: per step, (overwritten buffer, output buffer, saving) when the unit runs in place, else None
    overwrites: Optional[List[Optional[Tuple[int, int, int]]]] = None

    @property
    def lower_bound(self) -> int:
        """A lower bound of any schedule's peak (size units), see ``lower_bound``."""
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

    def bytes(self, units: int, bits: int = 32) -> int:
        return self.plan.nbytes(units, bits)


def intervals(p: Plan, order: Sequence[int]) -> Tuple[List[int], List[int]]:
    """Per buffer, the first and last step (inclusive) at which it is live in ``order``; the input
    starts at -1 (before the first step), graph outputs end at len(order)."""
    pos = {u: i for i, u in enumerate(order)}
    cons = consumers_of(p)
    n = len(order)
    start, end = [], []
    for b, buf in enumerate(p.buffers):
        s = -1 if buf.producer < 0 else pos[buf.producer]
        for c in cons[b]:
            if pos[c] < s:
                raise GraphError(f"schedule runs {p.units[c].name!r} before its input {buf.name!r} exists")
        e = n if b in p.outputs else max([pos[c] for c in cons[b]], default=s)
        start.append(s)
        end.append(e)
    return start, end


def inplace_saving(p: Plan, u: Unit, dies) -> Tuple[int, int, int]:
    """(overwritten buffer, output buffer, saving) of unit ``u`` when ``dies(b)`` tells which of its
    candidates die at its step: the candidate with the largest min(|b|, |output|); (-1, -1, 0) if none."""
    if not u.inplace or len(u.writes) != 1:
        return (-1, -1, 0)
    w = u.writes[0]
    size = p.sizes
    best = (-1, -1, 0)
    for b in u.inplace:
        if b not in p.outputs and dies(b):
            s = min(size[b], size[w])
            if s > best[2]:
                best = (b, w, s)
    return best


def evaluate(p: Plan, order: Sequence[int], name: str = "custom") -> Schedule:
    """Live memory of each step of ``order``: a buffer is live from its producer's step to its last
    reader's step (graph outputs to the end; the input from the start); a step also holds its
    unit's workspace and saves what an in-place unit shares with the input it overwrites."""
    pos = {u: i for i, u in enumerate(order)}
    if sorted(pos) != list(range(len(p.units))):
        raise GraphError("a schedule must list every unit exactly once")
    size = p.sizes
    n = len(order)
    if n == 0:  # only views / zero-copy ops: the input (which every output aliases) is all there is
        held = tuple(range(len(p.buffers)))
        return Schedule(name, p, (), [sum(size)], [held], True, [None])
    start, end = intervals(p, order)
    # sweep over the steps: buffer b enters at max(start, 0) and leaves after end (linear time)
    enter = [[] for _ in range(n + 1)]
    leave = [[] for _ in range(n + 2)]
    for b in range(len(p.buffers)):
        s0 = max(start[b], 0)
        if end[b] >= s0:
            enter[s0].append(b)
            leave[end[b] + 1].append(b)
    live, sets, over = [], [], []
    cur = set()
    total = 0
    for i, u in enumerate(order):
        for b in leave[i]:
            cur.discard(b)
            total -= size[b]
        for b in enter[i]:
            cur.add(b)
            total += size[b]
        sets.append(tuple(sorted(cur)))
        unit = p.units[u]
        ov = inplace_saving(p, unit, lambda b, i=i: end[b] == i)
        over.append(ov if ov[2] else None)
        live.append(total + unit.workspace - ov[2])
    return Schedule(name, p, tuple(order), live, sets, True, over)


def _ancestors(p: Plan) -> List[int]:
    anc = [0] * len(p.units)
    for i, u in enumerate(p.units):  # units are in a topological order
        for b in u.reads:
            j = p.buffers[b].producer
            if j >= 0:
                anc[i] |= anc[j] | 1 << j
    return anc


def lower_bound(p: Plan) -> int:
    """A lower bound of every schedule's peak: during unit u, its inputs, outputs and workspace are
    live, and so is every buffer written by an ancestor of u (or the graph input) that a descendant
    of u reads or the graph returns; minus u's in-place saving when its candidate can die at u (no
    other reader descends from u). The maximum over units (a plan without units: its buffers, i.e.
    the input that the outputs alias)."""
    n = len(p.units)
    size = p.sizes
    if n == 0:
        return sum(size)
    cons = consumers_of(p)
    anc = _ancestors(p)
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
                need += size[b]
        save = inplace_saving(p, u, lambda b, i=i: not ((cmask[b] & ~(1 << i)) & desc[i]))[2]
        best = max(best, need + u.workspace - save)
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
    order, exact, _ = _optimal(p, limit, budget)
    return order, exact


def optimal_peak(p: Plan, limit: int = STATE_LIMIT, budget: int = EXPANSION_BUDGET) -> int:
    """``schedule(p, "optimal").peak`` without evaluating the order step by step: the search's own
    peak of the order it returns (the search adds up the same live buffers, workspace and in-place
    savings as ``evaluate``; tests check the two agree on every zoo network and on random graphs)."""
    order, exact, peak = _optimal(p, limit, budget, track=False)
    if not exact:  # a beam: its peak is its order's, evaluated; the same search again, keeping the order
        peak = _optimal(p, limit, budget)[2]
    return peak


def _optimal(p: Plan, limit: int, budget: int, track: bool = True) -> Tuple[Tuple[int, ...], bool, int]:
    """``optimal_order``'s search; returns (order, exact, peak of that order). ``track=False``: the order is
    not kept (returned empty; the peak is exact only when ``exact`` is)."""
    units, bufs = p.units, p.buffers
    n = len(units)
    if n == 0:  # only views / zero-copy ops: one pseudo-step holding the input (see ``evaluate``)
        return (), True, evaluate(p, ()).peak
    size = p.sizes
    outputs = p.outputs
    producer = [b.producer for b in bufs]
    nread = [0] * len(bufs)  # per buffer, how many units read it
    cmask = [0] * len(bufs)  # per buffer read by several units, the set of them (a bit per unit); else 0
    preds = [0] * n
    succ: List[List[int]] = [[] for _ in range(n)]
    shared = set()  # units with a successor that has other predecessors
    for i, u in enumerate(units):
        reads = u.reads
        if len(reads) == 1:  # the usual single input, without a set
            b = reads[0]
            nread[b] += 1
            j = producer[b]
            if j >= 0:
                preds[i] = 1 << j
                succ[j].append(i)
            continue
        m = 0
        js = []
        for b in reads:
            nread[b] += 1
            j = producer[b]
            if j >= 0 and not m >> j & 1:  # succ[j] gets i once, in increasing i
                m |= 1 << j
                succ[j].append(i)
                js.append(j)
        preds[i] = m
        if len(js) > 1:
            shared.update(js)
    # per unit: the size it adds to the resident set after its step (what it writes, less a written buffer
    # nothing reads and the graph does not return, and less what it reads that only it reads, both freed at
    # once), plus its workspace on top during its step; and the buffers it reads that other units read too,
    # freed after it when those have run (``cmask`` has the set of their readers)
    wsize, step_add, frees, inplace = [], [], [], []
    for i, u in enumerate(units):
        writes, reads = u.writes, u.reads
        if len(writes) == 1:
            b = writes[0]
            w = size[b]
            dead = 0 if nread[b] or b in outputs else w
        else:
            w = sum([size[b] for b in writes])
            dead = sum([size[b] for b in writes if not nread[b] and b not in outputs])
        step_add.append(w + u.workspace)
        if len(reads) == 1:  # the usual case: no new tuple
            b = reads[0]
            if b in outputs:
                frees.append(())
            elif nread[b] == 1:  # only this unit reads it: freed after its step, whatever the order
                dead += size[b]
                frees.append(())
            else:
                frees.append(reads)
                cmask[b] |= 1 << i
        else:
            check = []
            for b in dict.fromkeys(reads):
                if nread[b] > 1:
                    cmask[b] |= 1 << i
                if b not in outputs:
                    if nread[b] == 1:
                        dead += size[b]
                    else:
                        check.append(b)
            frees.append(tuple(check))
        wsize.append(w - dead)
        inplace.append(bool(u.inplace))
    res0 = sum([size[b] for b, j in enumerate(producer) if j < 0 and (nread[b] or b in outputs)])
    start = tuple(i for i in range(n) if preds[i] == 0)
    # per unit, its successors as a tuple when each has no other predecessor (all ready as soon as it
    # has run: a chain's case, no set to test), else None
    alone = [None if j in shared else tuple(vs) for j, vs in enumerate(succ)]
    # a state: set -> (peak so far, resident size, the parent's ready units, the unit just run, the order
    # so far as a linked list (last unit, the rest) or None); a state's own ready units are derived only
    # when it is expanded (cheap when the beam is narrow). Sets key only the layer dict of one step: a set
    # is a large int, and ints hash modulo 2**61 - 1, so that the nested sets of a long chain (a dict of
    # every step's sets) collide by dozens
    layer: Optional[Dict[int, tuple]] = {0: (0, res0, start, -1, None)}
    exact = True
    remaining = budget

    def ready_of(s, entry):
        """The units ready in state ``s``: the parent's ready units but the one just run, and those of
        its successors whose predecessors are all in ``s`` (both lists ascending)."""
        _, _, pready, last, _ = entry
        if last < 0:
            return pready
        nxt = alone[last]
        if nxt is None:
            ns = ~s
            nxt = [v for v in succ[last] if not preds[v] & ns]
        if len(pready) == 1:  # only ``last``
            return tuple(nxt)
        rest = [v for v in pready if v != last]
        return tuple(sorted(rest + list(nxt))) if nxt else tuple(rest)

    def step(s, u, peak, res):
        """(the set after unit u runs, the peak so far, the bytes resident after it) from state s
        with its ``peak`` and resident ``res`` (the layered search's step; chains inline it)."""
        s2 = s | 1 << u
        pk = res + step_add[u]
        if inplace[u]:
            pk -= inplace_saving(p, units[u], lambda b: not cmask[b] & ~s2)[2]
        freed = 0
        if frees[u]:
            ns2 = ~s2
            for b in frees[u]:
                if not cmask[b] & ns2:
                    freed += size[b]
        return s2, pk if pk > peak else peak, res + wsize[u] - freed

    def best_first(items):
        return sorted(items, key=lambda kv: (kv[1][0], kv[1][1]))

    k = 0
    while k < n:
        if layer is None or (len(layer) == 1 and limit >= 1):
            # one state (a chain, or a narrow point of the graph): nothing to rank or cut, as the best
            # state is always expanded whatever the allowance. The general step below, specialized:
            # its successors are distinct sets, so none is compared with another. While a single unit
            # is ready, the one state is kept in (s, peak, res, pready, last, link) rather than a layer.
            if layer is not None:
                ((s, (peak, res, pready, last, link)),) = layer.items()
                layer = None
            if last < 0:
                ready = pready
            elif len(pready) == 1:  # ready_of, inlined for a chain: only ``last`` was ready
                ready = alone[last]
                if ready is None:
                    ns = ~s
                    ready = tuple([v for v in succ[last] if not preds[v] & ns])
            else:
                ready = ready_of(s, (peak, res, pready, last, link))
            if len(ready) == 1:
                u = ready[0]
                s2 = s | 1 << u
                pk = res + step_add[u]
                if inplace[u]:
                    pk -= inplace_saving(p, units[u], lambda b, s2=s2: not cmask[b] & ~s2)[2]
                if pk < peak:
                    pk = peak
                res += wsize[u]
                if frees[u]:  # read by other units too: freed if those have run
                    ns2 = ~s2
                    for b in frees[u]:
                        if not cmask[b] & ns2:
                            res -= size[b]
                s, peak, pready, last = s2, pk, ready, u
                if track:
                    link = (u, link)
                remaining -= 1
                k += 1
                continue
            new: Dict[int, tuple] = {}
            for u in ready:
                s2, pk, res2 = step(s, u, peak, res)
                new[s2] = (pk, res2, ready, u, (u, link) if track else None)
            remaining -= len(ready)
            layer = new
            k += 1
            continue
        allowance = max(1, remaining // (n - k))
        items = list(layer.items())
        readies: list = []
        if len(items) > limit:
            exact = False
            items = best_first(items)[:limit]
        elif len(items) > allowance:  # every state has a ready unit: the beam must narrow
            items = best_first(items)
        elif len(items) > 1:
            readies = [ready_of(s, e) for s, e in items]  # aligned with items (sets hash poorly as keys)
            if sum(map(len, readies)) > allowance:
                readies = []
                items = best_first(items)
        new = {}
        used = 0
        for i, (s, entry) in enumerate(items):
            ready = readies[i] if readies else ready_of(s, entry)
            if used and used + len(ready) > allowance:
                exact = False
                break
            used += len(ready)
            peak, res = entry[0], entry[1]
            for u in ready:
                s2, pk, res2 = step(s, u, peak, res)
                cur = new.get(s2)
                if cur is not None and cur[0] <= pk:
                    continue
                new[s2] = (pk, res2, ready, u, (u, entry[4]) if track else None)
        remaining -= used
        layer = new
        k += 1
    if layer is not None:
        ((s, (peak, *_, link)),) = layer.items()
    order = []
    while link is not None:
        u, link = link
        order.append(u)
    order = tuple(reversed(order))
    if not exact and track:  # a beam: compare with the definition order (both evaluated, as documented)
        seq, peak = evaluate(p, range(n)).peak, evaluate(p, order).peak
        if seq < peak:
            return tuple(range(n)), exact, seq
    return order, exact, peak


def make_plan(graph_or_plan, *, unfused: bool = False, zero_copy: bool = False, inplace=(), batch: int = 1,
              precision=None) -> Plan:
    """``graph_or_plan`` itself if it is a Plan, else ``plan(graph, ...)``."""
    if isinstance(graph_or_plan, Plan):
        return graph_or_plan
    return plan(graph_or_plan, unfused, zero_copy, inplace=inplace, batch=batch, precision=precision)


def schedule(graph_or_plan, name: str = "optimal", *, unfused: bool = False, zero_copy: bool = False,
             split: Optional[int] = None, limit: int = STATE_LIMIT, budget: int = EXPANSION_BUDGET,
             inplace=(), batch: int = 1, precision=None) -> Schedule:
    """A ``Schedule`` of ``name``: sequential (definition order), optimal (lowest peak over all
    topological orders) or streamed (chains collapsed by ``stream``, then the optimal order). A Plan
    given keeps its own options (unfused, zero_copy, inplace, batch, precision)."""
    from .memory_stream import stream
    if name not in SCHEDULES:
        raise CostModelError(f"unknown schedule {name!r}; accepted: {', '.join(SCHEDULES)}")
    p = make_plan(graph_or_plan, unfused=unfused, zero_copy=zero_copy, inplace=inplace, batch=batch,
                  precision=precision)
    if name == "sequential":
        return evaluate(p, range(len(p.units)), name)
    if name == "streamed":
        p = stream(p, split)
    order, exact = optimal_order(p, limit, budget)
    s = evaluate(p, order, name)
    s.exact = exact or s.peak == s.lower_bound  # a beam result meeting the bound is optimal
    return s


def peak_bytes(graph: Graph, bits: int = 32, schedule_name: str = "optimal", **kw) -> int:
    """Peak activation memory in bytes of a schedule (keywords as ``schedule``)."""
    s = schedule(graph, schedule_name, **kw)
    return s.plan.nbytes(s.peak, bits)
