"""Memory access cost (ShuffleNet V2 section 2) and peak activation memory (MobileNetV2 section 5),
as devices plan it: in-place kernels, arena planners (TensorFlow Lite Micro), patch-based inference
(MCUNetV2), batch and per-layer precision. Pure functions over a ``Graph``; every rule is in
docs/memory.md. The work is split by job; this module re-exports every public name:

* ``costmodel.memory_plan``: ``plan`` (units and buffers, BN folding, activation fusion, views,
  zero-copy, in-place kernel options, batch, precision), ``node_mac``, ``check_bits``, ``to_bytes``;
* ``costmodel.memory_liveness``: ``schedule``, ``evaluate``, ``optimal_order``, ``lower_bound``,
  ``peak_bytes``;
* ``costmodel.memory_stream``: MobileNetV2's streamed bottleneck (``stream``, ``find_chains``);
* ``costmodel.memory_arena``: TFLM's greedy and linear arena planners and the memory map;
* ``costmodel.memory_patches``: patch-based inference of the early stage (MCUNetV2);
* ``costmodel.precision``: per-layer precision and weight bytes (Flash);
* this module: ``report`` (the JSON contract of ``costmodel memory``) and ``resolutions``.
"""
from __future__ import annotations

from typing import Dict, List, Optional

from .graph import Graph
from .memory_arena import PLANNERS, Arena, plan_arena
from .memory_liveness import (EXPANSION_BUDGET, SCHEDULES, STATE_LIMIT, Schedule, _consumers, evaluate,
                              lower_bound, make_plan, optimal_order, peak_bytes, schedule)
from .memory_plan import (BITS, FOLD_BN_INTO, FUSE_ACT_INTO, INPLACE, ZERO_COPY_KINDS, Buffer, Plan, Unit,
                          check_batch, check_bits, node_mac, parse_inplace, plan, to_bytes)
from .memory_plan import _fuse, _is_per_channel  # noqa: F401  (kept importable from costmodel.memory)
from .memory_stream import _slice_elems, chain_workspace, default_split, find_chains, stream  # noqa: F401
from .ops import numel

__all__ = ["BITS", "FOLD_BN_INTO", "FUSE_ACT_INTO", "INPLACE", "ZERO_COPY_KINDS", "Buffer", "Plan", "Unit",
           "check_batch", "check_bits", "node_mac", "parse_inplace", "plan", "to_bytes", "EXPANSION_BUDGET",
           "SCHEDULES", "STATE_LIMIT", "Schedule", "evaluate", "lower_bound", "make_plan", "optimal_order",
           "peak_bytes", "schedule", "chain_workspace", "default_split", "find_chains", "stream", "PLANNERS",
           "Arena", "plan_arena", "size_label", "resolutions", "report", "_consumers"]


def size_label(shape) -> str:
    return f"{shape[1]}x{shape[2]}" if len(shape) == 3 else "1x1"


def resolutions(p: Plan, bits: int = 32) -> List[dict]:
    """Per spatial size, the largest materialized tensor (vectors count as 1x1; the slices of a
    streamed chain count as tensors of ceil(C / t) channels): MobileNetV2 Table 3's quantity.
    Bytes at ``bits`` times the plan's batch (a buffer's own bits under a precision spec)."""
    bits_of = {b.name: b.bits for b in p.buffers}
    cands = [(b.name, b.shape, b.bits) for b in p.buffers]
    cands += [(f"{name}[1/{t}]", (-(-shape[0] // t),) + tuple(shape[1:]), bits_of.get(name, 0))
              for name, shape, t in p.slices]
    best: Dict[str, tuple] = {}
    for name, shape, k in cands:
        key = size_label(shape)
        e = numel(shape)
        if key not in best or e > best[key][0]:
            best[key] = (e, shape[0], name, k)
    rows = sorted(best.items(), key=lambda kv: -_area(kv[0]))
    return [{"size": key, "max_channels": c, "max_bytes": _bytes(p.batch * e, k, bits), "tensor": nm}
            for key, (e, c, nm, k) in rows]


def _bytes(elements: int, own_bits: int, bits: int) -> int:
    return -(-elements * own_bits // 8) if own_bits else to_bytes(elements, bits)


def _area(label: str) -> int:
    h, w = label.split("x")
    return int(h) * int(w)


def report(graph: Graph, schedule_name: str = "optimal", bits: int = 32, *, unfused: bool = False,
           zero_copy: bool = False, split: Optional[int] = None, inplace=(), batch: int = 1,
           planner: str = "none", align: int = 1, precision=None, weight_bits: int = 32) -> dict:
    """The JSON contract of ``costmodel memory``: the peak of ``schedule_name`` and what is live there,
    the largest tensor per resolution, the timeline, and the arena of ``planner`` (per buffer: offset,
    size, first_use, last_use). ``precision``: a ``costmodel.precision.Precision``; by default the
    graph's own (``graph.meta["precision"]``), if any."""
    from .precision import check_weight_bits, graph_precision, weight_bytes
    bits = check_bits(bits)
    weight_bits = check_weight_bits(weight_bits)
    if planner not in PLANNERS:
        from .errors import CostModelError
        raise CostModelError(f"unknown planner {planner!r}; accepted: {', '.join(PLANNERS)}")
    opts = parse_inplace(inplace)
    prec = precision if precision is not None else graph_precision(graph, bits, weight_bits)
    s = schedule(graph, schedule_name, unfused=unfused, zero_copy=zero_copy, split=split, inplace=opts,
                 batch=batch, precision=prec)
    p = s.plan
    i = s.peak_step
    live = [{"tensor": p.buffers[b].name, "shape": list(p.buffers[b].shape),
             "bytes": p.nbytes(p.sizes[b], bits)} for b in s.live_sets[i]]
    u = s.peak_unit
    if u is not None and u.workspace:
        live.append({"tensor": f"{u.name} slices (1/{u.split})", "shape": [], "bytes": p.nbytes(u.workspace, bits)})
    ov = s.overwrites[i] if s.overwrites else None
    if ov:
        live.append({"tensor": f"{p.buffers[ov[1]].name} written over {p.buffers[ov[0]].name} (in place)",
                     "shape": [], "bytes": -p.nbytes(ov[2], bits)})
    arena = plan_arena(s, planner, bits, align)
    out = {
        "network": graph.meta.get("network", graph.name),
        "peak_bytes": p.nbytes(s.peak, bits),
        "peak_at": s.peak_at,
        "schedule": schedule_name,
        "bits": bits,
        "exact": s.exact,
        "lower_bound_bytes": p.nbytes(s.lower_bound, bits),
        "live_at_peak": live,
        "resolutions": resolutions(p, bits),
        "timeline": [{"step": k, "op": op, "live_bytes": p.nbytes(e, bits)}
                     for k, (op, e) in enumerate(zip(s.step_names(), s.live))],
        "inplace": sorted(opts),
        "batch": p.batch,
        "planner": planner,
        "arena_bytes": arena.arena_bytes,
        "fragmentation_bytes": arena.fragmentation_bytes,
        "align": align,
        "buffers": [{k: b[k] for k in ("tensor", "offset", "size", "first_use", "last_use")} for b in arena.buffers],
    }
    out["weight_bits"] = weight_bits
    out["weight_bytes"] = weight_bytes(graph, weight_bits, prec)
    if prec is not None:
        out["precision"] = prec.to_dict()
    return out
