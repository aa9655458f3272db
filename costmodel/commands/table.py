"""``costmodel table NET``: the per-layer cost table with totals (and, on request, MAC and a
roofline time estimate per layer)."""
import click

from .common import collect_knobs, emit, format_option, load_graph, network_options, output_option

#: options of the memory model shared with ``costmodel memory``
bits_option = click.option("--bits", type=click.Choice(["8", "16", "32"]), default=None,
                           help="Bits per value for bytes (MAC, peak memory) [default: 32].")
unfused_option = click.option("--unfused", is_flag=True,
                              help="Count BN and activations as separate ops (default: folded/fused).")
zero_copy_option = click.option("--zero-copy", "zero_copy", is_flag=True,
                                help="Concat, split and channel shuffle alias their inputs (no copy).")


@click.command("table")
@network_options
@format_option()
@output_option
@bits_option
@unfused_option
@zero_copy_option
@click.option("--device", default=None, metavar="NAME|FILE.json",
              help="Time per layer on a built-in device profile or a device file from 'costmodel calibrate'.")
@click.option("--peak-gflops", "peak_gflops", type=float, default=None, help="Custom device peak GFLOP/s.")
@click.option("--bandwidth-gbs", "bandwidth_gbs", type=float, default=None, help="Custom device bandwidth GB/s.")
def cmd(net, alpha, res, classes, fmt, output, bits, unfused, zero_copy, device, peak_gflops, bandwidth_gbs,
        **kwargs):
    """Per-layer params, Mult-Adds and FLOPs of NET, with totals; MAC columns with --bits,
    --unfused or --zero-copy; estimated time per layer with --device (or --peak-gflops and
    --bandwidth-gbs)."""
    from dataclasses import replace

    from ..analysis import analyze
    from ..fileio import check_writable
    from ..formatting import json_text, render_report, scaled
    if output:
        check_writable(output)
    dev = None
    if device or peak_gflops is not None or bandwidth_gbs is not None:
        from ..roofline import device as get_device
        dev = get_device(device, peak_gflops, bandwidth_gbs)
    graph = load_graph(net, alpha, res, classes, collect_knobs(kwargs))
    nbits = int(bits or 32)
    report = analyze(graph, bits=nbits, unfused=unfused, zero_copy=zero_copy)
    t = report.totals
    view = ("unfused" if unfused else "deployment view: BN folded, activations fused") + \
        (", zero-copy concat/split/shuffle" if zero_copy else "")
    footer = [f"memory: MAC {scaled(t['mac'])} elements = {scaled(t['mac_bytes'], 'B')} at {nbits}-bit ({view}); "
              f"peak activations {scaled(t['peak_activation_bytes'], 'B')} (optimal schedule; see "
              f"'costmodel memory')"]
    extra = ["mac", "arithmetic_intensity"] if (bits or unfused or zero_copy or dev) else []
    roof = None
    if dev:
        from ..roofline import annotate
        roof = annotate(report, graph, dev)
        if fmt != "json":
            for r in roof["layers"]:
                r["time_us"] = r.pop("time_s") * 1e6
        extra += ["time_us", "bound"] + (["predicted_us"] if dev.model == "calibrated" else [])
        footer.append(f"roofline on {dev.name}: {dev.peak_gflops:g} GFLOP/s, {dev.bandwidth_gbs:g} GB/s (ridge "
                      f"{dev.ridge:.1f} FLOPs/byte); estimated time {roof['time_s'] * 1e3:.3f} ms = sum over layers "
                      f"of max(flops / peak, MAC bytes / bandwidth)")
        lat = _latency(graph, dev, roof, fmt, footer)  # issue 10: the device's own model beside the roofline
    if fmt == "json":
        d = report.to_dict()
        if roof:
            d["layers"] = roof.pop("layers")
            d["roofline"] = roof
            d["latency"] = lat
        emit(json_text(d), output)
        return
    if roof:
        report = replace(report, rows=roof["layers"], totals={**t, "time_us": roof["time_s"] * 1e6})
    emit(render_report(report, fmt, extra, footer), output)


def _latency(graph, dev, roof, fmt, footer):
    """The ``latency`` block (device, model, time_s); calibrated devices also put their per-layer
    time on each row (``predicted_s``, or ``predicted_us`` outside JSON) and a footer line."""
    from ..roofline import builtin_dir, latency, unit_times
    lat = latency(graph, dev)
    ref = dev.path if dev.path and not dev.path.startswith(builtin_dir()) else dev.name
    if dev.model == "calibrated":
        per = unit_times(graph, dev)
        key, scale = ("predicted_s", 1.0) if fmt == "json" else ("predicted_us", 1e6)
        for r in roof["layers"]:
            r[key] = per.get(r["name"], 0.0) * scale
        footer.append(f"calibrated latency on {dev.name}: {lat['time_s'] * 1e3:.3f} ms (per-inference "
                      f"{dev.per_inference_s * 1e6:.0f} us + per-layer times; {dev.source[:160]}; its accuracy: "
                      f"'costmodel calibrate --evaluate {ref}')")
    return lat
