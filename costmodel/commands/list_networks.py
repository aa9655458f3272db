"""``costmodel list``: the registry's networks and their knobs."""
import click

from .common import emit, format_option, output_option


def _flag(name: str) -> str:
    """How a knob is given on the command line: its own flag, or --set NAME=VALUE."""
    from ..registry import KNOB_FLAGS
    if name in KNOB_FLAGS:
        return f"--{name.replace('_', '-')} "
    return f"--set {name}="


def _alpha_text(net):
    if net.alphas is None:
        return f"any > 0 (default {net.default_alpha:g})"
    return ", ".join(f"{a:g}" for a in net.alphas)


@click.command("list")
@format_option(("text", "csv", "markdown", "json"))
@output_option
def cmd(fmt, output):
    """List the networks, their default resolution, accepted alpha and knobs."""
    from ..formatting import csv_text, json_text, markdown_table, text_table
    from ..registry import networks
    rows = []
    for n in networks().values():
        knobs = "; ".join(
            _flag(k.name) + ("|".join(map(str, k.choices)) if k.choices else str(k.default))
            + f" (default {k.default})" for k in n.knobs)
        rows.append({"name": n.name, "family": n.family, "resolution": n.default_res, "min_resolution": n.min_res,
                     "alpha": _alpha_text(n), "knobs": knobs, "description": n.description, "paper": n.paper})
    if fmt == "json":
        return emit(json_text(rows), output)
    headers = ["network", "family", "res", "alpha", "knobs", "description"]
    table = [[r["name"], r["family"], r["resolution"], r["alpha"], r["knobs"] or "-", r["description"]] for r in rows]
    if fmt == "csv":
        return emit(csv_text(list(rows[0]), [list(r.values()) for r in rows]), output)
    if fmt == "markdown":
        return emit(markdown_table(headers, table) + "\n", output)
    emit(text_table(headers, table) + "\n\nEvery network also takes --alpha, --res and --classes (default 1000).\n",
         output)
