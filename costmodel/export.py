"""Spreadsheets for design reviews: a summary sheet (one row per candidate: totals, published top-1
where known, units in the headers) and one per-layer sheet per candidate, with frozen header rows,
autofilters, thousands separators and column widths that fit; or the summary as CSV.

Written with XlsxWriter: a write-only library (review workbooks are generated, never edited in
place), faster than openpyxl at writing, with rich cell formats, freeze panes, autofilters and a
constant-memory mode that streams rows to disk. The tests read files back with openpyxl.
Files are written atomically (``fileio.atomic_path``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from .errors import CostModelError

#: (header with unit, totals key, kind) of the summary sheet's cost columns
SUMMARY_COSTS = [
    ("params (count)", "params", "int"),
    ("params with BN (count)", "params_with_bn", "int"),
    ("Mult-Adds (count)", "madds", "int"),
    ("FLOPs (count)", "flops", "int"),
    ("MAC (elements)", "mac", "int"),
    ("MAC (bytes, 32-bit)", "mac_bytes", "int"),
    ("peak activations (bytes, 32-bit)", "peak_activation_bytes", "int"),
]
LAYER_COLUMNS = [
    ("layer", "name", "text"), ("op", "op", "text"), ("block", "block", "text"),
    ("input (HxWxC)", "input_shape", "shape"), ("output (HxWxC)", "output_shape", "shape"),
    ("params (count)", "params", "int"), ("params with BN (count)", "params_with_bn", "int"),
    ("Mult-Adds (count)", "madds", "int"), ("FLOPs (count)", "flops", "int"), ("MAC (elements)", "mac", "int"),
    ("arithmetic intensity (Mult-Adds / MAC element)", "arithmetic_intensity", "float"),
]
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


@dataclass
class Candidate:
    """One configuration under review, with its report and published top-1."""

    network: str
    family: str
    alpha: float
    resolution: int
    classes: int
    knobs: Dict = field(default_factory=dict)
    report: object = None
    top1: Optional[float] = None
    top1_source: str = ""

    @property
    def title(self) -> str:
        k = " ".join(f"{a}={b}" for a, b in self.knobs.items())
        return f"{self.network} {self.alpha:g}-{self.resolution}" + (f" {k}" if k else "")


def summary_costs(cands: Sequence[Candidate]):
    """SUMMARY_COSTS, plus the predicted latency when the candidates carry one (export --device)."""
    dev = next((c.report.totals.get("latency_device") for c in cands if "latency_s" in c.report.totals), None)
    return SUMMARY_COSTS + ([(f"latency (s, {dev})", "latency_s", "float")] if dev else [])


def candidates(nets: Sequence[str], alphas: Optional[Sequence[float]] = None,
               resolutions: Optional[Sequence[int]] = None, classes: Optional[int] = None, device=None,
               **knobs) -> List[Candidate]:
    """Every (network, alpha, resolution) of the grid, analyzed, with published top-1 if known
    (and, with ``device``, the latency predicted on it: totals ``latency_s``)."""
    out = _candidates(nets, alphas, resolutions, classes, **knobs)
    if device is not None:
        from .roofline import device as get_device, latency_for
        dev = get_device(device)
        for name, c in zip(_names(nets, alphas, resolutions), out):
            c.report.totals["latency_s"] = latency_for(name, [(c.alpha, c.resolution)], dev, classes, **knobs)[0]
            c.report.totals["latency_device"] = f"{dev.name}, {dev.model}"
    return out


def _names(nets, alphas, resolutions):
    return [n for n in nets for _ in (alphas or [None]) for _ in (resolutions or [None])]


def _candidates(nets: Sequence[str], alphas: Optional[Sequence[float]] = None,
                resolutions: Optional[Sequence[int]] = None, classes: Optional[int] = None,
                **knobs) -> List[Candidate]:
    from .accuracy import lookup
    from .analysis import analyze
    from .registry import build, resolve
    from .sources import load, source_kind
    out = []
    for name in nets:
        for a in (alphas or [None]):
            for r in (resolutions or [None]):
                if source_kind(name) != "registry":  # a spec file, block string or ONNX model
                    g = load(name, a, r, classes, **knobs)
                    m = g.meta
                    out.append(Candidate(m["network"], m.get("family", ""), m["alpha"], m["resolution"],
                                         m.get("classes", 0), {}, analyze(g)))
                    continue
                net, alpha, res, cls, full = resolve(name, a, r, classes, **knobs)
                rep = analyze(build(name, alpha=alpha, res=res, classes=cls, **knobs))
                p = lookup(net.name, alpha, res, full)
                shown = {k: full.get(k, v) for k, v in knobs.items()}  # the knobs the user chose
                out.append(Candidate(net.name, net.family, alpha, res, cls, shown, rep,
                                     p.top1 if p else None, p.cited if p else ""))
    return out


def summary_rows(cands: Sequence[Candidate]):
    headers = ["network", "family", "alpha", "resolution (px)", "classes", "knobs"] + \
        [h for h, _, _ in summary_costs(cands)] + ["published top-1 (%)", "top-1 source"]
    rows = []
    for c in cands:
        t = c.report.totals
        rows.append([c.network, c.family, c.alpha, c.resolution, c.classes,
                     "; ".join(f"{k}={v}" for k, v in c.knobs.items())]
                    + [t.get(k) for _, k, _ in summary_costs(cands)] + [c.top1, c.top1_source])
    return headers, rows


def sheet_names(titles: Sequence[str]) -> List[str]:
    """Excel sheet names: at most 31 characters, none of []:*?/\\, unique (case-insensitive),
    numbered so that they stay in candidate order."""
    out, seen = [], {"summary"}
    for i, t in enumerate(titles, 1):
        base = _BAD_SHEET_CHARS.sub("_", f"{i} {t}").strip("'")[:31].rstrip()
        name, k = base, 2
        while name.lower() in seen:
            suffix = f"~{k}"
            name = base[:31 - len(suffix)] + suffix
            k += 1
        seen.add(name.lower())
        out.append(name)
    return out


def _cell(v, kind):
    if kind == "shape":
        from .formatting import hwc
        return hwc(v) if v not in (None, "", []) else ""
    return v


def _width(values, header) -> int:
    def w(v):
        if isinstance(v, int) and not isinstance(v, bool):
            return len(f"{v:,}")
        if isinstance(v, float):
            return len(f"{v:,.3f}")
        return len(str(v if v is not None else ""))
    return min(60, max([len(header) * 0.9] + [w(v) for v in values]) + 2)


def write_xlsx(path: str, cands: Sequence[Candidate]) -> None:
    """Write the review workbook (summary + one per-layer sheet per candidate) atomically."""
    import xlsxwriter
    from .fileio import atomic_path
    if not cands:
        raise CostModelError("nothing to export: no candidates")
    with atomic_path(path, ".xlsx") as tmp:
        wb = xlsxwriter.Workbook(tmp, {"constant_memory": True})
        fmt = {"head": wb.add_format({"bold": True, "bg_color": "#DDE4EE", "text_wrap": True, "valign": "top",
                                      "border": 1}),
               "int": wb.add_format({"num_format": "#,##0"}),
               "float": wb.add_format({"num_format": "#,##0.000"}),
               "alpha": wb.add_format({"num_format": "0.00##"}),
               "pct": wb.add_format({"num_format": "0.0"})}
        headers, rows = summary_rows(cands)
        kinds = ["text", "text", "alpha", "int", "int", "text"] + [k for _, _, k in summary_costs(cands)] + ["pct",
                                                                                                       "text"]
        _sheet(wb, "summary", headers, rows, kinds, fmt)
        for name, c in zip(sheet_names([c.title for c in cands]), cands):
            hs = [h for h, _, _ in LAYER_COLUMNS]
            lrows = [[_cell(r.get(k, ""), kind) for _, k, kind in LAYER_COLUMNS] for r in c.report.rows]
            t = c.report.totals
            lrows.append(["total", "", "", "", ""] + [t.get(k) for _, k, _ in LAYER_COLUMNS[5:10]] + [None])
            _sheet(wb, name, hs, lrows, [k if k != "shape" else "text" for _, _, k in LAYER_COLUMNS], fmt)
        wb.close()


def _sheet(wb, name, headers, rows, kinds, fmt):
    ws = wb.add_worksheet(name)
    for j, h in enumerate(headers):
        ws.set_column(j, j, _width([r[j] for r in rows], h), fmt.get(kinds[j]))
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(len(rows), 1), len(headers) - 1)
    ws.set_row(0, 30)
    ws.write_row(0, 0, headers, fmt["head"])
    for i, r in enumerate(rows, 1):
        for j, v in enumerate(r):
            if v is None or v == "":
                continue
            if isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) < 2 ** 53:
                ws.write_number(i, j, v, fmt.get(kinds[j]))  # doubles are exact below 2**53
            else:
                ws.write_string(i, j, str(v))


def write_csv(path: str, cands: Sequence[Candidate]) -> None:
    """The summary table as CSV (exact integers), written atomically."""
    from .fileio import write_atomic
    from .formatting import csv_text
    headers, rows = summary_rows(cands)
    write_atomic(path, csv_text(headers, [["" if v is None else v for v in r] for r in rows]))


def write(path: str, cands: Sequence[Candidate]) -> None:
    """The workbook (.xlsx) or the summary (.csv), by the suffix of ``path``; '-' is the workbook
    on standard output."""
    import os

    from .fileio import is_stdout
    ext = ".xlsx" if is_stdout(path) else os.path.splitext(path)[1].lower()
    if ext == ".xlsx":
        return write_xlsx(path, cands)
    if ext == ".csv":
        return write_csv(path, cands)
    raise CostModelError(f"cannot export to {path!r}: the file name must end in .xlsx or .csv")


__all__ = ["Candidate", "candidates", "write", "write_xlsx", "write_csv", "sheet_names", "summary_rows"]
