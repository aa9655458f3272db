"""SqueezeNet (arXiv 1602.07360): Table 1 per layer (``params@LAYER``: exact parameters at the
227x227 Caffe crop, the printed output sizes in the notes), the model size, torchvision's pinned
counts, and the v1.1 claim ("2.4x less computation", forresti/SqueezeNet README: network
``squeezenet1_0/squeezenet1_1``, a ratio) with the published SqueezeNet compute figures of other
papers side by side. Figures and explanations: data/squeezenet.csv (and the SqueezeNet rows of
data/reference.csv, reported under ``costmodel reproduce reference``).
"""
from __future__ import annotations

from typing import List

from .rules import Target, freeze

TITLES = {
    "1": "SqueezeNet Table 1: per-layer parameters and output sizes (v1.0, 227x227)",
    "torchvision": "SqueezeNet in torchvision: num_params and _ops (G Mult-Adds at 224)",
    "v1.1": "SqueezeNet v1.1: '2.4x less computation' (forresti/SqueezeNet README)",
}


def compute_side_by_side() -> List[str]:
    """The published SqueezeNet v1.0 compute figures next to the exact counts (notes)."""
    from ..datafiles import figures
    pub = [f"{r['published']} {r['unit']} {r['quantity']} ({r['source']} Table {r['table']})"
           for r in figures("reference") if r["network"] == "squeezenet1_0" and r["quantity"] == "madds"]
    pub += [f"{r['published']} {r['unit']} {r['quantity']} ({r['source']})"
            for r in figures("squeezenet") if r["network"] == "squeezenet1_0" and r["unit"] == "G"]
    notes = ["published SqueezeNet v1.0 compute: " + "; ".join(pub)]
    for net in ("squeezenet1_0", "squeezenet1_1"):
        parts = []
        for res in (227, 224):
            t = Target(net, freeze(dict(res=res) if res != 227 else {})).counts()
            parts.append(f"at {res}: {t['madds']:,} Mult-Adds (2x = {2 * t['madds']:,}), {t['flops']:,} FLOPs")
        notes.append(f"computed {net}: " + "; ".join(parts))
    for net in ("squeezenet1_0", "squeezenet1_1"):
        ps = [f"{b} {Target(net, freeze(dict(bypass=b))).counts()['params']:,}" for b in ("none", "simple", "complex")]
        notes.append(f"{net} parameters by bypass (paper section 6): " + ", ".join(ps))
    return notes


def notes(tables: dict) -> None:
    tables["v1.1"].notes.extend(compute_side_by_side())
