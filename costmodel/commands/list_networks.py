"""``costmodel list``: the registry's networks and their knobs."""
import click

from .common import emit_tables, format_option, output_option


def _flag(name: str) -> str:
    """How a knob is given on the command line: its own flag, or --set NAME=VALUE."""
    from ..registry import KNOB_FLAGS
    if name in KNOB_FLAGS:
        return f"--{name.replace('_', '-')} "
    return f"--set {name}="


def _depth_text(net):
    if net.depth_rule is None:
        return "-"
    return f"{net.depth_rule}(d x n) (default {net.default_depth:g})"


def _alpha_text(net):
    if net.alphas is None:
        return f"any > 0 (default {net.default_alpha:g})"
    return ", ".join(f"{a:g}" for a in net.alphas)


@click.command("list")
@format_option(("text", "csv", "markdown", "json", "xlsx"))
@output_option
def cmd(fmt, output):
    """List the networks, their default resolution, accepted alpha, depth and knobs."""
    from ..registry import networks
    from ..render import Column, Table
    rows = []
    for n in networks().values():
        knobs = "; ".join(
            _flag(k.name) + ("|".join(map(str, k.choices)) if k.choices else str(k.default))
            + f" (default {k.default})" for k in n.knobs)
        rows.append({"name": n.name, "family": n.family, "resolution": n.default_res, "min_resolution": n.min_res,
                     "alpha": _alpha_text(n), "depth": _depth_text(n), "knobs": knobs,
                     "description": n.description, "paper": n.paper})
    cols = [Column("name", "network", "text"), Column("family", "family", "text", drop=2),
            Column("resolution", "res (px)"), Column("alpha", "alpha", "text"),
            Column("depth", "depth", "text", drop=1),
            Column("knobs", "knobs", "text", split="; "), Column("description", "description", "text", drop=3)]
    if fmt == "csv":  # every field, as before
        cols = [Column(k, k, "text" if not isinstance(v, int) else "int") for k, v in rows[0].items()]
    table = Table(f"{len(rows)} networks", cols, rows,
                  notes=["Every network also takes --alpha, --res (N or HxW), --classes (default 1000) and --batch; "
                         "--depth-mult where the depth column gives a rule."], data=rows, sheet="networks")
    emit_tables(table, fmt, output)
