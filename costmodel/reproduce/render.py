"""The reproduction report as text, Markdown, CSV or JSON."""
from __future__ import annotations

from decimal import Decimal
from typing import List

from .compare import Comparison, Figure


def _fmt_computed(f: Figure) -> str:
    v = f.computed_in_unit
    if v is None:
        return "-"
    if float(v).is_integer() and (not f.published or "." not in f.published):
        return f"{int(v):,}"  # exact counts (channels, parameters) print as integers
    digits = max(0, -Decimal(f.published).as_tuple().exponent) + 2 if f.published else 3
    return f"{v:,.{digits}f}"


def tables(comparisons: List[Comparison]) -> list:
    """The reproduction report as ``render.Table``s: per published table, its figures (published,
    computed, status, convention) with numbered explanations as footnotes; a summary; one long
    table of every figure for CSV and xlsx; the JSON contract (a list of the comparisons)."""
    from ..render import Column, Table
    cols = [Column("label", "row", "text"), Column("quantity", "quantity", "text"),
            Column("published", "published", "figure"), Column("computed", "computed", "figure"),
            Column("unit", "unit", "text"), Column("status", "status", "text"),
            Column("convention", "convention", "text")]
    out = []
    n_ok = n_expl = n_bad = 0
    errors = [f.error for c in comparisons for f in c.figures if f.error is not None]
    outside = [f.error for c in comparisons for f in c.figures
               if f.error is not None and "out of sample" in f.convention]
    for c in comparisons:
        rows = []
        notes: List[str] = []
        for f in c.figures:
            s = f.status
            n_ok += s == "ok"
            n_expl += s == "differs (explained)"
            n_bad += s == "DIFFERS"
            mark = ""
            if f.explanation:
                if f.explanation not in notes:
                    notes.append(f.explanation)
                mark = f" [{notes.index(f.explanation) + 1}]"
            rows.append({"label": f.label, "quantity": f.quantity, "published": f.published or "-",
                         "computed": _fmt_computed(f), "unit": f.unit, "status": s + mark,
                         "convention": f.convention})
        foot = [f"[{i + 1}] {n}" for i, n in enumerate(notes)] + list(c.notes)
        out.append(Table(f"== {c.title}  [{c.source}]", cols, rows, notes=foot, formats=("text", "markdown")))
    summary = (f"{n_ok + n_expl + n_bad} figures: {n_ok} within the published precision, {n_expl} differ with a "
               f"documented explanation, {n_bad} differ without one")
    lines = [summary]
    if errors:
        within = sum(abs(e) <= 0.10 for e in errors)
        out_within = sum(abs(e) <= 0.10 for e in outside)
        lines.append(f"{len(errors)} published latencies predicted on the device profile of their runtime era: "
                     f"{within} within +-10%; of the {len(outside)} the device was not fitted on, {out_within} "
                     f"within +-10% (leave-one-out scores of the fitted tables: costmodel calibrate --evaluate DEVICE)")
    out.append(Table("", [], [], notes=lines, data=[c.to_dict() for c in comparisons]))
    keys = ["paper", "table", "row", "quantity", "published", "computed", "unit", "status", "convention",
            "explanation"]
    every = [{"paper": c.paper, "table": c.title, "row": f.label, "quantity": f.quantity, "published": f.published,
              "computed": f.computed, "unit": f.unit, "status": f.status, "convention": f.convention,
              "explanation": f.explanation} for c in comparisons for f in c.figures]
    out.append(Table("every figure", [Column(k, k, "float" if k == "computed" else "text") for k in keys], every,
                     sheet="figures", formats=("csv", "xlsx")))
    return out


def render(comparisons: List[Comparison], fmt: str = "text", width=None):
    """The reproduction report in ``fmt`` (text, markdown, csv, json, xlsx)."""
    from ..render import render as render_tables
    return render_tables(tables(comparisons), fmt, width)
