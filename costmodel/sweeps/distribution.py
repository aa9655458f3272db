"""The distribution of a sampled design space, as the design-space papers report it (RegNet,
arXiv 2003.13678 section 3.1: the empirical distribution function of N models sampled uniformly):
quantiles of each metric, and its cumulative distribution F(x) = fraction of the sampled models
with metric <= x, drawn per metric on a log axis."""
from __future__ import annotations

from typing import List, Sequence

#: the metrics reported, in order, with their labels and units: (column, label, unit, divisor)
METRICS = (("madds", "Mult-Adds", "M", 1e6), ("params", "params", "M", 1e6),
           ("peak_activation_bytes", "peak activation memory", "MB (10^6 bytes)", 1e6),
           ("latency_s", "estimated time", "ms", 1e-3))
QUANTILES = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)


def metrics_of(df) -> List[tuple]:
    return [m for m in METRICS if m[0] in df.columns]


def summary(df) -> List[dict]:
    """One row per metric present: n, min, p10, p25, median, p75, p90, max (exact values for
    counts: the order statistics ``numpy.quantile(method="lower")`` picks, never interpolated)."""
    import numpy as np
    rows = []
    for col, label, unit, scale in metrics_of(df):
        v = np.sort(np.asarray(df[col], dtype=float if col == "latency_s" else object))
        row = {"metric": label, "unit": unit, "n": len(v)}
        for q in QUANTILES:
            x = v[min(len(v) - 1, int(np.floor(q * (len(v) - 1))))]
            row[f"q{int(q * 100)}"] = float(x) / scale
        rows.append(row)
    return rows


def plot_cdf(df, path: str, title: str, notes: Sequence[str] = ()) -> None:
    """The empirical cumulative distribution of every metric present, one panel each, written to
    ``path`` (png, pdf or svg) atomically."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from ..plot import save
    ms = metrics_of(df)
    cols = 2 if len(ms) > 1 else 1
    rows = (len(ms) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.6 * rows), squeeze=False,
                             dpi=130)
    for ax, (col, label, unit, scale) in zip(axes.ravel(), ms):
        x = np.sort(np.asarray(df[col], dtype=float)) / scale
        y = np.arange(1, len(x) + 1) / len(x)
        ax.step(x, y, where="post", color="#2b6cb0", lw=1.6)
        med = x[(len(x) - 1) // 2]
        ax.axvline(med, color="#999999", lw=0.8, ls="--")
        ax.text(med, 0.04, f" median {med:,.4g}", fontsize=8, color="#555555")
        if x[0] > 0 and x[-1] / x[0] > 3:
            from matplotlib.ticker import FuncFormatter, LogLocator
            ax.set_xscale("log")
            # labels 1-2-5 per decade; within one decade those leave one or two labels: add 1.5, 3, 7
            ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5) if x[-1] / x[0] >= 10 else (1, 1.5, 2, 3, 5, 7)))
            ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.4g}"))
        ax.set_xlabel(f"{label} ({unit})")
        ax.set_ylabel("cumulative fraction of models")
        ax.set_ylim(0, 1.0)
        ax.grid(True, which="both", alpha=0.25)
    for ax in axes.ravel()[len(ms):]:
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    if notes:
        fig.text(0.01, 0.005, "\n".join(notes), fontsize=7, color="#444444", va="bottom")
    fig.tight_layout(rect=(0, 0.03 * max(1, len(notes)), 1, 0.95))
    save(fig, path)
    plt.close(fig)


__all__ = ["METRICS", "QUANTILES", "metrics_of", "plot_cdf", "summary"]
