"""Accuracy against computed cost: published ImageNet top-1 (``costmodel.accuracy``) on the y axis,
the cost this model computes for the same configuration on a log x axis (MobileNetV1 Figures 4
and 5, MobileNetV2 Figure 5, and one plot across every family). Models that are not registry
networks (NASNet-A, ...) are drawn at their *published* cost with hollow markers and say so in the
legend. ``pareto=True`` draws the front of the points (no other point has both lower cost and
higher accuracy).

Readability rules, the same in every plot:

* one colour and marker per family (``FAMILY_STYLE``), whatever the order of the arguments;
* labels name the model (``SHORT``: MixNet-S, EffNet-B3, MNv2, ...) where the plot has several
  networks, and the configuration only where it varies (``0.5-160`` when width and resolution
  both vary, ``0.75x`` or ``160px`` when one does, ``g3`` for a knob); with many points only the
  Pareto front and each family's cheapest and costliest point are labelled (``labels="auto"``);
* labels are moved apart with adjustText where it is installed (``pip install '.[plot]'``),
  else left beside their points;
* the log axis has ticks at 1, 2 and 5 per decade (1 only when the range spans many decades) with
  SI prefixes (20 M, 500 M, 2 G; bytes as 500 kB, 2 MB; seconds as 20 ms), minor ticks between.

matplotlib is imported here only, through ``matplotlib.figure.Figure`` and the Agg canvas (no
pyplot, no global backend switch), so the CLI's other commands never pay for it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from .errors import CostModelError

#: --x choices -> (totals key, axis label, SI unit of the tick labels)
X_AXES = {
    "madds": ("madds", "Mult-Adds (computed; M = 10^6, G = 10^9)", ""),
    "params": ("params", "parameters (computed; M = 10^6)", ""),
    "flops": ("flops", "FLOPs (computed; M = 10^6, G = 10^9)", ""),
    "mac": ("mac", "memory access cost, elements (computed; M = 10^6)", ""),
    "peak-memory": ("peak_activation_bytes", "peak activation memory (computed, 32-bit; kB = 1000 bytes)", "B"),
    "latency": ("latency_s", "latency (predicted on the --device)", "s"),
}
Y_AXES = {"top1": "ImageNet top-1 accuracy (%, published)"}
FORMATS = (".png", ".svg", ".pdf")
LABEL_MODES = ("auto", "all", "front", "none")
#: adjustText's iterations: a fixed number, so that a figure does not depend on the machine's speed
ITERATIONS = 100
#: labelled points of the Pareto front are at least this factor apart in cost (a tenth of a decade)
FRONT_STEP = 10 ** 0.1
#: more points than this and ``labels="auto"`` labels the front and each family's extremes only
AUTO_LABEL_ALL = 30

#: family -> (colour, marker): the same in every plot. Colours from matplotlib's tab20 and
#: Okabe-Ito palettes; no two families share both colour and marker.
FAMILY_STYLE: Dict[str, Tuple[str, str]] = {
    "MobileNetV1": ("#1f77b4", "o"),
    "MobileNetV2": ("#d62728", "s"),
    "MobileNetV3": ("#2ca02c", "D"),
    "MobileNetV4": ("#17becf", "P"),
    "ShuffleNet V1": ("#9467bd", "^"),
    "ShuffleNet V2": ("#ff7f0e", "v"),
    "SqueezeNet": ("#8c564b", "<"),
    "Xception": ("#e377c2", ">"),
    "MixNet": ("#bcbd22", "h"),
    "MnasNet": ("#7f7f7f", "p"),
    "EfficientNet": ("#393b79", "*"),
    "EfficientNet-Lite": ("#6b6ecf", "X"),
    "GhostNet": ("#637939", "d"),
    "FBNet": ("#e7969c", "H"),
    "ProxylessNAS": ("#843c39", "8"),
    "VGG": ("#000000", "s"),
    "AlexNet": ("#000000", "^"),
    "GoogLeNet": ("#000000", "o"),
    "ResNet": ("#000000", "D"),
}
#: published-only models (drawn hollow) and any family without a style of its own
PUBLISHED_STYLE = ("#555555", "o")
_SPARE = ("#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5")

#: registry network -> the short name its points are labelled with (the papers' names)
SHORT = {
    "mobilenet_v1": "MNv1", "mobilenet_v2": "MNv2", "mobilenet_v3_large": "MNv3-L", "mobilenet_v3_small": "MNv3-S",
    "mobilenet_v3_large_minimal": "MNv3-L min", "mobilenet_v3_small_minimal": "MNv3-S min",
    "mobilenet_v4_conv_small": "MNv4-Conv-S", "mobilenet_v4_conv_medium": "MNv4-Conv-M",
    "mobilenet_v4_conv_large": "MNv4-Conv-L", "mobilenet_v4_hybrid_medium": "MNv4-Hybrid-M",
    "mobilenet_v4_hybrid_large": "MNv4-Hybrid-L", "shufflenet_v1": "ShuffleNetV1", "shufflenet_v2": "ShuffleNetV2",
    "squeezenet1_0": "SqueezeNet 1.0", "squeezenet1_1": "SqueezeNet 1.1", "xception": "Xception",
    "mixnet_s": "MixNet-S", "mixnet_m": "MixNet-M", "mixnet_l": "MixNet-L", "mnasnet_a1": "MnasNet-A1",
    "mnasnet_b1": "MnasNet-B1", "mnasnet_small": "MnasNet-small", "ghostnet": "GhostNet",
    "fbnet_a": "FBNet-A", "fbnet_b": "FBNet-B", "fbnet_c": "FBNet-C", "proxylessnas_mobile": "Proxyless-Mobile",
    "proxylessnas_gpu": "Proxyless-GPU", "proxylessnas_cpu": "Proxyless-CPU", "vgg16": "VGG-16",
    "alexnet": "AlexNet", "googlenet": "GoogLeNet", "resnet50": "ResNet-50",
    **{f"efficientnet_b{i}": f"EffNet-B{i}" for i in range(8)},
    **{f"efficientnet_lite{i}": f"EffNet-Lite{i}" for i in range(5)},
}
#: knobs that tell the configurations of one network apart in a label (others are readings of one graph)
_LABEL_KNOBS = {"groups": "g{}", "variant": "{}"}


@dataclass
class Point:
    family: str
    network: str
    label: str         #: what the point is labelled with (``label_points``)
    x: float
    top1: float
    computed: bool     #: False: a published-only model at its published cost
    source: str
    model: str
    alpha: Optional[float] = None
    resolution: Optional[int] = None
    knobs: Tuple[Tuple[str, str], ...] = field(default_factory=tuple)


def style(family: str, computed: bool = True) -> Tuple[str, str]:
    """(colour, marker) of a family: ``FAMILY_STYLE``, the published-only style, or a spare colour
    chosen by the family's name (stable from run to run)."""
    if not computed:
        return PUBLISHED_STYLE
    if family in FAMILY_STYLE:
        return FAMILY_STYLE[family]
    import zlib
    return _SPARE[zlib.crc32(family.encode()) % len(_SPARE)], "o"


def _config(p: Point, vary_alpha: bool, vary_res: bool) -> str:
    parts = []
    if vary_alpha and vary_res:
        parts.append(f"{p.alpha:g}-{p.resolution}")
    elif vary_alpha:
        parts.append(f"{p.alpha:g}x")
    elif vary_res:
        parts.append(f"{p.resolution}px")
    parts += [_LABEL_KNOBS[k].format(v) for k, v in p.knobs if k in _LABEL_KNOBS]
    return " ".join(parts)


def label_points(pts: Sequence[Point]) -> None:
    """Set each computed point's label: its network's short name where the plot has several
    networks, then the configuration where the network's points differ in it."""
    nets = {p.network for p in pts if p.computed}
    for net in nets:
        mine = [p for p in pts if p.network == net and p.computed]
        vary_alpha = len({p.alpha for p in mine}) > 1
        vary_res = len({p.resolution for p in mine}) > 1
        vary_knobs = len({tuple((k, v) for k, v in p.knobs if k in _LABEL_KNOBS) for p in mine}) > 1
        for p in mine:
            cfg = _config(p, vary_alpha, vary_res)
            if not vary_knobs and not (vary_alpha or vary_res):
                cfg = ""
            name = SHORT.get(net, net) if len(nets) > 1 or not cfg else ""
            p.label = " ".join(s for s in (name, cfg) if s)


def points(names: Sequence[str], x: str = "madds", release_only: bool = True, device=None) -> List[Point]:
    """The published configurations of registry networks ``names`` at their computed cost, plus
    published-only models named in ``names`` (case-insensitive) at their published cost; ``all``
    means every network and model with a published accuracy. ``release_only``: for a network with
    an official release table (TF-slim, megvii), plot only its released checkpoints, as the
    papers' figures do (MobileNetV1 Figures 4/5: the 16 released models). Figures measured on a
    quantized deployment (``device=s8-int8``) are not the float graph's and are left out."""
    from . import accuracy
    from .analysis import analyze
    from .registry import build, get, networks
    if x not in X_AXES:
        raise CostModelError(f"unknown x axis {x!r}; accepted: {', '.join(X_AXES)}")
    key = X_AXES[x][0]
    dev = None
    if x == "latency":  # issue 10: time predicted on a device (roofline or calibrated)
        if device is None:
            raise CostModelError("--x latency needs --device NAME|FILE.json (the device the time is predicted on)")
        from .roofline import device as get_device
        dev = get_device(device)
    recs = [p for p in accuracy.records() if not p.condition]
    if "all" in names:
        names = list(dict.fromkeys([p.network for p in recs if p.network in networks()]
                                   + [p.model for p in recs if not p.network]))
    out: List[Point] = []
    only = {p.model.lower(): p for p in recs if not p.network}
    for name in names:
        if name.lower() in only:
            p = only[name.lower()]
            v = {"madds": p.madds_M, "params": p.params_M}.get(x)
            if v is None:
                continue  # this source prints no such cost
            if dev is None:
                out.append(Point("published cost", "", p.model, v * 1e6, p.top1, False, p.source, p.model))
            continue
        from .sources import source_kind
        if source_kind(name) != "registry":
            raise CostModelError(f"{name}: plot places published top-1 accuracies; your own network has none "
                                 f"(compare its costs with 'costmodel table' or 'costmodel sweep')")
        net = get(name)  # unknown names: KnobError naming the accepted ones
        seen = set()
        has_release = release_only and any(p.release for p in recs if p.network == net.name)
        for p in sorted(recs, key=lambda p: not p.release):
            if p.network != net.name or (has_release and not p.release):
                continue
            alpha = net.default_alpha if p.alpha is None else p.alpha
            res = p.resolution or net.default_res
            cfg = (alpha, res, p.knobs)
            if cfg in seen:
                continue
            seen.add(cfg)
            g = build(net.name, alpha=p.alpha, res=p.resolution, classes=p.classes, **p.knob_dict)
            if dev is not None:
                from .roofline import predict
                xv = predict(g, dev)
            else:
                xv = float(analyze(g).totals[key])
            out.append(Point(net.family, net.name, "", xv, p.top1, True, p.source, p.model, alpha, res, cfg[2]))
    if not out:
        raise CostModelError(f"no published accuracy for {', '.join(names)} in data/; networks with published "
                             f"top-1: {', '.join(sorted({p.network for p in recs if p.network}))}")
    label_points(out)
    return out


def pareto(pts: Sequence[Point]) -> List[Point]:
    """Points not dominated by another (lower or equal cost with higher accuracy), by cost."""
    front, best = [], float("-inf")
    for p in sorted(pts, key=lambda p: (p.x, -p.top1)):
        if p.top1 > best:
            front.append(p)
            best = p.top1
    return front


def _families(pts: Sequence[Point]) -> List[List[Point]]:
    """The computed points by family, families of more than one point only (a family of one point
    is named by the legend)."""
    fams = [[p for p in pts if p.family == f and p.computed] for f in sorted({p.family for p in pts if p.computed})]
    return [m for m in fams if len(m) > 1]


def _family_best(pts: Sequence[Point]) -> List[Point]:
    """Each family's most accurate point (the cheaper on a tie), by cost."""
    return sorted((max(m, key=lambda p: (p.top1, -p.x)) for m in _families(pts)), key=lambda p: p.x)


def labelled(pts: Sequence[Point], mode="auto") -> List[Point]:
    """The points that get a label, most important first: ``all``; ``front``: in each family of
    more than one point its most accurate point, then the Pareto front (a point per ``FRONT_STEP``
    of cost), the published-only models, then each such family's cheapest point; ``auto``: all up to
    ``AUTO_LABEL_ALL`` points, else front; ``none``."""
    if mode is True:
        mode = "auto"
    if mode is False or mode is None:
        mode = "none"
    if mode not in LABEL_MODES:
        raise CostModelError(f"unknown label mode {mode!r}; accepted: {', '.join(LABEL_MODES)}")
    if mode == "none":
        return []
    if mode == "all" or (mode == "auto" and len(pts) <= AUTO_LABEL_ALL):
        return list(pts)
    fams = _families(pts)
    best = _family_best(pts)
    cheapest = sorted((min(m, key=lambda p: (p.x, -p.top1)) for m in fams), key=lambda p: p.x)
    out: List[Point] = []
    others = [p for p in pts if not p.computed]  # published-only models: each its own
    front: List[Point] = []
    for p in pareto(pts):  # thinned: one label per FRONT_STEP of cost, so that the crowded low end stays readable
        if not front or p.x >= front[-1].x * FRONT_STEP:
            front.append(p)
    for p in best + front + others + cheapest:  # where labels must give way, the later ones do
        if p not in out:
            out.append(p)
    return out


def _log_ticks(ax, lo: float, hi: float, unit: str) -> None:
    """Major ticks at 1, 2, 5 per decade (only 1 beyond four decades, 1, 2, 3, 5 within one),
    SI-prefixed labels, unlabelled minor ticks at the other integers."""
    import math

    from matplotlib.ticker import EngFormatter, LogLocator, NullFormatter
    decades = math.log10(hi / lo) if lo > 0 and hi > lo else 1.0
    subs = (1.0,) if decades > 4 else (1.0, 2.0, 5.0) if decades > 1.2 else (1.0, 2.0, 3.0, 5.0)
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=subs))
    ax.xaxis.set_minor_locator(LogLocator(base=10, subs=[s for s in range(1, 10) if float(s) not in subs]))
    ax.xaxis.set_major_formatter(EngFormatter(unit=unit, sep=" "))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _place_labels(ax, texts, pts, owners=None) -> None:
    """Move labels apart and off the markers (adjustText), with a thin leader line to the point;
    then drop, least important first, every label that still overlaps one kept before it or
    leaves the axes, and every label but a family's best that covers another point's marker
    (``owners``: each text's point)."""
    try:
        from adjustText import adjust_text
    except ImportError:  # optional (pip install '.[plot]'): labels stay beside their points
        adjust_text = None
    if adjust_text is not None and texts:
        adjust_text(texts, x=[p.x for p in pts], y=[p.top1 for p in pts], ax=ax, expand=(1.3, 1.6),
                    force_text=(0.3, 0.6), force_static=(0.5, 1.0), force_pull=(0.005, 0.005), iter_lim=ITERATIONS,
                    arrowprops=dict(arrowstyle="-", lw=0.4, color="0.45"))
    fig = ax.figure
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    frame = ax.get_window_extent(r)
    xy = ax.transData.transform([(p.x, p.top1) for p in pts])
    best = {id(p) for p in _family_best(pts)}
    kept = []
    for i, t in enumerate(texts):  # in order of importance
        box = t.get_window_extent(r)
        inside = (frame.x0 - 1 <= box.x0 and box.x1 <= frame.x1 + 1 and frame.y0 - 1 <= box.y0
                  and box.y1 <= frame.y1 + 1)
        mine = owners[i] if owners else None
        covers = mine is not None and id(mine) not in best and any(
            box.x0 <= x <= box.x1 and box.y0 <= y <= box.y1 for p, (x, y) in zip(pts, xy) if p is not mine)
        box = box.expanded(1.04, 1.1)
        if inside and not covers and not any(box.overlaps(k) for k in kept):
            kept.append(box)
            continue
        for a in [a for a in ax.patches if getattr(a, "patchA", None) is t]:
            a.remove()
        t.remove()


def figure(names: Sequence[str], x: str = "madds", y: str = "top1", show_pareto: bool = False,
           labels="auto", title: Optional[str] = None, release_only: bool = True, device=None,
           size: Tuple[float, float] = (8.6, 5.4), label_size: float = 7.0):
    """A matplotlib ``Figure`` of published top-1 against computed cost (see the module doc);
    ``labels``: one of ``LABEL_MODES`` (True means auto, False none)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import AutoMinorLocator
    if y not in Y_AXES:
        raise CostModelError(f"unknown y axis {y!r}; accepted: {', '.join(Y_AXES)}")
    pts = points(names, x, release_only, device)
    chosen = labelled(pts, labels)
    fig = Figure(figsize=size, dpi=100)
    FigureCanvasAgg(fig)  # a renderer for text extents (label placement)
    ax = fig.add_subplot(1, 1, 1)
    order = list(FAMILY_STYLE) + sorted({p.family for p in pts} - set(FAMILY_STYLE))
    for fam in sorted({p.family for p in pts}, key=order.index):
        ps = [p for p in pts if p.family == fam]
        computed = ps[0].computed
        colour, marker = style(fam, computed)
        ax.scatter([p.x for p in ps], [p.top1 for p in ps], marker=marker, s=30 if marker != "*" else 60,
                   label=fam if computed else "published cost (not a registry network)",
                   facecolors=colour if computed else "none", edgecolors=colour, linewidths=0.8, zorder=3)
    if show_pareto:
        front = pareto(pts)
        ax.step([p.x for p in front], [p.top1 for p in front], where="post", color="0.3", lw=1, ls="--",
                label="Pareto front", zorder=2)
    ax.set_xscale("log")
    xs = [p.x for p in pts]
    lo, hi = min(xs), max(xs)
    ax.set_xlim(lo / 1.35, hi * 1.35)
    _log_ticks(ax, lo / 1.35, hi * 1.35, X_AXES[x][2])
    ax.yaxis.set_minor_locator(AutoMinorLocator())
    ys = [p.top1 for p in pts]
    pad = max(1.0, 0.05 * (max(ys) - min(ys)))
    ax.set_ylim(min(ys) - pad, max(ys) + 2 * pad)  # room for the labels of the best points
    xlabel = X_AXES[x][1] if x != "latency" else f"latency (predicted on {device})"
    ax.set_xlabel(xlabel + ", log scale", fontsize=9)
    ax.set_ylabel(Y_AXES[y], fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(True, which="major", lw=0.4, alpha=0.6)
    ax.grid(True, which="minor", lw=0.25, alpha=0.3)
    texts = [ax.text(p.x, p.top1, p.label, fontsize=label_size, color=style(p.family, p.computed)[0], zorder=4,
                     ha="left", va="bottom") for p in chosen]
    ax.legend(fontsize=7.5, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False)
    ax.set_title(title or f"Published top-1 against {xlabel.split(' (')[0]}", fontsize=10)
    fig.tight_layout()
    _place_labels(ax, texts, pts, chosen)
    return fig


def label_overlaps(fig) -> List[Tuple[str, str]]:
    """Pairs of point labels (texts) of ``fig``'s axes whose boxes overlap once drawn."""
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    out = []
    for ax in fig.axes:
        boxes = [(t.get_text(), t.get_window_extent(r)) for t in ax.texts if t.get_text()]
        for i, (a, ba) in enumerate(boxes):
            out += [(a, b) for b, bb in boxes[i + 1:] if ba.overlaps(bb)]
    return out


def figure_format(path: str) -> str:
    """The image format ``path``'s suffix names (.png, .svg, .pdf; PNG for '-', standard output), or
    a CostModelError: commands check it before computing anything."""
    import os
    from .fileio import is_stdout
    ext = ".png" if is_stdout(path) else os.path.splitext(path)[1].lower()
    if ext not in FORMATS:
        raise CostModelError(f"cannot write a plot to {path!r}: the file name must end in "
                             f"{', '.join(FORMATS)}")
    return ext


def save(fig, path: str) -> None:
    """Write ``fig`` atomically; the format follows the suffix (``figure_format``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from .fileio import atomic_path
    ext = figure_format(path)
    FigureCanvasAgg(fig)
    with atomic_path(path, ext, binary=ext != ".svg") as tmp:
        fig.savefig(tmp, format=ext[1:], dpi=fig.dpi)


__all__ = ["points", "pareto", "figure", "figure_format", "save", "labelled", "label_points", "label_overlaps",
           "style", "X_AXES", "Point", "FAMILY_STYLE", "SHORT"]
