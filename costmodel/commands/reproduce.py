"""``costmodel reproduce PAPER``: published figures beside computed ones, table by table."""
import inspect

import click

from .common import emit_tables, format_option, output_option


@click.command("reproduce")
@click.argument("paper")
@format_option(("text", "csv", "markdown", "json", "xlsx"))
@output_option
@click.option("--strict", is_flag=True, help="Exit 1 if any figure differs without a documented explanation.")
def cmd(paper, fmt, output, strict):
    """Reproduce PAPER's tables (a paper name from the list below, or 'all').

    Each figure is shown as published (with its printed precision), as computed, and whether
    they agree within that precision; differences carry the explanation recorded in data/."""
    from ..fileio import check_writable
    from ..reproduce import run
    from ..reproduce.render import tables
    if output:
        check_writable(output)
    comparisons = run(paper)
    emit_tables(tables(comparisons), fmt, output)
    if strict and any(f.status == "DIFFERS" for c in comparisons for f in c.figures):
        raise SystemExit(1)


def papers_help() -> str:
    """The list --help promises, from the registry of papers (one per figures file in data/)."""
    from ..reproduce import PAPERS
    return "PAPER is one of: all, " + ", ".join(PAPERS) + ". Run 'costmodel reproduce all' for every paper."


cmd.help = inspect.cleandoc(cmd.help) + "\n\n" + papers_help()
