"""``costmodel sweep NET``: totals over a grid of width multipliers and resolutions (vectorized)."""
from __future__ import annotations

import click

from .common import CLASSES_OPTION, KNOB_OPTIONS, collect_knobs, emit, format_option, output_option
from .common import Progress  # noqa: F401  (moved to common.py; still importable from here)

#: show a progress bar on stderr from this many configurations (or with --peak)
PROGRESS_FROM = 20_000


def grid_options(f, alpha_help="Width multipliers: a list 0.5,0.75,1 or a range START:STOP:STEP (inclusive).",
                 res_help="Resolutions: a list 128,160,224 or a range START:STOP:STEP (inclusive)."):
    opts = [click.option("--alpha", "-a", "alpha", default=None, metavar="LIST|RANGE", help=alpha_help),
            click.option("--res", "-r", "res", default=None, metavar="LIST|RANGE", help=res_help),
            CLASSES_OPTION] + KNOB_OPTIONS
    for o in reversed(opts):
        f = o(f)
    return f


def parse_grid(alpha, res):
    from ..sweeps import frange, irange
    return (frange(alpha) if alpha else None), (irange(res) if res else None)


def table(df, knob_names=()):
    """The sweep's frame as a ``render.Table``: alpha, resolution, the counts (units in headers)."""
    from ..render import Column, Table, frame_rows
    bits = df.attrs.get("bits", 32)
    cols = [Column("alpha", "alpha", "g"), Column("resolution", "resolution (px)"), Column("params", "params (count)"),
            Column("params_with_bn", "params with BN (count)"), Column("madds", "Mult-Adds (count)"),
            Column("flops", "FLOPs (count)"), Column("mac", "MAC (elements)"),
            Column("mac_bytes", f"MAC (bytes, {bits}-bit)"),
            Column("peak_activation_bytes", f"peak activations (bytes, {bits}-bit)")]
    cols = [c for c in cols if c.key in df.columns]
    if "depth" in df.columns:
        cols.insert(1, Column("depth", "depth", "g"))
    title = f"{df.attrs.get('network', '')}: {len(df):,} configuration{'' if len(df) == 1 else 's'}"
    knobs = ", ".join(f"{k}={df[k].iloc[0]}" for k in knob_names if k in df.columns)
    view = "unfused view" if df.attrs.get("unfused") else "deployment view"
    note = ("convention: params = conv/linear weights + biases; Mult-Adds = multiply-accumulates; MAC = "
            "elements read + written + weights (" + view + ")"
            + (f"; peak = optimal schedule, {bits}-bit" if "peak_activation_bytes" in df.columns else ""))
    rows = frame_rows(df)
    if "latency_s" in df.columns:
        cols = cols + [Column("latency_ms", f"latency (ms, {df.attrs.get('device', '')})", "float")]
        for r in rows:
            r["latency_ms"] = r["latency_s"] * 1e3
        note += f"; latency predicted on {df.attrs['device']}"
    return Table(title + (f" ({knobs})" if knobs else ""), cols, rows, notes=[note], sheet="sweep")


def add_latency(df, net, device, classes, knobs):
    """``latency_s`` column: the time predicted on ``device`` for each row (roofline.latency_for)."""
    from ..roofline import device as get_device, latency_for
    dev = get_device(device)
    df = df.assign(latency_s=latency_for(net, zip(df["alpha"], df["resolution"]), dev, classes, **knobs))
    df.attrs["device"] = f"{dev.name} ({dev.model})"
    return df


def render(df, fmt: str, knob_names=()) -> str:
    """CSV and JSON keep every column (pandas writes the large grids fast); text, Markdown and xlsx
    go through the renderer."""
    from ..render import json_text, render as render_table
    if fmt == "csv":
        return df.to_csv(index=False)
    if fmt == "json":
        from ..render import frame_rows
        return json_text(frame_rows(df))
    return render_table(table(df, knob_names), fmt)


@click.command("sweep")
@click.argument("net")
@grid_options
@format_option(("text", "csv", "markdown", "json", "xlsx"))
@output_option
@click.option("--peak", is_flag=True, help="Add peak activation memory (one exact plan per configuration: slower).")
@click.option("--device", default=None, metavar="NAME|FILE.json",
              help="Add latency_s, the time predicted on this device (one build per configuration).")
def cmd(net, alpha, res, classes, fmt, output, peak, device=None, **kwargs):
    """Totals of NET for every (alpha, resolution) of a grid: params, params with BN, Mult-Adds,
    FLOPs, BN channels, MAC (and peak memory with --peak), one row per configuration. Vectorized:
    a million configurations take about a second."""
    from ..fileio import check_writable
    from ..sweeps import sweep
    if output:
        check_writable(output)
    alphas, resolutions = parse_grid(alpha, res)
    knobs = collect_knobs(kwargs)
    n = (len(alphas) if alphas else 1) * (len(resolutions) if resolutions else 1)
    bar = Progress("sweeping", n >= PROGRESS_FROM or (peak and n > 50))
    try:
        df = sweep(net, alphas, resolutions, classes, peak=peak, progress=bar, **knobs)  # any NET source
    finally:
        bar.close()
    if device:
        df = add_latency(df, net, device, classes, knobs)
    emit(render(df, fmt, list(knobs)), output)
