"""``costmodel table NET``: the per-layer cost table with totals."""
import click

from .common import collect_knobs, emit, format_option, load_graph, network_options, output_option


@click.command("table")
@network_options
@format_option()
@output_option
def cmd(net, alpha, res, classes, fmt, output, **kwargs):
    """Per-layer params, Mult-Adds and FLOPs of NET, with totals."""
    from ..analysis import analyze
    from ..fileio import check_writable
    from ..formatting import render_report
    if output:
        check_writable(output)
    graph = load_graph(net, alpha, res, classes, collect_knobs(kwargs))
    emit(render_report(analyze(graph), fmt), output)
