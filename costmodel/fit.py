"""Constraint search over a grid: the configurations within a budget, published top-1 first, then
interpolated top-1 (``accuracy.interpolate``: linear in log Mult-Adds between the family's two
neighbouring published points of the same network and knobs, never extrapolated), then by
Mult-Adds (more compute first); ``accuracy=`` asks for published or interpolated figures only.
Peak activation memory is computed at ``bits`` under a named ``schedule`` (``costmodel.memory``)."""
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
    """The family's published alphas x resolutions (data/), else the network's defaults: its alphas
    and the default resolution of these knobs (a head's own: 320 for SSD, 513 for DeepLab), the one
    every other command builds."""
    from .accuracy import family_points
    from .registry import resolve
    net, _, res, _, full = resolve(name, None, None, None, **knobs)
    pts = family_points(net.name, full)
    alphas = sorted({net.default_alpha if p.alpha is None else p.alpha for p in pts})
    published = sorted({p.resolution or net.default_res for p in pts})
    if not alphas:
        alphas = list(net.alphas) if net.alphas else [net.default_alpha]
    return alphas, published or [tuple(res) if isinstance(res, list) else res]


ACCURACY = ("published", "interpolated", "both")


def resolutions_of(df) -> list:
    """Each row's resolution: N for a square input, (H, W) otherwise (a sweep's frame has the
    ``resolution`` column for a square axis only, ``height`` and ``width`` always)."""
    if "resolution" in df.columns:
        return [int(r) for r in df["resolution"]]
    return [h if h == w else (h, w) for h, w in zip(map(int, df["height"]), map(int, df["width"]))]


def res_text(r) -> str:
    """A resolution as tables show it: '224', or '160x128' (H x W)."""
    return f"{r[0]}x{r[1]}" if isinstance(r, (tuple, list)) else str(r)


def _peak_column(df, name: str, classes, knobs: dict, bits: int, schedule: str, grid=(True, True)):
    """Peak activation bytes of every row under ``schedule`` (one exact plan per configuration).
    ``grid``: whether the alphas and the resolutions were given to the sweep; an axis that was not
    is left to the source's own default, as the sweep built it (an ONNX model takes no alpha)."""
    from .memory import peak_bytes
    from .sources import load
    n = len(df)
    alphas = [float(a) for a in df["alpha"]] if grid[0] else [None] * n
    res = resolutions_of(df) if grid[1] else [None] * n
    cache: Dict[tuple, int] = {}
    out = []
    for key in zip(alphas, res):
        if key not in cache:
            cache[key] = peak_bytes(load(name, key[0], key[1], classes, **knobs), bits, schedule)
        out.append(cache[key])
    return df.assign(peak_activation_bytes=out)


def _within(df, limits: Dict[str, int]):
    for k, v in limits.items():
        df = df[df[k] <= v]
    return df


def _grid_size(alphas, resolutions) -> int:
    """The rows of a grid (None: the source's one default), read as ``sweeps.sweep`` reads it."""
    from .sweeps.axes import ResAxis, float_axis, res_axis
    na = len(float_axis(alphas, "alpha") or [None])
    if resolutions is None:
        return na
    return na * len(res_axis(resolutions) if isinstance(resolutions, str) else ResAxis.of(resolutions))


def _check_latency_rows(n: int, budgets: bool) -> None:
    """Refuse, before any peak is planned, more rows than a latency prediction takes; ``n`` is the
    rows within the cheap budgets (``budgets``) or, without one, the grid's size."""
    from .roofline import check_latency_rows
    if budgets:
        check_latency_rows(n, "narrow the grid or lower a budget", "the Mult-Adds/params/FLOPs budgets leave")
    else:
        check_latency_rows(n, "narrow the grid or add a --max-madds, --max-params or --max-flops budget")


def _check_accuracy_source(name: str, accuracy: str) -> None:
    """A spec file, block string or imported model has no published accuracy to rank on."""
    if accuracy != "both":
        raise CostModelError(f"{name}: --accuracy {accuracy} needs published accuracies, which only registry "
                             f"networks have; your own network is ranked by Mult-Adds")


def _check_accuracy_classes(name: str, accuracy: str, classes: int) -> str:
    """'' when published top-1 figures can apply to a graph of ``classes`` classes, else why none
    does (a note); ``--accuracy published|interpolated`` is refused then: nothing to rank on."""
    from .accuracy import no_figure_reason
    reason = no_figure_reason(classes)
    if reason and accuracy != "both":
        raise CostModelError(f"{name}: --accuracy {accuracy} needs published accuracies; {reason} (use --accuracy "
                             f"both: ranked by Mult-Adds)")
    return reason


def fit(name: str, limits: Dict[str, int], alphas: Optional[Sequence[float]] = None,
        resolutions: Optional[Sequence[int]] = None, classes: Optional[int] = None, *,
        accuracy: str = "both", bits: int = 32, schedule: Optional[str] = None, device=None, **knobs):
    """DataFrame of the grid's configurations within every limit (totals key -> maximum), best
    first, with ``top1`` (the figure ranked on), ``top1_basis`` (published / interpolated / ''),
    ``top1_published`` and ``top1_interpolated`` (NaN where there is none).

    ``accuracy``: ``published`` lists only configurations with a published top-1, ranked by it;
    ``interpolated`` ranks every configuration by its family's published curve (linear in log
    Mult-Adds between the two neighbouring published points, never extrapolated; at a published
    point the curve is the published figure), dropping those outside the curve's range; ``both``
    (default) lists the published configurations first, then the interpolated ones, each best
    first, then the rest by Mult-Adds (more compute first): an estimate never outranks a measurement.
    ``bits`` (8, 16, 32) sizes MAC and peak bytes; ``schedule`` (sequential, optimal, streamed;
    default optimal) is the execution order the peak activation memory is computed for (the peak is
    computed when a peak limit is given or a schedule is named). ``device`` (a name, device file or
    ``roofline.Device``; the CLI's --device): the device the caller predicts ``latency_s`` on
    afterwards, one build per row (``roofline.latency_for``, at most ``LATENCY_GRID_LIMIT`` rows):
    it is checked first, and the rows within the cheap budgets are counted before any peak is
    planned (the grid's size before sweeping, when there is no cheap budget)."""
    from .accuracy import family_points, interpolate, lookup
    from .analysis import analyze
    from .memory import SCHEDULES, check_bits
    from .registry import build, resolve
    from .sweeps import sweep
    from .sources import source_kind
    if accuracy not in ACCURACY:
        raise CostModelError(f"unknown accuracy basis {accuracy!r}; accepted: {', '.join(ACCURACY)}")
    if schedule is not None and schedule not in SCHEDULES:
        raise CostModelError(f"unknown schedule {schedule!r}; accepted: {', '.join(SCHEDULES)}")
    bits = check_bits(bits)
    peak = "peak_activation_bytes" in limits or schedule is not None
    schedule = schedule or "optimal"
    others = {k: v for k, v in limits.items() if k != "peak_activation_bytes"}
    if device is not None:
        from .roofline import device as get_device
        get_device(device)  # an unknown name or a bad device file, before anything is computed
    registry = source_kind(name) == "registry"
    grid = (alphas is not None, resolutions is not None)
    if registry:
        net, _, _, graph_classes, full = resolve(name, None, None, classes, **knobs)
        no_top1 = _check_accuracy_classes(name, accuracy, graph_classes)
        da, dr = default_grid(name, **knobs)
        alphas = list(alphas) if alphas else da
        resolutions = list(resolutions) if resolutions else dr
        grid = (True, True)
    else:
        _check_accuracy_source(name, accuracy)
    if device is not None and not others:  # every row of the grid reaches the latency prediction
        _check_latency_rows(_grid_size(alphas, resolutions), budgets=False)
    df = sweep(name, alphas, resolutions, classes, bits=bits, **knobs)
    attrs = dict(df.attrs)
    df = _within(df, others)  # the cheap budgets first: peaks are planned for what remains only
    if device is not None:
        _check_latency_rows(len(df), budgets=bool(others))
    if peak:
        df = _within(_peak_column(df, name, classes, knobs, bits, schedule, grid), limits)
    attrs.update(bits=bits, schedule=schedule if peak else None, accuracy=accuracy)
    nan = float("nan")
    if not registry:  # a spec file / ONNX model: no published accuracy, ranked by compute
        df = df.assign(top1=nan, top1_basis="", top1_source="", top1_note="", top1_published=nan,
                       top1_interpolated=nan)
        df = df.sort_values("madds", ascending=False, kind="stable").reset_index(drop=True)
        df.attrs.update(attrs)
        return df
    attrs["top1_none"] = no_top1  # why no row has a published top-1 ('' when figures can apply)
    pts = []  # the curve's abscissa: each published configuration's Mult-Adds at the classes of this grid,
    for p in family_points(net.name, full, graph_classes):  # so that the curve passes through the published rows
        t = analyze(build(net.name, alpha=p.alpha, res=p.resolution, classes=graph_classes, **p.knob_dict)).totals
        pts.append((t["madds"], p.top1))
    cols = {k: [] for k in ("top1", "top1_basis", "top1_source", "top1_note", "top1_published", "top1_interpolated")}
    for a, r, m in zip(df["alpha"], resolutions_of(df), df["madds"]):
        p = lookup(net.name, a, r, full, graph_classes)
        est = interpolate(int(m), pts)
        est = nan if est is None else est
        if accuracy == "interpolated":
            top, basis = est, ("interpolated" if est == est else "")
        elif p is not None:
            top, basis = p.top1, "published"
        elif accuracy == "both" and est == est:
            top, basis = est, "interpolated"
        else:
            top, basis = nan, ""
        for k, v in (("top1", top), ("top1_basis", basis), ("top1_source", p.source if p else ""),
                     ("top1_note", p.note if p else ""), ("top1_published", p.top1 if p else nan),
                     ("top1_interpolated", est)):
            cols[k].append(v)
    df = df.assign(**cols)
    if accuracy != "both":  # only what the basis asked for
        df = df[df["top1_basis"] != ""]
    rank = df["top1_basis"].map({"published": 0, "interpolated": 1}).fillna(2)
    df = df.assign(_rank=rank, _acc=df["top1"].fillna(-1.0))
    df = df.sort_values(["_rank", "_acc", "madds"], ascending=[True, False, False], kind="stable")
    df = df.drop(columns=["_rank", "_acc"]).reset_index(drop=True)
    df.attrs.update(attrs)
    return df


def render(df, fmt: str, limits: Dict[str, int]) -> str:
    """The fitting configurations, best first, through the renderer (CSV keeps every column)."""
    from .render import Column, Table, frame_rows, json_text, render as render_table
    if fmt == "csv":
        return df.to_csv(index=False)
    if fmt == "json":
        return json_text(frame_rows(df))
    square = "resolution" in df.columns
    cols = [Column("alpha", "alpha", "g"), Column("resolution", "res (px)") if square else
            Column("res_text", "res (px)", "figure"), Column("params", "params"), Column("madds", "Mult-Adds"),
            Column("flops", "FLOPs")]
    if "peak_activation_bytes" in df.columns:
        cols.append(Column("peak_activation_bytes",
                           f"peak (bytes, {df.attrs.get('bits', 32)}-bit, {df.attrs.get('schedule') or 'optimal'})"))
    if "latency_s" in df.columns:  # fit --device
        cols.append(Column("latency_ms", "latency (ms)", "float"))
    cols += [Column("top1", "top-1 (%)", "pct"), Column("basis", "basis", "text")]
    rows = frame_rows(df)
    for r, res in zip(rows, [] if square else resolutions_of(df)):
        r["res_text"] = res_text(res)
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
    note = {"both": "top-1: published configurations first (data/), then the interpolated ones (linear in "
                    "log(Mult-Adds) between the family's neighbouring published points), then the rest by Mult-Adds",
            "published": "top-1: published configurations only (data/); --accuracy both adds interpolated ones",
            "interpolated": "top-1: every configuration on its family's published curve (linear in log(Mult-Adds) "
                            "between the neighbouring published points, equal to the figure at a published one; "
                            "none outside the curve's range)"}[df.attrs.get("accuracy", "both")]
    extra = [df.attrs["top1_none"]] if df.attrs.get("top1_none") else []
    return render_table(Table(title, cols, rows, notes=[note] + extra + [f"[{i}] {n}" for i, n in enumerate(notes, 1)],
                              sheet="fit"), fmt)


__all__ = ["fit", "parse_count", "parse_bytes", "default_grid", "render", "res_text", "resolutions_of"]
