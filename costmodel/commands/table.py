"""``costmodel table NET``: the per-layer cost table with totals (and, on request, MAC and a
roofline time estimate per layer)."""
import click

from .common import NetworkArgs, emit, format_option, network_options, output_option

#: options of the memory model shared with ``costmodel memory``
bits_option = click.option("--bits", type=click.Choice(["8", "16", "32"]), default=None,
                           help="Bits per value for bytes (MAC, peak memory) [default: 32].")
unfused_option = click.option("--unfused", is_flag=True,
                              help="Count BN and activations as separate ops (default: folded/fused).")
zero_copy_option = click.option("--zero-copy", "zero_copy", is_flag=True,
                                help="Concat, split and channel shuffle alias their inputs (no copy).")


@click.command("table")
@network_options
@format_option(("text", "csv", "markdown", "json", "xlsx"))
@output_option
@bits_option
@unfused_option
@zero_copy_option
@click.option("--device", default=None, metavar="NAME",
              help="Roofline time per layer on a device profile of data/devices.csv.")
@click.option("--peak-gflops", "peak_gflops", type=float, default=None, help="Custom device peak GFLOP/s.")
@click.option("--bandwidth-gbs", "bandwidth_gbs", type=float, default=None, help="Custom device bandwidth GB/s.")
def cmd(fmt, output, bits, unfused, zero_copy, device, peak_gflops, bandwidth_gbs, **kwargs):
    """Per-layer params, Mult-Adds and FLOPs of NET, with totals; MAC columns with --bits,
    --unfused or --zero-copy; estimated time per layer with --device (or --peak-gflops and
    --bandwidth-gbs)."""
    from ..analysis import analyze
    from ..fileio import check_writable
    from ..formatting import report_table, scaled
    from ..render import render
    if output:
        check_writable(output)
    dev = None
    if device or peak_gflops is not None or bandwidth_gbs is not None:
        from ..roofline import device as get_device
        dev = get_device(device, peak_gflops, bandwidth_gbs)
    args = NetworkArgs.take(kwargs)
    graph = args.load()
    nbits = int(bits or 32)
    report = analyze(graph, bits=nbits, unfused=unfused, zero_copy=zero_copy, batch=args.batch)
    t = report.totals
    view = ("unfused" if unfused else "deployment view: BN folded, activations fused") + \
        (", zero-copy concat/split/shuffle" if zero_copy else "")
    footer = [f"memory: MAC {scaled(t['mac'])} elements = {scaled(t['mac_bytes'], 'B')} at {nbits}-bit ({view}); "
              f"peak activations {scaled(t['peak_activation_bytes'], 'B')} (optimal schedule; see "
              f"'costmodel memory')"]
    extra = ["mac", "arithmetic_intensity"] if (bits or unfused or zero_copy or dev) else []
    data = report.to_dict()
    rows, totals = report.rows, dict(t)
    if dev:
        from ..roofline import annotate
        roof = annotate(report, graph, dev)
        data["layers"] = roof.pop("layers")
        data["roofline"] = roof
        rows = [dict(r, time_us=r["time_s"] * 1e6) for r in data["layers"]]
        totals["time_us"] = roof["time_s"] * 1e6
        extra += ["time_us", "bound"]
        footer.append(f"roofline on {dev.name}: {dev.peak_gflops:g} GFLOP/s, {dev.bandwidth_gbs:g} GB/s (ridge "
                      f"{dev.ridge:.1f} FLOPs/byte); estimated time {roof['time_s'] * 1e3:.3f} ms = sum over layers "
                      f"of max(flops / peak, MAC bytes / bandwidth)")
    from dataclasses import replace
    table = report_table(replace(report, rows=rows, totals=totals), extra, footer, data)
    emit(render(table, fmt), output)
