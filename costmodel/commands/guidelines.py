"""``costmodel guidelines``: ShuffleNet V2's guideline experiments (Tables 1-4) analytically, beside
the published measured speeds, with a per-table verdict and a roofline demo."""
import click

from .common import emit, format_option, output_option


@click.command("guidelines")
@click.option("--table", "tables", type=click.Choice(["1", "2", "3", "4"]), multiple=True,
              help="Guideline table(s) to show [default: all].")
@click.option("--device", "devices", multiple=True, metavar="NAME",
              help="Device profiles for the roofline demo [default: gtx1080ti, snapdragon810-a57-1t].")
@click.option("--measure", "measure", is_flag=True,
              help="Measure every stack on this machine (onnxruntime, batch 1) beside the paper's speeds and the "
                   "predictor's estimate on --device (default: the x86-avx2-core roofline).")
@click.option("--threads", type=int, default=1, show_default=True, help="--measure: intra-op threads.")
@format_option()
@output_option
def cmd(tables, devices, measure, threads, fmt, output):
    """FLOPs, MAC (G1 lower bound, G2 growth, G3 branches, G4 element-wise share) of the 10-block
    56x56 benchmark stacks, the measured speeds, and whether MAC orders them as speed does.

    --measure runs the stacks here and states, per guideline and column, whether its direction
    (the good design faster than the bad one: 1:1 vs 1:12, g=1 vs g=8, 1-fragment vs
    4-fragment-parallel, no ReLU/shortcut vs both) holds on this machine."""
    from ..fileio import check_writable
    from ..guidelines import evaluate, roofline_demo
    if output:
        check_writable(output)
    chosen = tuple(int(t) for t in tables) or (1, 2, 3, 4)
    if measure:
        return _measured(chosen, devices, threads, fmt, output)
    ev = evaluate(chosen)
    demo = roofline_demo(tuple(devices) or ("gtx1080ti", "snapdragon810-a57-1t"), tables=chosen)
    emit(render(ev, demo, fmt), output)


def _f(v, digits=3):
    return f"{v:.{digits}f}"


def render(ev, demo, fmt):
    from ..formatting import csv_text, json_text, markdown_table, text_table, thousands
    if fmt == "json":
        return json_text({"tables": {str(t): d for t, d in ev.items()}, "roofline": demo})
    headers = ["config", "platform", "column", "channels", "Mult-Adds", "MAC", "MAC/first", "G1 bound",
               "eltwise MAC share", "branches", "speed", "unit"]
    if fmt == "csv":
        rows = [[r["table"], r["config"], r["platform"], r["column"], r["channels"], r["madds"], r["mac"],
                 r["mac_ratio"], r.get("lower_bound", ""), r["eltwise_share"], r["branches"], r["speed"], r["unit"]]
                for d in ev.values() for r in d["rows"]]
        return csv_text(["table"] + headers, rows)
    md = fmt == "markdown"
    table = (lambda h, rows, a: markdown_table(h, rows, a)) if md else (lambda h, rows, a: text_table(h, rows, a))
    out = []
    for t, d in ev.items():
        rows = [[r["config"], r["platform"], r["column"], r["channels"], thousands(r["madds"]), thousands(r["mac"]),
                 _f(r["mac_ratio"]), thousands(int(round(r["lower_bound"]))) if "lower_bound" in r else "",
                 _f(r["eltwise_share"]), r["branches"], r["speed"], r["unit"]] for r in d["rows"]]
        verdicts = [f"{v['platform']} {v['column']}: Kendall tau(MAC, speed) = {v['kendall_tau_mac']:.2f} "
                    f"(FLOPs: {v['kendall_tau_flops']:.2f}"
                    + (f"; deployment-view MAC: {v['kendall_tau_mac_fused']:.2f}" if "kendall_tau_mac_fused" in v
                       else "") + f") - {v['verdict']}" for v in d["verdicts"]]
        note = ("MAC counted unfused (ReLU and add are separate element-wise ops)" if t == 4
                else "MAC in the deployment view; convs without BN or bias")
        head = f"### {d['title']}" if md else f"== {d['title']}"
        body = table(headers, rows, "llllrrrrrrrl")
        vs = "\n".join(("- " if md else "  ") + v for v in verdicts)
        out.append(f"{head}\n\n{body}\n\n{vs}\n" + ("- " if md else "  ") + note + "\n")
    if not demo:
        return "\n".join(out)
    rows = [[f"G{r['table']}", r["config"], r["column"], r["device"], thousands(r["flops"]), thousands(r["mac_bytes"]),
             f"{r['time_us']:.1f}", r["bound"], r["speed"], r["unit"]] for r in demo]
    h = ["table", "config", "column", "device", "FLOPs", "MAC bytes (fp32)", "roofline time (us)", "bound",
         "measured speed", "unit"]
    title = "Roofline: equal FLOPs, unequal time (time = max(FLOPs / peak, MAC bytes / bandwidth), batch 1)"
    out.append(("### " if md else "== ") + title + "\n\n" + table(h, rows, "llllrrrlrl") + "\n")
    return "\n".join(out)


def _measured(tables, devices, threads, fmt, output):
    """``guidelines --measure`` (issue 10): measured here, beside the paper and the predictor."""
    from ..formatting import csv_text, json_text, markdown_table, text_table
    from ..guidelines import TITLES, directions, measure_stacks
    from ..measure import cpu_model, need_onnxruntime
    from .sweep import Progress
    need_onnxruntime()
    dev = devices[0] if devices else "x86-avx2-core"
    bar = Progress("measuring the stacks", True)
    try:
        rows = measure_stacks(tables, "onnxruntime", threads, dev, progress=bar)
    finally:
        bar.close()
    dirs = directions(rows)
    if fmt == "json":
        return emit(json_text({"cpu": cpu_model(), "threads": threads, "rows": rows, "directions": dirs}), output)
    h = ["config", "platform", "column", "channels", "paper speed", "unit", "here (images/s)",
         "predicted (images/s)"]
    if fmt == "csv":
        return emit(csv_text(["table"] + h, [[r["table"], r["config"], r["platform"], r["column"], r["channels"],
                                              r["paper_speed"], r["paper_unit"], round(r["measured_speed"], 2),
                                              round(r["predicted_speed"], 2)] for r in rows]), output)
    md = fmt == "markdown"
    table = markdown_table if md else text_table
    out = [f"measured on {cpu_model()}, onnxruntime, {threads} thread(s), batch 1, fastest of the runs; predicted "
           f"on {rows[0].get('predict_device', '')}"]
    for t in tables:
        rs = [r for r in rows if r["table"] == t]
        body = table(h, [[r["config"], r["platform"], r["column"], r["channels"], f"{r['paper_speed']:g}",
                          r["paper_unit"], f"{r['measured_speed']:.1f}", f"{r['predicted_speed']:.1f}"] for r in rs],
                     "llllrlrr")
        vs = []
        for d in (x for x in dirs if x["table"] == t):
            holds = "holds" if d["measured_holds"] else "does NOT hold"
            agrees = "agrees" if d.get("predicted_holds") == d["measured_holds"] else "disagrees"
            vs.append(f"{d['platform']} {d['column']}: {d['good']} vs {d['bad']}: paper x{d['paper_ratio']:.2f}, "
                      f"here x{d['measured_ratio']:.2f} - the direction {holds} here; predictor {agrees}")
        out.append(("### " if md else "== ") + TITLES[t] + "\n\n" + body + "\n\n"
                   + "\n".join(("- " if md else "  ") + v for v in vs))
    return emit("\n\n".join(out) + "\n", output)
