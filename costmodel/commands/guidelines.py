"""``costmodel guidelines``: ShuffleNet V2's guideline experiments (Tables 1-4) analytically, beside
the published measured speeds, with a per-table verdict and a roofline demo."""
import click

from .common import emit_tables, format_option, option_given, output_option

#: the roofline demo's devices when no --device is given
DEMO_DEVICES = ("gtx1080ti", "snapdragon810-a57-1t")


@click.command("guidelines")
@click.option("--table", "tables", type=click.Choice(["1", "2", "3", "4"]), multiple=True,
              help="Guideline table(s) to show [default: all].")
@click.option("--device", "devices", multiple=True, metavar="NAME|FILE.json",
              help=f"Device profiles for the roofline demo of tables 1-3 (gpu, mobile or cpu devices), repeat for "
                   f"several [default: {', '.join(DEMO_DEVICES)}]; with --measure, the one device the predictor "
                   f"estimates on.")
@click.option("--measure", "measure", is_flag=True,
              help="Measure every stack on this machine (onnxruntime, batch 1) beside the paper's speeds and the "
                   "predictor's estimate on --device (default: the x86-avx2-core roofline).")
@click.option("--threads", type=int, default=1, show_default=True, help="--measure: intra-op threads.")
@format_option(("text", "csv", "markdown", "json", "xlsx"))
@output_option
def cmd(tables, devices, measure, threads, fmt, output):
    """FLOPs, MAC (G1 lower bound, G2 growth, G3 branches, G4 element-wise share) of the 10-block
    56x56 benchmark stacks, the measured speeds, and whether MAC orders them as speed does.

    --measure runs the stacks here and states, per guideline and column, whether its direction
    (the good design faster than the bad one: 1:1 vs 1:12, g=1 vs g=8, 1-fragment vs
    4-fragment-parallel, no ReLU/shortcut vs both) holds on this machine."""
    from ..fileio import check_writable
    from ..guidelines import evaluate, roofline_demo
    chosen = tuple(int(t) for t in tables) or (1, 2, 3, 4)
    check_options(chosen, devices, measure, threads, option_given(click.get_current_context(), "threads"))
    if output:
        check_writable(output)
    if measure:
        return _measured(chosen, devices, threads, fmt, output)
    ev = evaluate(chosen)
    demo = roofline_demo(tuple(devices) or DEMO_DEVICES, tables=chosen)
    _check_demo(devices, demo)
    emit_tables(guideline_tables(ev, demo), fmt, output)


def _check_demo(devices, demo) -> None:
    """Every --device has rows in the roofline demo: it places GPU devices beside the paper's GPU
    speeds and mobile or CPU devices beside its ARM speeds, and leaves out any other kind."""
    from ..errors import CostModelError
    from ..roofline import device
    shown = {r["device"] for r in demo}
    for name in devices:
        d = device(name)
        if d.name not in shown:
            raise CostModelError(f"--device {name}: the roofline demo draws gpu, mobile and cpu devices beside the "
                                 f"paper's GPU and ARM speeds; this one is of kind {d.kind!r} (give --measure to "
                                 f"predict the stacks measured here on it)")


def check_options(tables, devices, measure: bool, threads: int, threads_given: bool) -> None:
    """Before anything is computed or measured: every --device is a known device; without --measure
    a device draws the roofline demo (tables 1-3) and --threads is refused; --measure predicts on one
    device (each row has one prediction column)."""
    from ..errors import CostModelError
    from ..roofline import device
    for d in devices:
        device(d)  # an unknown name: one line naming the accepted ones
    if not measure:
        if threads_given:
            raise CostModelError("--threads sets the threads of the measured runs; give --measure too")
        if devices and not set(tables) & {1, 2, 3}:
            raise CostModelError("--device draws the roofline demo of tables 1-3, which --table 4 alone does not "
                                 "show; give --table 1, 2 or 3 too, or --measure to predict the measured stacks")
        return
    if len(devices) > 1:
        raise CostModelError(f"--measure predicts on one --device (its estimate column), got {len(devices)}: "
                             f"{', '.join(devices)}; give one")
    from ..measure import CLI_FLAGS, check_settings
    check_settings(threads, names=CLI_FLAGS)


def guideline_tables(ev, demo) -> list:
    """The guideline tables (one per ShuffleNet V2 table, with the verdicts as notes), the roofline
    demo, the CSV table of every row, and the JSON contract, as ``render.Table``s."""
    from ..render import Column, Table
    cols = [Column("config", "config", "text"), Column("platform", "platform", "text"),
            Column("column", "column", "text"), Column("channels", "channels", "text"),
            Column("madds", "Mult-Adds", "count"), Column("mac", "MAC (elements)", "count"),
            Column("mac_ratio", "MAC/first", "ratio"), Column("lower_bound", "G1 bound", "count", drop=2),
            Column("eltwise_share", "eltwise MAC share", "ratio", drop=1), Column("branches", "branches", "int"),
            Column("speed", "speed", "figure"), Column("unit", "unit", "text")]
    out = [Table("", [], [], data={"tables": {str(t): d for t, d in ev.items()}, "roofline": demo},
                 formats=("json",))]
    for t, d in ev.items():
        rows = [dict(r, lower_bound=int(round(r["lower_bound"])) if "lower_bound" in r else None) for r in d["rows"]]
        verdicts = [f"{v['platform']} {v['column']}: Kendall tau(MAC, speed) = {v['kendall_tau_mac']:.2f} "
                    f"(FLOPs: {v['kendall_tau_flops']:.2f}"
                    + (f"; deployment-view MAC: {v['kendall_tau_mac_fused']:.2f}" if "kendall_tau_mac_fused" in v
                       else "") + f") - {v['verdict']}" for v in d["verdicts"]]
        note = ("MAC counted unfused (ReLU and add are separate element-wise ops)" if t == 4
                else "MAC in the deployment view; convs without BN or bias")
        out.append(Table(f"== {d['title']}", cols, rows, notes=verdicts + [note], sheet=f"G{t}",
                         formats=("text", "markdown", "xlsx")))
    if demo:
        rows = [dict(r, g=f"G{r['table']}") for r in demo]
        out.append(Table("== Roofline: equal FLOPs, unequal time (time = max(FLOPs / peak, MAC bytes / bandwidth), "
                         "batch 1)",
                         [Column("g", "table", "text"), Column("config", "config", "text"),
                          Column("column", "column", "text"), Column("device", "device", "text"),
                          Column("flops", "FLOPs", "count"), Column("mac_bytes", "MAC bytes (fp32)", "bytes"),
                          Column("time_us", "roofline time (us)", "float"), Column("bound", "bound", "text"),
                          Column("speed", "measured speed", "figure"), Column("unit", "unit", "text")],
                         rows, sheet="roofline", formats=("text", "markdown", "xlsx")))
    keys = ["table", "config", "platform", "column", "channels", "madds", "mac", "mac_ratio", "lower_bound",
            "eltwise_share", "branches", "speed", "unit"]
    heads = ["table", "config", "platform", "column", "channels", "Mult-Adds", "MAC", "MAC/first", "G1 bound",
             "eltwise MAC share", "branches", "speed", "unit"]
    out.append(Table("every row", [Column(k, h, "float" if k in ("mac_ratio", "lower_bound", "eltwise_share")
                                          else "text") for k, h in zip(keys, heads)],
                     [r for d in ev.values() for r in d["rows"]], formats=("csv",)))
    return out


def _measured(tables, devices, threads, fmt, output):
    """``guidelines --measure`` (issue 10): measured here, beside the paper and the predictor."""
    from ..guidelines import directions, measure_stacks
    from ..measure import need_onnxruntime
    from .common import Progress
    need_onnxruntime()
    dev = devices[0] if devices else "x86-avx2-core"
    with Progress("measuring the stacks", True) as bar:
        rows = measure_stacks(tables, "onnxruntime", threads, dev, progress=bar)
    emit_tables(measured_tables(tables, rows, directions(rows), threads), fmt, output)


def measured_tables(tables, rows, dirs, threads) -> list:
    """The measured stacks per guideline table with the directions as notes; CSV: every row."""
    from ..guidelines import TITLES
    from ..measure import cpu_model
    from ..render import Column, Table
    cols = [Column("config", "config", "text"), Column("platform", "platform", "text"),
            Column("column", "column", "text"), Column("channels", "channels", "text"),
            Column("paper_speed", "paper speed", "g"), Column("paper_unit", "unit", "text"),
            Column("measured_speed", "here (images/s)", "float"),
            Column("predicted_speed", "predicted (images/s)", "float")]
    out = [Table(f"measured on {cpu_model()}, onnxruntime, {threads} thread(s), batch 1, fastest of the runs; "
                 f"predicted on {rows[0].get('predict_device', '') if rows else ''}", [], [],
                 data={"cpu": cpu_model(), "threads": threads, "rows": rows, "directions": dirs})]
    for t in tables:
        vs = []
        for d in (x for x in dirs if x["table"] == t):
            holds = "holds" if d["measured_holds"] else "does NOT hold"
            agrees = "agrees" if d.get("predicted_holds") == d["measured_holds"] else "disagrees"
            vs.append(f"{d['platform']} {d['column']}: {d['good']} vs {d['bad']}: paper x{d['paper_ratio']:.2f}, "
                      f"here x{d['measured_ratio']:.2f} - the direction {holds} here; predictor {agrees}")
        out.append(Table(f"== {TITLES[t]}", cols, [r for r in rows if r["table"] == t], notes=vs, sheet=f"G{t}",
                         formats=("text", "markdown", "xlsx")))
    csv_rows = [dict(r, measured_speed=round(r["measured_speed"], 2), predicted_speed=round(r["predicted_speed"], 2))
                for r in rows]
    out.append(Table("every stack", [Column("table", "table", "int")] + cols, csv_rows, formats=("csv",)))
    return out
