"""``costmodel fit NET --max-madds 150M``: the configurations within a budget, best first."""
from __future__ import annotations

import click

from .common import emit, format_option, output_option
from .sweep import grid_options, parse_grid
from .table import bits_option

#: --res of fit and export: the sweep's resolution axis, N or HxW items
RES_HELP = "Resolutions: a list 128,160,224 or 320x240,640x480 (N or HxW), or a range START:STOP:STEP (inclusive)."


def res_grid_options(f):
    """``grid_options`` (--alpha, --res, --classes and the knob flags), --res taking HxW items."""
    return grid_options(f, res_help=RES_HELP)


def res_grid(res):
    """The resolution axis of --res (``sweeps.axes.res_axis``: N, HxW, lists and ranges), or None."""
    from ..sweeps.axes import res_axis
    return None if res is None else res_axis(res)


@click.command("fit")
@click.argument("net")
@res_grid_options
@click.option("--max-madds", "max_madds", default=None, metavar="N", help="Mult-Adds budget, e.g. 150M.")
@click.option("--max-params", "max_params", default=None, metavar="N", help="Parameter budget, e.g. 2M.")
@click.option("--max-flops", "max_flops", default=None, metavar="N", help="FLOPs budget, e.g. 300M.")
@click.option("--max-peak-memory", "max_peak", default=None, metavar="BYTES",
              help="Peak activation memory budget (at --bits, under --schedule), e.g. 512KB (KB = 1000 bytes, "
                   "KiB = 1024).")
@click.option("--accuracy", "accuracy", type=click.Choice(["published", "interpolated", "both"]), default="both",
              show_default=True,
              help="published: only configurations with a published top-1; interpolated: rank every configuration "
                   "on its family's published curve; both: published first, then interpolated, then by compute.")
@bits_option
@click.option("--schedule", type=click.Choice(["sequential", "optimal", "streamed"]), default=None,
              help="The execution order the peak activation memory is computed for [default: optimal]; adds the "
                   "peak column.")
@click.option("--device", default=None, metavar="NAME|FILE.json",
              help="Add latency_s predicted on this device (and allow --max-latency).")
@click.option("--max-latency", "max_latency", default=None, metavar="TIME",
              help="Latency budget on --device, e.g. 20ms, 0.02s or 150us.")
@format_option(("text", "csv", "markdown", "json", "xlsx"))
@output_option
def cmd(net, alpha, res, classes, max_madds, max_params, max_flops, max_peak, fmt, output, device=None,
        max_latency=None, accuracy="both", bits=None, schedule=None, **kwargs):
    """List the configurations of NET that fit every budget given, best first: the configurations
    with a published top-1 (data/) first, then those interpolated from the family's published
    points (linear in log Mult-Adds between the two neighbours, never extrapolated), then the rest
    by Mult-Adds (more compute first); --accuracy published|interpolated keeps one kind. Peak
    memory is at --bits under --schedule. Default grid: the family's published alphas x
    resolutions (override with --alpha/--res). Counts take K, M, G suffixes (10^3, 10^6, 10^9);
    memory KB, MB, GB (1000-based, as printed everywhere), KiB, MiB, GiB (1024-based) or bytes."""
    from ..fileio import check_writable
    from ..fit import fit, parse_bytes, parse_count, render
    from .common import collect_knobs
    if output:
        check_writable(output)
    limits = {}
    for key, opt, v, parse in (("madds", "--max-madds", max_madds, parse_count),
                               ("params", "--max-params", max_params, parse_count),
                               ("flops", "--max-flops", max_flops, parse_count),
                               ("peak_activation_bytes", "--max-peak-memory", max_peak, parse_bytes)):
        if v is not None:
            limits[key] = parse(v, opt)
    alphas, _ = parse_grid(alpha, None)
    axis = res_grid(res)
    resolutions = None if axis is None else list(axis.values())
    knobs = collect_knobs(kwargs)
    dev, lim = _latency_options(device, max_latency, int(bits or 32))  # before fit(), which can take minutes
    df = fit(net, limits, alphas, resolutions, classes, accuracy=accuracy, bits=int(bits or 32), schedule=schedule,
             device=dev, **knobs)
    if dev is not None:  # issue 10: latency on a device, computed for the configurations within the other budgets
        from .sweep import add_latency
        df = add_latency(df, net, dev, classes, knobs, int(bits or 32))
        if lim is not None:
            df = df[df["latency_s"] <= lim].reset_index(drop=True)
            limits = {**limits, "latency_s": lim}
    emit(render(df, fmt, limits), output)


def _latency_options(device, max_latency, bits: int = 32):
    """(the Device, the --max-latency in seconds), each None when not given: an unknown device, a
    bad device file, a bad time or --bits a calibrated device was not fitted at is told before
    anything is computed."""
    from ..errors import CostModelError
    from ..roofline import check_view, device as get_device, parse_seconds
    if max_latency is not None and not device:
        raise CostModelError("--max-latency needs --device NAME|FILE.json (the device the time is predicted on)")
    dev = get_device(device) if device else None
    if dev is not None:
        check_view(dev, bits)
    return dev, (None if max_latency is None else parse_seconds(max_latency, "--max-latency"))
