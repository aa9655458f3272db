"""Reproduction reports: each paper's published figures (from ``data/``) beside the computed ones.

A paper module under ``costmodel/reproduce/`` defines ``tables() -> list[Comparison]``. A
``Figure`` pairs one published figure, kept as the printed string so that its precision is
known (``"4.2"`` in millions means 4.2 M to one decimal), with the exact computed value. It
*matches* when the computed value, expressed in the published unit, is within half a unit of
the last printed digit. Where it does not, the report says so and shows the explanation that
``data/`` records for that figure (a convention, a typo, a rounding habit); the tests require
one for every mismatch. Nothing is adjusted to hide a difference.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Dict, List, Optional

from ..errors import CostModelError

#: paper name -> module under costmodel.reproduce (``costmodel reproduce NAME``)
PAPERS: Dict[str, str] = {
    "mobilenet_v1": "mobilenet_v1",
    "mobilenet_v2": "mobilenet_v2",
    "mobilenet_v3": "mobilenet_v3",
    "mixnet": "mixnet",
    "shufflenet_v1": "shufflenet_v1",
    "shufflenet_v2": "shufflenet_v2",
    "squeezenet": "squeezenet",
    "xception": "xception",
    "reference": "reference",
}

#: unit suffix -> scale of the printed number
UNITS = {"": 1, "K": 10 ** 3, "M": 10 ** 6, "B": 10 ** 9, "G": 10 ** 9, "%": 1, "x": 1, "KB": 1024}


def precision(published: str) -> Decimal:
    """Half a unit of the last printed digit: '4.2' -> 0.05, '569' -> 0.5, '1.25' -> 0.005."""
    d = Decimal(published)
    exp = d.as_tuple().exponent
    return Decimal(5) * Decimal(10) ** (exp - 1)


@dataclass
class Figure:
    """One published figure beside its computed value."""

    label: str            #: the row, as the paper names it
    quantity: str         #: params, madds, ...
    published: str        #: as printed (precision kept), '' when the source prints nothing
    unit: str             #: 'M', 'B', '%', ... (see UNITS)
    computed: Optional[float]  #: exact computed value in base units (not scaled)
    convention: str = ""  #: how the computed value is counted (classes, BN, ...)
    explanation: str = ""  #: why it differs, from data/ (required when it does)
    #: the source's rounding habit: "nearest" (default), "floor" (the source truncates) or "sigN"
    #: (printed to N significant digits, so "1600" stands for 1550..1649)
    rounding: str = "nearest"

    @property
    def computed_in_unit(self) -> Optional[float]:
        if self.computed is None:
            return None
        return self.computed / UNITS[self.unit]

    @property
    def matches(self) -> Optional[bool]:
        if not self.published or self.computed is None:
            return None
        try:
            pub = Decimal(self.published)
        except InvalidOperation:
            raise CostModelError(f"published figure {self.published!r} of {self.label!r} is not a number") from None
        got = Decimal(repr(float(self.computed_in_unit))) if isinstance(self.computed, float) else \
            Decimal(self.computed) / Decimal(UNITS[self.unit])
        half = precision(self.published)
        if self.rounding.startswith("sig"):  # printed to N significant digits ("1600" for 1605.6)
            n = int(self.rounding[3:])
            if got == 0:
                return pub == 0
            step = Decimal(10) ** (got.adjusted() - n + 1)
            return (got / step).quantize(Decimal(1), rounding="ROUND_HALF_UP") * step == pub
        if self.rounding == "floor":
            return pub - Decimal("1e-9") <= got < pub + 2 * half
        return abs(got - pub) <= half + Decimal("1e-9")

    @property
    def status(self) -> str:
        m = self.matches
        if m is None:
            return "n/a"
        if m:
            return "ok"
        return "differs (explained)" if self.explanation else "DIFFERS"

    def difference(self) -> Optional[float]:
        if self.matches is None:
            return None
        return self.computed_in_unit - float(self.published)

    def to_dict(self) -> dict:
        return {"label": self.label, "quantity": self.quantity, "published": self.published, "unit": self.unit,
                "computed": self.computed, "computed_in_unit": self.computed_in_unit,
                "difference": self.difference(), "status": self.status, "convention": self.convention,
                "explanation": self.explanation}


@dataclass
class Comparison:
    """One published table, reproduced."""

    paper: str
    title: str
    source: str
    figures: List[Figure] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    def add(self, *args, **kwargs) -> Figure:
        f = Figure(*args, **kwargs)
        self.figures.append(f)
        return f

    def to_dict(self) -> dict:
        return {"paper": self.paper, "title": self.title, "source": self.source, "notes": list(self.notes),
                "figures": [f.to_dict() for f in self.figures]}


#: how a source counts parameters (the ``params_counted`` column of data/ CSVs)
PARAMS_COUNTED = {
    "params": ("weights + biases", lambda t: t["params"]),
    "params_with_bn": ("weights + biases + BN scale/shift", lambda t: t["params_with_bn"]),
    "checkpoint_no_gamma": ("TF-slim checkpoint variables: weights + biases + BN beta, moving mean and variance "
                            "(batch_norm scale=False) = params + 3 x bn_channels",
                            lambda t: t["params"] + 3 * t["bn_channels"]),
    "checkpoint": ("checkpoint variables: weights + biases + BN gamma, beta, moving mean and variance "
                   "= params + 4 x bn_channels", lambda t: t["params"] + 4 * t["bn_channels"]),
}


def comparison_for(comps: Dict, key, paper: str, title: str, source: str) -> Comparison:
    """The Comparison for ``key`` in ``comps``, created (in row order) on first use."""
    if key not in comps:
        comps[key] = Comparison(paper, title, source)
    return comps[key]


def parse_knobs(text: str) -> dict:
    """'groups=3;variant=conv' -> {'groups': '3', 'variant': 'conv'} (values coerced by the registry)."""
    out = {}
    for part in filter(None, (p.strip() for p in (text or "").split(";"))):
        k, _, v = part.partition("=")
        out[k.strip()] = v.strip()
    return out


def model_rows(paper: str, csv_name: str, titles: Dict[str, str]) -> List[Comparison]:
    """Whole-network rows of a data/ CSV (columns source, table, model, network, alpha, resolution,
    knobs, classes, params_counted, madds_rounding / params_rounding (nearest or floor), madds_M,
    params_M, *_explanation): build each
    network as the source defines it and compare Mult-Adds and parameters. Rows whose network is
    not in the registry (e.g. NASNet-A) are listed with their published figures only."""
    from ..datafiles import read_csv
    from ..errors import KnobError
    from ..analysis import analyze
    from ..registry import build
    comps: Dict[str, Comparison] = {}
    for r in read_csv(csv_name):
        key = r["table"]
        c = comparison_for(comps, key, paper, titles.get(key, f"Table {key}"), r["source"])
        totals = None
        why = ""
        if r["network"]:
            try:
                g = build(r["network"], alpha=float(r["alpha"] or 1.0), res=int(r["resolution"]) if r["resolution"]
                          else None, classes=int(r["classes"] or 1000), **parse_knobs(r.get("knobs", "")))
                totals = analyze(g).totals
            except KnobError as e:
                why = f"not computed: {e}"
        else:
            why = "published only (not a registry network)"
        classes = f"{r['classes'] or 1000} classes"
        label = r["model"] + (f" [{r['knobs']}]" if r.get("knobs") else "")
        rounding = r.get("madds_rounding") or "nearest"
        if r.get("madds_M"):
            c.add(label, "madds", r["madds_M"], "M", totals["madds"] if totals else None,
                  why or classes + ("; the source truncates" if rounding == "floor" else ""),
                  r.get("madds_explanation", ""), rounding)
        if r.get("params_M"):
            desc, fn = PARAMS_COUNTED[r.get("params_counted") or "params"]
            prounding = r.get("params_rounding") or "nearest"
            c.add(label, "params", r["params_M"], "M", fn(totals) if totals else None,
                  why or f"{classes}; {desc}" + ("; the source truncates" if prounding == "floor" else ""),
                  r.get("params_explanation", ""), prounding)
    return list(comps.values())


def run(paper: str) -> List[Comparison]:
    """All comparisons of one paper (``all``: every paper)."""
    if paper == "all":
        out = []
        for p in PAPERS:
            out += run(p)
        return out
    if paper not in PAPERS:
        raise CostModelError(f"no reproduction for {paper!r}; accepted: all, {', '.join(PAPERS)}")
    mod = importlib.import_module(f"costmodel.reproduce.{PAPERS[paper]}")
    return mod.tables()


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
    return "\n".join(out) + "\n" + summary + "\n"
