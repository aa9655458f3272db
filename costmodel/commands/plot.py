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
              help="--x latency: the device the time is predicted on (needed there, refused with other axes).")
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
    check_device(x, device)
    check_sources(nets, x)
    check_writable(output)
    fig = figure(list(nets), x, y, show_pareto=pareto, labels="none" if no_labels else labels, title=title,
                 release_only=not all_sources, device=device)
    save(fig, output)
    report_written(output)


def check_device(x: str, device) -> None:
    """A --device is a known device (or device file), and goes with --x latency, the one axis that
    depends on it; --x latency needs one."""
    from ..errors import CostModelError
    if device is not None:
        from ..roofline import device as get_device
        get_device(device)  # an unknown name: one line naming the accepted ones
        if x != "latency":
            raise CostModelError(f"--device predicts the time of --x latency; --x {x} does not depend on a device: "
                                 f"give --x latency, or leave --device out")
    elif x == "latency":
        raise CostModelError("--x latency needs --device NAME|FILE.json (the device the time is predicted on)")


def check_sources(nets, x: str) -> None:
    """Every NET names points to plot, before any is computed: 'all', a published-only model whose
    source gives its cost on --x, or a registry network with a published top-1 in data/. Anything else
    is one line: ``plot.points`` would drop it silently (beside 'all', or beside names that do have
    points). A valid name beside 'all' is among its points already."""
    from .. import accuracy
    from ..errors import CostModelError
    from ..registry import get
    from ..sources import source_kind
    recs = [p for p in accuracy.records() if not p.condition]
    published_only = {p.model.lower(): p for p in recs if not p.network}
    with_top1 = {p.network for p in recs if p.network}
    for name in nets:
        if name == "all":
            continue
        p = published_only.get(name.lower())
        if p is not None:
            _check_published_cost(p, x)
            continue
        if source_kind(name) != "registry":
            raise CostModelError(f"{name}: plot places published top-1 accuracies; your own network has none "
                                 f"(compare its costs with 'costmodel table' or 'costmodel sweep')")
        net = get(name)  # unknown names: KnobError naming the accepted ones
        if net.name not in with_top1:
            raise CostModelError(f"{name}: no published top-1 accuracy in data/ to plot ('costmodel plot all' "
                                 f"draws the {len(with_top1)} networks that have one)")


def _check_published_cost(p, x: str) -> None:
    """A published-only model is drawn at its published cost: its source must give it on --x."""
    from ..errors import CostModelError
    given = {"madds": p.madds_M, "params": p.params_M}
    if given.get(x) is None:
        axes = [k for k, v in given.items() if v is not None]
        raise CostModelError(f"{p.model} is not a registry network: it is drawn at its published cost, which "
                             f"{p.source} gives on --x {' and '.join(axes) or 'no axis'} only, not --x {x}")
