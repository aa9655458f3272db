"""Calibration on this machine and the honest scoring of every latency predictor.

``calibrate(...)`` measures a designed set of workloads with ``costmodel.measure`` and fits the
predictor of ``costmodel.predictor`` (non-negative least squares, relative error):

* **per-op micro-benchmarks** (``micro_workloads``): one executed unit per graph, over the shapes
  the zoo uses - pointwise convs from 16 to 1280 channels at 7x7-56x56, dense 3x3 convs (stems and
  VGG/ResNet-like), depthwise 3x3/5x5/7x7 at stride 1 and 2, grouped 1x1 (ShuffleNet V1) and 3x3
  (AlexNet) convs, linear layers from 10 to 4096 outputs, pooling, adds and SE gates, stand-alone
  activations, concats, splits and channel shuffles;
* **whole networks** (``network_workloads``): every registry network at width multipliers 0.5,
  0.75, 1.0 (the ones the family defines) and resolutions 128, 160 and the default (VGG-16 and
  AlexNet at their default only: one run takes a third of a second).

Micro-benchmarks come first, then networks round-robin over the families, so a ``budget`` that
runs out still leaves every family measured at least once; what was skipped is recorded.

Scoring (``evaluate``): the device file keeps its measurements (class totals, measured time,
Mult-Adds, MAC, the uncalibrated roofline's estimate), so the protocol re-fits without
measuring again:

* measured devices: **leave-one-family-out** - for each family F, fit on the micro-benchmarks
  and every network of the other families, predict F's configurations;
* published devices (``costmodel.published``): **leave-one-out** over the table's rows.

Each left-out prediction is scored by the share within +-10% (nn-Meter's "+-10% accuracy"), the
MAPE and Spearman's rank correlation, beside three baselines fitted (or not) on the same
training rows: time proportional to Mult-Adds, time proportional to MAC (both t = k x with k
fitted for relative error), and the uncalibrated roofline (datasheet peak and bandwidth, no fit).
"""
from __future__ import annotations

import datetime
import math
import time
from typing import Callable, Dict, List, Optional, Sequence

from .errors import CostModelError
from .predictor import CLASSES, FULL_SPEC, class_totals, expand, fit, predict_totals, proportional, scores

#: the roofline baseline for this machine: a generic x86 AVX2 core's datasheet figures (no fitting)
ROOFLINE_BASELINE = "x86-avx2-core"
NETWORK_ALPHAS = (0.5, 0.75, 1.0)
NETWORK_RES = (128, 160)
HEAVY = ("vgg16", "alexnet")
GOALS = {"within_10pct": 0.90, "spearman": 0.95}
#: seconds of timed runs per workload (at least MIN_RUNS runs); the fitted time is the fastest run
MICRO_TIME, NETWORK_TIME, MIN_RUNS = 0.4, 1.5, 7
#: channel blocks tried (onnxruntime's NCHWc: 8 with AVX2, 16 with AVX-512; 1: no padding)
BLOCKS = (1, 8, 16)
#: activations a runtime runs as kernels of their own (onnxruntime's profiler shows swish as a
#: separate QuickGelu after the conv; relu, relu6, hard-swish and hard-sigmoid fuse into it)
UNFUSED = {"onnxruntime": ("swish",)}


# ----------------------------------------------------------------------------- workloads
def micro_workloads() -> List[tuple]:
    """(name, graph) single-unit graphs (see the module doc)."""
    from .graph import GraphBuilder
    from .ops import Add, AvgPool, ChannelShuffle, Concat, GlobalAvgPool, Linear, MaxPool, Multiply, Split
    out = []

    def conv(cin, cout, hw, k=1, s=1, groups=1, act="relu"):
        name = f"conv{k}x{k}_{cin}_{cout}_{hw}" + (f"_s{s}" if s > 1 else "") + (f"_g{groups}" if groups > 1 else "")
        g = GraphBuilder(name, (cin, hw, hw))
        g.conv("input", cout, k, s, groups=groups, act=act, name="op")
        out.append((name, g.build()))

    for cin, cout, hw in ((16, 16, 56), (24, 144, 56), (144, 24, 56), (32, 64, 56), (64, 64, 28), (32, 192, 28),
                          (192, 32, 28), (128, 128, 28), (64, 384, 14), (384, 64, 14), (256, 256, 14),
                          (96, 576, 14), (576, 96, 14), (160, 960, 7), (960, 160, 7), (512, 512, 7), (320, 1280, 7),
                          (16, 96, 112), (256, 1024, 14), (1024, 256, 14), (2048, 512, 7)):
        conv(cin, cout, hw)
    for cin, cout, hw, s in ((3, 32, 224, 2), (3, 16, 224, 2), (3, 64, 112, 1), (32, 32, 56, 1), (64, 64, 56, 1),
                             (64, 128, 56, 2), (128, 128, 28, 1), (256, 256, 14, 1), (512, 512, 7, 1),
                             (24, 24, 56, 1)):
        conv(cin, cout, hw, 3, s)
    for c, hw, k, s in ((32, 112, 3, 1), (96, 112, 3, 2), (144, 56, 3, 1), (144, 56, 5, 2), (192, 28, 3, 1),
                        (240, 28, 5, 1), (384, 14, 3, 1), (480, 14, 5, 1), (576, 14, 3, 2), (672, 14, 5, 1),
                        (960, 7, 3, 1), (960, 7, 5, 1), (64, 56, 7, 1), (256, 14, 7, 1), (728, 19, 3, 1),
                        (16, 112, 3, 1)):
        conv(c, c, hw, k, s, groups=c)
    for c, hw, g_ in ((240, 28, 3), (480, 14, 3), (960, 7, 3), (120, 28, 2), (384, 14, 8), (272, 28, 4)):
        conv(c, c, hw, 1, 1, groups=g_)
    conv(96, 256, 27, 5, 1, groups=2)
    conv(256, 384, 13, 3, 1, groups=2)
    for fin, fout in ((1280, 1000), (1024, 1000), (576, 1024), (4096, 4096), (2048, 1000), (512, 10), (9216, 4096)):
        g = GraphBuilder(f"linear_{fin}_{fout}", (fin, 1, 1))
        f = g.add(__import__("costmodel.ops", fromlist=["Flatten"]).Flatten(), "input", "flat")
        g.add(Linear(fout), f, "op")
        out.append((f"linear_{fin}_{fout}", g.build()))
    for c, hw, op, name in ((64, 112, MaxPool(3, 2, 1), "maxpool"), (96, 55, MaxPool(3, 2), "maxpool"),
                            (240, 28, AvgPool(3, 2, 1), "avgpool"), (1280, 7, GlobalAvgPool(), "gap"),
                            (72, 28, GlobalAvgPool(), "gap"), (576, 14, GlobalAvgPool(), "gap")):
        g = GraphBuilder(f"{name}_{c}_{hw}", (c, hw, hw))
        g.add(op, "input", "op")
        out.append((f"{name}_{c}_{hw}", g.build()))
    for c, hw in ((24, 56), (32, 28), (96, 14), (160, 7), (64, 56), (256, 56)):
        g = GraphBuilder(f"add_{c}_{hw}", (c, hw, hw))
        a = g.conv("input", c, 1, bn=False, bias=False, name="a")  # a second tensor to add (an extra unit)
        g.add(Add(), ["input", a], "op")
        out.append((f"add_{c}_{hw}", g.build()))
    for c, hw in ((72, 28), (240, 14), (576, 7)):
        g = GraphBuilder(f"gate_{c}_{hw}", (c, hw, hw))
        s = g.add(GlobalAvgPool(), "input", "squeeze")
        g.add(Multiply(), ["input", s], "op")
        out.append((f"gate_{c}_{hw}", g.build()))
    for c, hw, fn in ((64, 56, "relu"), (96, 28, "hswish"), (240, 14, "swish"), (116, 28, "relu")):
        g = GraphBuilder(f"act_{fn}_{c}_{hw}", (c, hw, hw))
        g.act("input", fn, "op")
        out.append((f"act_{fn}_{c}_{hw}", g.build()))
    for c, hw in ((116, 28), (232, 14), (58, 56)):
        g = GraphBuilder(f"shuffle_{c}_{hw}", (c, hw, hw))
        g.add(ChannelShuffle(2), "input", "op")
        out.append((f"shuffle_{c}_{hw}", g.build()))
        g = GraphBuilder(f"split_concat_{c}_{hw}", (c, hw, hw))
        sp = g.add(Split((c // 2, c - c // 2)), "input", "split")
        g.add(Concat(), [f"{sp.split(':')[0]}:1", f"{sp.split(':')[0]}:0"], "op")
        out.append((f"split_concat_{c}_{hw}", g.build()))
    return out


def network_workloads(names: Optional[Sequence[str]] = None) -> List[tuple]:
    """(family, network, alpha, res) for the zoo grid (see the module doc)."""
    from .registry import get, networks
    out = []
    for name in names or networks():
        net = get(name)
        alphas = [a for a in NETWORK_ALPHAS if net.alphas is None or a in net.alphas] or [net.default_alpha]
        if net.alphas is not None and net.default_alpha not in alphas and len(net.alphas) > 1:
            alphas.append(net.default_alpha)
        res = sorted({r for r in NETWORK_RES if r >= net.min_res and r < net.default_res} | {net.default_res})
        if name in HEAVY:
            alphas, res = [net.default_alpha], [net.default_res]
        for a in alphas:
            for r in res:
                out.append((net.family, name, a, r))
    by_family: Dict[str, list] = {}
    for w in out:
        by_family.setdefault(w[0], []).append(w)
    ordered, lists = [], list(by_family.values())
    while any(lists):  # round-robin over the families
        for lst in lists:
            if lst:
                ordered.append(lst.pop(0))
    return ordered


def row_for(graph, seconds: float, kind: str, family: str, name: str, roof_dev, blocks=(1,), unfused=(),
            **extra) -> dict:
    """A measurement row: what ``evaluate`` needs to refit without measuring again (class totals
    for each candidate channel block; ``select_block`` keeps one)."""
    from .analysis import analyze
    from .roofline import roofline_time
    t = analyze(graph).totals
    row = {"kind": kind, "family": family, "name": name, **extra, "time_s": seconds, "madds": t["madds"],
           "mac": t["mac"], "flops": t["flops"], "totals": class_totals(graph, unfused=unfused),
           "roofline_s": roofline_time(graph, roof_dev)}
    if len(blocks) > 1:
        row["totals_by_block"] = {str(b): class_totals(graph, block=b, unfused=unfused) for b in blocks}
    return row


def select_block(rows, blocks=BLOCKS):
    """The channel block that predicts the *micro-benchmarks* best (leave-one-out over them; the
    networks, the evaluation data, play no part), and the rows with their totals set to it."""
    micro = [r for r in rows if r["kind"] == "micro"]
    best, best_err = 1, float("inf")
    for b in blocks:
        errs = []
        for i in range(len(micro)):
            train = micro[:i] + micro[i + 1:]
            coef = fit([r["totals_by_block"][str(b)] for r in train], [r["time_s"] for r in train], FULL_SPEC)
            per, t0 = expand(coef, FULL_SPEC)
            p = predict_totals(micro[i]["totals_by_block"][str(b)], per, t0)
            errs.append(abs(p / micro[i]["time_s"] - 1))
        err = sum(errs) / max(1, len(errs))
        if err < best_err:
            best, best_err = b, err
    for r in rows:
        r["totals"] = r.pop("totals_by_block")[str(best)]
    return best, best_err


# ----------------------------------------------------------------------------- calibrate
def calibrate(backend: str = "onnxruntime", threads: int = 1, budget_s: float = 600.0, name: str = "",
              networks: Optional[Sequence[str]] = None, micro: bool = True,
              log: Optional[Callable[[str], None]] = None, progress=None) -> dict:
    """Measure the workloads and fit; returns the device file's content (a dict)."""
    from .measure import check_settings, cpu_model, load_average, measure
    from .registry import build
    from .roofline import device
    check_settings(threads)  # before the first workload, not at it
    roof = device(ROOFLINE_BASELINE)
    unfused = UNFUSED.get(backend, ())
    rows, skipped = [], []
    start = time.perf_counter()
    work = ([("micro", w) for w in micro_workloads()] if micro else []) + \
        [("network", w) for w in network_workloads(networks)]
    load0 = load_average()
    version = ""
    for i, (kind, w) in enumerate(work):
        left = budget_s - (time.perf_counter() - start)
        if left <= 0:
            skipped.append(w[0] if kind == "micro" else f"{w[1]} {w[2]:g}-{w[3]}")
            continue
        if kind == "micro":
            name_, g = w
            m = measure(g, backend, threads, warmup=3, profile=False, max_time=min(MICRO_TIME, left), rel_ci=0,
                        min_runs=MIN_RUNS)
            rows.append(row_for(g, _fitted_time(m), "micro", "micro", name_, roof, BLOCKS, unfused,
                                median_s=m.median_s, min_s=m.min_s, runs=m.runs))
        else:
            fam, net, a, r = w
            g = build(net, alpha=a, res=r)
            m = measure(g, backend, threads, warmup=2, profile=False, max_time=min(NETWORK_TIME, left), rel_ci=0,
                        min_runs=MIN_RUNS)
            rows.append(row_for(g, _fitted_time(m), "network", fam, net, roof, BLOCKS, unfused, alpha=a, res=r,
                                median_s=m.median_s, min_s=m.min_s, runs=m.runs))
        version = m.backend_version
        if log:
            log(f"{rows[-1]['name']}{'' if kind == 'micro' else f' {w[2]:g}-{w[3]}'}: fitted "
                f"{rows[-1]['time_s'] * 1e3:.3f} ms (wall: min {m.min_s * 1e3:.3f}, median {m.median_s * 1e3:.3f}), "
                f"{m.runs} runs")
        if progress:
            progress(i + 1, len(work))
    if not rows:
        raise CostModelError("calibrate: the budget ran out before any workload was measured")
    block, block_err = select_block(rows) if any(r["kind"] == "micro" for r in rows) else (1, None)
    if block_err is None:
        for r in rows:
            r["totals"] = r.pop("totals_by_block")["1"]
    return device_from_rows(rows, spec=FULL_SPEC, name=name or f"measured-{backend}-{threads}t", kind="measured",
                            peak_bandwidth=_measured_roofs(rows),
                            source=f"costmodel calibrate: {len(rows)} workloads measured with {backend} {version}, "
                                   f"{threads} thread(s), on {cpu_model()} on "
                                   f"{datetime.date.today().isoformat()}",
                            assumptions=f"fp32, batch 1; load average {load0} before, {load_average()} after; "
                                        f"{len(skipped)} workloads skipped by the budget",
                            extra={"backend": backend, "backend_version": version, "threads": threads,
                                   "cpu": cpu_model(), "budget_s": budget_s, "skipped": skipped,
                                   "roofline_baseline": ROOFLINE_BASELINE, "channel_block": block,
                                   "unfused_activations": list(unfused),
                                   "channel_block_micro_loo_mape": block_err,
                                   "statistic": "one thread: median CPU time of the calling thread per run; "
                                                "several threads: the fastest run (both robust to other "
                                                "processes)",
                                   "protocol": "leave-one-family-out"})


def _fitted_time(m) -> float:
    """The time a workload is fitted with: with one thread, the median CPU time of the calling
    thread per run (robust to other processes taking turns on the core); else the fastest run."""
    return m.cpu_median_s if m.cpu_median_s else m.min_s


def _measured_roofs(rows):
    """Effective peak (best dense-conv micro-benchmark GFLOP/s) and bandwidth (best copy,
    element-wise or pooling micro-benchmark GB/s), for the device file's roofline fields."""
    peak = bw = 0.0
    for r in rows:
        if r["kind"] != "micro":
            continue
        tot = r["totals"]
        if r["name"].startswith("conv"):
            peak = max(peak, sum(tot[k][0] for k in ("conv", "conv1x1")) / r["time_s"] / 1e9)
        if r["name"].startswith(("add", "shuffle", "split", "act", "maxpool", "gap")):
            bw = max(bw, sum(tot[k][1] for k in CLASSES) / r["time_s"] / 1e9)
    return (round(peak, 3) or 1.0, round(bw, 3) or 1.0)


def device_from_rows(rows, spec, name, kind, peak_bandwidth, source, assumptions, extra=None) -> dict:
    """Fit ``spec`` on every row and write the device file's dict."""
    coef = fit([r["totals"] for r in rows], [r["time_s"] for r in rows], spec)
    per, t0 = expand(coef, spec)
    pred = [predict_totals(r["totals"], per, t0) for r in rows]
    train = scores(pred, [r["time_s"] for r in rows])
    d = {"name": name, "kind": kind, "model": "calibrated", "source": source, "assumptions": assumptions,
         "peak_gflops": peak_bandwidth[0], "bandwidth_gbs": peak_bandwidth[1],
         "per_inference_s": t0, "coefficients": per,
         "predictor": "t = per_inference_s + sum over executed units of s_per_flop*FLOPs + s_per_byte*bytes "
                      "(MAC x 4) + s_per_op, coefficients per op class (costmodel.predictor)",
         "fit_spec": [[list(g) if g != "net" else g, f] for g, f in spec],
         "fit_in_sample": train}
    d.update(extra or {})
    d["measurements"] = rows
    return d


# ----------------------------------------------------------------------------- evaluate
def _spec_of(info) -> list:
    return [(tuple(g) if isinstance(g, list) else g, f) for g, f in info.get("fit_spec") or FULL_SPEC]


def evaluate(dev) -> dict:
    """Score a calibrated device on data it was not fitted to (see the module doc). ``dev`` is a
    Device (``roofline.device``) whose file holds measurements."""
    info = dev.info or {}
    rows = info.get("measurements")
    if dev.model != "calibrated" or not rows:
        raise CostModelError(f"device {dev.name!r} has no measurements to evaluate (a roofline profile, or a file "
                             f"written without them); evaluate a file written by 'costmodel calibrate' or a "
                             f"calibrated built-in device")
    spec = _spec_of(info)
    protocol = info.get("protocol", "leave-one-out")
    nets = [i for i, r in enumerate(rows) if r["kind"] != "micro"]
    if protocol == "leave-one-family-out":
        folds = {}
        for i in nets:
            folds.setdefault(rows[i]["family"], []).append(i)
        groups = list(folds.values())
        what = f"leave-one-family-out over {len(folds)} families ({len(nets)} network configurations; " \
               f"micro-benchmarks always in the fit)"
    else:
        groups = [[i] for i in nets]
        what = f"leave-one-out over the {len(nets)} rows of {info.get('table', 'the device table')}"
    pred, p_madds, p_mac, true, left = {}, {}, {}, {}, []
    for held in groups:
        hs = set(held)
        train = [r for j, r in enumerate(rows) if j not in hs]
        tnets = [r for j, r in enumerate(rows) if j not in hs and r["kind"] != "micro"]
        if not tnets and not train:
            continue
        coef = fit([r["totals"] for r in train], [r["time_s"] for r in train], spec)
        per, t0 = expand(coef, spec)
        base = tnets or train
        k_madds = proportional([r["madds"] for r in base], [r["time_s"] for r in base])
        k_mac = proportional([r["mac"] for r in base], [r["time_s"] for r in base])
        for i in held:
            r = rows[i]
            pred[i] = predict_totals(r["totals"], per, t0)
            p_madds[i], p_mac[i], true[i] = k_madds * r["madds"], k_mac * r["mac"], r["time_s"]
            left.append(i)
    order = sorted(left)
    t = [true[i] for i in order]
    res = {"device": dev.name, "protocol": what, "n_configs": len(order),
           **scores([pred[i] for i in order], t),
           "baselines": {"madds": scores([p_madds[i] for i in order], t),
                         "mac": scores([p_mac[i] for i in order], t),
                         "roofline": scores([rows[i]["roofline_s"] for i in order], t)},
           "roofline_baseline": info.get("roofline_baseline", dev.name + " (datasheet peak and bandwidth)")}
    fams = {}
    for i in order:
        fams.setdefault(rows[i]["family"], []).append(i)
    res["by_family"] = {f: {"n": len(ix), **scores([pred[i] for i in ix], [true[i] for i in ix]),
                            "madds_within_10pct": scores([p_madds[i] for i in ix], [true[i] for i in ix])[
                                "within_10pct"]} for f, ix in fams.items()}
    res["rows"] = [{"name": rows[i]["name"], "family": rows[i]["family"], "alpha": rows[i].get("alpha"),
                    "res": rows[i].get("res"), "measured_s": true[i], "predicted_s": pred[i],
                    "madds_s": p_madds[i], "mac_s": p_mac[i], "roofline_s": rows[i]["roofline_s"]} for i in order]
    goal = info.get("goals", GOALS)
    res["goals"] = {k: {"target": v, "reached": bool(res[k] >= v) if not math.isnan(res[k]) else False}
                    for k, v in goal.items()}
    return res


__all__ = ["calibrate", "evaluate", "micro_workloads", "network_workloads", "device_from_rows", "row_for",
           "ROOFLINE_BASELINE", "GOALS"]
