"""MobileNetV3 (arXiv 1905.02244v5): Table 3, the TF-slim release table and torchvision's
documented counts (data/mobilenet_v3.csv).

Conventions found (columns of the CSV): the paper counts 1000 classes and weights + biases; TF-slim
1001 classes and weights + biases; torchvision ``parameters()`` (BN scale and shift included) and
"GFLOPS" that are Mult-Adds. The 0.75 rows of both the paper and TF-slim need TF-slim's alpha rule
(``--set rounding=tfslim``: expansion = factor x rounded input, 1280/1024 head kept); the
torchvision rule gives 140.0 M / 3.36 M for Large 0.75. MobileNetV3-Small exists in two versions,
shown side by side: the final paper's 1024-wide head (also TF-slim's V3_SMALL and its released
checkpoints) and an earlier version's 1280-wide head (``--set head_width=1280``), which some printed
figures (TF-slim's Small parameter counts) appear to follow.
"""
from __future__ import annotations

from typing import List

from ..analysis import analyze
from ..datafiles import read_csv
from ..registry import build
from . import Comparison, model_rows, parse_knobs

PAPER = "mobilenet_v3"
CSV = "mobilenet_v3.csv"
TITLES = {
    "3": "MobileNetV3 Table 3 (arXiv v5): Large and the networks compared (Small rows: next table)",
    "small": "MobileNetV3-Small: arXiv v5 Table 3 and the TF-slim release rows, built as released (1024 head); "
             "the earlier 1280-head version in the notes",
    "release": "TF-slim MobileNetV3 checkpoints (mobilenet/README.md, 1001 classes)",
    "torchvision": "torchvision documented counts (params exact; GFLOPS = Mult-Adds)",
}


def _totals(row: dict) -> dict:
    g = build(row["network"], alpha=float(row["alpha"] or 1.0), res=int(row["resolution"] or 224),
              classes=int(row["classes"] or 1000), **parse_knobs(row["knobs"]))
    return analyze(g).totals


def small_versions_note() -> List[str]:
    """Both Small versions computed at both roundings, for the side-by-side table."""
    out = []
    for alpha, rounding in ((1.0, "torchvision"), (0.75, "torchvision"), (0.75, "tfslim")):
        cells = []
        for head in (1024, 1280):
            t = analyze(build("mobilenet_v3_small", alpha=alpha, head_width=head, rounding=rounding)).totals
            cells.append(f"head {head}: {t['madds'] / 1e6:.2f} M Mult-Adds, {t['params'] / 1e6:.3f} M params "
                         f"({t['params_with_bn']:,} with BN)")
        out.append(f"Small {alpha} ({rounding} rounding, 1000 classes): " + "; ".join(cells))
    return out


def tables() -> List[Comparison]:
    comps = model_rows(PAPER, CSV, TITLES)
    by_title = {c.title: c for c in comps}
    for r in read_csv(CSV):
        if r.get("params_exact") or r.get("gmacs"):  # torchvision: exact count and GFLOPS
            c, t = by_title[TITLES[r["table"]]], _totals(r)
            if r.get("params_exact"):
                c.add(r["model"], "params", r["params_exact"], "", t[r["params_counted"]],
                      f"{r['classes']} classes; parameters() = weights + biases + BN scale/shift")
            if r.get("gmacs"):
                c.add(r["model"], "madds", r["gmacs"], "G", t["madds"],
                      f"{r['classes']} classes; the documented GFLOPS are Mult-Adds")
    small = by_title[TITLES["small"]]
    small.source = "arXiv 1905.02244v5 Table 3; tf-slim mobilenet/README.md"
    small.notes += small_versions_note()
    return comps
