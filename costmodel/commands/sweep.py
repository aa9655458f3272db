"""``costmodel sweep NET``: totals over a grid of width multipliers and resolutions (vectorized)."""
from __future__ import annotations

import sys

import click

from .common import KNOB_OPTIONS, collect_knobs, emit, format_option, output_option

#: show a progress bar on stderr from this many configurations (or with --peak)
PROGRESS_FROM = 20_000


def grid_options(f, alpha_help="Width multipliers: a list 0.5,0.75,1 or a range START:STOP:STEP (inclusive).",
                 res_help="Resolutions: a list 128,160,224 or a range START:STOP:STEP (inclusive)."):
    opts = [click.option("--alpha", "-a", "alpha", default=None, metavar="LIST|RANGE", help=alpha_help),
            click.option("--res", "-r", "res", default=None, metavar="LIST|RANGE", help=res_help),
            click.option("--classes", "-k", type=int, default=1000, show_default=True, help="Number of classes.")
            ] + KNOB_OPTIONS
    for o in reversed(opts):
        f = o(f)
    return f


def parse_grid(alpha, res):
    from ..sweep import frange, irange
    return (frange(alpha) if alpha else None), (irange(res) if res else None)


class Progress:
    """A click progress bar on stderr, created on the first report."""

    def __init__(self, label: str, enabled: bool):
        stream = sys.stderr
        self.label, self.bar, self.done = label, None, 0
        self.enabled = enabled and stream.isatty()  # never write bar debris into logs

    def __call__(self, done: int, total: int):
        if not self.enabled:
            return
        if self.bar is None or self.bar.length != total:
            self.close()
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
            self.done = 0
        self.bar.update(done - self.done)
        self.done = done

    def close(self):
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


COLUMNS = [("alpha", "alpha"), ("res", "resolution"), ("params", "params"), ("params+BN", "params_with_bn"),
           ("Mult-Adds", "madds"), ("FLOPs", "flops"), ("MAC (elements)", "mac"),
           ("peak (bytes)", "peak_activation_bytes"), ("latency (ms)", "latency_s")]


def add_latency(df, net, device, classes, knobs):
    """``latency_s`` column: the time predicted on ``device`` for each row (roofline.latency_for)."""
    from ..roofline import device as get_device, latency_for
    dev = get_device(device)
    df = df.assign(latency_s=latency_for(net, zip(df["alpha"], df["resolution"]), dev, classes, **knobs))
    df.attrs["device"] = f"{dev.name} ({dev.model})"
    return df


def render(df, fmt: str, knob_names=()) -> str:
    from ..formatting import json_text, text_table
    cols = [c for c in COLUMNS if c[1] in df.columns]
    if fmt == "csv":
        return df.to_csv(index=False)
    if fmt == "json":
        keys = list(df.columns)
        recs = [{k: (v.item() if hasattr(v, "item") else v) for k, v in zip(keys, row)}
                for row in df.itertuples(index=False, name=None)]
        return json_text(recs)
    rows = []
    for r in df[[k for _, k in cols]].itertuples(index=False, name=None):
        rows.append([f"{r[0]:g}"] + [f"{v * 1e3:.3f}" if isinstance(v, float) else f"{int(v):,}" for v in r[1:]])
    title = f"{df.attrs.get('network', '')}: {len(df):,} configuration{'' if len(df) == 1 else 's'}"
    knobs = ", ".join(f"{k}={df[k].iloc[0]}" for k in knob_names if k in df.columns)
    bits = df.attrs.get("bits", 32)
    view = "unfused view" if df.attrs.get("unfused") else "deployment view"
    return (title + (f" ({knobs})" if knobs else "") + "\n\n" + text_table([h for h, _ in cols], rows, "r" * len(cols))
            + "\n\nconvention: params = conv/linear weights + biases; Mult-Adds = multiply-accumulates; MAC = "
              "elements read + written + weights (" + view + ")"
            + (f"; peak = optimal schedule, {bits}-bit" if "peak_activation_bytes" in df.columns else "")
            + (f"; latency predicted on {df.attrs['device']}" if "latency_s" in df.columns else "") + "\n")


@click.command("sweep")
@click.argument("net")
@grid_options
@format_option(("text", "csv", "json", "xlsx"))
@output_option
@click.option("--peak", is_flag=True, help="Add peak activation memory (one exact plan per configuration: slower).")
@click.option("--device", default=None, metavar="NAME|FILE.json",
              help="Add latency_s, the time predicted on this device (one build per configuration).")
def cmd(net, alpha, res, classes, fmt, output, peak, device=None, **kwargs):
    """Totals of NET for every (alpha, resolution) of a grid: params, params with BN, Mult-Adds,
    FLOPs, BN channels, MAC (and peak memory with --peak), one row per configuration. Vectorized:
    a million configurations take about a second."""
    from ..errors import CostModelError
    from ..fileio import check_writable
    from ..sweep import sweep
    if output:
        check_writable(output)
    if fmt == "xlsx" and not output:
        raise CostModelError("--format xlsx writes a file: give -o FILE.xlsx")
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
    if fmt == "xlsx":
        from ..export import write_table_xlsx
        write_table_xlsx(output, "sweep", df)
        return
    emit(render(df, fmt, list(knobs)), output)
