"""MobileNetV1 (arXiv 1704.04861): Tables 2-7 and 9 (MobileNet rows) and the 16 TF-slim checkpoints,
data/mobilenet_v1.csv.

Conventions (``counted_as``): the paper counts 1000 classes and weights plus biases; the TF-slim
README counts 1001 classes and every checkpoint variable (weights, biases, BN beta and moving
statistics: TF-slim's batch_norm has no scale), params + 3 x bn_channels.

Special here: Table 2's shares per layer type (rules ``madds_share`` and ``weights_share``, the
layer type after ``@``) and Table 3's single layer (the builder ``mobilenet_v1_table3_layer``).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Dict, Tuple

from .rules import Target, register_builder, register_rule

TITLES = {
    "2": "MobileNetV1 Table 2: resources per layer type (1.0 MobileNet-224)",
    "3": "MobileNetV1 Table 3: shrinking one layer (D_K=3, M=N=512, D_F=14)",
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


@lru_cache(maxsize=8)
def _by_type(target) -> Tuple[Dict[str, int], Dict[str, int]]:
    """(Mult-Adds, weights) per Table 2 layer type. The paper's parameter shares count weights only
    (without the FC bias): 1,024,000 / 4,209,088 = 24.33% for the FC."""
    from ..analysis import layer_rows
    madds: Dict[str, int] = {}
    weights: Dict[str, int] = {}
    for r in layer_rows(target.graph()):
        t = layer_type(r)
        if t:
            madds[t] = madds.get(t, 0) + r["madds"]
            n_bias = r["output_shape"][0] if r["kind"] == "linear" else 0
            weights[t] = weights.get(t, 0) + r["params"] - n_bias
    return madds, weights


def _share(i: int):
    def fn(t):
        part = _by_type(Target(t.network, t.knobs))[i]
        return 100 * part[t.arg] / sum(part.values())
    return fn


register_rule("madds_share", "share of conv/FC Mult-Adds", _share(0))
register_rule("weights_share", "share of weights (biases not counted)", _share(1))


def table3_layer(variant: str = "separable", alpha: float = 1.0, res: int = 14):
    """Table 3's layer: D_K = 3, M = N = 512 scaled by alpha (V1 rounding), D_F = res, no BN, no
    bias; ``variant`` full (one 3x3 convolution) or separable (depthwise 3x3 + pointwise 1x1)."""
    from ..graph import GraphBuilder
    from ..spec import Context
    m = Context(alpha, (res, res), 1000, "floor_min8").ch(512)
    g = GraphBuilder("layer", (m, res, res))
    if variant == "full":
        g.conv("input", m, 3, bn=False, name="conv")
    else:
        y = g.dwconv("input", 3, bn=False, name="dw")
        g.conv(y, m, 1, bn=False, name="pw")
    return g.build()


register_builder("mobilenet_v1_table3_layer", table3_layer)
