"""MobileNetV2 (arXiv 1801.04381v4): the 3.4M / 300M text, Table 4 and the 22 TF-slim checkpoints,
Table 3 (memory: rules in ``mobilenet_v2_memory``) and Tables 5-7 (detection and segmentation
heads: rules in ``mobilenet_v2_heads``); all rows in data/mobilenet_v2.csv.

Conventions: the paper counts 1000 classes; the TF-slim README counts 1001 classes and weights +
biases, and truncates Mult-Adds to whole millions (every one of its 22 rows is consistent with
truncation, 8 of them are not with rounding), which the rows model as rounding ``floor``.
"""
from __future__ import annotations

from .mobilenet_v2_heads import notes as heads_notes
from .mobilenet_v2_memory import notes as memory_notes

TITLES = {
    "text": "MobileNetV2 section 6.1: 300M / 3.4M and the 0.35-1.4 x 96-224 range",
    "4": "MobileNetV2 Table 4: ImageNet comparison",
    "release": "TF-slim MobileNetV2 checkpoints (mobilenet/README.md)",
    "3": "MobileNetV2 Table 3: largest materialized tensor per resolution (16-bit, kB)",
    "5": "MobileNetV2 Table 5: SSD vs SSDLite prediction layers (MobileNetV2, 320x320, 80 classes)",
    "6": "MobileNetV2 Table 6: COCO object detection, whole detector at 320x320",
    "7": "MobileNetV2 Table 7: Mobile DeepLabv3, PASCAL VOC 2012 val at 513x513",
}


def notes(tables: dict) -> None:
    memory_notes(tables)
    heads_notes(tables)
