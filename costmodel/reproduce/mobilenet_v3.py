"""MobileNetV3 (arXiv 1905.02244v5): Table 3, the TF-slim release table and torchvision's
documented counts (data/mobilenet_v3.csv).

Conventions found: the paper counts 1000 classes and weights + biases; TF-slim 1001 classes and
weights + biases; torchvision ``parameters()`` (BN scale and shift included) and "GFLOPS" that are
Mult-Adds. The 0.75 rows of both the paper and TF-slim need TF-slim's alpha rule
(``rounding=tfslim``: expansion = factor x rounded input, 1280/1024 head kept); the torchvision
rule gives 140.0 M / 3.36 M for Large 0.75. MobileNetV3-Small exists in two versions, shown side
by side: the final paper's 1024-wide head (also TF-slim's V3_SMALL and its released checkpoints)
and an earlier version's 1280-wide head (``head_width=1280``), which some printed figures (TF-slim's
Small parameter counts) appear to follow; the ``small`` table gathers the Small rows of both sources.
"""
from __future__ import annotations

from typing import List

TITLES = {
    "3": "MobileNetV3 Table 3 (arXiv v5): Large and the networks compared (Small rows: next table)",
    "small": "MobileNetV3-Small: arXiv v5 Table 3 and the TF-slim release rows, built as released (1024 head); "
             "the earlier 1280-head version in the notes",
    "release": "TF-slim MobileNetV3 checkpoints (mobilenet/README.md, 1001 classes)",
    "torchvision": "torchvision documented counts (params exact; GFLOPS = Mult-Adds)",
}


def small_versions_note() -> List[str]:
    """Both Small versions computed at both roundings, for the side-by-side table."""
    from .rules import Target, freeze
    out = []
    for alpha, rounding in ((1.0, "torchvision"), (0.75, "torchvision"), (0.75, "tfslim")):
        cells = []
        for head in (1024, 1280):
            t = Target("mobilenet_v3_small", freeze(dict(alpha=alpha, head_width=head, rounding=rounding))).counts()
            cells.append(f"head {head}: {t['madds'] / 1e6:.2f} M Mult-Adds, {t['params'] / 1e6:.3f} M params "
                         f"({t['params_with_bn']:,} with BN)")
        out.append(f"Small {alpha} ({rounding} rounding, 1000 classes): " + "; ".join(cells))
    return out


def notes(tables: dict) -> None:
    if "small" in tables:
        tables["small"].source = "arXiv 1905.02244v5 Table 3; tf-slim mobilenet/README.md"
        tables["small"].notes += small_versions_note()
