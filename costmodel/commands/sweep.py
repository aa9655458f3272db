"""``costmodel sweep NET``: totals over a grid of width multipliers, depth multipliers and
resolutions (N or HxW), or over the block table's stages (per-stage width, depth, kernel,
expansion; enumerated or sampled), streamed to its output (docs/sweeps.md)."""
from __future__ import annotations

import click

from .common import CLASSES_OPTION, KNOB_OPTIONS, collect_knobs, emit, format_option, output_option, report_written
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
    return (None if alpha is None else frange(alpha)), (None if res is None else irange(res))  # "" is an error


def table(df, knob_names=()):
    """The sweep's frame as a ``render.Table``: alpha, depth, resolution (or height and width),
    the stage choices, the counts (units in headers)."""
    from ..render import Column, Table, frame_rows
    from ..sweeps.writers import HEADERS
    bits = df.attrs.get("bits", 32)
    keys = ["alpha", "depth"] + (["resolution"] if "resolution" in df.columns else ["height", "width"])
    keys += [c for c in df.columns if c.startswith("stage")]
    keys += ["params", "params_with_bn", "madds", "flops", "attn_madds", "mac", "mac_bytes", "peak_activation_bytes"]
    cols = [Column(k, HEADERS.get(k, k).format(bits=bits), "g" if k in ("alpha", "depth") or
                   str(df[k].dtype).startswith("float") else "int") for k in keys if k in df.columns]
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


def add_latency(df, net, device, classes, knobs, bits: int = 32):
    """``latency_s`` column: the time predicted on ``device`` for each row at ``bits``
    (roofline.latency_for)."""
    import numpy as np
    from ..roofline import device as get_device, latency_for
    dev = get_device(device)
    if "height" in df.columns:  # (H, W) pairs, one depth at a time
        res = [(int(h), int(w)) for h, w in zip(df["height"], df["width"])]
    else:
        res = list(df["resolution"])
    depths = df["depth"] if "depth" in df.columns else [None] * len(df)
    out = np.zeros(len(df))
    for d in dict.fromkeys(depths):
        idx = [i for i, x in enumerate(depths) if x == d or (x != x and d != d)]
        kw = dict(knobs) if d is None else dict(knobs, depth=float(d))
        out[idx] = latency_for(net, [(df["alpha"].iloc[i], res[i]) for i in idx], dev, classes, bits=bits, **kw)
    df = df.assign(latency_s=out)
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



def stage_options(f):
    """--stage-width/--stage-depth/--stage-kernel/--stage-expand, --stages, --sample, --seed, --plot."""
    opts = [
        click.option("--stage-width", "stage_width", default=None, metavar="LIST|RANGE",
                     help="Per-stage width multipliers (times alpha), e.g. 0.5:1.5:0.25: every selected stage picks "
                          "one."),
        click.option("--stage-depth", "stage_depth", default=None, metavar="LIST|RANGE",
                     help="Per-stage depth multipliers: a stage's repeat n becomes ceil(d x n), e.g. 0.5,1,1.5,2."),
        click.option("--stage-kernel", "stage_kernel", default=None, metavar="LIST",
                     help="Per-stage kernel sizes (the block's k), e.g. 3,5,7."),
        click.option("--stage-expand", "stage_expand", default=None, metavar="LIST|RANGE",
                     help="Per-stage expansion ratios (the block's t), e.g. 3,4,6."),
        click.option("--stages", "stages", default=None, metavar="LIST",
                     help="Which stages the per-stage axes apply to: numbers among the table's stage rows "
                          "(rows with a repeat n), e.g. 2:6:1 [default: all]."),
        click.option("--sample", "sample", type=int, default=None, metavar="N",
                     help="Draw N points uniformly from the space (seeded) instead of enumerating it, and report "
                          "the distribution of Mult-Adds, params (with --peak, peak memory; with --device, time)."),
        click.option("--seed", "seed", type=int, default=0, help="Seed of --sample [default: 0]."),
        click.option("--plot", "plot", default=None, metavar="FILE.png",
                     help="With --sample: the cumulative distributions as a figure (png, pdf or svg)."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def parse_stages(stage_width, stage_depth, stage_kernel, stage_expand, stages, sample, seed):
    """The per-stage axes given (None when none is)."""
    from ..sweeps import frange, irange
    from ..sweeps.stages import StageAxes
    given = {"width": stage_width, "depth": stage_depth, "kernel": stage_kernel, "expand": stage_expand}
    if all(v is None for v in given.values()):
        if sample is not None or stages is not None:
            from ..errors import CostModelError
            raise CostModelError("--sample and --stages apply to per-stage sweeps: give --stage-width, --stage-depth, "
                                 "--stage-kernel or --stage-expand")
        return None
    vals = {k: (None if v is None else tuple(irange(v, f"--stage-{k}") if k == "kernel" else frange(v, f"--stage-{k}")))
            for k, v in given.items()}
    return StageAxes(**vals, stages=None if stages is None else tuple(irange(stages, "--stages")), sample=sample,
                     seed=seed)


STREAM_FORMATS = ("csv", "jsonl", "json", "parquet", "xlsx")


@click.command("sweep")
@click.argument("net")
@grid_options
@click.option("--depth-mult", "-d", "depth", default=None, metavar="LIST|RANGE",
              help="Depth multipliers (stage repeats n -> ceil(d x n)), a list or a range, e.g. 1:3:0.2 "
                   "(families with stage repeats).")
@stage_options
@format_option(("text", "csv", "markdown", "json", "jsonl", "parquet", "xlsx"),
               suffixes={".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"})
@output_option
@click.option("--peak", is_flag=True, help="Add peak activation memory (one exact plan per configuration: slower).")
@click.option("--device", default=None, metavar="NAME|FILE.json",
              help="Add latency_s, the time predicted on this device (one build per configuration).")
@click.option("--engine", type=click.Choice(("local", "dask")), default="local",
              help="local: chunks in this process; dask: chunks as tasks on a Dask cluster (--scheduler), written as "
                   "a partitioned Parquet dataset (-o DIR) [default: local].")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="With --engine dask: the scheduler's address, e.g. tcp://10.0.0.5:8786 [default: a local cluster].")
@click.option("--chunk-rows", "chunk_rows", type=int, default=None, metavar="N",
              help="Rows computed per chunk (bounds the memory; default 524288).")
def cmd(net, alpha, res, classes, fmt, output, peak, device=None, depth=None, engine="local", scheduler=None,
        chunk_rows=None, stage_width=None, stage_depth=None, stage_kernel=None, stage_expand=None, stages=None,
        sample=None, seed=0, plot=None, **kwargs):
    """Totals of NET for every (alpha, depth, resolution) of a grid, or every point of a per-stage
    design space: params, params with BN, Mult-Adds, FLOPs, BN channels, MAC (and peak memory with
    --peak), one row per configuration, exact. Vectorized and streamed chunk by chunk: the memory
    does not grow with the grid (csv, jsonl, json, parquet, xlsx). --res takes N, HxW, lists and
    ranges (320x240,640x480; 96:224:32)."""
    from ..errors import CostModelError
    from ..fileio import check_writable
    from ..roofline import LATENCY_GRID_LIMIT, check_latency_rows
    from ..sources import source_kind
    from ..sweeps import CHUNK_ROWS, frange, recipe, res_axis, sweep_file
    if output and engine != "dask":
        check_writable(output)
    _check_engine(engine, scheduler, fmt, output, device, sample)
    _check_before_computing(plot, output, device, sample)
    knobs = collect_knobs(kwargs)
    alphas = frange(alpha) if alpha else None
    depths = frange(depth, "depth") if depth else None
    axis = res_axis(res) if res else None
    st = parse_stages(stage_width, stage_depth, stage_kernel, stage_expand, stages, sample, seed)
    if plot and (st is None or st.sample is None):
        raise CostModelError("--plot draws the distribution of a sample: give --sample N with per-stage axes")
    rows = CHUNK_ROWS if chunk_rows is None else chunk_rows
    if rows < 1:
        raise CostModelError(f"--chunk-rows must be a positive integer, got {rows}")
    if source_kind(net) != "registry":  # spec file, block string, imported model: one exact build per row
        if st is not None or engine != "local":
            raise CostModelError(f"per-stage axes and --engine dask need a registry network, not {net!r:.60}")
        resolutions = None if axis is None else list(axis.values())
        if device:
            check_latency_rows(len(alphas or [1]) * len(depths or [1]) * len(resolutions or [1]))
        bar = Progress("sweeping", peak)
        try:
            df = sweep_file(net, alphas, resolutions, classes, depth=depths, peak=peak, progress=bar, **knobs)
        finally:
            bar.close()
        return _emit_frame(df, net, device, classes, knobs, fmt, output)
    r = recipe(net, alphas, axis, classes, depth=depths, peak=peak, stages=st, chunk_rows=rows, **knobs)
    if engine == "dask":
        from ..sweeps.distributed import run_dask
        summary = run_dask(r, output, scheduler)
        click.echo(f"costmodel: {summary['rows']:,} rows in {summary['partitions']} partitions written to "
                   f"{summary['path']} ({summary['seconds']:.1f} s)", err=True)
        return
    from ..sweeps import frame, prepare
    n_est = _rows_estimate(r)
    if device and st is None:
        check_latency_rows(n_est)
    bar = Progress("sweeping", n_est >= PROGRESS_FROM or peak)
    try:
        p = prepare(r, bar)
        if st is not None and st.sample is not None:
            return _sample_output(p, r, bar, device, classes, knobs, fmt, output, plot)
        if device and st is not None:  # each point's own graph: the stage choices change the time
            check_latency_rows(p.n_rows, f"narrow the space, or draw --sample N (N <= {LATENCY_GRID_LIMIT:,})",
                               "the space has")
            df = _point_latency(p, frame(p, bar), device)
            return _emit_frame(df, net, None, classes, knobs, fmt, output)
        if device or fmt in ("text", "markdown"):
            df = frame(p, bar)
            return _emit_frame(df, net, device, classes, knobs, fmt, output)
        from ..sweeps.writers import stream
        written = stream(p, output or "-", fmt, bar)
    finally:
        bar.close()
    if output:
        report_written(output, written["rows"])


def _check_engine(engine, scheduler, fmt, output, device, sample) -> None:
    """Flags that the engine given would ignore: --engine dask writes the grid's own columns as a
    partitioned Parquet dataset (no --device, --sample, other formats); --scheduler is Dask's."""
    from ..errors import CostModelError
    if engine != "dask":
        if scheduler:
            raise CostModelError("--scheduler is the Dask scheduler's address: give it with --engine dask")
        return
    if not output:
        raise CostModelError("--engine dask writes a partitioned Parquet dataset: give -o DIR")
    if fmt not in ("text", "parquet"):  # text: the default of -o DIR (no suffix), not asked for
        raise CostModelError(f"--engine dask writes a partitioned Parquet dataset (-o DIR), not --format {fmt}")
    if device:
        raise CostModelError("--engine dask writes the grid's counts; --device needs the local engine")
    if sample is not None:
        raise CostModelError("--sample computes its points in this process; leave out --engine dask")


def _check_before_computing(plot, output, device, sample) -> None:
    """What can be told wrong before a sweep computes anything (which can take minutes): the
    figure's file name and directory, the device, the sample size --device accepts (--sample's own
    bound, 10**6 points, is below an Excel sheet's rows)."""
    from ..errors import CostModelError
    from ..fileio import check_writable, is_stdout
    if plot:
        from ..plot import figure_format
        figure_format(plot)
        if is_stdout(plot) and (not output or is_stdout(output)):
            raise CostModelError("--plot - and the sweep's table would both go to standard output; give --plot "
                                 "FILE.png or -o FILE")
        check_writable(plot)
    if device:
        from ..roofline import check_latency_rows, device as get_device
        get_device(device)  # an unknown name or a bad device file
        if sample is not None:
            check_latency_rows(sample, "draw a smaller --sample", "--sample asks for")


def _rows_estimate(r) -> int:
    a = len(r.alphas) if r.alphas else 1
    d = len(r.depths) if r.depths else 1
    n = len(r.res) if r.res is not None else 1
    return a * d * n * (1000 if r.stages is not None else 1)


def _emit_frame(df, net, device, classes, knobs, fmt, output):
    """A computed frame: latency added with --device, then rendered (text, markdown, csv, json,
    xlsx) or streamed (jsonl, parquet)."""
    if device:
        df = add_latency(df, net, device, classes, knobs)
    if fmt in ("jsonl", "parquet"):
        from ..sweeps.writers import stream_frame
        written = stream_frame(df, output or "-", fmt)
        if output:
            report_written(output, written["rows"])
        return
    emit(render(df, fmt, list(knobs)), output)


def _sample_output(p, r, bar, device, classes, knobs, fmt, output, plot):
    """--sample: the sampled rows (to -o in a data format) and their distribution (text)."""
    from ..sweeps import frame
    from ..sweeps.distribution import plot_cdf, summary
    df = frame(p, bar)
    if device:
        df = _point_latency(p, df, device)
    title = (f"{p.net.name}: {len(df):,} points sampled uniformly (seed {p.axes.seed}) from "
             f"{p.P * len(p.alphas) * p.R:,} points")
    notes = [f"per stage ({', '.join(f'stage {s}' for s in p.stage_numbers)}): "
             + "; ".join(f"{k} {', '.join(f'{v:g}' for v in vals)}" for k, vals in p.axes.axes)]
    if "latency_s" in df.columns:
        notes.append(f"estimated time: {df.attrs['device']}")
    if plot:
        plot_cdf(df, plot, title, notes)
        report_written(plot)
    if fmt in ("text", "markdown"):
        from ..render import Column, Table, render as render_table
        rows = summary(df)
        cols = [Column("metric", "metric", "text"), Column("unit", "unit", "text"), Column("n", "n")]
        cols += [Column(k, name, "float") for k, name in (("q0", "min"), ("q10", "p10"), ("q25", "p25"),
                                                          ("q50", "median"), ("q75", "p75"), ("q90", "p90"),
                                                          ("q100", "max"))]
        emit(render_table(Table(title, cols, rows, notes=notes + ["quantiles: order statistics of the sample"],
                                sheet="distribution"), fmt), output)
        return
    return _emit_frame(df, p.net.name, None, classes, knobs, fmt, output)


def _point_latency(p, df, device):
    """``latency_s`` of a per-stage frame: each row's time predicted on ``device`` from the point's
    own graph (its stage choices, alpha and resolution)."""
    from ..roofline import device as get_device, predict
    dev = get_device(device)
    times = []
    for point, a, h, w in zip(df["point"], df["alpha"], df["height"], df["width"]):
        g = p.point_graph(float(a), p._choices(_digits(p, int(point))), (int(h), int(w)))
        times.append(predict(g, dev))
    df = df.assign(latency_s=times)
    df.attrs["device"] = f"{dev.name} ({dev.model})"
    return df


def _digits(p, point):
    return [(point // p.Q ** (p.S - 1 - s)) % p.Q for s in range(p.S)]
