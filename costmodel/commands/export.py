"""``costmodel export NET... -o review.xlsx``: a design-review spreadsheet (or the summary as CSV)."""
from __future__ import annotations

import click

from .common import output_option, report_written
from .fit import res_grid, res_grid_options
from .sweep import parse_grid


@click.command("export")
@click.argument("nets", nargs=-1, required=True)
@res_grid_options
@click.option("--device", default=None, metavar="NAME|FILE.json",
              help="Add the latency predicted on this device to the summary.")
@output_option(required=True, metavar="FILE.xlsx|FILE.csv",
               help="Write the workbook (.xlsx: summary + one per-layer sheet per candidate) or the summary "
                    "table (.csv), atomically (the workbook for '-').")
def cmd(nets, alpha, res, classes, output, device=None, **kwargs):
    """Export every candidate NET x alpha x resolution: a summary sheet (one row per candidate, all
    totals, published top-1 where known, units in the headers), a per-layer sheet per candidate
    (its total row in bold below the filtered rows) and a notes sheet (conventions; configurations a
    network cannot build, such as an alpha it does not define, are skipped and listed there and on
    stderr), with frozen headers, filters and thousands separators. The device, every NET and the
    grid's values are checked before anything is built: an alpha, resolution or class count that
    no network accepts (alpha <= 0, resolution or classes < 1) is an error, not a skip."""
    import os
    from ..errors import CostModelError
    from ..export import candidates, write
    from ..fileio import check_writable, is_stdout
    from .common import collect_knobs
    if not is_stdout(output) and os.path.splitext(output)[1].lower() not in (".xlsx", ".csv"):
        raise CostModelError(f"cannot export to {output!r}: the file name must end in .xlsx or .csv")
    check_writable(output)
    alphas, _ = parse_grid(alpha, None)
    axis = res_grid(res)
    n = len(nets) * len(alphas or [1]) * (1 if axis is None else len(axis))
    if n > 500:
        raise CostModelError(f"{n} candidates is too many for a review workbook (at most 500); use "
                             f"'costmodel sweep --format xlsx' for large grids")
    resolutions = None if axis is None else list(axis.values())
    skipped = []  # what a network cannot build (an alpha it does not define, ...): listed, not fatal
    cands = candidates(list(nets), alphas, resolutions, classes, device=device, skipped=skipped,
                       **collect_knobs(kwargs))
    write(output, cands, skipped)
    where = "" if output.lower().endswith(".csv") else " (listed in the notes sheet)"
    for what, why in skipped:
        click.echo(f"costmodel: skipped {what}: {why}{where}", err=True)
    report_written(output, len(cands))
