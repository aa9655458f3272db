"""``costmodel measure NET``: measured latency on this machine (onnxruntime or torch), with the
per-layer profile beside the analytical columns."""
from __future__ import annotations

import click

from .common import NetworkArgs, emit_tables, format_option, network_options, output_option


@click.command("measure")
@network_options
@click.option("--backend", type=click.Choice(["onnxruntime", "torch"]), default="onnxruntime", show_default=True,
              help="Runtime: onnxruntime (the graph written by the ONNX writer) or torch (the torch bridge).")
@click.option("--threads", type=int, default=1, show_default=True, help="Intra-op threads (fixed).")
@click.option("--runs", type=int, default=None,
              help="Exactly this many timed runs [default: until the median is stable, see below].")
@click.option("--warmup", type=int, default=10, show_default=True, help="Untimed runs first.")
@click.option("--max-time", "max_time", type=float, default=30.0, show_default=True,
              help="Stop the timed runs after this many seconds (without --runs).")
@click.option("--no-profile", "no_profile", is_flag=True, help="Skip the per-layer profile.")
@format_option(("text", "csv", "markdown", "json", "xlsx"))
@output_option
def cmd(backend, threads, runs, warmup, max_time, no_profile, fmt, output, **kwargs):
    """Measure the latency of NET (a registry name, spec file, block string or ONNX model, which
    is imported and written again so that what runs is what costmodel counts) on this machine:
    median, p10, p90 of the wall time of one forward pass, and the per-layer profile.

    Stop rule without --runs: after --warmup untimed runs, time runs until the 95% confidence
    interval of the median (order statistics) is within +-1% of it (at least 20 runs), or 2000
    runs, or --max-time seconds. The noise (CI, p90 - p10 spread, load average) is reported."""
    from ..fileio import check_writable
    from ..measure import CLI_FLAGS, check_settings, measure, need_onnxruntime
    from .common import Progress
    check_settings(threads, runs, warmup, max_time=max_time, names=CLI_FLAGS)  # errors name the flags
    if output:
        check_writable(output)
    if backend == "onnxruntime":
        need_onnxruntime()
    args = NetworkArgs.take(kwargs)  # --batch N: the measured input is N x C x H x W
    batch = args.batch
    graph = args.load()
    from ..exec_checks import check_memory
    check_memory(graph, batch, runner=("an " if backend[:1] in "aeiou" else "a ") + f"{backend} run")  # first
    with Progress(f"measuring {graph.meta.get('network', args.net)}", True) as bar:
        m = measure(graph, backend, threads, runs, warmup, batch, profile=not no_profile, max_time=max_time,
                    progress=bar)
    emit_tables(tables(m), fmt, output)


def tables(m) -> list:
    """The measurement as ``render.Table``s: the latency, its noise and the stop rule (the JSON
    contract: ``Measurement.to_dict``), then the per-layer profile."""
    from ..render import Column, Table
    total = m.layers_total_s or 0.0
    a = "" if m.alpha is None else f" alpha {m.alpha:g}"
    head = f"{m.network}{a} at {m.resolution}x{m.resolution}, batch {m.batch}: {m.backend} {m.backend_version}, " \
           f"{m.threads} thread(s), {m.cpu}"
    lines = [f"latency: median {m.median_s * 1e3:.3f} ms (p10 {m.p10_s * 1e3:.3f}, p90 {m.p90_s * 1e3:.3f}) over "
             f"{m.runs} runs after {m.warmup} warm-up runs",
             f"noise: 95% CI of the median +-{m.ci_rel:.1%}; p90-p10 spread {m.spread_rel:.1%} of the median; "
             f"load average {m.load_before} before, {m.load_after} after (on {m.cpu.split('(')[-1].rstrip(')')})",
             f"stop rule: {m.stop_rule}; {m.stop}"]
    if m.cpu_median_s:
        lines.insert(1, f"CPU time of the calling thread per run: median {m.cpu_median_s * 1e3:.3f} ms (what the run "
                        f"costs when other processes take turns on the core: they stretch the wall time only)")
    if m.layers:
        lines.append(f"per-layer profile: median of profiled runs, each executed unit (conv + folded BN + fused "
                     f"activation) on its first row; profiled sum {total * 1e3:.3f} ms (profiling adds overhead)")
    out = [Table(head, [], [], notes=lines, data=m.to_dict())]
    if m.layers:
        rows = [dict(r, measured_us=round(r["measured_s"] * 1e6, 1),
                     share=round(r["measured_s"] / total, 4) if total else None,
                     share_pct=100.0 * r["measured_s"] / total if total else None) for r in m.layers]
        people = ("text", "markdown", "xlsx")
        out.append(Table("", [Column("name", "layer", "text"), Column("op", "op", "text"),
                              Column("params", "params", "count"), Column("madds", "Mult-Adds", "count"),
                              Column("mac", "MAC (elements)", "count"),
                              Column("measured_us", "measured (us)", "float", digits=1),
                              Column("share_pct", "share %", "pct", only=people),
                              Column("share", "share", "float", only=("csv",))], rows, sheet="profile"))
    return out
