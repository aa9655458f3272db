"""ShuffleNet V2 (arXiv 1807.11164) section 2: the four guidelines' benchmark stacks, analytically.

Each configuration is a graph of 10 blocks on a 56x56 input (batch 1), built with ``GraphBuilder``:

* G1 (Table 1): a block is two 1x1 convs, c1 -> c2 and c2 -> c1. Columns x2 and x4 scale both
  widths by sqrt(2) and 2 (rounded), so the FLOPs double and quadruple (the paper prints only the
  x1 widths). Lower bound per conv: MAC >= 2 sqrt(hw B) + B / hw, B = hw c1 c2 (equality c1 = c2).
* G2 (Table 2): a block is one 1x1 group conv c -> c with g groups (c printed per g, equal FLOPs);
  x2/x4 as in G1. MAC = hw c1 + B g / c1 + B / hw grows with g at fixed B.
* G3 (Table 3): a block is k 1x1 convs in series, or k parallel 1x1 convs reading the block input
  and merged by an element-wise add; c is the 1-fragment width and the others use
  round(c / sqrt(k)) so that every structure has the same FLOPs (the paper's caption: "the
  channel number in other fragmented structures is adjusted so that the FLOPs is the same"; the
  merge op is our assumption - the appendix figure is not in our reference notes).
* G4 (Table 4): ResNet's bottleneck unit with c input/output channels: 1x1 c -> c/4, 3x3 c/4 ->
  c/4, 1x1 c/4 -> c, ReLU after each conv and after the add, identity shortcut; ReLU and/or
  shortcut removed. Its MAC is counted unfused (ReLU and add as separate element-wise ops, as the
  paper's G4 argues: "element-wise operations are not negligible"); the deployment view (ReLU
  fused) is shown beside it.

Convs have no BN and no bias (the guidelines' MAC formulas count feature maps and weights only).
Per table and platform column, ``kendall_tau`` compares the order of the configurations by MAC
(lower first) with the order by measured speed (faster first): tau = 1 means MAC predicts the
ranking perfectly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from .analysis import analyze
from .graph import GraphBuilder
from .memory import plan
from .ops import Add

RES = 56
BLOCKS = 10
SCALE = {"x1": 1.0, "x2": math.sqrt(2), "x4": 2.0}
TITLES = {
    1: "G1: equal channel width minimizes MAC (Table 1)",
    2: "G2: excessive group convolution increases MAC (Table 2)",
    3: "G3: network fragmentation reduces the degree of parallelism (Table 3)",
    4: "G4: element-wise operations are non-negligible (Table 4)",
}


def g1_stack(c1: int, c2: int, blocks: int = BLOCKS, res: int = RES):
    g = GraphBuilder(f"g1_{c1}_{c2}", (c1, res, res))
    x = "input"
    for i in range(blocks):
        with g.scope(f"b{i}"):
            x = g.conv(x, c2, 1, bn=False, bias=False, name="conv1")
            x = g.conv(x, c1, 1, bn=False, bias=False, name="conv2")
    return g.build()


def g2_stack(c: int, groups: int, blocks: int = BLOCKS, res: int = RES):
    g = GraphBuilder(f"g2_{c}_g{groups}", (c, res, res))
    x = "input"
    for i in range(blocks):
        x = g.conv(x, c, 1, groups=groups, bn=False, bias=False, name=f"b{i}")
    return g.build()


def fragments(structure: str):
    """'4-fragment-series' -> (4, 'series'); '1-fragment' -> (1, 'series')."""
    parts = structure.split("-")
    return int(parts[0]), (parts[2] if len(parts) > 2 else "series")


def g3_width(c: int, k: int) -> int:
    return int(round(c / math.sqrt(k)))


def g3_stack(structure: str, c: int, blocks: int = BLOCKS, res: int = RES):
    k, how = fragments(structure)
    w = g3_width(c, k)
    g = GraphBuilder(f"g3_{structure}_{c}", (w, res, res))
    x = "input"
    for i in range(blocks):
        with g.scope(f"b{i}"):
            if how == "series":
                for j in range(k):
                    x = g.conv(x, w, 1, bn=False, bias=False, name=f"conv{j}")
            else:
                ys = [g.conv(x, w, 1, bn=False, bias=False, name=f"branch{j}") for j in range(k)]
                x = g.add(Add(), ys, "merge")
    return g.build()


def g4_stack(c: int, relu: bool, shortcut: bool, blocks: int = BLOCKS, res: int = RES):
    act = "relu" if relu else None
    g = GraphBuilder(f"g4_{c}_{'relu' if relu else 'norelu'}_{'sc' if shortcut else 'nosc'}", (c, res, res))
    x = "input"
    for i in range(blocks):
        with g.scope(f"b{i}"):
            y = g.conv(x, c // 4, 1, bn=False, bias=False, act=act, name="conv1")
            y = g.conv(y, c // 4, 3, bn=False, bias=False, act=act, name="conv2")
            y = g.conv(y, c, 1, bn=False, bias=False, name="conv3")
            if shortcut:
                y = g.add_tensors([x, y], "add")
            x = g.act(y, act, "out.relu")
    return g.build()


G4_CONFIGS = {"relu+shortcut": (True, True), "relu": (True, False), "shortcut": (False, True),
              "neither": (False, False)}


def stack_for(table: int, config: str, c1: int, c2: int, groups: int, column: str):
    """The benchmark graph of one published cell."""
    if table == 1:
        s = SCALE[column]
        return g1_stack(int(round(c1 * s)), int(round(c2 * s)))
    if table == 2:
        s = SCALE[column]
        return g2_stack(_divisible(c1 * s, groups), groups)
    if table == 3:
        return g3_stack(config, c1)
    if table == 4:
        relu, shortcut = G4_CONFIGS[config]
        return g4_stack(c1, relu, shortcut)
    raise ValueError(f"no guideline table {table}")


def _divisible(v: float, g: int) -> int:
    return max(g, int(round(v / g)) * g)


@dataclass
class Cost:
    madds: int
    flops: int
    mac: int              #: elements; unfused for G4, deployment otherwise
    mac_fused: int        #: elements, deployment view
    eltwise_mac: int      #: MAC of element-wise units (add, activation) in the counted view
    eltwise_flops: int
    lower_bound: float    #: G1's bound summed over the convs (G1 only, else 0)
    branches: int         #: parallel branches per block (G3) / 1
    channels: str


def cost(graph, unfused: bool = False) -> Cost:
    rep = analyze(graph, unfused=unfused)
    fused = rep.totals["mac"] if not unfused else analyze(graph).totals["mac"]
    p = plan(graph, unfused=unfused)
    elt = sum(u.mac for u in p.units if u.category in ("eltwise", "act"))
    elt_flops = sum(r["flops"] for r in rep.rows if r["kind"] in ("add", "activation"))
    lb = 0.0
    for n in graph.nodes:
        if n.op.kind == "conv2d" and n.op.kernel == (1, 1) and n.op.groups == 1:
            hw = n.out_shapes[0][1] * n.out_shapes[0][2]
            b = hw * n.in_shapes[0][0] * n.out_shapes[0][0]
            lb += 2 * math.sqrt(hw * b) + b / hw
    branches = max((len(n.inputs) for n in graph.nodes if n.op.kind == "add" and n.name.endswith("merge")),
                   default=1)
    convs = [n for n in graph.nodes if n.op.kind == "conv2d"]
    widths = sorted({n.out_shapes[0][0] for n in convs} | {graph.input_shape[0]})
    return Cost(rep.totals["madds"], rep.totals["flops"], rep.totals["mac"], fused, elt, elt_flops, lb, branches,
                "/".join(map(str, widths)))


def kendall_tau(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Kendall's tau-b of two rankings, by hand: (concordant - discordant) / sqrt((n0 - tx)(n0 - ty))."""
    n = len(xs)
    conc = disc = tx = ty = 0
    for i in range(n):
        for j in range(i + 1, n):
            dx, dy = xs[i] - xs[j], ys[i] - ys[j]
            if dx == 0 and dy == 0:
                continue
            if dx == 0:
                tx += 1
            elif dy == 0:
                ty += 1
            elif (dx > 0) == (dy > 0):
                conc += 1
            else:
                disc += 1
    denom = math.sqrt((conc + disc + tx) * (conc + disc + ty))
    return (conc - disc) / denom if denom else 0.0


def verdict(tau: float) -> str:
    if tau == 1:
        return "MAC orders the configurations exactly as the measured speed"
    if tau > 0:
        return "MAC mostly agrees with the measured order"
    if tau == 0:
        return "MAC does not predict the measured order"
    return "MAC orders the configurations against the measured speed"


def evaluate(tables: Sequence[int] = (1, 2, 3, 4)) -> Dict[int, dict]:
    """Per table: rows (one per published cell, with computed costs) and per-column verdicts."""
    from .datafiles import read_csv
    data = [r for r in read_csv("shufflenet_v2_guidelines.csv") if int(r["table"]) in tables]
    out: Dict[int, dict] = {}
    cache = {}
    for r in data:
        t = int(r["table"])
        key = (t, r["config"], r["c1"], r["c2"], r["groups"], r["column"])
        if key not in cache:
            g = stack_for(t, r["config"], int(r["c1"]), int(r["c2"]), int(r["groups"]), r["column"])
            cache[key] = cost(g, unfused=(t == 4))
        c = cache[key]
        row = {"table": t, "config": r["config"], "platform": r["platform"], "column": r["column"],
               "channels": c.channels, "madds": c.madds, "flops": c.flops, "mac": c.mac, "mac_fused": c.mac_fused,
               "eltwise_mac": c.eltwise_mac, "eltwise_share": c.eltwise_mac / c.mac if c.mac else 0.0,
               "eltwise_flops_share": c.eltwise_flops / c.flops if c.flops else 0.0,
               "branches": c.branches, "speed": r["speed"], "unit": r["unit"], "source": r["source"]}
        if t == 1:
            row["lower_bound"] = c.lower_bound
        out.setdefault(t, {"title": TITLES[t], "rows": [], "verdicts": []})["rows"].append(row)
    for t, d in out.items():
        _relative(d["rows"], t)
        cols = {}
        for row in d["rows"]:
            cols.setdefault((row["platform"], row["column"]), []).append(row)
        for (plat, col), rows in cols.items():
            speeds = [float(x["speed"]) for x in rows]
            tau = kendall_tau([-x["mac"] for x in rows], speeds)
            tau_flops = kendall_tau([-x["flops"] for x in rows], speeds)
            d["verdicts"].append({"platform": plat, "column": col, "kendall_tau_mac": tau,
                                  "kendall_tau_flops": tau_flops, "verdict": verdict(tau)})
            if t == 4:
                d["verdicts"][-1]["kendall_tau_mac_fused"] = kendall_tau([-x["mac_fused"] for x in rows], speeds)
    return out


def _relative(rows: List[dict], t: int) -> None:
    """MAC relative to the first configuration of the same platform and column (G2: MAC growth)."""
    base = {}
    for r in rows:
        base.setdefault((r["platform"], r["column"]), r["mac"])
        r["mac_ratio"] = r["mac"] / base[(r["platform"], r["column"])]


def roofline_demo(devices: Sequence[str] = ("gtx1080ti", "snapdragon810-a57-1t"), bits: int = 32,
                  tables: Sequence[int] = (1, 2, 3)) -> List[dict]:
    """Why equal FLOPs can mean unequal time: for the x1 configurations of G1 and G2 (equal FLOPs
    by construction) and G3, the roofline time max(flops / peak, MAC bytes / bandwidth) of the
    whole stack on each device, beside the measured speed's ratio to the fastest configuration."""
    from .datafiles import read_csv
    from .roofline import device
    devs = [device(d) for d in devices]
    plat = {"gpu": "GPU", "mobile": "ARM", "cpu": "ARM"}
    out = []
    seen = set()
    for r in read_csv("shufflenet_v2_guidelines.csv"):
        t = int(r["table"])
        if t not in tables or t == 4 or r["column"] not in ("x1", "c=128", "c=64"):
            continue
        for d in devs:
            if plat.get(d.kind) != r["platform"] or (t, r["config"], d.name) in seen:
                continue
            seen.add((t, r["config"], d.name))
            g = stack_for(t, r["config"], int(r["c1"]), int(r["c2"]), int(r["groups"]), r["column"])
            p = plan(g)
            time = sum(d.time(u.flops, u.mac * bits / 8) for u in p.units)
            flops = sum(u.flops for u in p.units)
            mac = sum(u.mac for u in p.units)
            out.append({"table": t, "config": r["config"], "column": r["column"], "device": d.name,
                        "flops": flops, "mac_bytes": mac * bits // 8, "time_us": time * 1e6,
                        "bound": d.bound(flops, mac * bits / 8), "speed": r["speed"], "unit": r["unit"]})
    return out


# ----------------------------------------------------------------------------- measured on this machine
#: per table: (the guideline's good design, its bad design) - the direction the paper claims
DIRECTION = {1: ("1:1", "1:12"), 2: ("g=1", "g=8"), 3: ("1-fragment", "4-fragment-parallel"),
             4: ("neither", "relu+shortcut")}


def measure_stacks(tables: Sequence[int] = (1, 2, 3, 4), backend: str = "onnxruntime", threads: int = 1,
                   predict_device=None, seconds: float = 0.3, measured: Optional[Dict] = None,
                   progress=None) -> List[dict]:
    """Every published cell's stack measured on this machine (batch 1; with one thread the median
    CPU time of the runs within ``seconds``, else the fastest run: robust to other processes), as
    images/s, beside the paper's speed and the
    speed predicted on ``predict_device`` (1 / ``roofline.predict``). ``measured`` maps
    (table, config, column, platform) -> seconds to reuse earlier measurements (the notebook
    loads committed ones)."""
    from .datafiles import read_csv
    from .roofline import device, predict
    dev = device(predict_device) if predict_device is not None else None
    rows = [r for r in read_csv("shufflenet_v2_guidelines.csv") if int(r["table"]) in tables]
    cache: Dict = {}
    out = []
    for i, r in enumerate(rows):
        t = int(r["table"])
        key = (t, r["config"], r["column"], r["platform"])
        g = stack_for(t, r["config"], int(r["c1"]), int(r["c2"]), int(r["groups"]), r["column"])
        gk = (g.name, g.input_shape)
        if measured is not None and key in measured:
            cache[gk] = measured[key]
        if gk not in cache:
            from .measure import measure
            m = measure(g, backend, threads, warmup=3, profile=False, max_time=seconds, rel_ci=0, min_runs=5)
            cache[gk] = m.cpu_median_s or m.min_s
        row = {"table": t, "config": r["config"], "platform": r["platform"], "column": r["column"],
               "channels": cost(g).channels, "paper_speed": float(r["speed"]), "paper_unit": r["unit"],
               "measured_s": cache[gk], "measured_speed": 1.0 / cache[gk]}
        if dev is not None:
            p = predict(g, dev)
            row.update(predicted_s=p, predicted_speed=1.0 / p, predict_device=f"{dev.name} ({dev.model})")
        out.append(row)
        if progress:
            progress(i + 1, len(rows))
    return out


def directions(rows: List[dict]) -> List[dict]:
    """Per table, platform configuration and column: does the guideline's direction hold here
    (its good design measured faster than its bad one), and how well do the measured and the
    paper's speeds agree in order (Kendall tau)? The same for the prediction, when there is one."""
    groups: Dict = {}
    for r in rows:
        groups.setdefault((r["table"], r["platform"], r["column"]), []).append(r)
    out = []
    for (t, plat, col), rs in groups.items():
        by = {r["config"]: r for r in rs}
        good, bad = DIRECTION[t]
        d = {"table": t, "platform": plat, "column": col, "good": good, "bad": bad,
             "paper_holds": by[good]["paper_speed"] > by[bad]["paper_speed"],
             "measured_holds": by[good]["measured_speed"] > by[bad]["measured_speed"],
             "measured_ratio": by[good]["measured_speed"] / by[bad]["measured_speed"],
             "paper_ratio": by[good]["paper_speed"] / by[bad]["paper_speed"],
             "kendall_tau_measured_vs_paper": kendall_tau([r["measured_speed"] for r in rs],
                                                           [r["paper_speed"] for r in rs])}
        if "predicted_speed" in rs[0]:
            d["predicted_holds"] = by[good]["predicted_speed"] > by[bad]["predicted_speed"]
            d["kendall_tau_predicted_vs_measured"] = kendall_tau([r["predicted_speed"] for r in rs],
                                                                  [r["measured_speed"] for r in rs])
        out.append(d)
    return out
