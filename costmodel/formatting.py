"""Formatting at the edge: exact integers in, text / CSV / Markdown / JSON out."""
from __future__ import annotations

import csv
import io
import json
from typing import List, Sequence

FORMATS = ("text", "csv", "markdown", "json")


def thousands(n) -> str:
    return f"{n:,}" if isinstance(n, int) else str(n)


def scaled(n: float, unit: str = "") -> str:
    """3_504_872 -> '3.50 M'; 300_774_272 -> '300.77 M'; 1.2e9 -> '1.20 G'; from 1e15 on in
    scientific notation ('5.97e+36'), so that a huge resolution shows no float noise digits."""
    if abs(n) >= 1e15:
        return f"{float(n):.2e} {unit}".rstrip()
    for div, p in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= div:
            return f"{n / div:.2f} {p}{unit}"
    return f"{n} {unit}".rstrip()


def hwc(shape: Sequence[int]) -> str:
    """Shape as the papers print it: H x W x C (vectors as their length)."""
    if len(shape) == 3:
        c, h, w = shape
        return f"{h}x{w}x{c}"
    return "x".join(map(str, shape))


def text_table(headers: List[str], rows: List[list], align: str = None) -> str:
    """Aligned plain-text table; ``align`` is one char per column, 'l' or 'r'."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells if r]) for i, h in enumerate(headers)]
    align = align or "l" * len(headers)

    def line(r):
        return "  ".join(c.rjust(w) if a == "r" else c.ljust(w) for c, w, a in zip(r, widths, align)).rstrip()

    out = [line(headers), "  ".join("-" * w for w in widths)]
    out += [line(r) if r else "" for r in cells]
    return "\n".join(out)


def markdown_table(headers: List[str], rows: List[list], align: str = None) -> str:
    align = align or "l" * len(headers)
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def csv_text(headers: List[str], rows: List[list]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(headers)
    w.writerows(rows)
    return buf.getvalue()


def json_text(obj) -> str:
    return json.dumps(obj, indent=2) + "\n"


#: header names of optional columns (memory model and roofline)
EXTRA_HEADERS = {"mac": "MAC", "arithmetic_intensity": "Mult-Adds/MAC", "time_us": "time (us)", "bound": "bound",
                 "predicted_us": "predicted (us)"}


def table_columns(rows: List[dict], extra: Sequence[str] = ()):
    """Header names (with units) and the keys they come from for a per-layer cost table."""
    cols = [("layer", "name"), ("op", "op"), ("input (HxWxC)", "input_shape"), ("output (HxWxC)", "output_shape"),
            ("params", "params"), ("Mult-Adds", "madds"), ("FLOPs", "flops")]
    cols += [(EXTRA_HEADERS.get(k, k), k) for k in extra]
    return cols


def render_report(report, fmt: str, extra_columns: Sequence[str] = (), footer: Sequence[str] = ()) -> str:
    """Render ``analyze``'s report in one of ``FORMATS``."""
    from .analysis import CONVENTION
    if fmt == "json":
        return json_text(report.to_dict())
    cols = table_columns(report.rows, extra_columns)
    headers = [h for h, _ in cols]
    t = report.totals
    total_row = {"name": "total", "op": "", "input_shape": "", "output_shape": "", **t}
    text_like = fmt in ("text", "markdown")

    def cell(r, k):
        v = r.get(k, "")
        if k in ("input_shape", "output_shape"):
            return hwc(v) if v != "" else ""
        if text_like and isinstance(v, int):
            return thousands(v)
        if isinstance(v, float):
            if k in ("time_us", "predicted_us"):  # microseconds: fixed point, never scientific notation
                return f"{v:,.2f}" if text_like else f"{v:.3f}"
            return f"{v:.3g}"
        return v

    rows = [[cell(r, k) for _, k in cols] for r in report.rows]
    trow = [cell(total_row, k) for _, k in cols]
    align = "llll" + "".join("l" if k == "bound" else "r" for _, k in cols[4:])
    if fmt == "csv":
        return csv_text(headers, rows + [trow])
    knobs = ", ".join(f"{k}={v}" for k, v in report.to_dict()["knobs"].items())
    title = (f"{report.network}  alpha={report.alpha:g}  resolution={report.resolution}  classes={report.classes}"
             + (f"  {knobs}" if knobs else ""))
    summary = (f"totals: params {scaled(t['params'])} ({thousands(t['params'])}), "
               f"params_with_bn {scaled(t['params_with_bn'])}, Mult-Adds {scaled(t['madds'])} "
               f"({thousands(t['madds'])}), FLOPs {scaled(t['flops'])}")
    notes = [summary, *footer, "convention: " + CONVENTION]
    if fmt == "markdown":
        trow = [f"**{c}**" if c != "" else "" for c in trow]
        return (f"**{title}**\n\n" + markdown_table(headers, rows + [trow], align) + "\n\n"
                + "\n".join(f"- {n}" for n in notes) + "\n")
    body = text_table(headers, rows + [[], trow], align)
    return f"{title}\n\n{body}\n\n" + "\n".join(notes) + "\n"
