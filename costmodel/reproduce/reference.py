"""Reference networks in the efficient-CNN papers' comparisons: MobileNetV1 Tables 8 and 9
(GoogLeNet, VGG 16, SqueezeNet, AlexNet), ShuffleNet V1 Table 6 (VGG-16, GoogLeNet, AlexNet,
SqueezeNet), ShuffleNet V2 Table 6 (ResNet-50, v1 and v1.5 side by side) and torchvision's pinned
counts. Figures and explanations: data/reference.csv.
"""
from __future__ import annotations

TITLES = {
    "8": "MobileNetV1 Table 8: reference networks (ImageNet, 224)",
    "9": "MobileNetV1 Table 9: reference networks",
    ("arXiv 1707.01083v2", "6"): "ShuffleNet V1 Table 6: reference networks (MFLOPs = Mult-Adds)",
    ("arXiv 1807.11164", "6"): "ShuffleNet V2 Table 6: ResNet-50 (GFLOPs = Mult-Adds), v1 and v1.5",
    "torchvision": "torchvision weights metadata: num_params and _ops (G Mult-Adds at 224)",
}


def notes(tables: dict) -> None:
    from .rules import Target
    v1 = Target("resnet50", (("variant", "v1"),)).counts()
    v15 = Target("resnet50", (("variant", "v1.5"),)).counts()
    key = ("arXiv 1807.11164", "6")
    if key in tables:
        tables[key].notes.append(
            f"ResNet-50 at 224: v1 {v1['madds']:,} Mult-Adds, v1.5 {v15['madds']:,} "
            f"(+{v15['madds'] / v1['madds'] - 1:.1%}); parameters {v1['params_with_bn']:,} in both "
            f"(with BN scale and shift)")
