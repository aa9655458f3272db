"""``costmodel table NET``: the per-layer cost table with totals (and, on request, MAC and a
roofline time estimate per layer)."""
import click

from .common import NetworkArgs, emit_tables, format_option, network_options, output_option

#: options of the memory model shared with ``costmodel memory``
bits_option = click.option("--bits", type=click.Choice(["8", "16", "32"]), default=None,
                           help="Bits per value for bytes (MAC, peak memory) [default: 32].")
unfused_option = click.option("--unfused", is_flag=True,
                              help="Count BN and activations as separate ops (default: folded/fused).")
class RollupLevel(click.ParamType):
    """A roll-up level 1, 2, 3, ...; a number that is not one is most likely a depth multiplier
    typed as ``--depth`` (its name before issue 15): the error says where that goes."""
    name = "level"

    def convert(self, value, param, ctx):
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
        text = str(value).strip()
        if text.isdigit() and int(text) >= 1:
            return int(text)
        try:
            mult = float(text) > 0
        except ValueError:
            mult = False
        self.fail(f"{value!r} is not a roll-up level (1 = stages, 2 = blocks, 3... = their parts)"
                  + (f"; the depth multiplier is --depth-mult {text}" if mult else ""), param, ctx)


rollup_option = click.option(
    "--rollup", "--depth", "rollup", type=RollupLevel(), default=None, metavar="N",
    help="Roll the layers up (--depth N is the same, torchinfo's word): 1 = stages (a row of the network's table), "
         "2 = blocks (ir1, ir2 ...), 3 and deeper = their parts; imported models by module path. The depth "
         "multiplier is --depth-mult.")
zero_copy_option = click.option("--zero-copy", "zero_copy", is_flag=True,
                                help="Concat, split and channel shuffle alias their inputs (no copy).")


@click.command("table")
@network_options
@format_option(("text", "csv", "markdown", "json", "xlsx"))
@output_option
@bits_option
@unfused_option
@zero_copy_option
@click.option("--device", default=None, metavar="NAME|FILE.json",
              help="Time per layer on a built-in device profile or a device file from 'costmodel calibrate'.")
@click.option("--peak-gflops", "peak_gflops", type=float, default=None, help="Custom device peak GFLOP/s.")
@click.option("--bandwidth-gbs", "bandwidth_gbs", type=float, default=None, help="Custom device bandwidth GB/s.")
@click.option("--weight-bits", "weight_bits", type=click.Choice(["4", "8", "16", "32"]), default=None,
              help="Bits per weight: a weight_bytes (Flash) column; 8 and 4 store integer weights with int32 "
                   "biases, BN folded [default: 32].")
@rollup_option
def cmd(fmt, output, bits, unfused, zero_copy, device, peak_gflops, bandwidth_gbs, weight_bits=None, rollup=None,
        **kwargs):
    """Per-layer params, Mult-Adds and FLOPs of NET, with totals and each layer's share; MAC columns
    with --bits, --unfused or --zero-copy; estimated time per layer with --device (or --peak-gflops
    and --bandwidth-gbs); --rollup N sums the layers into stages (1), blocks (2) or their parts (3...).

    The text view fits the terminal (counts as 4.15 M, bytes as 1.40 MB); --format csv, json,
    markdown and -o FILE.xlsx keep every column and the exact integers."""
    from ..analysis import analyze
    from ..fileio import check_writable
    from ..formatting import report_table, scaled
    if output:
        check_writable(output)
    dev = None
    if device or peak_gflops is not None or bandwidth_gbs is not None:
        from ..roofline import device as get_device
        dev = get_device(device, peak_gflops, bandwidth_gbs)
    args = NetworkArgs.take(kwargs)
    nbits = int(bits or 32)
    if dev is not None:
        from ..roofline import check_view
        check_view(dev, nbits, args.batch)  # a calibrated device predicts batch 1 in 32-bit floats only
    graph = args.load()
    report = analyze(graph, bits=nbits, unfused=unfused, zero_copy=zero_copy, batch=args.batch,
                     weight_bits=int(weight_bits or 32))
    t = report.totals
    view = ("unfused" if unfused else "deployment view: BN folded, activations fused") + \
        (", zero-copy concat/split/shuffle" if zero_copy else "")
    footer = [f"memory: MAC {scaled(t['mac'])} elements = {scaled(t['mac_bytes'], 'B')} at {nbits}-bit ({view}); "
              f"peak activations {scaled(t['peak_activation_bytes'], 'B')} (optimal schedule; see "
              f"'costmodel memory')"]
    extra = ["mac", "arithmetic_intensity"] if (bits or unfused or zero_copy or dev) else []
    footer += _weight_footer(graph, t, weight_bits, nbits, extra)
    data = report.to_dict()
    rows, totals = report.rows, dict(t)
    if dev:
        from ..roofline import annotate
        roof = annotate(report, graph, dev)
        data["layers"] = roof.pop("layers")
        data["roofline"] = roof
        extra += ["time_us", "bound"] + (["predicted_us"] if dev.model == "calibrated" else [])
        footer.append(f"roofline on {dev.name}: {dev.peak_gflops:g} GFLOP/s, {dev.bandwidth_gbs:g} GB/s (ridge "
                      f"{dev.ridge:.1f} FLOPs/byte); estimated time {roof['time_s'] * 1e3:.3f} ms = sum over layers "
                      f"of max(flops / peak, MAC bytes / bandwidth)")
        data["latency"] = _latency(graph, dev, data["layers"], footer,  # issue 10: the device's own model
                                   dict(bits=nbits, unfused=unfused, zero_copy=zero_copy, batch=args.batch))
        rows = [dict(r, time_us=r["time_s"] * 1e6, **({"predicted_us": r["predicted_s"] * 1e6}
                                                       if "predicted_s" in r else {})) for r in data["layers"]]
        totals["time_us"] = roof["time_s"] * 1e6
        if dev.model == "calibrated":
            totals["predicted_us"] = data["latency"]["time_s"] * 1e6
    from dataclasses import replace
    rolled = None
    if rollup is not None:
        from ..rollup import rollup as roll
        rolled = roll(graph, rows, rollup)
        data["rollup"] = {"level": rollup, "blocks": rolled}
    table = report_table(replace(report, rows=rows, totals=totals), extra, footer, data, rolled, rollup)
    emit_tables(table, fmt, output)


def _weight_footer(graph, totals, weight_bits, bits, extra):
    """--weight-bits: the weight_bytes column and its total; the precision of a graph that carries one
    (mixed precision named in the header notes)."""
    from ..formatting import scaled
    from ..precision import graph_precision
    lines = []
    if weight_bits:
        extra.append("weight_bytes")
        lines.append(f"weights (Flash): {scaled(totals['weight_bytes'], 'B')} at {weight_bits}-bit "
                     f"({'integer weights, int32 biases' if int(weight_bits) <= 8 else 'weights and biases'}, "
                     f"BN folded); params at fp32: {scaled(totals['params_bytes'], 'B')}")
    prec = graph_precision(graph, bits, int(weight_bits or 32))
    if prec is not None:
        lines.append(f"precision: {prec.label()}")
    return lines


def _latency(graph, dev, layers, footer, view):
    """The ``latency`` block (device, model, time_s, bits, batch, view) in the report's ``view``
    (bits, unfused, zero_copy, batch); calibrated devices also put their per-layer time on each row
    (``predicted_s``: a layout conversion with the layer writing the tensor) and a footer line."""
    from ..roofline import builtin_dir, latency, unit_times
    lat = latency(graph, dev, **view)
    ref = dev.path if dev.path and not dev.path.startswith(builtin_dir()) else dev.name
    if dev.model == "calibrated":
        per = unit_times(graph, dev)
        for r in layers:
            r["predicted_s"] = per.get(r["name"], 0.0)
        conv = " (a layout conversion counted with the layer writing its tensor)" if \
            int(dev.info.get("channel_block", 1) or 1) > 1 else ""
        footer.append(f"calibrated latency on {dev.name}: {lat['time_s'] * 1e3:.3f} ms at batch 1, 32-bit floats, "
                      f"the runtime's own fusion (per-inference {dev.per_inference_s * 1e6:.0f} us + per-layer "
                      f"times{conv}; {dev.source[:160]}; its accuracy: 'costmodel calibrate --evaluate {ref}')")
    return lat
