"""Xception (arXiv 1610.02357): Table 3's 22,855,952 parameters, which are Keras's trainable
parameters (weights, FC bias, BN gamma and beta), and Keras's model.summary() counts. The paper
publishes no FLOPs; the exact Mult-Adds at 299 are given as a note. Data: data/xception.csv.
"""
from __future__ import annotations

from typing import List

from . import Comparison
from .reference import figure_tables, report

PAPER = "xception"
TITLES = {
    ("3", "arXiv 1610.02357"): "Xception Table 3: parameters",
    ("Keras", "Keras"): "Xception in Keras: model.summary() (299x299)",
}


def tables() -> List[Comparison]:
    comps = figure_tables(PAPER, "xception.csv", TITLES)
    t = report("xception", "", 299).totals
    comps[0].notes.append(f"computed at 299 (no published figure): {t['madds']:,} Mult-Adds, {t['flops']:,} FLOPs; "
                          f"conv/FC weights and biases {t['params']:,}, BN channels {t['bn_channels']:,}")
    return comps
