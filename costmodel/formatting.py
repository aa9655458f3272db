"""Formatting at the edge: human-readable numbers, and the per-layer cost table of ``analyze``'s
report (and its roll-up into blocks and stages) as a ``render.Table`` (the renderer,
``costmodel.render``, writes every format)."""
from __future__ import annotations

from typing import List, Optional, Sequence

from .render import (  # noqa: F401  (re-exported)
    Column, Table, csv_text, hwc, json_text, markdown_table, scaled, text_table, thousands,
)

#: the per-layer table's columns: (key, header with unit, kind); ``drop``: which the text view drops
#: first on a narrow terminal (highest first); the shares are for people (not in CSV or JSON)
PCT_VIEWS = ("text", "markdown", "xlsx")
LAYER_COLUMNS = [
    Column("name", "layer", "text"), Column("op", "op", "text"),
    Column("input_shape", "input (HxWxC)", "shape", drop=3), Column("output_shape", "output (HxWxC)", "shape"),
    Column("params", "params", "count"), Column("params_pct", "params %", "pct", drop=6, only=PCT_VIEWS),
    Column("madds", "Mult-Adds", "count"), Column("madds_pct", "Mult-Adds %", "pct", drop=5, only=PCT_VIEWS),
    Column("flops", "FLOPs", "count", drop=4),
]
#: optional columns (memory model and roofline)
EXTRA_COLUMNS = {
    "mac": Column("mac", "MAC (elements)", "count"),
    "arithmetic_intensity": Column("arithmetic_intensity", "Mult-Adds/MAC", "float", drop=7),
    "time_us": Column("time_us", "time (us)", "float"),
    "predicted_us": Column("predicted_us", "predicted (us)", "float"),
    "bound": Column("bound", "bound", "text", drop=2),
    "weight_bytes": Column("weight_bytes", "weight bytes (Flash)", "bytes"),
}
#: the roll-up's own columns (``--rollup N``): the group, its block type and its number of layers
ROLLUP_COLUMNS = [Column("name", "block", "text"), Column("type", "type", "text", drop=1),
                  Column("layers", "layers", "int", drop=1)]


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


def with_shares(rows: Sequence[dict], totals: dict) -> List[dict]:
    """``rows`` with ``params_pct`` and ``madds_pct``: each row's share of the totals, in percent."""
    out = []
    for r in rows:
        d = dict(r)
        for k in ("params", "madds"):
            d[f"{k}_pct"] = 100.0 * (r.get(k) or 0) / totals[k] if totals.get(k) else 0.0
        out.append(d)
    return out


def report_table(report, extra_columns: Sequence[str] = (), footer: Sequence[str] = (), data=None,
                 rollup: Optional[List[dict]] = None, level: Optional[int] = None) -> Table:
    """``analyze``'s report as the per-layer table with a total row, the summary and conventions
    as notes; ``data`` the JSON object (default: the report's own contract). ``rollup``: the rows of
    ``costmodel.rollup.rollup`` at ``level``, shown instead of the layers."""
    from .analysis import convention
    t = report.totals
    cols = LAYER_COLUMNS + [EXTRA_COLUMNS[k] for k in extra_columns]
    summary = (f"totals: params {scaled(t['params'])} ({thousands(t['params'])}), "
               f"params_with_bn {scaled(t['params_with_bn'])}, Mult-Adds {scaled(t['madds'])} "
               f"({thousands(t['madds'])}), FLOPs {scaled(t['flops'])}")
    notes: List[str] = [summary, *footer, "convention: " + convention(report.batch)]
    total = {"name": "total", **t, "params_pct": 100.0, "madds_pct": 100.0}
    title = report_title(report)
    if rollup is not None:
        from dataclasses import replace
        cols = ROLLUP_COLUMNS + [replace(c, only=None) if c.kind == "pct" else c for c in cols[2:]]  # shares in CSV
        rows = rollup
        total["layers"] = sum(r["layers"] for r in rollup)
        title += f"  (rolled up: level {level}, {len(rollup)} groups of {total['layers']} layers)"
        notes.insert(1, f"--rollup {level}: " + ROLLUP_NOTE)
    else:
        rows = with_shares(report.rows, t)
    return Table(title, cols, rows, total, notes, report.to_dict() if data is None else data,
                 sheet="blocks" if rollup is not None else "layers")


#: how the roll-up is made (README, Conventions)
ROLLUP_NOTE = ("level 1 = stages (a row of the network's table), 2 = blocks, 3 and deeper = their parts; imported "
               "models by module path; counts are sums over the group's layers, input/output the first and last "
               "layer's")
