"""``costmodel memory NET``: peak activation memory of a schedule, where it occurs, what is live
there, and per spatial resolution the largest materialized tensor (MobileNetV2 section 5)."""
import click

from .common import NetworkArgs, emit, format_option, network_options, output_option
from .table import bits_option, unfused_option, zero_copy_option


@click.command("memory")
@network_options(batch=False)
@bits_option
@click.option("--schedule", "schedules", type=click.Choice(["sequential", "optimal", "streamed"]), multiple=True,
              help="Schedule (repeat for several: the report is the first's, --plot draws all) [default: optimal].")
@click.option("--split", type=int, default=None, metavar="T",
              help="Slices of every streamed chain's expanded tensor, capped at each chain's channel count "
                   "(default, per chain: the smallest T beyond which more slices no longer lower its need).")
@unfused_option
@zero_copy_option
@format_option()
@output_option
@click.option("--plot", default=None, metavar="FILE.png", help="Draw live bytes per step of the schedules.")
def cmd(bits, schedules, split, unfused, zero_copy, fmt, output, plot, **kwargs):
    """Peak activation memory of NET: a tensor is live from the op that writes it to its last
    reader; an op needs its inputs, its output and every other live tensor."""
    from ..errors import CostModelError
    from ..fileio import check_writable
    from ..memory import report
    if split is not None and split < 1:
        raise CostModelError(f"--split must be a positive number of slices, got {split}")
    for path in (output, plot):
        if path:
            check_writable(path)
    if plot and not plot.lower().endswith(".png"):
        raise CostModelError(f"--plot writes a PNG image; give a file name ending in .png, got {plot!r}")
    schedules = tuple(dict.fromkeys(schedules)) or ("optimal",)
    graph = NetworkArgs.take(kwargs).load()
    nbits = int(bits or 32)
    reps = [report(graph, s, nbits, unfused=unfused, zero_copy=zero_copy, split=split) for s in schedules]
    d = dict(reps[0])
    if len(reps) > 1:
        d["others"] = [{k: r[k] for k in ("schedule", "peak_bytes", "peak_at")} for r in reps[1:]]
    if plot:
        plot_timelines(reps, plot, f"{d['network']} ({nbits}-bit)")
    emit(render(d, fmt, reps), output)


#: CSV header: the per-resolution columns, then what makes every row self-describing
CSV_HEADER = ["size", "max_channels", "max_bytes (B)", "tensor", "schedule", "bits", "peak_bytes (B)", "peak_at"]


def render(d: dict, fmt: str, reps=None) -> str:
    """``d``: the first schedule's report (+ ``others``); ``reps``: every schedule's full report
    (CSV writes the per-resolution rows of each, one schedule after the other)."""
    from ..formatting import csv_text, json_text, markdown_table, scaled, text_table, thousands
    if fmt == "json":
        return json_text(d)
    headers = ["size", "max channels", "KB", "tensor"]
    rows = [[r["size"], r["max_channels"], f"{r['max_bytes'] / 1000:.1f}", r["tensor"]] for r in d["resolutions"]]
    if fmt == "csv":
        return csv_text(CSV_HEADER, [[r["size"], r["max_channels"], r["max_bytes"], r["tensor"], rep["schedule"],
                                      rep["bits"], rep["peak_bytes"], rep["peak_at"]]
                                     for rep in (reps or [d]) for r in rep["resolutions"]])
    live = [[x["tensor"], "x".join(map(str, x["shape"])) or "-", thousands(x["bytes"])] for x in d["live_at_peak"]]
    head = (f"{d['network']}: peak {scaled(d['peak_bytes'], 'B')} ({thousands(d['peak_bytes'])} bytes) at "
            f"{d['peak_at']}, {d['schedule']} schedule, {d['bits']}-bit"
            + ("" if d["exact"] else f" (beam search: an upper bound; lower bound "
                                      f"{thousands(d['lower_bound_bytes'])})"))
    others = [f"{o['schedule']} schedule: peak {scaled(o['peak_bytes'], 'B')} ({thousands(o['peak_bytes'])} bytes) "
              f"at {o['peak_at']}" for o in d.get("others", [])]
    note = "KB = 1000 bytes; a tensor 'name[1/t]' is one of t channel slices of a streamed chain"
    if fmt == "markdown":
        return (f"**{head}**\n\n" + "".join(f"- {o}\n" for o in others) + "\nlive at the peak:\n\n"
                + markdown_table(["tensor", "shape (CxHxW)", "bytes"], live, "llr")
                + "\n\nlargest materialized tensor per resolution:\n\n" + markdown_table(headers, rows, "lrrl")
                + f"\n\n- {note}\n")
    return (head + "\n" + "".join(o + "\n" for o in others) + "\nlive at the peak:\n"
            + text_table(["tensor", "shape (CxHxW)", "bytes"], live, "llr")
            + "\n\nlargest materialized tensor per resolution:\n" + text_table(headers, rows, "lrrl")
            + f"\n\n{note}\n")


def plot_timelines(reps, path: str, title: str) -> None:
    """Live bytes per step, one line per schedule (as tflite-tools draws it); written atomically."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..fileio import atomic_path
    fig, ax = plt.subplots(figsize=(10, 4))
    for r, style in zip(reps, ("-", "--", ":")):
        ys = [s["live_bytes"] / 1e6 for s in r["timeline"]]
        ax.step(range(len(ys)), ys, style, where="mid", label=f"{r['schedule']} (peak {r['peak_bytes'] / 1e6:.2f} MB)")
    ax.set_xlabel("step (op in schedule order)")
    ax.set_ylabel("live activations (MB)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=100)
    finally:
        plt.close(fig)
