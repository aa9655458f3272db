"""Patch-based inference (MCUNetV2, Lin et al. 2021, arXiv 2110.15352, section 3.1): the early,
memory-hungry stage runs patch by patch, the rest layer by layer. Rules: docs/memory.md
("Patch-based inference").

The stage is a prefix of the plan's units ending at the *split* unit, whose output is the only
tensor of the stage read after it (a cut: no skip connection crosses the split). Its output is cut
into a grid of non-overlapping patches (rows ``i*H//p`` to ``(i+1)*H//p``); for each patch the
region every tensor of the stage must provide is computed backwards, unit by unit: a conv or pooling
window needs input rows ``a*s - pad_top`` to ``(b-1)*s - pad_top + (k-1)*d`` of output rows ``a..b-1``,
clipped to the tensor (the clipped part is the zero padding at the borders); element-wise ops need
the same region; a tensor read by several units needs the bounding box of their regions. Neighbouring
patches' regions overlap, and the overlap is computed again: the Mult-Adds overhead.

Memory of the patch stage = the whole split tensor (it is filled patch by patch) + the largest
liveness peak over the patches of the stage run on patch-sized tensors (the graph input counts as
its patch region: the image is read, or decoded, patch by patch, as MCUNetV2 counts it). The later
stage is a plan whose input is the split tensor. Peak = the larger of the two.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Dict, List, Optional, Tuple

from .errors import CostModelError
from .graph import Graph
from .memory_plan import Plan, consumers_of

WINDOW_KINDS = ("conv2d", "maxpool", "avgpool")
SAME_REGION_KINDS = ("batchnorm", "activation", "add", "concat", "channel_shuffle", "split", "dropout")


def parse_grid(text) -> Tuple[int, int]:
    """``"4x4"`` (rows x columns) or ``"4"`` -> (4, 4)."""
    if isinstance(text, (tuple, list)) and len(text) == 2:
        parts = [str(v) for v in text]
    else:
        parts = str(text).lower().split("x")
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or not all(p.strip().isdigit() and int(p) >= 1 for p in parts):
        raise CostModelError(f"patch grid must be ROWSxCOLS of positive integers (e.g. 4x4), got {text!r:.60}")
    from . import limits
    limits.check("patches", int(parts[0]) * int(parts[1]), f"patches in the {int(parts[0])}x{int(parts[1])} grid")
    return int(parts[0]), int(parts[1])


def parse_overhead(text) -> float:
    """``"10%"`` or ``0.1`` -> 0.1 (a fraction of the network's Mult-Adds, at least 0)."""
    try:
        v = float(str(text).rstrip("%")) / (100 if str(text).endswith("%") else 1)
    except ValueError:
        v = -1.0
    if not v >= 0:
        raise CostModelError(f"max overhead must be a non-negative percentage (e.g. 10%) or fraction, got {text!r}")
    return v


def ref_buffers(p: Plan) -> Dict[str, Tuple[int, ...]]:
    """Tensor ref -> the buffers holding it (views and zero-copy ops alias their inputs)."""
    out: Dict[str, Tuple[int, ...]] = {"input": (0,)}
    for n in p.graph.nodes:
        u = p.node_unit.get(n.name)
        if u is None:
            held = tuple(dict.fromkeys(b for r in n.inputs for b in out[r]))
            for r in n.outputs:
                out[r] = held
        else:
            w = p.units[u].writes
            for i, r in enumerate(n.outputs):
                out[r] = (w[i],) if len(w) == len(n.outputs) else w[:1]
    return out


def _patch_error(p: Plan, u: int, why: str) -> CostModelError:
    return CostModelError(f"unit {p.units[u].name!r} cannot run patch by patch: {why}")


def _head_rule(p: Plan, u: int, refs):
    """(window op or None, the buffers its window applies to) of unit ``u``; raises if the unit needs
    more than a spatial neighbourhood of each output pixel."""
    unit = p.units[u]
    g = p.graph
    for name in unit.nodes:
        node = g.node(name)
        op = node.op
        if name == unit.nodes[0] and op.kind in WINDOW_KINDS:
            continue
        if op.kind in SAME_REGION_KINDS:
            continue
        if op.kind == "multiply" and all(s[1:] == node.out_shapes[0][1:] for s in node.in_shapes):
            continue
        raise _patch_error(p, u, f"{op.kind} ({name}) needs the whole map")
    for b in unit.reads + unit.writes:
        if len(p.buffers[b].shape) != 3:
            raise _patch_error(p, u, f"tensor {p.buffers[b].name!r} is not a feature map")
    head = g.node(unit.nodes[0])
    if head.op.kind in WINDOW_KINDS:
        return head, set(refs[head.inputs[0]])
    return None, set()


def cuts(p: Plan) -> List[int]:
    """Unit indices k where units 0..k form a patchable stage: unit k writes one feature map, the
    only tensor of units 0..k (or the input) that a later unit reads or the graph returns."""
    cons = consumers_of(p)
    refs = ref_buffers(p)
    last_reader = [max(c, default=-1) for c in cons]
    out = []
    for k, unit in enumerate(p.units):
        try:
            _head_rule(p, k, refs)
        except CostModelError:
            break
        if len(unit.writes) != 1:
            continue
        w = unit.writes[0]
        crossing = [b for b, buf in enumerate(p.buffers) if buf.producer <= k and b != w
                    and (last_reader[b] > k or b in p.outputs)]
        if not crossing and w not in p.outputs and len(p.buffers[w].shape) == 3:
            out.append(k)
    return out


def _window(head, rows, cols):
    op = head.op
    h, w = head.in_shapes[0][1:]
    t, _, left, _ = op.pads((h, w))
    d = getattr(op, "dilation", (1, 1))

    def back(a, b, k, s, dd, pad, size):
        return max(0, a * s - pad), min(size, (b - 1) * s - pad + (k - 1) * dd + 1)
    return (back(rows[0], rows[1], op.kernel[0], op.stride[0], d[0], t, h),
            back(cols[0], cols[1], op.kernel[1], op.stride[1], d[1], left, w))


def _rules(p: Plan, k: int) -> list:
    """``_head_rule`` of units 0..k (computed once per plan and stage)."""
    refs = ref_buffers(p)
    return [_head_rule(p, u, refs) for u in range(k + 1)]


def regions(p: Plan, k: int, out_region, rules: Optional[list] = None) -> Dict[int, tuple]:
    """Buffer -> ((r0, r1), (c0, c1)) each tensor of stage 0..k must provide for the patch
    ``out_region`` of unit k's output (computed backwards through the stage); ``rules``: the
    stage's ``_rules`` if already computed."""
    rules = _rules(p, k) if rules is None else rules
    need: Dict[int, tuple] = {p.units[k].writes[0]: out_region}
    for u in range(k, -1, -1):
        unit = p.units[u]
        r = None
        for b in unit.writes:
            if b in need:
                r = need[b]
        if r is None:
            continue
        head, windowed = rules[u]
        for b in unit.reads:
            rb = _window(head, *r) if b in windowed else r
            old = need.get(b)
            need[b] = rb if old is None else ((min(old[0][0], rb[0][0]), max(old[0][1], rb[0][1])),
                                              (min(old[1][0], rb[1][0]), max(old[1][1], rb[1][1])))
    return need


def _area(r) -> int:
    return max(0, r[0][1] - r[0][0]) * max(0, r[1][1] - r[1][0])


def _bounds(n: int, parts: int) -> List[Tuple[int, int]]:
    return [(i * n // parts, (i + 1) * n // parts) for i in range(parts)]


def _subplan(p: Plan, units: List[int], shapes: Dict[int, tuple], zero: Optional[int] = None,
             inputs: Tuple[int, ...] = ()) -> Plan:
    """The plan of ``units`` only, buffers reshaped by ``shapes`` (buffer -> shape); ``zero``: a
    buffer counted elsewhere (size 0 here); ``inputs``: buffers made graph inputs (producer -1)."""
    keep = sorted({b for u in units for b in p.units[u].reads + p.units[u].writes})
    bmap = {b: i for i, b in enumerate(keep)}
    umap = {u: i for i, u in enumerate(units)}
    bufs = []
    for b in keep:
        buf = p.buffers[b]
        shape = shapes.get(b, buf.shape)
        if b == zero:
            shape = (0,) + tuple(shape[1:])
        prod = -1 if b in inputs or buf.producer not in umap else umap[buf.producer]
        bufs.append(replace(buf, shape=tuple(shape), producer=prod))
    us = tuple(replace(p.units[u], reads=tuple(bmap[b] for b in p.units[u].reads),
                       writes=tuple(bmap[b] for b in p.units[u].writes),
                       inplace=tuple(bmap[b] for b in p.units[u].inplace if b in bmap)) for u in units)
    outs = frozenset(bmap[b] for b in p.outputs if b in bmap)
    if zero is not None and zero in bmap:
        outs |= {bmap[zero]}
    return Plan(p.graph, us, tuple(bufs), outs, {}, p.unfused, p.zero_copy, (), p.inplace, p.batch)


def _peak(sub: Plan, schedule_name: str):
    from .memory_liveness import evaluate, optimal_order
    if not sub.units:
        return None
    if schedule_name == "sequential":
        return evaluate(sub, range(len(sub.units)), schedule_name)
    order, exact = optimal_order(sub)
    s = evaluate(sub, order, schedule_name)
    s.exact = exact  # False: a beam's order, an upper bound (``_patched_bound`` compares it with the bound)
    return s


def _live(s, bits: int, prefix: str = "") -> List[dict]:
    """What is live at schedule ``s``'s peak (tensor, shape, bytes; the in-place saving as a negative row)."""
    sp = s.plan
    i = s.peak_step
    out = [{"tensor": prefix + sp.buffers[b].name, "shape": list(sp.buffers[b].shape),
            "bytes": sp.nbytes(sp.sizes[b], bits)} for b in s.live_sets[i] if sp.sizes[b]]
    ov = s.overwrites[i] if s.overwrites else None
    if ov:
        out.append({"tensor": f"{prefix}{sp.buffers[ov[1]].name} written over {sp.buffers[ov[0]].name} (in place)",
                    "shape": [], "bytes": -sp.nbytes(ov[2], bits)})
    return out


def _patched_bound(size_w: int, patch_schedules: list, later) -> Tuple[int, bool]:
    """(a lower bound of the patch-based plan's peak over every order of each stage's units, whether
    the peak found is optimal): the per-patch stage needs the split tensor plus the bound of its worst
    patch, the later stage its own bound (``memory_liveness.lower_bound`` of each stage's plan); the
    peak is optimal when every stage's schedule is."""
    scheds = [s for s in patch_schedules + [later] if s is not None]
    patch_lb = max((s.lower_bound for s in patch_schedules if s is not None), default=0)
    bound = max(size_w + patch_lb, later.lower_bound if later is not None else size_w)
    return bound, all(s.exact or s.peak == s.lower_bound for s in scheds)


def evaluate_split(p: Plan, k: int, grid: Tuple[int, int], bits: int = 32, schedule_name: str = "optimal",
                   whole_input: bool = False, bound: bool = True) -> dict:
    """Patch-based schedule of plan ``p`` with the stage 0..k run in ``grid`` patches (see the module
    docstring). Returns the peak (bytes at ``bits``), the Mult-Adds with the overlap's overhead and
    the per-stage breakdown; with ``bound``, the lower bound of this patch-based plan's peak
    (``lower_bound_bytes``) and whether the peak is optimal (``exact``), see ``_patched_bound``."""
    w = p.units[k].writes[0]
    c, h, wd = p.buffers[w].shape
    ph, pw = grid
    if ph > h or pw > wd:
        raise CostModelError(f"patch grid {ph}x{pw} is finer than the split tensor {p.buffers[w].name!r} ({h}x{wd})")
    stage = list(range(k + 1))
    size_w = p.sizes[w]
    madds_px = []
    for u in stage:
        ob = p.units[u].writes[0]
        oh, ow = p.buffers[ob].shape[1:]
        madds_px.append((p.units[u].madds, oh * ow))
    worst, patches, stage_madds = None, [], 0
    rules = _rules(p, k)
    peaks: Dict[tuple, object] = {}   # patches whose tensors have the same shapes have the same schedule
    for i, rows in enumerate(_bounds(h, ph)):
        for j, cols in enumerate(_bounds(wd, pw)):
            need = regions(p, k, (rows, cols), rules)
            shapes = {b: (p.buffers[b].shape[0], r[0][1] - r[0][0], r[1][1] - r[1][0]) for b, r in need.items()}
            if whole_input:
                shapes.pop(0, None)
            madds = 0
            for u in stage:
                r = need.get(p.units[u].writes[0])
                m, px = madds_px[u]
                if r is not None:
                    if (m * _area(r)) % px:
                        raise CostModelError(f"unit {p.units[u].name!r}: Mult-Adds {m} not divisible by its {px} "
                                             f"output pixels")
                    madds += m * _area(r) // px
            stage_madds += madds
            key = tuple(sorted(shapes.items()))
            if key not in peaks:
                peaks[key] = _peak(_subplan(p, stage, shapes, zero=w), schedule_name)
            s = peaks[key]
            entry = {"patch": [i, j], "rows": list(rows), "cols": list(cols),
                     "input_region": [list(need[0][0]), list(need[0][1])] if 0 in need else None,
                     "peak_bytes": p.nbytes(size_w + s.peak, bits), "madds": madds}
            patches.append(entry)
            if worst is None or s.peak > worst[0].peak:
                worst = (s, (i, j))
    base = sum(u.madds for u in p.units)
    stage_base = sum(p.units[u].madds for u in stage)
    later_units = list(range(k + 1, len(p.units)))
    later = _peak(_subplan(p, later_units, {}, inputs=(w,)), schedule_name) if later_units else None
    patch_peak = size_w + worst[0].peak
    later_peak = later.peak if later else size_w
    ws, (wi, wj) = worst
    stages = [
        {"stage": "per-patch", "units": [p.units[0].name, p.units[k].name], "grid": f"{ph}x{pw}",
         "peak_bytes": p.nbytes(patch_peak, bits), "peak_at": f"patch ({wi},{wj}) {ws.peak_at}",
         "output_bytes": p.nbytes(size_w, bits), "patch_peak_bytes": p.nbytes(ws.peak, bits),
         "madds": stage_madds, "base_madds": stage_base},
        {"stage": "per-layer", "units": [p.units[later_units[0]].name, p.units[-1].name] if later_units else [],
         "peak_bytes": p.nbytes(later_peak, bits), "peak_at": later.peak_at if later else p.buffers[w].name,
         "madds": base - stage_base, "base_madds": base - stage_base},
    ]
    timeline = [{"op": f"patch ({wi},{wj}) {name}", "live_bytes": p.nbytes(size_w + e, bits)}
                for name, e in zip(ws.step_names(), ws.live)]
    if later:
        timeline += [{"op": name, "live_bytes": p.nbytes(e, bits)} for name, e in zip(later.step_names(), later.live)]
    peak = max(patch_peak, later_peak)
    if patch_peak >= later_peak:
        live = [{"tensor": p.buffers[w].name, "shape": [c, h, wd], "bytes": p.nbytes(size_w, bits)}]
        live += _live(ws, bits, f"patch ({wi},{wj}) ")
    else:
        live = _live(later, bits) if later else [{"tensor": p.buffers[w].name, "shape": [c, h, wd],
                                                  "bytes": p.nbytes(size_w, bits)}]
    out = {"live_at_peak": live, "grid": f"{ph}x{pw}", "split": p.units[k].name, "split_tensor": p.buffers[w].name,
           "split_shape": [c, h, wd], "peak_bytes": p.nbytes(peak, bits),
           "peak_at": stages[0]["peak_at"] if patch_peak >= later_peak else stages[1]["peak_at"],
           "madds": base + stage_madds - stage_base, "base_madds": base,
           "overhead_madds": stage_madds - stage_base,
           "overhead": (stage_madds - stage_base) / base if base else 0.0,
           "stages": stages, "patches": patches,
           "timeline": [{"step": n, **t} for n, t in enumerate(timeline)]}
    if bound:
        lb, out["exact"] = _patched_bound(size_w, list(peaks.values()), later)
        out["lower_bound_bytes"] = p.nbytes(lb, bits)
    return out


def patch_schedule(graph_or_plan, grid="4x4", split="auto", *, bits: int = 32, inplace=(), batch: int = 1,
                   precision=None, max_overhead=0.10, schedule_name: str = "optimal",
                   whole_input: bool = False) -> dict:
    """The patch-based schedule of a graph: ``split`` is the last layer of the per-patch stage (a node
    name; any node of its unit) or ``"auto"``: the split with the lowest peak whose Mult-Adds overhead
    is at most ``max_overhead`` of the network's (``"10%"`` or 0.1); ties go to the smaller overhead,
    then the earlier split. The result of ``evaluate_split`` plus ``candidates`` (every valid split
    with its peak and overhead) and ``max_overhead``."""
    from .memory_liveness import make_plan
    from .memory_plan import check_bits
    check_bits(bits)
    if schedule_name not in ("sequential", "optimal"):
        raise CostModelError(f"patch-based inference takes the sequential or optimal schedule, got {schedule_name!r}")
    grid = parse_grid(grid)
    budget = parse_overhead(max_overhead)
    p = graph_or_plan if isinstance(graph_or_plan, Plan) else make_plan(
        graph_or_plan, inplace=inplace, batch=batch, precision=precision)
    valid = cuts(p)
    fits = [k for k in valid if p.buffers[p.units[k].writes[0]].shape[1] >= grid[0]
            and p.buffers[p.units[k].writes[0]].shape[2] >= grid[1]]
    if not fits:
        raise CostModelError(f"{p.graph.name!r} has no layer after which the network can be split for {grid[0]}x"
                             f"{grid[1]} patches (the first layers need the whole map)")
    if split != "auto":
        u = p.node_unit.get(split)
        if u is None or u not in fits:
            names = ", ".join(p.units[k].name for k in fits[:8]) + (", ..." if len(fits) > 8 else "")
            why = "is not a layer of the network" if split not in p.node_unit else "is not a valid split"
            raise CostModelError(f"--patch-until {split!r} {why}; accepted: auto or a layer ending a patchable "
                                 f"stage whose output only later layers read: {names}")
        out = evaluate_split(p, u, grid, bits, schedule_name, whole_input)
        out["max_overhead"] = None
        return out
    results = [evaluate_split(p, k, grid, bits, schedule_name, whole_input, bound=False) for k in fits]
    cands = [{"split": r["split"], "peak_bytes": r["peak_bytes"], "overhead_madds": r["overhead_madds"],
              "overhead": r["overhead"]} for r in results]
    ok = [r for r in results if r["overhead"] <= budget + 1e-12]
    if not ok:
        least = min(results, key=lambda r: r["overhead"])
        raise CostModelError(f"no split keeps the Mult-Adds overhead within {budget:.1%}; the smallest is "
                             f"{least['overhead']:.1%} at {least['split']!r} (raise --max-overhead)")
    pick = min(ok, key=lambda r: (r["peak_bytes"], r["overhead_madds"]))
    k = next(fits[i] for i, r in enumerate(results) if r is pick)
    best = evaluate_split(p, k, grid, bits, schedule_name, whole_input)  # again, with its bound
    best["candidates"] = cands
    best["max_overhead"] = budget
    return best


def patch_peak_bytes(graph: Graph, grid="4x4", split="auto", **kw) -> int:
    """Peak activation bytes of the patch-based schedule (keywords as ``patch_schedule``)."""
    return patch_schedule(graph, grid, split, **kw)["peak_bytes"]
