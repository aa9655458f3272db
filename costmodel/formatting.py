"""Formatting at the edge: human-readable numbers, and the per-layer cost table of ``analyze``'s
report as a ``render.Table`` (the renderer, ``costmodel.render``, writes every format)."""
from __future__ import annotations

from typing import List, Sequence

from .render import Column, Table, csv_text, hwc, json_text, markdown_table, text_table  # noqa: F401  (re-exported)


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


#: the per-layer table's columns: (key, header with unit, kind)
LAYER_COLUMNS = [
    Column("name", "layer", "text"), Column("op", "op", "text"),
    Column("input_shape", "input (HxWxC)", "shape"), Column("output_shape", "output (HxWxC)", "shape"),
    Column("params", "params"), Column("madds", "Mult-Adds"), Column("flops", "FLOPs"),
]
#: optional columns (memory model and roofline)
EXTRA_COLUMNS = {
    "mac": Column("mac", "MAC (elements)"),
    "arithmetic_intensity": Column("arithmetic_intensity", "Mult-Adds/MAC", "float"),
    "time_us": Column("time_us", "time (us)", "float"),
    "predicted_us": Column("predicted_us", "predicted (us)", "float"),
    "bound": Column("bound", "bound", "text"),
    "weight_bytes": Column("weight_bytes", "weight bytes (Flash)"),
}


def report_title(report) -> str:
    """'mobilenet_v2  alpha=0.75  resolution=160  classes=1000  batch=1  knob=value ...'."""
    from . import validate
    d = report.to_dict()
    res = report.resolution
    res = validate.format_res((res[0], res[1])) if isinstance(res, (list, tuple)) else res
    parts = [report.network, f"alpha={report.alpha:g}", f"resolution={res}"]
    if "depth" in d:
        parts.append(f"depth={d['depth']:g}")
    parts += [f"classes={report.classes}", f"batch={report.batch}"]
    if "precision" in report.meta:  # per-layer bits: the header says so
        from .precision import graph_precision_label
        parts.append(graph_precision_label(report.meta["precision"], report.memory.get("bits", 32)))
    knobs = ", ".join(f"{k}={v}" for k, v in d["knobs"].items() if v is not None)
    return "  ".join(parts) + (f"  {knobs}" if knobs else "")


def report_table(report, extra_columns: Sequence[str] = (), footer: Sequence[str] = (), data=None) -> Table:
    """``analyze``'s report as the per-layer table with a total row, the summary and conventions
    as notes; ``data`` the JSON object (default: the report's own contract)."""
    from .analysis import convention
    t = report.totals
    cols = LAYER_COLUMNS + [EXTRA_COLUMNS[k] for k in extra_columns]
    summary = (f"totals: params {scaled(t['params'])} ({thousands(t['params'])}), "
               f"params_with_bn {scaled(t['params_with_bn'])}, Mult-Adds {scaled(t['madds'])} "
               f"({thousands(t['madds'])}), FLOPs {scaled(t['flops'])}")
    notes: List[str] = [summary, *footer, "convention: " + convention(report.batch)]
    total = {"name": "total", **t}
    return Table(report_title(report), cols, report.rows, total, notes,
                 report.to_dict() if data is None else data, sheet="layers")
