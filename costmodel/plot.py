"""Accuracy against computed cost: published ImageNet top-1 (``costmodel.accuracy``) on the y axis,
the cost this model computes for the same configuration on a log x axis, one series per family,
each point labelled with its alpha and resolution (MobileNetV1 Figures 4 and 5, MobileNetV2
Figure 5). Models that are not registry networks (NASNet-A, MnasNet-A1, ...) are drawn at their
*published* cost with hollow markers and say so in the legend. ``pareto=True`` draws the front of
the points (no other point has both lower cost and higher accuracy).

matplotlib is imported here only, through ``matplotlib.figure.Figure`` and the Agg canvas (no
pyplot, no global backend switch), so the CLI's other commands never pay for it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence

from .errors import CostModelError

#: --x choices -> (totals key, axis label)
X_AXES = {
    "madds": ("madds", "Mult-Adds (computed)"),
    "params": ("params", "parameters (computed)"),
    "flops": ("flops", "FLOPs (computed)"),
    "mac": ("mac", "memory access cost, elements (computed)"),
    "peak-memory": ("peak_activation_bytes", "peak activation memory, bytes (computed, 32-bit)"),
    "latency": ("latency_s", "latency, seconds (predicted on the --device)"),
}
Y_AXES = {"top1": "ImageNet top-1 accuracy (%, published)"}
FORMATS = (".png", ".svg", ".pdf")


@dataclass
class Point:
    family: str
    network: str
    label: str         #: alpha and resolution, e.g. '0.75-160'
    x: float
    top1: float
    computed: bool     #: False: a published-only model at its published cost
    source: str
    model: str


def _label(net, p) -> str:
    a = net.default_alpha if p.alpha is None else p.alpha
    s = f"{a:g}-{p.resolution or net.default_res}"
    extra = [("g" if k == "groups" else f"{k}=") + v for k, v in p.knobs if k not in ("rounding", "impl")]
    return s + (" " + " ".join(extra) if extra else "")


def points(names: Sequence[str], x: str = "madds", release_only: bool = True, device=None) -> List[Point]:
    """The published configurations of registry networks ``names`` at their computed cost, plus
    published-only models named in ``names`` (case-insensitive) at their published cost; ``all``
    means every network and model with a published accuracy. ``release_only``: for a network with
    an official release table (TF-slim, megvii), plot only its released checkpoints, as the
    papers' figures do (MobileNetV1 Figures 4/5: the 16 released models)."""
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
    recs = accuracy.records()
    if list(names) == ["all"] or "all" in names:
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
            cfg = (p.alpha, p.resolution, p.knobs)
            if cfg in seen:
                continue
            seen.add(cfg)
            g = build(net.name, alpha=p.alpha, res=p.resolution, classes=p.classes, **p.knob_dict)
            if dev is not None:
                from .roofline import predict
                xv = predict(g, dev)
            else:
                xv = float(analyze(g).totals[key])
            out.append(Point(net.family, net.name, _label(net, p), xv, p.top1, True, p.source, p.model))
    if not out:
        raise CostModelError(f"no published accuracy for {', '.join(names)} in data/; networks with published "
                             f"top-1: {', '.join(sorted({p.network for p in recs if p.network}))}")
    return out


def pareto(pts: Sequence[Point]) -> List[Point]:
    """Points not dominated by another (lower or equal cost with higher accuracy), by cost."""
    front, best = [], float("-inf")
    for p in sorted(pts, key=lambda p: (p.x, -p.top1)):
        if p.top1 > best:
            front.append(p)
            best = p.top1
    return front


def figure(names: Sequence[str], x: str = "madds", y: str = "top1", show_pareto: bool = False,
           labels: bool = True, title: Optional[str] = None, release_only: bool = True, device=None):
    """A matplotlib ``Figure`` of published top-1 against computed cost (see the module doc)."""
    from matplotlib.figure import Figure
    if y not in Y_AXES:
        raise CostModelError(f"unknown y axis {y!r}; accepted: {', '.join(Y_AXES)}")
    pts = points(names, x, release_only, device)
    fig = Figure(figsize=(8, 5.5), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    fams = list(dict.fromkeys(p.family for p in pts))
    for fam in fams:  # several networks in one family: prefix labels with what tells them apart
        nets = sorted({p.network for p in pts if p.family == fam and p.computed})
        if len(nets) > 1:
            import os
            common = len(os.path.commonprefix(nets))
            for p in pts:
                if p.family == fam and p.computed:
                    p.label = f"{p.network[common:].strip('_') or p.network} {p.label}"
    markers = "osD^v<>ph*"
    from matplotlib import colormaps
    cmap = colormaps["tab10" if len(fams) <= 10 else "tab20"]
    for i, fam in enumerate(fams):
        color = cmap(i % cmap.N)
        ps = [p for p in pts if p.family == fam]
        hollow = not ps[0].computed
        ax.scatter([p.x for p in ps], [p.top1 for p in ps], marker=markers[i % len(markers)], s=36,
                   label=fam if not hollow else "published cost (not a registry network)",
                   facecolors="none" if hollow else color, edgecolors=color, zorder=3)
        if labels:
            for p in ps:
                ax.annotate(p.label, (p.x, p.top1), textcoords="offset points", xytext=(4, 3), fontsize=6.5,
                            color=color)
    if show_pareto:
        front = pareto(pts)
        ax.step([p.x for p in front], [p.top1 for p in front], where="post", color="0.3", lw=1, ls="--",
                label="Pareto front", zorder=2)
    ax.set_xscale("log")
    xlabel = X_AXES[x][1] if x != "latency" else f"latency, seconds (predicted on {device})"
    ax.set_xlabel(xlabel + " (log scale)")
    ax.set_ylabel(Y_AXES[y])
    ax.grid(True, which="both", lw=0.3, alpha=0.5)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title or f"Published top-1 against {xlabel}", fontsize=10)
    fig.tight_layout()
    return fig


def save(fig, path: str) -> None:
    """Write ``fig`` atomically; the format follows the suffix (.png, .svg, .pdf; PNG for '-',
    standard output)."""
    import os
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from .fileio import atomic_path, is_stdout
    ext = ".png" if is_stdout(path) else os.path.splitext(path)[1].lower()
    if ext not in FORMATS:
        raise CostModelError(f"cannot write a plot to {path!r}: the file name must end in "
                             f"{', '.join(FORMATS)}")
    FigureCanvasAgg(fig)
    with atomic_path(path, ext, binary=ext != ".svg") as tmp:
        fig.savefig(tmp, format=ext[1:])


__all__ = ["points", "pareto", "figure", "save", "X_AXES", "Point"]
