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


def render(comparisons: List[Comparison], fmt: str = "text") -> str:
    from ..formatting import csv_text, json_text, markdown_table, text_table
    if fmt == "json":
        return json_text([c.to_dict() for c in comparisons])
    headers = ["row", "quantity", "published", "computed", "unit", "status", "convention"]
    if fmt == "csv":
        rows = [[c.paper, c.title, f.label, f.quantity, f.published, f.computed, f.unit, f.status, f.convention,
                 f.explanation] for c in comparisons for f in c.figures]
        return csv_text(["paper", "table", "row", "quantity", "published", "computed", "unit", "status",
                         "convention", "explanation"], rows)
    out = []
    n_ok = n_expl = n_bad = 0
    errors = [f.error for c in comparisons for f in c.figures if f.error is not None]
    outside = [f.error for c in comparisons for f in c.figures
               if f.error is not None and "out of sample" in f.convention]
    for c in comparisons:
        rows = []
        notes = []
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
            rows.append([f.label, f.quantity, f.published or "-", _fmt_computed(f), f.unit, s + mark, f.convention])
        foot = [f"[{i + 1}] {n}" for i, n in enumerate(notes)] + list(c.notes)
        if fmt == "markdown":
            out.append(f"### {c.title}\n\nsource: {c.source}\n\n" + markdown_table(headers, rows, "llrrlll")
                       + "".join(f"\n\n- {n}" for n in foot) + "\n")
        else:
            out.append(f"== {c.title}  [{c.source}]\n" + text_table(headers, rows, "llrrlll")
                       + "".join(f"\n  {n}" for n in foot) + "\n")
    summary = (f"{n_ok + n_expl + n_bad} figures: {n_ok} within the published precision, {n_expl} differ with a "
               f"documented explanation, {n_bad} differ without one")
    if errors:
        within = sum(abs(e) <= 0.10 for e in errors)
        out_within = sum(abs(e) <= 0.10 for e in outside)
        summary += (f"\n{len(errors)} published latencies predicted on the device profile of their runtime era: "
                    f"{within} within +-10%; of the {len(outside)} the device was not fitted on, {out_within} "
                    f"within +-10% (leave-one-out scores of the fitted tables: costmodel calibrate --evaluate DEVICE)")
    return "\n".join(out) + "\n" + summary + "\n"
