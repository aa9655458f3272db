"""MobileNetV2 (arXiv 1801.04381v4): the 3.4M / 300M text, Table 4 and the 22 TF-slim checkpoints
(data/mobilenet_v2.csv), plus Table 3 (memory, ``mobilenet_v2_memory``) and Tables 5-7
(detection and segmentation heads, ``mobilenet_v2_heads``).

Conventions: the paper counts 1000 classes; the TF-slim README counts 1001 classes and weights +
biases, and truncates Mult-Adds to whole millions (every one of its 22 rows is consistent with
truncation, 8 of them are not with rounding), which the comparison models as ``floor``.
"""
from __future__ import annotations

from typing import List

from . import Comparison, mobilenet_v2_heads, mobilenet_v2_memory, model_rows

PAPER = "mobilenet_v2"
TITLES = {
    "text": "MobileNetV2 section 6.1: 300M / 3.4M and the 0.35-1.4 x 96-224 range",
    "4": "MobileNetV2 Table 4: ImageNet comparison",
    "release": "TF-slim MobileNetV2 checkpoints (mobilenet/README.md)",
}


def tables() -> List[Comparison]:
    return (model_rows(PAPER, "mobilenet_v2.csv", TITLES) + mobilenet_v2_memory.tables()
            + mobilenet_v2_heads.tables())
