"""Constraint search over a grid: the configurations within a budget, ranked by published top-1,
else interpolated top-1 (``accuracy.interpolate``: linear in log Mult-Adds between the family's two
neighbouring published points of the same network and knobs, never extrapolated), else by
Mult-Adds (more compute first)."""
from __future__ import annotations

import re
from typing import Dict, Optional, Sequence

from .errors import CostModelError

COUNT_UNITS = {"": 1, "K": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "B": 10 ** 9}
#: KB, MB, GB are powers of 1000, as every byte figure costmodel prints; KiB, MiB, GiB powers of 1024
BYTE_UNITS = {"": 1, "B": 1, "KB": 1000, "MB": 1000 ** 2, "GB": 1000 ** 3, "KIB": 1024, "MIB": 1024 ** 2,
              "GIB": 1024 ** 3}
_QTY = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([A-Za-z]*)\s*$")


def _parse(text: str, option: str, units: dict, example: str) -> int:
    from decimal import Decimal
    m = _QTY.match(str(text))
    unit = m.group(2).upper() if m else None
    if not m or unit not in units:
        raise CostModelError(f"bad value {text!r} for {option}: expected a number with an optional unit "
                             f"{', '.join(u for u in units if u)} (e.g. {example})")
    return int(Decimal(m.group(1)) * units[unit])


def parse_count(text: str, option: str = "budget") -> int:
    """'150M' -> 150000000; suffixes K, M, G (B = G) in powers of ten."""
    return _parse(text, option, COUNT_UNITS, "150M")


def parse_bytes(text: str, option: str = "budget") -> int:
    """'512KB' -> 512000, '512KiB' -> 524288: KB, MB, GB are powers of 1000 (as costmodel prints
    bytes everywhere), KiB, MiB, GiB powers of 1024."""
    return _parse(text, option, BYTE_UNITS, "512KB")


def default_grid(name: str, **knobs):
    """The family's published alphas x resolutions (data/), else the network's defaults."""
    from .accuracy import family_points
    from .registry import resolve
    net, _, _, _, full = resolve(name, None, None, 1000, **knobs)
    pts = family_points(net.name, full)
    alphas = sorted({net.default_alpha if p.alpha is None else p.alpha for p in pts})
    res = sorted({p.resolution or net.default_res for p in pts})
    if not alphas:
        alphas = list(net.alphas) if net.alphas else [net.default_alpha]
    return alphas, res or [net.default_res]


def fit(name: str, limits: Dict[str, int], alphas: Optional[Sequence[float]] = None,
        resolutions: Optional[Sequence[int]] = None, classes: Optional[int] = None, **knobs):
    """DataFrame of the grid's configurations within every limit (totals key -> maximum), best
    first, with ``top1`` and ``top1_basis`` (published / interpolated / '')."""
    from .accuracy import family_points, interpolate, lookup
    from .analysis import analyze
    from .registry import build, resolve
    from .sweeps import sweep
    from .sources import source_kind
    if source_kind(name) != "registry":  # a spec file / ONNX model: no published accuracy, ranked by compute
        df = sweep(name, alphas, resolutions, classes, peak="peak_activation_bytes" in limits, **knobs)
        for k, v in limits.items():
            df = df[df[k] <= v]
        df = df.assign(top1=float("nan"), top1_basis="", top1_source="", top1_note="")
        return df.sort_values("madds", ascending=False, kind="stable").reset_index(drop=True)
    net, _, _, classes, full = resolve(name, None, None, classes, **knobs)
    da, dr = default_grid(name, **knobs)
    alphas = list(alphas) if alphas else da
    resolutions = list(resolutions) if resolutions else dr
    df = sweep(name, alphas, resolutions, classes, peak="peak_activation_bytes" in limits, **knobs)
    for k, v in limits.items():
        df = df[df[k] <= v]
    pts = []
    for p in family_points(net.name, full):
        t = analyze(build(net.name, alpha=p.alpha, res=p.resolution, classes=p.classes, **p.knob_dict)).totals
        pts.append((t["madds"], p.top1))
    top1, basis, source, note = [], [], [], []
    for a, r, m in zip(df["alpha"], df["resolution"], df["madds"]):
        p = lookup(net.name, a, int(r), full)
        if p is not None:  # note: the reading the figure was published for, where not this graph
            top1.append(p.top1), basis.append("published"), source.append(p.source), note.append(p.note)
            continue
        est = interpolate(int(m), pts)
        top1.append(est), basis.append("interpolated" if est is not None else ""), source.append(""), note.append("")
    df = df.assign(top1=top1, top1_basis=basis, top1_source=source, top1_note=note)
    df = df.assign(_known=df["top1"].notna(), _acc=df["top1"].fillna(-1.0))
    df = df.sort_values(["_known", "_acc", "madds"], ascending=[False, False, False], kind="stable")
    return df.drop(columns=["_known", "_acc"]).reset_index(drop=True)


def render(df, fmt: str, limits: Dict[str, int]) -> str:
    """The fitting configurations, best first, through the renderer (CSV keeps every column)."""
    from .render import Column, Table, frame_rows, json_text, render as render_table
    if fmt == "csv":
        return df.to_csv(index=False)
    if fmt == "json":
        return json_text(frame_rows(df))
    cols = [Column("alpha", "alpha", "g"), Column("resolution", "res (px)"), Column("params", "params"),
            Column("madds", "Mult-Adds"), Column("flops", "FLOPs")]
    if "peak_activation_bytes" in df.columns:
        cols.append(Column("peak_activation_bytes", "peak (bytes)"))
    if "latency_s" in df.columns:  # fit --device
        cols.append(Column("latency_ms", "latency (ms)", "float"))
    cols += [Column("top1", "top-1 (%)", "pct"), Column("basis", "basis", "text")]
    rows = frame_rows(df)
    for r in rows:
        if r.get("latency_s") is not None:
            r["latency_ms"] = r["latency_s"] * 1e3
    notes = list(dict.fromkeys(r.get("top1_note") for r in rows if r.get("top1_note")))
    for r in rows:
        n = r.get("top1_note")
        r["basis"] = (r.get("top1_basis") or "by compute") + (f" [{notes.index(n) + 1}]" if n else "")
    name = df.attrs.get("network", "")
    lim = ", ".join(f"{k} <= {v:,}" for k, v in limits.items()) or "no budget"
    if "latency_s" in df.columns:
        lim += f"; latency on {df.attrs.get('device', '')}"
    title = (f"{name}: {len(rows)} configuration(s) fit ({lim}), best first" if rows
             else f"{name}: no configuration of the grid fits ({lim})")
    note = ("top-1: published (data/), else interpolated linearly in log(Mult-Adds) between the family's "
            "neighbouring published points, else ranked by Mult-Adds")
    return render_table(Table(title, cols, rows, notes=[note] + [f"[{i}] {n}" for i, n in enumerate(notes, 1)],
                              sheet="fit"), fmt)


__all__ = ["fit", "parse_count", "parse_bytes", "default_grid", "render"]
