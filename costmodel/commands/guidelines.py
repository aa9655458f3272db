"""``costmodel guidelines``: ShuffleNet V2's guideline experiments (Tables 1-4) analytically, beside
the published measured speeds, with a per-table verdict and a roofline demo."""
import click

from .common import emit, format_option, output_option


@click.command("guidelines")
@click.option("--table", "tables", type=click.Choice(["1", "2", "3", "4"]), multiple=True,
              help="Guideline table(s) to show [default: all].")
@click.option("--device", "devices", multiple=True, metavar="NAME",
              help="Device profiles for the roofline demo [default: gtx1080ti, snapdragon810-a57-1t].")
@format_option()
@output_option
def cmd(tables, devices, fmt, output):
    """FLOPs, MAC (G1 lower bound, G2 growth, G3 branches, G4 element-wise share) of the 10-block
    56x56 benchmark stacks, the measured speeds, and whether MAC orders them as speed does."""
    from ..fileio import check_writable
    from ..guidelines import evaluate, roofline_demo
    if output:
        check_writable(output)
    chosen = tuple(int(t) for t in tables) or (1, 2, 3, 4)
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
