"""Spreadsheets for design reviews: a summary sheet (one row per candidate: totals, published top-1
where known, units in the headers), one per-layer sheet per candidate with its total row, and a
"notes" sheet (the conventions, where each top-1 comes from, and every configuration a network
cannot build, skipped with its reason); or the summary as CSV.

The workbook is written by the one renderer (``costmodel.render.workbook_bytes``), so it looks like
every other workbook the tool writes: bold frozen header, autofilter over the rows only, the
roll-up row in bold below a blank row (outside the filter range, so sorting never mixes it in),
number formats with thousands separators. Files are written atomically (``costmodel.fileio``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Sequence, Tuple

from .errors import CostModelError, GraphError, KnobError
from .fit import res_text
from .render import Column, Table

#: the summary sheet's cost columns (header with unit)
SUMMARY_COSTS = [
    Column("params", "params (count)"), Column("params_with_bn", "params with BN (count)"),
    Column("madds", "Mult-Adds (count)"), Column("flops", "FLOPs (count)"), Column("mac", "MAC (elements)"),
    Column("mac_bytes", "MAC (bytes, 32-bit)"), Column("peak_activation_bytes", "peak activations (bytes, 32-bit)"),
]
#: the summary's attention column, shown where a candidate has attention (as the sweep shows it)
ATTN_COLUMN = Column("attn_madds", "attention Mult-Adds (count)")
SUMMARY_HEAD = [Column("network", "network", "text"), Column("family", "family", "text"),
                Column("alpha", "alpha", "g"), Column("resolution", "resolution (px)"),
                Column("classes", "classes"), Column("knobs", "knobs", "text")]
SUMMARY_TAIL = [Column("top1", "published top-1 (%)", "pct"), Column("top1_source", "top-1 source", "text")]
LAYER_COLUMNS = [
    Column("name", "layer", "text"), Column("op", "op", "text"), Column("block", "block", "text"),
    Column("input_shape", "input (HxWxC)", "shape"), Column("output_shape", "output (HxWxC)", "shape"),
    Column("params", "params (count)"), Column("params_with_bn", "params with BN (count)"),
    Column("madds", "Mult-Adds (count)"), Column("flops", "FLOPs (count)"), Column("mac", "MAC (elements)"),
    Column("arithmetic_intensity", "arithmetic intensity (Mult-Adds / MAC element)", "float"),
]
#: what the notes sheet says about the numbers
CONVENTIONS = [
    "Every count is an exact integer at batch size 1 (cells hold exact values below 2^53; larger ones are text).",
    "MAC = memory access cost in elements (ShuffleNet V2 section 2): feature maps read + written + weights read, "
    "BatchNorm folded and activations fused; MAC bytes at 32 bits per value.",
    "peak activations = the lowest peak of live activation memory over execution orders, 32-bit, in bytes "
    "(KB = 1000 bytes).",
    "published top-1 = ImageNet top-1 accuracy from data/ with its source; blank where none is published for "
    "that graph; a note in the source cell says where the figure was published for another reading of the graph. "
    "The figures are for the 1000-class classifier (1001 with TF-slim's background class): blank, with the reason "
    "in the source cell, for another class count or a detection or segmentation head.",
    "attention Mult-Adds (where a candidate has attention) = multiply-accumulates of attention's Q.K^T and A.V "
    "products, not part of Mult-Adds.",
    "Each per-layer sheet ends with its total row in bold, below a blank row and outside the filter range.",
]
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


@dataclass
class Candidate:
    """One configuration under review, with its report and published top-1."""

    network: str
    family: str
    alpha: float
    #: N for a square input, [H, W] otherwise (as JSON shows it)
    resolution: object
    classes: int
    knobs: Dict = field(default_factory=dict)
    report: object = None
    top1: Optional[float] = None
    top1_source: str = ""
    #: the network as the user named it (a registry name, a spec file, ...)
    source: str = ""

    @property
    def title(self) -> str:
        k = " ".join(f"{a}={b}" for a, b in self.knobs.items())
        return f"{self.network} {self.alpha:g}-{res_text(self.resolution)}" + (f" {k}" if k else "")


def _config(name, a, r) -> str:
    parts = [name] + ([f"alpha {a:g}"] if a is not None else []) + ([f"resolution {r}"] if r is not None else [])
    return " ".join(parts)


def candidates(nets: Sequence[str], alphas: Optional[Sequence[float]] = None,
               resolutions: Optional[Sequence[int]] = None, classes: Optional[int] = None, device=None,
               skipped: Optional[List[Tuple[str, str]]] = None, **knobs) -> List[Candidate]:
    """Every (network, alpha, resolution) of the grid, analyzed, with published top-1 if known
    (and, with ``device``, the latency predicted on it: totals ``latency_s``).

    ``skipped``: a list to collect the configurations a network cannot build (an alpha it does not
    define, a resolution below its minimum, a knob it does not have: a ``KnobError`` or
    ``GraphError``), as (configuration, reason), instead of failing on the first; an unknown
    network or a malformed spec file still fails, and so does a grid with nothing left.

    Checked before anything is built: the device, every network (``check_sources``) and the
    grid's values (``check_grid``): a value no network accepts is an error, not a skip."""
    dev = None
    if device is not None:
        from .roofline import device as get_device
        dev = get_device(device)
    check_sources(nets)
    check_grid(alphas, resolutions, classes)
    out: List[Candidate] = []
    refused: List[Tuple[str, str]] = []
    for name in nets:
        for a in (alphas or [None]):
            for r in (resolutions or [None]):
                try:
                    out.append(_candidate(name, a, r, classes, **knobs))
                except (KnobError, GraphError) as e:
                    if skipped is None:
                        raise
                    what = _config(name, a, r)
                    refused.append((what, _reason(what, str(e))))
    if skipped is not None:
        skipped.extend(refused)
        if not out:
            raise CostModelError(f"nothing to export: no configuration builds ({len(refused)} refused; first: "
                                 f"{refused[0][0]}: {refused[0][1]})")
    if dev is not None:
        from .roofline import latency_for
        for c in out:
            c.report.totals["latency_s"] = latency_for(c.source, [(c.alpha, c.resolution)], dev, classes, **knobs)[0]
            c.report.totals["latency_device"] = f"{dev.name}, {dev.model}"
    return out


def _reason(what: str, why: str) -> str:
    """A refusal's reason without the configuration it is listed under ('mobilenet_v2: mobilenet_v2:
    classes ...' says the network once)."""
    return why[len(what) + 2:] if why.startswith(f"{what}: ") else why


def check_sources(nets: Sequence[str]) -> None:
    """Every network named exists and reads, before any is built: a registry name is known, a spec
    file or block string parses, an ONNX file is a readable model (a PyTorch reference is checked
    when it is built: building it is the check)."""
    from .sources import source_kind
    for name in nets:
        kind = source_kind(name)
        if kind == "registry":
            from .registry import get
            get(name)  # an unknown name is an error, not a configuration to skip
        elif kind == "spec":
            from .specfile import read_spec
            read_spec(name)
        elif kind == "blocks":
            from .specfile import spec_from_blocks
            spec_from_blocks(name)
        elif kind == "onnx":
            from .onnx_read import read_model
            read_model(name)


def check_grid(alphas: Optional[Sequence[float]], resolutions: Optional[Sequence[int]],
               classes: Optional[int] = None) -> None:
    """The grid's values as every loader checks them (``costmodel.validate``, as ``sweep`` and
    ``fit`` do), before any network is built: an alpha that is not a positive finite number, a
    resolution that is not a positive integer or classes that are not one is an error (exit 2), not a
    configuration to skip; what only some networks refuse (an alpha they do not define, a
    resolution below their minimum) is skipped by ``candidates``."""
    from . import validate
    for a in alphas or ():
        validate.alpha(a, "--alpha")
    for r in resolutions or ():
        validate.resolution(r, "--res")
    if classes is not None:
        validate.classes(classes, "--classes")


def _candidate(name, a, r, classes, **knobs) -> Candidate:
    from .accuracy import lookup, no_figure_reason
    from .analysis import analyze
    from .registry import build, resolve
    from .sources import load, source_kind
    if source_kind(name) != "registry":  # a spec file, block string or ONNX model
        g = load(name, a, r, classes, **knobs)
        m = g.meta
        return Candidate(m["network"], m.get("family", ""), m["alpha"], m["resolution"], m.get("classes", 0), {},
                         analyze(g), source=name)
    net, alpha, res, cls, full = resolve(name, a, r, classes, **knobs)
    rep = analyze(build(name, alpha=alpha, res=res, classes=cls, **knobs))
    p = lookup(net.name, alpha, res, full, cls)
    shown = {k: full.get(k, v) for k, v in knobs.items()}  # the knobs the user chose
    return Candidate(net.name, net.family, alpha, res, cls, shown, rep, p.top1 if p else None,
                     p.cited if p else no_figure_reason(cls), source=name)


def summary_costs(cands: Sequence[Candidate]) -> List[Column]:
    """SUMMARY_COSTS, with attention's Mult-Adds after the FLOPs where a candidate has attention (as
    the sweep has them), plus the predicted latency when the candidates carry one (export --device)."""
    dev = next((c.report.totals.get("latency_device") for c in cands if "latency_s" in c.report.totals), None)
    cols = list(SUMMARY_COSTS)
    if any(c.report.totals.get("attn_madds") for c in cands):
        cols.insert(cols.index(next(c for c in cols if c.key == "flops")) + 1, ATTN_COLUMN)
    return cols + ([Column("latency_s", f"latency (s, {dev})", "float")] if dev else [])


def summary_table(cands: Sequence[Candidate], skipped: Sequence[Tuple[str, str]] = ()) -> Table:
    """One row per candidate: the configuration, its totals and its published top-1; its notes are
    the conventions and the skipped configurations (first on the notes sheet)."""
    hw = any(isinstance(c.resolution, (list, tuple)) for c in cands)  # H x W: shown as 320x240
    head = [replace(col, kind="figure") if hw and col.key == "resolution" else col for col in SUMMARY_HEAD]
    cols = head + summary_costs(cands) + SUMMARY_TAIL
    rows = []
    for c in cands:
        t = c.report.totals
        rows.append({"network": c.network, "family": c.family, "alpha": c.alpha,
                     "resolution": res_text(c.resolution) if hw else c.resolution,
                     "classes": c.classes, "knobs": "; ".join(f"{k}={v}" for k, v in c.knobs.items()),
                     **{col.key: t.get(col.key) for col in summary_costs(cands)},
                     "top1": c.top1, "top1_source": c.top1_source})
    return Table(f"{len(cands)} candidate(s): totals and published top-1", cols, rows, notes=notes(skipped),
                 sheet="summary")


def summary_rows(cands: Sequence[Candidate]):
    """(headers, rows) of the summary, values exact (for CSV)."""
    t = summary_table(cands)
    return [c.header for c in t.columns], [[r.get(c.key) for c in t.columns] for r in t.rows]


def layer_table(c: Candidate) -> Table:
    """A candidate's per-layer table with its total row."""
    from .formatting import report_title
    t = c.report.totals
    total = {"name": "total", **{col.key: t.get(col.key) for col in LAYER_COLUMNS[5:10]}}
    return Table(report_title(c.report), LAYER_COLUMNS, list(c.report.rows), total)


def sheet_names(titles: Sequence[str]) -> List[str]:
    """Excel sheet names: at most 31 characters, none of []:*?/\\, unique (case-insensitive),
    numbered so that they stay in candidate order."""
    out, seen = [], {"summary", "notes"}
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


def notes(skipped: Sequence[Tuple[str, str]] = ()) -> List[str]:
    """The conventions, then the configurations a network cannot build (each with its reason)."""
    from .analysis import convention
    out = CONVENTIONS + ["counts: " + convention(1)]
    if skipped:
        out += [f"skipped: {len(skipped)} configuration(s) a network cannot build:"]
        out += [f"  {what}: {why}" for what, why in skipped]
    return out


def workbook(cands: Sequence[Candidate], skipped: Sequence[Tuple[str, str]] = ()) -> bytes:
    """The review workbook: summary, one per-layer sheet per candidate, notes."""
    from .render import workbook_bytes
    if not cands:
        raise CostModelError("nothing to export: no candidates")
    tables = [summary_table(cands, skipped)] + [layer_table(c) for c in cands]
    names = ["summary"] + sheet_names([c.title for c in cands])
    return workbook_bytes(tables, names)


def write_xlsx(path: str, cands: Sequence[Candidate], skipped: Sequence[Tuple[str, str]] = ()) -> None:
    """Write the review workbook atomically ('-': standard output, refused on a terminal)."""
    from .fileio import write_atomic
    write_atomic(path, workbook(cands, skipped))


def write_csv(path: str, cands: Sequence[Candidate]) -> None:
    """The summary table as CSV (exact integers), written atomically."""
    from .fileio import write_atomic
    from .render import csv_text
    headers, rows = summary_rows(cands)
    write_atomic(path, csv_text(headers, [["" if v is None else v for v in r] for r in rows]))


def write(path: str, cands: Sequence[Candidate], skipped: Sequence[Tuple[str, str]] = ()) -> None:
    """The workbook (.xlsx) or the summary (.csv), by the suffix of ``path``; '-' is the workbook
    on standard output."""
    import os

    from .fileio import is_stdout
    ext = ".xlsx" if is_stdout(path) else os.path.splitext(path)[1].lower()
    if ext == ".xlsx":
        return write_xlsx(path, cands, skipped)
    if ext == ".csv":
        return write_csv(path, cands)
    raise CostModelError(f"cannot export to {path!r}: the file name must end in .xlsx or .csv")


__all__ = ["Candidate", "candidates", "check_grid", "check_sources", "write", "write_xlsx", "write_csv", "workbook",
           "sheet_names", "summary_rows", "summary_table", "layer_table", "notes"]
