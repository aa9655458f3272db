"""``costmodel plot NET... -o FILE``: published accuracy against computed cost."""
from __future__ import annotations

import click

from .common import output_option, report_written


@click.command("plot")
@click.argument("nets", nargs=-1, required=True)
@click.option("--x", "x", type=click.Choice(["madds", "params", "flops", "mac", "peak-memory", "latency"]),
              default="madds", show_default=True, help="Cost on the (log) x axis, computed by costmodel.")
@click.option("--y", "y", type=click.Choice(["top1"]), default="top1", show_default=True,
              help="Published ImageNet top-1 accuracy (data/).")
@click.option("--pareto", is_flag=True, help="Draw the Pareto front of the plotted points.")
@click.option("--all-sources", "all_sources", is_flag=True,
              help="Also plot paper-table points of networks that have an official release table.")
@click.option("--labels", "labels", type=click.Choice(["auto", "all", "front", "none"]), default="auto",
              show_default=True,
              help="Which points are labelled: all; front (the Pareto front, each family's best and cheapest point); "
                   "auto (all up to 30 points, else front); none. Labels that would still collide are left out.")
@click.option("--no-labels", "no_labels", is_flag=True, help="Do not label points (--labels none).")
@click.option("--title", default=None, help="Figure title.")
@click.option("--device", default=None, metavar="NAME|FILE.json",
              help="--x latency: the device the time is predicted on.")
@output_option(required=True, metavar="FILE.png|svg|pdf",
               help="Write the figure (atomically); the suffix picks the format (PNG for '-').")
def cmd(nets, x, y, pareto, all_sources, no_labels, title, output, device=None, labels="auto"):
    """Plot published top-1 of NET... (registry networks, published-only models such as NasNet-A,
    or 'all') against the cost costmodel computes, log x axis with SI ticks, one colour and marker
    per family (the same in every plot), points labelled with the model and the configuration
    where it varies, moved apart by adjustText where installed. MobileNetV2 Figure 5: plot
    mobilenet_v2 mobilenet_v1 shufflenet_v1 NasNet-A; MobileNetV1 Figures 4 and 5: plot
    mobilenet_v1 (--x params)."""
    from ..fileio import check_writable
    from ..plot import figure, figure_format, save
    figure_format(output)
    check_writable(output)
    fig = figure(list(nets), x, y, show_pareto=pareto, labels="none" if no_labels else labels, title=title,
                 release_only=not all_sources, device=device)
    save(fig, output)
    report_written(output)
