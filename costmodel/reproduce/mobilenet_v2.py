"""MobileNetV2 (arXiv 1801.04381v4): the 3.4M / 300M text, Table 4 and the 22 TF-slim checkpoints
(data/mobilenet_v2.csv); Table 3 (memory) and Tables 5-7 (detection and segmentation heads) come
from their own modules.

Conventions: the paper counts 1000 classes; the TF-slim README counts 1001 classes and weights +
biases, and truncates Mult-Adds to whole millions (every one of its 22 rows is consistent with
truncation, 8 of them are not with rounding), which the comparison models as ``floor``.
"""
from __future__ import annotations

import importlib
from typing import List

from . import Comparison, model_rows

PAPER = "mobilenet_v2"
TITLES = {
    "text": "MobileNetV2 section 6.1: 300M / 3.4M and the 0.35-1.4 x 96-224 range",
    "4": "MobileNetV2 Table 4: ImageNet comparison",
    "release": "TF-slim MobileNetV2 checkpoints (mobilenet/README.md)",
}
#: other modules contributing tables to this paper (Table 3 memory, Tables 5-7 heads)
PARTS = ("mobilenet_v2_memory", "mobilenet_v2_heads")


def tables() -> List[Comparison]:
    out = model_rows(PAPER, "mobilenet_v2.csv", TITLES)
    for part in PARTS:
        try:
            mod = importlib.import_module(f"costmodel.reproduce.{part}")
        except ModuleNotFoundError as e:
            if e.name != f"costmodel.reproduce.{part}":
                raise
            continue
        out += mod.tables()
    return out
