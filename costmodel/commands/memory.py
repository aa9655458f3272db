"""``costmodel memory NET``: peak activation memory of a schedule, where it occurs, what is live
there, and per spatial resolution the largest materialized tensor (MobileNetV2 section 5); with
in-place kernels (``--inplace``), an arena plan (``--planner``, TFLM's greedy or linear planner),
patch-based inference of the early stage (``--patches``, MCUNetV2) and the weight bytes (Flash) at
``--weight-bits``."""
import click

from .common import NetworkArgs, emit_tables, format_option, network_options, output_option, report_written
from .table import bits_option, unfused_option, zero_copy_option

weight_bits_option = click.option("--weight-bits", "weight_bits", type=click.Choice(["4", "8", "16", "32"]),
                                  default=None, help="Bits per weight for the weight bytes (Flash): 8 and 4 store "
                                                     "integer weights with int32 biases [default: 32].")


@click.command("memory")
@network_options
@bits_option
@click.option("--schedule", "schedules", type=click.Choice(["sequential", "optimal", "streamed"]), multiple=True,
              help="Schedule (repeat for several: the report is the first's, --plot draws all) [default: optimal].")
@click.option("--split", type=int, default=None, metavar="T",
              help="Slices of every streamed chain's expanded tensor, capped at each chain's channel count "
                   "(default, per chain: the smallest T beyond which more slices no longer lower its need).")
@unfused_option
@zero_copy_option
@click.option("--inplace", default="none", metavar="LIST", show_default=True,
              help="In-place kernels, comma separated: dw (depthwise conv over its input), add (residual add "
                   "over one input), fused-add (the add fused into the conv before it, accumulating into the "
                   "other input), or none.")
@click.option("--planner", type=click.Choice(["greedy", "linear", "none"]), default="none", show_default=True,
              help="Arena planner (TFLite Micro's greedy-by-size or linear planner): an offset per buffer.")
@click.option("--align", type=int, default=1, show_default=True, metavar="BYTES",
              help="Round every arena buffer up to this many bytes (TFLite Micro: 16).")
@click.option("--patches", default=None, metavar="RxC",
              help="Run the early stage patch by patch in an RxC grid (MCUNetV2), then the rest layer by layer.")
@click.option("--patch-until", "patch_until", default="auto", metavar="LAYER|auto", show_default=True,
              help="Last layer of the per-patch stage, or auto: the lowest peak within --max-overhead.")
@click.option("--max-overhead", "max_overhead", default="10%", metavar="PCT", show_default=True,
              help="With --patch-until auto: the largest Mult-Adds overhead allowed, of the network's Mult-Adds.")
@weight_bits_option
@format_option(("text", "csv", "markdown", "json", "xlsx"))
@output_option
@click.option("--plot", default=None, metavar="FILE.png",
              help="With --planner greedy|linear: the memory map (time x offset, one rectangle per buffer); "
                   "else live bytes per step of the schedules.")
def cmd(bits, schedules, split, unfused, zero_copy, inplace, planner, align, patches,
        patch_until, max_overhead, weight_bits, fmt, output, plot, **kwargs):
    """Peak activation memory of NET: a tensor is live from the op that writes it to its last
    reader; an op needs its inputs, its output and every other live tensor."""
    from ..errors import CostModelError
    from ..fileio import check_writable
    from ..memory import parse_inplace, report
    from ..memory_patches import parse_grid, parse_overhead
    if split is not None and split < 1:
        raise CostModelError(f"--split must be a positive number of slices, got {split}")
    if align < 1:
        raise CostModelError(f"--align must be a positive number of bytes, got {align}")
    if not str(inplace).strip(" ,"):
        raise CostModelError(f"--inplace {inplace!r} is empty; give dw, add, fused-add (comma separated) or none")
    opts = parse_inplace(inplace)
    if patches is None and (patch_until != "auto" or max_overhead != "10%"):
        given = "--patch-until" if patch_until != "auto" else "--max-overhead"
        raise CostModelError(f"{given} chooses the per-patch stage of --patches RxC; give --patches too")
    for path in (output, plot):
        if path:
            check_writable(path)
    if plot and not plot.lower().endswith(".png"):
        raise CostModelError(f"--plot writes a PNG image; give a file name ending in .png, got {plot!r}")
    schedules = tuple(dict.fromkeys(schedules)) or ("optimal",)
    check_effective(split, schedules, align, planner)
    if patches is not None:  # '' is an error, not "no patches"
        grid = parse_grid(patches)
        budget = parse_overhead(max_overhead)
        if planner != "none":
            raise CostModelError("--patches plans the liveness of each stage; combine it with --planner none")
        if any(s == "streamed" for s in schedules):
            raise CostModelError("--patches takes the sequential or optimal schedule, not streamed")
    args = NetworkArgs.take(kwargs)
    if patches is not None and args.batch != 1:
        raise CostModelError("--patches runs one image patch by patch (MCUNetV2); give --batch 1")
    graph = args.load()
    nbits = int(bits or 32)
    wbits = int(weight_bits or 32)
    reps = [report(graph, s, nbits, unfused=unfused, zero_copy=zero_copy, split=split, inplace=opts,
                   planner=planner, align=align, weight_bits=wbits, batch=args.batch) for s in schedules]
    d = dict(reps[0])
    if len(reps) > 1:
        d["others"] = [{k: r[k] for k in ("schedule", "peak_bytes", "peak_at")} for r in reps[1:]]
    if patches is not None:
        from ..memory_patches import patch_schedule
        ps = patch_schedule(graph, grid, patch_until, bits=nbits, inplace=opts, max_overhead=budget,
                            schedule_name=schedules[0])
        d["per_layer_peak_bytes"] = d["peak_bytes"]
        d["per_layer_peak_at"] = d["peak_at"]
        d["per_layer_lower_bound_bytes"], d["per_layer_exact"] = d["lower_bound_bytes"], d["exact"]
        d["peak_bytes"], d["peak_at"] = ps["peak_bytes"], ps["peak_at"]
        d["lower_bound_bytes"], d["exact"] = ps["lower_bound_bytes"], ps["exact"]  # the patch-based plan's
        d["live_at_peak"], d["timeline"] = ps["live_at_peak"], ps["timeline"]
        d["patch"] = {k: ps[k] for k in ("grid", "split", "split_tensor", "split_shape", "overhead_madds", "madds",
                                         "base_madds", "overhead", "max_overhead", "stages")}
        if "candidates" in ps:
            d["patch"]["candidates"] = ps["candidates"]
    if plot:
        if planner != "none":
            from ..memory import make_plan, schedule
            from ..memory_arena import memory_map, plan_arena
            s = schedule(make_plan(graph, unfused=unfused, zero_copy=zero_copy, inplace=opts, batch=args.batch),
                         schedules[0], split=split)
            memory_map(plan_arena(s, planner, nbits, align), plot,
                       f"{d['network']} ({nbits}-bit, {schedules[0]} schedule, in place: "
                       f"{','.join(sorted(opts)) or 'none'}): {planner} arena")
        else:
            plot_timelines([d] if patches is not None else reps, plot, f"{d['network']} ({nbits}-bit)")
        report_written(plot)
    emit_tables(tables(d, reps), fmt, output)


def check_effective(split, schedules, align: int, planner: str) -> None:
    """--split slices the chains of the streamed schedule and --align rounds the buffers of an arena
    plan: each without the other option changes nothing, and is refused in one line."""
    from ..errors import CostModelError
    if split is not None and "streamed" not in schedules:
        raise CostModelError(f"--split slices the chains of the streamed schedule, not {' or '.join(schedules)}; "
                             f"give --schedule streamed too")
    if align != 1 and planner == "none":
        raise CostModelError("--align rounds the buffers of an arena plan; give --planner greedy or linear too")


#: CSV header: the per-resolution columns, then what makes every row self-describing
CSV_HEADER = ["size", "max_channels", "max_bytes (B)", "tensor", "schedule", "bits", "peak_bytes (B)", "peak_at"]
#: CSV header of the arena rows (``--planner greedy|linear --format csv``)
ARENA_CSV_HEADER = ["tensor", "offset (B)", "size (B)", "first_use", "last_use", "planner", "arena_bytes (B)",
                    "peak_bytes (B)"]


def _summary(d: dict) -> list:
    """Lines on in-place kernels, the arena, patches and weights (empty when none applies)."""
    from ..render import hwc, scaled, thousands
    lines = []
    if d.get("inplace"):
        lines.append(f"in-place kernels: {', '.join(d['inplace'])}")
    if d.get("arena_bytes") is not None:
        frag = d["fragmentation_bytes"]
        lines.append(f"{d['planner']} arena: {scaled(d['arena_bytes'], 'B')} ({thousands(d['arena_bytes'])} bytes)"
                     f"{'' if d.get('align', 1) == 1 else ', sizes rounded up to ' + str(d['align']) + ' bytes'}; "
                     f"liveness peak (lower bound) {thousands(d['arena_bytes'] - frag)}; fragmentation "
                     f"{thousands(frag)} bytes ({frag / max(d['arena_bytes'], 1):.1%} of the arena)")
    p = d.get("patch")
    if p:
        lines.append(f"patch-based: {p['grid']} patches up to {p['split']} (output {p['split_tensor']} "
                     f"{hwc(p['split_shape'])}); per-layer peak {thousands(d['per_layer_peak_bytes'])} "
                     f"bytes at {d['per_layer_peak_at']}; Mult-Adds {thousands(p['madds'])} = "
                     f"{thousands(p['base_madds'])} + overhead {thousands(p['overhead_madds'])} ({p['overhead']:.1%})")
        for s in p["stages"]:
            lines.append(f"{s['stage']} stage ({' .. '.join(s['units'])}): peak {thousands(s['peak_bytes'])} bytes "
                         f"at {s['peak_at']}; Mult-Adds {thousands(s['madds'])}")
    lines.append(f"weights (Flash) at {d['weight_bits']}-bit: {scaled(d['weight_bytes'], 'B')} "
                 f"({thousands(d['weight_bytes'])} bytes)")
    if d.get("precision"):
        lines.append(f"precision: {d['precision']['label']}")
    return lines


#: the views of people (text, Markdown) and of the workbook
PEOPLE = ("text", "markdown", "xlsx")


def tables(d: dict, reps=None) -> list:
    """``d``: the first schedule's report (+ ``others``); ``reps``: every schedule's full report.
    The tables of ``costmodel memory``: a heading (the peak, the other schedules, in-place kernels,
    arena, patches, weights; the JSON contract ``d``), what is live at the peak, the largest tensor
    per resolution, the arena's buffers; CSV (and a sheet of the workbook) has the per-resolution
    rows of every schedule, one after the other, or with an arena plan the per-buffer rows."""
    from ..render import Column, Table, scaled, thousands
    head = (f"{d['network']}: peak {scaled(d['peak_bytes'], 'B')} ({thousands(d['peak_bytes'])} bytes) at "
            f"{d['peak_at']}, {d['schedule']} schedule, {d['bits']}-bit"
            + ("" if d["exact"] else f" (beam search: an upper bound; lower bound "
                                      f"{thousands(d['lower_bound_bytes'])})"))
    others = [f"{o['schedule']} schedule: peak {scaled(o['peak_bytes'], 'B')} ({thousands(o['peak_bytes'])} bytes) "
              f"at {o['peak_at']}" for o in d.get("others", [])]
    out = [Table(head, [], [], notes=others + _summary(d), data=d)]
    out.append(Table("live at the peak:", [Column("tensor", "tensor", "text"),
                                           Column("shape", "shape (HxWxC)", "shape"),
                                           Column("bytes", "bytes", "bytes")], d["live_at_peak"], sheet="live at peak",
                     formats=PEOPLE))
    out.append(Table("largest materialized tensor per resolution:",
                     [Column("size", "size", "text"), Column("max_channels", "max channels", "int"),
                      Column("max_bytes", "bytes", "bytes"), Column("tensor", "tensor", "text")], d["resolutions"],
                     notes=["a tensor 'name[1/t]' is one of t channel slices of a streamed chain"],
                     formats=("text", "markdown")))
    arena = d.get("arena_bytes") is not None
    if arena:
        out.append(Table(f"{d['planner']} arena:", [Column("tensor", "tensor", "text"),
                                                   Column("offset", "offset (B)", "int"),
                                                   Column("size", "bytes", "bytes"),
                                                   Column("first_use", "first step", "int"),
                                                   Column("last_use", "last step", "int")], d["buffers"],
                         formats=("text", "markdown")))
        rows = [dict(b, planner=d["planner"], arena_bytes=d["arena_bytes"],
                     peak_bytes=d["arena_bytes"] - d["fragmentation_bytes"]) for b in d["buffers"]]
        keys = ["tensor", "offset", "size", "first_use", "last_use", "planner", "arena_bytes", "peak_bytes"]
        header = ARENA_CSV_HEADER
    else:
        rows = [dict(r, schedule=rep["schedule"], bits=rep["bits"], peak_bytes=rep["peak_bytes"],
                     peak_at=rep["peak_at"]) for rep in (reps or [d]) for r in rep["resolutions"]]
        keys = ["size", "max_channels", "max_bytes", "tensor", "schedule", "bits", "peak_bytes", "peak_at"]
        header = CSV_HEADER
    kinds = {"offset": "bytes", "size": "bytes" if arena else "text", "arena_bytes": "bytes", "peak_bytes": "bytes",
             "max_bytes": "bytes", "tensor": "text", "schedule": "text", "planner": "text", "peak_at": "text"}
    out.append(Table("arena buffers" if arena else "largest tensor per resolution, every schedule",
                     [Column(k, h, kinds.get(k, "int")) for k, h in zip(keys, header)], rows,
                     sheet="arena" if arena else "resolutions", formats=("csv", "xlsx")))
    return out


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
