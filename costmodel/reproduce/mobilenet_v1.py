"""MobileNetV1 (arXiv 1704.04861): Tables 2-7 and 9 (MobileNet rows) and the 16 TF-slim checkpoints.

Conventions (columns of data/mobilenet_v1.csv): the paper counts 1000 classes and weights plus
biases; the TF-slim README counts 1001 classes and every checkpoint variable (weights, biases, BN
beta and moving statistics: TF-slim's batch_norm has no scale), params + 3 x bn_channels.
"""
from __future__ import annotations

from typing import List

from ..analysis import analyze
from ..datafiles import read_csv
from ..graph import GraphBuilder
from ..registry import build
from ..spec import Context
from . import Comparison, model_rows

PAPER = "mobilenet_v1"
TITLES = {
    "4": "MobileNetV1 Table 4: depthwise separable vs full convolutions",
    "5": "MobileNetV1 Table 5: narrow vs shallow MobileNet",
    "6": "MobileNetV1 Table 6: width multiplier",
    "7": "MobileNetV1 Table 7: resolution",
    "8": "MobileNetV1 Table 8: MobileNet row (reference networks: costmodel reproduce reference)",
    "9": "MobileNetV1 Table 9: MobileNet row (reference networks: costmodel reproduce reference)",
    "release": "TF-slim MobileNet_v1 checkpoints (mobilenet_v1.md)",
}


def layer_type(row: dict) -> str:
    """Table 2's layer types: Conv 1x1, Conv DW 3x3, Conv 3x3 (the full first layer), Fully Connected."""
    op = row["op"]
    if row["kind"] == "linear":
        return "Fully Connected"
    if op.startswith("dwconv3x3"):
        return "Conv DW 3x3"
    if op.startswith("conv1x1"):
        return "Conv 1x1"
    if op.startswith("conv3x3"):
        return "Conv 3x3"
    return ""


def table2() -> Comparison:
    """Share of Mult-Adds and parameters per layer type, MobileNet 1.0-224. The paper's parameter
    shares count weights only (without the FC bias): 1,024,000 / 4,209,088 = 24.33% for the FC."""
    rows = analyze(build("mobilenet_v1")).rows
    madds = {}
    weights = {}
    for r in rows:
        t = layer_type(r)
        if t:
            madds[t] = madds.get(t, 0) + r["madds"]
            n_bias = r["output_shape"][0] if r["kind"] == "linear" else 0
            weights[t] = weights.get(t, 0) + r["params"] - n_bias
    c = Comparison(PAPER, "MobileNetV1 Table 2: resources per layer type (1.0 MobileNet-224)", "arXiv 1704.04861")
    for d in read_csv("mobilenet_v1_tables_2_3.csv"):
        if d["table"] != "2":
            continue
        src = madds if d["quantity"] == "percent_madds" else weights
        c.add(d["row"], d["quantity"], d["published"], "%", 100 * src[d["row"]] / sum(src.values()),
              "share of conv/FC Mult-Adds" if src is madds else "share of weights (biases not counted)",
              d["explanation"])
    return c


def _one_layer(full: bool, alpha: float, size: int):
    """Table 3's layer: D_K = 3, M = N = 512 scaled by alpha (V1 rounding), D_F = size."""
    ctx = Context(alpha, (size, size), 1000, "floor_min8")
    m = ctx.ch(512)
    g = GraphBuilder("layer", (m, size, size))
    if full:
        g.conv("input", m, 3, bn=False, name="conv")
    else:
        y = g.dwconv("input", 3, bn=False, name="dw")
        g.conv(y, m, 1, bn=False, name="pw")
    return analyze(g.build()).totals


def table3() -> Comparison:
    """Table 3: one 14x14x512 layer as the shrinking methods are applied in turn
    (rho = 0.714 takes 14x14 to 10x10)."""
    cases = {
        "Convolution": _one_layer(True, 1.0, 14),
        "Depthwise Separable Conv": _one_layer(False, 1.0, 14),
        "alpha = 0.75": _one_layer(False, 0.75, 14),
        "rho = 0.714": _one_layer(False, 0.75, 10),
    }
    c = Comparison(PAPER, "MobileNetV1 Table 3: shrinking one layer (D_K=3, M=N=512, D_F=14)", "arXiv 1704.04861")
    for d in read_csv("mobilenet_v1_tables_2_3.csv"):
        if d["table"] == "3":
            c.add(d["row"], d["quantity"], d["published"], "M", cases[d["row"]][d["quantity"]], "no BN, no bias",
                  d["explanation"])
    return c


def tables() -> List[Comparison]:
    return [table2(), table3()] + model_rows(PAPER, "mobilenet_v1.csv", TITLES)
