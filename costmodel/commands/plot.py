"""``costmodel plot NET... -o FILE``: published accuracy against computed cost."""
from __future__ import annotations

import click

from .common import output_option


@click.command("plot")
@click.argument("nets", nargs=-1, required=True)
@click.option("--x", "x", type=click.Choice(["madds", "params", "flops", "mac", "peak-memory", "latency"]),
              default="madds", show_default=True, help="Cost on the (log) x axis, computed by costmodel.")
@click.option("--y", "y", type=click.Choice(["top1"]), default="top1", show_default=True,
              help="Published ImageNet top-1 accuracy (data/).")
@click.option("--pareto", is_flag=True, help="Draw the Pareto front of the plotted points.")
@click.option("--all-sources", "all_sources", is_flag=True,
              help="Also plot paper-table points of networks that have an official release table.")
@click.option("--no-labels", "no_labels", is_flag=True, help="Do not label points with alpha-resolution.")
@click.option("--title", default=None, help="Figure title.")
@click.option("--device", default=None, metavar="NAME|FILE.json",
              help="--x latency: the device the time is predicted on.")
@output_option(required=True, metavar="FILE.png|svg|pdf",
               help="Write the figure (atomically); the suffix picks the format (PNG for '-').")
def cmd(nets, x, y, pareto, all_sources, no_labels, title, output, device=None):
    """Plot published top-1 of NET... (registry networks, published-only models such as NasNet-A,
    or 'all') against the cost costmodel computes, log x axis, one series per family, points
    labelled alpha-resolution. MobileNetV2 Figure 5: plot mobilenet_v2 mobilenet_v1 shufflenet_v1
    NasNet-A; MobileNetV1 Figures 4 and 5: plot mobilenet_v1 (--x params)."""
    import os
    from ..errors import CostModelError
    from ..fileio import check_writable, is_stdout
    from ..plot import FORMATS, figure, save
    if not is_stdout(output) and os.path.splitext(output)[1].lower() not in FORMATS:
        raise CostModelError(f"cannot write a plot to {output!r}: the file name must end in {', '.join(FORMATS)}")
    check_writable(output)
    fig = figure(list(nets), x, y, show_pareto=pareto, labels=not no_labels, title=title,
                 release_only=not all_sources, device=device)
    save(fig, output)
