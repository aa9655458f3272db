"""What did my change cost? Two graphs side by side, group by group (``costmodel.rollup``), with the
deltas (B - A) and ratios (B / A) of params, Mult-Adds, MAC, peak memory and, on a device, the
estimated time.

Groups are matched by identity: a stage by its row in the network's table (so ``--depth-mult`` changes
keep stages matched), a block or part by its name (``ir4``, ``stage2.1``), a layer by its name. A
group of one side only is ``added`` (only in B) or ``removed`` (only in A) and keeps its place in
its side's order. Per group:

* ``params``, ``madds``, ``mac`` (elements): sums over the group's layers, as ``costmodel table``;
* ``peak_bytes``: the most activation memory live while one of the group's ops runs, in the
  optimal schedule at ``bits`` (``costmodel memory``'s timeline); the total is the network's peak;
* ``time_s`` (with a device): the device's own model per executed unit (``roofline.unit_times``:
  the roofline, or a calibrated predictor), summed; the total is ``roofline.predict``.
"""
from __future__ import annotations

from typing import Dict, List, Optional

#: the quantities compared, in order
QUANTITIES = ("params", "madds", "mac", "peak_bytes", "time_s")


def side(graph, level: int, bits: int = 32, unfused: bool = False, zero_copy: bool = False, batch: int = 1,
         dev=None) -> dict:
    """One side: the report's configuration and totals, and its groups at ``level`` with the
    ``QUANTITIES`` (``time_s`` only with ``dev``)."""
    from .analysis import analyze
    from .memory import report as memory_report
    from .rollup import paths, rollup
    if dev is not None:
        from .roofline import check_view
        check_view(dev, bits, batch)
    rep = analyze(graph, bits=bits, unfused=unfused, zero_copy=zero_copy, batch=batch)
    rows = [dict(r) for r in rep.rows]
    totals = {"params": rep.totals["params"], "madds": rep.totals["madds"], "mac": rep.totals["mac"],
              "peak_bytes": rep.totals["peak_activation_bytes"]}
    if dev is not None:
        from .roofline import predict, unit_times
        view = dict(unfused=unfused, zero_copy=zero_copy, batch=batch)
        per = unit_times(graph, dev, bits, **view)
        for r in rows:
            r["time_s"] = per.get(r["name"], 0.0)
        totals["time_s"] = predict(graph, dev, bits, **view)
    groups = rollup(graph, rows, level)
    ps = paths(graph)
    key_of = {name: p[min(level, len(p)) - 1][0] for name, p in ps.items()}
    peak: Dict[str, int] = {}
    mem = memory_report(graph, "optimal", bits, unfused=unfused, zero_copy=zero_copy, batch=batch)
    for step in mem["timeline"]:
        k = key_of.get(step["op"])
        if k is not None:
            peak[k] = max(peak.get(k, 0), step["live_bytes"])
    for g in groups:
        g["peak_bytes"] = peak.get(g["key"])
    d = rep.to_dict()
    d.pop("layers")
    return {"config": d, "totals": totals, "groups": groups}


def _ratio(a, b) -> Optional[float]:
    return None if a in (None, 0) or b is None else b / a


def compare(a: dict, b: dict, quantities=QUANTITIES) -> dict:
    """The groups of two ``side``s matched by key: name, key, status, and per quantity the values of
    A and B, ``delta`` (B - A, a missing side counting 0) and ``ratio`` (B / A, None when A is 0 or
    missing)."""
    qs = [q for q in quantities if q in a["totals"] and q in b["totals"]]
    ga = {g["key"]: g for g in a["groups"]}
    gb = {g["key"]: g for g in b["groups"]}
    order: List[str] = list(ga)
    prev = None
    for k in gb:  # B's own groups keep their place after the group that precedes them in B
        if k not in ga:
            order.insert(order.index(prev) + 1 if prev is not None else 0, k)
        prev = k
    blocks = []
    for k in order:
        x, y = ga.get(k), gb.get(k)
        name = (x or y)["name"] if not (x and y) or x["name"] == y["name"] else f"{x['name']} / {y['name']}"
        vals = {q: ((x or {}).get(q), (y or {}).get(q)) for q in qs}
        status = ("added" if x is None else "removed" if y is None
                  else "same" if all(va == vb for q, (va, vb) in vals.items() if q != "time_s") else "changed")
        blocks.append({"name": name, "key": k, "status": status, "type": (y or x).get("type", ""),
                       "a": {q: v[0] for q, v in vals.items()}, "b": {q: v[1] for q, v in vals.items()},
                       "delta": {q: (v[1] or 0) - (v[0] or 0) if (v[0] is not None or v[1] is not None) else None
                                 for q, v in vals.items()},
                       "ratio": {q: _ratio(*v) for q, v in vals.items()}})
    ta, tb = a["totals"], b["totals"]
    total = {"a": {q: ta[q] for q in qs}, "b": {q: tb[q] for q in qs}, "delta": {q: tb[q] - ta[q] for q in qs},
             "ratio": {q: _ratio(ta[q], tb[q]) for q in qs}}
    return {"quantities": qs, "blocks": blocks, "total": total}


def diff(graph_a, graph_b, level: int = 2, bits: int = 32, unfused: bool = False, zero_copy: bool = False,
         batch: int = 1, dev=None) -> dict:
    """The JSON contract of ``costmodel diff``: ``a`` and ``b`` (configuration and totals), ``rollup``
    (the level), ``quantities``, ``blocks`` (see ``compare``) and ``total``."""
    from .rollup import check_level
    level = check_level(level)
    a = side(graph_a, level, bits, unfused, zero_copy, batch, dev)
    b = side(graph_b, level, bits, unfused, zero_copy, batch, dev)
    out = {"a": {"config": a["config"], "totals": a["totals"]}, "b": {"config": b["config"], "totals": b["totals"]},
           "rollup": level, "bits": bits}
    if dev is not None:
        out["device"] = {"name": dev.name, "model": dev.model}
    out.update(compare(a, b))
    return out
